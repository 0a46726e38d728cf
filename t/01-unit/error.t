use v5.14;
use warnings;
use Test2::V0;

use Future;
use Scalar::Util ();
use Future::IO::Redis::Error;

my $BASE = 'Future::IO::Redis::Error';

my %CATEGORY = (
    $BASE                                => 'redis_client',
    'Future::IO::Redis::Error::Connection'   => 'connection',
    'Future::IO::Redis::Error::Timeout'      => 'timeout',
    'Future::IO::Redis::Error::Protocol'     => 'protocol',
    'Future::IO::Redis::Error::Redis'        => 'redis',
    'Future::IO::Redis::Error::Disconnected' => 'disconnected',
);

subtest 'loading the base class loads every subclass' => sub {
    for my $class ( sort keys %CATEGORY ) {
        ( my $file = "$class.pm" ) =~ s{::}{/}g;
        ok( $INC{$file}, "$file loaded" );
        ok( $class->can('new'), "$class->can('new')" );
    }
};

subtest 'hierarchy, accessors, stringification' => sub {
    for my $class ( sort keys %CATEGORY ) {
        my $e = $class->new( message => "boom from $class" );
        isa_ok( $e, [ $class, $BASE, 'Future::Exception' ], $class );
        is( ref $e,     $class, 'blessed into the class' );
        is( Scalar::Util::reftype($e), 'HASH', 'blessed HASH' );
        is( $e->message,  "boom from $class",       'message' );
        is( "$e",         "boom from $class",       'stringifies to message' );
        ok( $e eq "boom from $class",               'eq via fallback' );
        is( $e->category, $CATEGORY{$class},        'category' );
        is( [ $e->details ], [],                    'details empty by default' );
        ok( !!$e,                                   'true in boolean context' );
        like( "error: $e", qr/^error: boom from /,  'interpolates' );
        ok( defined $e->is_fatal && defined $e->is_transient, 'answers is_fatal and is_transient' );
    }

    my $e = $BASE->new( message => 'x', details => [ 1, 'two', { three => 3 } ] );
    is( [ $e->details ], [ 1, 'two', { three => 3 } ], 'details returned as list' );
    is( scalar( () = $e->details ), 3, 'three details' );

    # "0" is a true-ish object even though its message is false
    my $zero = $BASE->new( message => '0' );
    ok( $zero ? 1 : 0, 'object with message "0" is still true' );
    is( "$zero", '0', 'stringifies to "0"' );
};

subtest 'constructor validation' => sub {
    for my $class ( sort keys %CATEGORY ) {
        like( dies { $class->new },                  qr/message/, "$class: no args croaks" );
        like( dies { $class->new( message => undef ) }, qr/message/, "$class: undef message croaks" );
        like( dies { $class->new( message => '' ) },    qr/message/, "$class: empty message croaks" );
    }
    like( dies { $BASE->new('just a string') }, qr/key\/value/, 'odd argument list croaks' );
    like( dies { $BASE->new( message => 'x', details => 'nope' ) }, qr/details/, 'non-ARRAY details croaks' );
    like(
        dies { Future::IO::Redis::Error::Timeout->new( message => 'x', kind => 'bogus' ) },
        qr/kind/, 'bad Timeout kind croaks'
    );
    like(
        dies { Future::IO::Redis::Error::Timeout->new( message => 'x', timeout => 'soon' ) },
        qr/timeout/, 'non-numeric Timeout timeout croaks'
    );
    like( dies { $BASE->new }, qr/at \Q${\__FILE__}\E line/, 'croak reports the caller' );

    my $e = $BASE->new( message => 'x', password => 'hunter2', foo => 'bar' );
    is( "$e", 'x', 'unknown fields are not stringified' );
    ok( !grep( { defined && /hunter2/ } values %$e ), 'unknown fields are not stored' );
};

subtest 'throw' => sub {
    my $err = dies { Future::IO::Redis::Error::Protocol->throw( message => 'bad reply' ) };
    isa_ok( $err, ['Future::IO::Redis::Error::Protocol'], 'class throw dies with an object' );
    is( $err->message, 'bad reply', 'message untouched (no "at FILE line")' );

    my $obj = Future::IO::Redis::Error::Connection->new( message => 'lost', reason => 'connection_lost' );
    my $caught = dies { $obj->throw };
    ref_is( $caught, $obj, 'instance throw dies with the same object' );

    like( dies { $BASE->throw }, qr/message/, 'class throw without message croaks' );

    my $t = dies { Future::IO::Redis::Error::Timeout->throw( message => 't', command => 'GET', timeout => 2, kind => 'read' ) };
    is( [ $t->command, $t->timeout, $t->kind ], [ 'GET', 2, 'read' ], 'class throw passes fields' );
};

subtest 'Connection' => sub {
    my $e = Future::IO::Redis::Error::Connection->new( message => 'refused', reason => 'connect_failed' );
    is( $e->reason, 'connect_failed', 'reason' );
    is( Future::IO::Redis::Error::Connection->new( message => 'x' )->reason, undef, 'reason optional' );
    is( $e->is_transient, 1, 'transient' );
    is( $e->is_fatal,     0, 'not fatal' );
};

subtest 'Timeout' => sub {
    my $e = Future::IO::Redis::Error::Timeout->new(
        message => 'Request timed out after 5s', command => 'GET', timeout => 5, kind => 'request',
    );
    is( $e->command, 'GET',     'command' );
    is( $e->timeout, 5,         'timeout' );
    is( $e->kind,    'request', 'kind' );
    is( $e->is_transient, 1, 'transient' );
    is( $e->is_fatal,     0, 'not fatal' );

    for my $kind (qw( request connect read write )) {
        is( Future::IO::Redis::Error::Timeout->new( message => 'x', kind => $kind )->kind, $kind, "kind $kind" );
    }

    my $bare = Future::IO::Redis::Error::Timeout->new( message => 'x' );
    is( [ $bare->command, $bare->timeout, $bare->kind ], [ undef, undef, undef ], 'all fields optional' );

    my %names = (
        'DEBUG SLEEP'                                   => 'DEBUG SLEEP',
        'get'                                           => 'GET',
        'SET'                                           => 'SET',
    );
    for my $in ( sort keys %names ) {
        is( Future::IO::Redis::Error::Timeout->new( message => 'x', command => $in )->command,
            $names{$in}, "command '$in'" );
    }

    # Arguments are never kept, even if the caller passes the whole command.
    my @cases = (
        [ [ 'AUTH', 'hunter2' ]                          => 'AUTH' ],
        [ [ 'AUTH', 'user', 'hunter2' ]                  => 'AUTH' ],
        [ [ 'SET', 'key', 'hunter2' ]                    => 'SET' ],
        [ [ 'debug', 'sleep', 10 ]                       => 'DEBUG SLEEP' ],
        [ [ 'CONFIG', 'SET', 'requirepass', 'hunter2' ]  => 'CONFIG SET' ],
        [ [ 'ACL', 'SETUSER', 'bob', '>hunter2' ]        => 'ACL SETUSER' ],
        [ 'HELLO 3 AUTH bob hunter2'                     => 'HELLO' ],
        [ 'DEBUG SLEEP 10'                               => 'DEBUG SLEEP' ],
    );
    for my $c (@cases) {
        my ( $in, $want ) = @$c;
        my $t = Future::IO::Redis::Error::Timeout->new( message => 'timed out', command => $in );
        is( $t->command, $want, "command from " . ( ref $in ? "[@$in]" : "'$in'" ) );
        ok( !grep( { defined && /hunter2/ } values %$t ), '... no argument stored' );
        is( "$t", 'timed out', '... message untouched' );
    }
};

subtest 'Protocol and Disconnected' => sub {
    my $p = Future::IO::Redis::Error::Protocol->new( message => 'malformed RESP' );
    is( [ $p->is_fatal, $p->is_transient ], [ 1, 0 ], 'Protocol is fatal' );
    my $d = Future::IO::Redis::Error::Disconnected->new( message => 'queue full' );
    is( [ $d->is_fatal, $d->is_transient ], [ 0, 1 ], 'Disconnected is transient' );
    my $b = $BASE->new( message => 'generic' );
    is( [ $b->is_fatal, $b->is_transient ], [ 0, 0 ], 'base is neither' );
};

subtest 'Redis: code, is_fatal, is_transient' => sub {
    my $R = 'Future::IO::Redis::Error::Redis';

    my $wt = $R->new( message => 'WRONGTYPE Operation against a key holding the wrong kind of value' );
    is( $wt->code, 'WRONGTYPE', 'WRONGTYPE code' );
    is( "$wt", 'WRONGTYPE Operation against a key holding the wrong kind of value', 'message kept whole' );

    # code => [is_transient, is_fatal]
    my %table = (
        ERR         => [ 0, 1 ],
        WRONGTYPE   => [ 0, 1 ],
        OOM         => [ 0, 1 ],
        NOSCRIPT    => [ 0, 1 ],
        NOAUTH      => [ 0, 1 ],
        WRONGPASS   => [ 0, 1 ],
        NOPERM      => [ 0, 1 ],
        EXECABORT   => [ 0, 1 ],
        LOADING     => [ 1, 0 ],
        BUSY        => [ 1, 0 ],
        TRYAGAIN    => [ 1, 0 ],
        CLUSTERDOWN => [ 1, 0 ],
        MASTERDOWN  => [ 1, 0 ],
        READONLY    => [ 1, 0 ],
        NOREPLICAS  => [ 1, 0 ],
        MOVED       => [ 0, 0 ],
        ASK         => [ 0, 0 ],
        BUSYKEY     => [ 0, 0 ],
        UNBLOCKED   => [ 0, 0 ],
    );
    for my $code ( sort keys %table ) {
        my $e = $R->new( message => "$code something went wrong" );
        is( $e->code, $code, "code $code extracted" );
        is( [ $e->is_transient, $e->is_fatal ], $table{$code}, "$code transient/fatal" );
        is( $e->category, 'redis', "$code category" );
    }

    is( $R->new( message => 'MOVED 3999 127.0.0.1:6381' )->code, 'MOVED', 'MOVED with slot/address' );
    is( $R->new( message => 'ERR' )->code, 'ERR', 'bare code word' );
    is( $R->new( message => 'CUSTOM_MOD-ERR2 module says no' )->code, 'CUSTOM_MOD-ERR2', 'letters/digits/_/- code' );

    for my $odd ( 'lowercase error text', 'Mixed Case error', 'not-a-code: x', '123 numeric', '-ERR raw', '(error) x', ' leading space' ) {
        my $e = $R->new( message => $odd );
        is( $e->code, 'ERR', "odd first word '$odd' => ERR" );
        is( $e->is_fatal, 1, '... and ERR is fatal' );
    }

    my $ov = $R->new( message => 'something', code => 'TRYAGAIN' );
    is( $ov->code, 'TRYAGAIN', 'explicit code overrides' );
    is( $ov->is_transient, 1, '... and drives is_transient' );
    is( $R->new( message => 'LOADING x', code => 'MOVED' )->code, 'MOVED', 'explicit code wins over message' );
};

subtest 'from_kind' => sub {
    my %kinds = (
        connection   => 'Future::IO::Redis::Error::Connection',
        timeout      => 'Future::IO::Redis::Error::Timeout',
        protocol     => 'Future::IO::Redis::Error::Protocol',
        redis        => 'Future::IO::Redis::Error::Redis',
        disconnected => 'Future::IO::Redis::Error::Disconnected',
    );
    for my $kind ( sort keys %kinds ) {
        my $e = $BASE->from_kind( $kind, "msg for $kind" );
        is( ref $e, $kinds{$kind}, "kind '$kind'" );
        is( $e->message, "msg for $kind", '... message' );
        isa_ok( $e, [$BASE], '... isa base' );
    }

    my $t = $BASE->from_kind( timeout => 'Request timed out', command => 'BLPOP', timeout => 32, kind => 'request' );
    is( [ $t->command, $t->timeout, $t->kind ], [ 'BLPOP', 32, 'request' ], 'fields passed through' );
    is( $BASE->from_kind( connection => 'gone', reason => 'server_closed' )->reason, 'server_closed', 'reason passed' );
    is( $BASE->from_kind( redis => 'NOSCRIPT No matching script' )->code, 'NOSCRIPT', 'redis code' );
    is( $BASE->from_kind( redis => 'x', message => 'ignored' )->message, 'x', 'positional message wins' );

    like( dies { $BASE->from_kind( bogus => 'x' ) }, qr/unknown error kind 'bogus'/, 'unknown kind croaks' );
    like( dies { $BASE->from_kind( undef, 'x' ) },   qr/unknown error kind/,         'undef kind croaks' );
    like( dies { $BASE->from_kind( 'Redis', 'x' ) }, qr/unknown error kind/,         'kind is case-sensitive' );
    like( dies { $BASE->from_kind( 'connection', '' ) }, qr/message/, 'empty message croaks' );
    # ... except an empty error reply from the server (`-\r\n`), which is an error like any other.
    my $empty = $BASE->from_kind( 'redis', '' );
    is( [ ref $empty, $empty->message, $empty->code ],
        [ 'Future::IO::Redis::Error::Redis', 'the server sent an empty error reply', 'ERR' ], 'empty redis error reply' );
};

subtest 'Future integration' => sub {
    my $err = Future::IO::Redis::Error::Redis->new( message => 'WRONGTYPE Operation against a key holding the wrong kind of value' );

    my $f = Future->fail($err);
    ok( $f->is_failed, 'future failed' );
    ref_is( scalar $f->failure, $err, 'failure returns the same object' );

    my $caught;
    eval { $f->get; 1 } or $caught = $@;
    ref_is( $caught, $err, 'get throws the same object, not a Future::Exception wrapper' );
    is( ref $caught, 'Future::IO::Redis::Error::Redis', 'class preserved' );

    my $f2 = Future->new;
    $f2->fail($err);
    my $got;
    $f2->on_fail( sub { $got = shift } );
    ref_is( $got, $err, 'on_fail receives the same object' );

    my $af = $err->as_future;
    isa_ok( $af, ['Future'], 'as_future' );
    ref_is( scalar $af->failure, $err, 'as_future fails with the same object' );

    # Re-failing a future with a caught error keeps the object
    my $f3 = Future->new;
    $f3->fail($caught);
    ref_is( scalar $f3->failure, $err, 're-fail keeps the object' );
};

done_testing;

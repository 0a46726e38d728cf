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
    is( [ $t->command_name, $t->command, $t->timeout, $t->kind ], [ 'GET', ['GET'], 2, 'read' ], 'class throw passes fields' );
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
    is( $e->command_name, 'GET', 'command_name' );
    is( $e->command, ['GET'],    'command: the words' );
    is( $e->maybe_executed, 0,   'maybe_executed false by default' );
    is( $e->timeout, 5,         'timeout' );
    is( $e->kind,    'request', 'kind' );
    is( $e->is_transient, 1, 'transient' );
    is( $e->is_fatal,     0, 'not fatal' );

    for my $kind (qw( request connect read write )) {
        is( Future::IO::Redis::Error::Timeout->new( message => 'x', kind => $kind )->kind, $kind, "kind $kind" );
    }

    my $bare = Future::IO::Redis::Error::Timeout->new( message => 'x' );
    is( [ $bare->command, $bare->command_name, $bare->timeout, $bare->kind ], [ undef, undef, undef, undef ], 'all fields optional' );
    is( Future::IO::Redis::Error::Timeout->new( message => 'x', maybe_executed => 'yes' )->maybe_executed, 1, 'maybe_executed' );
    is( Future::IO::Redis::Error::Timeout->new( message => 'x', command => [ 'GET', 'k' ], command_name => 'get' )->command_name,
        'GET', 'command_name given' );

    my %names = (
        'DEBUG SLEEP'                                   => 'DEBUG SLEEP',
        'get'                                           => 'GET',
        'SET'                                           => 'SET',
    );
    for my $in ( sort keys %names ) {
        is( Future::IO::Redis::Error::Timeout->new( message => 'x', command => $in )->command_name,
            $names{$in}, "command '$in'" );
    }

    # Secrets are never kept, even if the caller passes the whole command.
    my @cases = (
        [ [ 'AUTH', 'hunter2' ]                          => 'AUTH',        [ 'AUTH', '[REDACTED]' ] ],
        [ [ 'auth', 'user', 'hunter2' ]                  => 'AUTH',        [ 'auth', 'user', '[REDACTED]' ] ],
        [ [ 'SET', 'key', 'value' ]                      => 'SET',         [ 'SET', 'key', 'value' ] ],
        [ [ 'debug', 'sleep', 10 ]                       => 'DEBUG SLEEP', [ 'debug', 'sleep', 10 ] ],
        [ [ 'CONFIG', 'SET', 'requirepass', 'hunter2', 'maxmemory', '1gb' ] => 'CONFIG SET',
          [ 'CONFIG', 'SET', 'requirepass', '[REDACTED]', 'maxmemory', '1gb' ] ],
        [ [ 'ACL', 'SETUSER', 'bob', 'on', '>hunter2', '#abc', '~*' ] => 'ACL SETUSER',
          [ 'ACL', 'SETUSER', 'bob', 'on', '>[REDACTED]', '#[REDACTED]', '~*' ] ],
        [ 'HELLO 3 AUTH bob hunter2'                     => 'HELLO',       [ qw( HELLO 3 AUTH bob ), '[REDACTED]' ] ],
        [ [ 'MIGRATE', 'h', 6379, '', 0, 5000, 'AUTH2', 'bob', 'hunter2', 'KEYS', 'a' ] => 'MIGRATE',
          [ 'MIGRATE', 'h', 6379, '', 0, 5000, 'AUTH2', 'bob', '[REDACTED]', 'KEYS', 'a' ] ],
        [ [ 'MIGRATE', 'h', 6379, 'k', 0, 5000, 'auth', 'hunter2' ] => 'MIGRATE',
          [ 'MIGRATE', 'h', 6379, 'k', 0, 5000, 'auth', '[REDACTED]' ] ],
        [ [ 'SENTINEL', 'SET', 'm', 'auth-pass', 'hunter2', 'quorum', 2 ] => 'SENTINEL',
          [ 'SENTINEL', 'SET', 'm', 'auth-pass', '[REDACTED]', 'quorum', 2 ] ],
        [ 'DEBUG SLEEP 10'                               => 'DEBUG SLEEP', [qw( DEBUG SLEEP 10 )] ],
    );
    for my $c (@cases) {
        my ( $in, $want, $words ) = @$c;
        my @before = ref $in ? @$in : ();
        my $t = Future::IO::Redis::Error::Timeout->new( message => 'timed out', command => $in );
        my $label = ref $in ? "[@$in]" : "'$in'";
        is( $t->command_name, $want, "command_name from $label" );
        is( $t->command, $words, "... command words, redacted" );
        my $dump = join ' ', map { ref $_ ? "@$_" : defined $_ ? $_ : '' } values %$t;
        unlike( $dump, qr/hunter2/, '... no secret stored' );
        is( "$t", 'timed out', '... message untouched' );
        is( $in, \@before, "... the caller's array untouched" ) if ref $in;
    }
    is( Future::IO::Redis::Error::Timeout->redact_command( [ 'AUTH', 'pw' ] ), [ 'AUTH', '[REDACTED]' ], 'redact_command as a class method' );
    is( Future::IO::Redis::Error::Timeout::redact_command( [ 'GET', 'k' ] ), [ 'GET', 'k' ], 'and as a function' );
};

subtest 'Protocol and Disconnected' => sub {
    my $p = Future::IO::Redis::Error::Protocol->new( message => 'malformed RESP' );
    is( [ $p->is_fatal, $p->is_transient ], [ 1, 0 ], 'Protocol is fatal' );
    my $d = Future::IO::Redis::Error::Disconnected->new( message => 'queue full' );
    is( [ $d->is_fatal, $d->is_transient ], [ 0, 1 ], 'Disconnected is transient' );
    my $b = $BASE->new( message => 'generic' );
    is( [ $b->is_fatal, $b->is_transient ], [ 0, 0 ], 'base is neither' );
    is( $p->data, undef, 'Protocol data optional' );
    is( Future::IO::Redis::Error::Protocol->new( message => 'x', data => '+OK' )->data, '+OK', 'Protocol data' );
    is( $d->queue_size, undef, 'Disconnected queue_size optional' );
    is( Future::IO::Redis::Error::Disconnected->new( message => 'x', queue_size => 1000 )->queue_size, 1000, 'queue_size' );
};

subtest 'Connection: host, port, path, reason as constructor arguments' => sub {
    my $e = Future::IO::Redis::Error::Connection->new( message => 'lost', host => 'localhost', port => 6379, reason => 'timeout' );
    is( [ $e->host, $e->port, $e->path, $e->reason ], [ 'localhost', 6379, undef, 'timeout' ], 'tcp' );
    my $u = Future::IO::Redis::Error::Connection->new( message => 'lost', path => '/tmp/r.sock' );
    is( [ $u->host, $u->port, $u->path ], [ undef, undef, '/tmp/r.sock' ], 'unix' );
};

subtest 'Redis: type, predicates, from_message' => sub {
    my $R = 'Future::IO::Redis::Error::Redis';
    my @pred = qw( is_wrongtype is_oom is_busy is_loading is_noscript is_readonly is_noauth is_noperm );
    my %code = map { my $c = uc substr( $_, 3 ); ( $_ => $c ) } @pred;
    for my $p (@pred) {
        my $e = $R->from_message("$code{$p} something happened");
        isa_ok( $e, [$R], "from_message for $code{$p}" );
        is( [ $e->type, $e->code, $e->message ], [ $code{$p}, $code{$p}, "$code{$p} something happened" ], '... type, code, message' );
        is( { map { $_ => $e->$_ } @pred }, { map { $_ => ( $_ eq $p ? 1 : 0 ) } @pred }, "... only $p is true" );
    }
    is( $R->from_message('wrong number of arguments')->type, 'ERR', 'no code word: ERR' );
    is( $R->new( message => 'boom', type => 'BUSY' )->type, 'BUSY', 'type as a constructor argument' );
    is( $R->new( message => 'boom', type => 'BUSY', code => 'OOM' )->code, 'OOM', 'code wins over type' );
    ok( $R->new( message => 'x', type => 'NOSCRIPT' )->is_noscript, 'predicate from type' );
    like( dies { $R->from_message('') }, qr/message/, 'from_message with an empty message croaks' );
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
    is( [ $t->command_name, $t->timeout, $t->kind ], [ 'BLPOP', 32, 'request' ], 'fields passed through' );
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

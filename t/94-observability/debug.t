# The debug option against real servers: every command sent and every reply summary, with
# latency, in the documented format; secrets redacted in every secret-bearing command form, sent
# for real (AUTH, HELLO AUTH, MIGRATE AUTH / AUTH2 to a second server, ACL SETUSER, CONFIG SET);
# the engine's handshake not logged; long and binary values; pipelines; debug => 1 to STDERR.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use File::Temp ();

my $PW  = 'pw-Xq83-debug-secret';
my $PW2 = 'pw-Zt55-second-secret';
my $srv  = start_server( password => $PW );
my $srv2 = start_server( password => $PW2 );

my @lines;
my $redis = client( $srv, password => $PW, debug => sub { push @lines, [@_] } );
my @secrets = ( $PW, $PW2, 'pw-bob-1', 'pw-bob-2', 'pw-master-3' );

sub no_secret {
    my ($what) = @_;
    my @bad = grep { my $l = "$_->[0] $_->[1]"; grep { index( $l, $_ ) >= 0 } @secrets } @lines;
    is( \@bad, [], "$what: no secret in any line" );
}

sub lines_since { my ($n) = @_; return [ map { "$_->[0] $_->[1]" } @lines[ $n .. $#lines ] ] }

subtest 'a sibling of an observed client is observed the same way' => sub {
    my @sib_lines;
    my $watched = client( $srv, password => $PW, debug => sub { push @sib_lines, "$_[0] $_[1]" } );
    my $sib = $watched->sibling;
    is( ref $sib, ref $watched, 'the same (observed) class' );
    is( run( $sib->ping ), 'PONG', 'it works (password carried over)' );
    ok( scalar( grep { /\Asend #\d+ PING\z/ } @sib_lines ), 'its commands reach the same debug code' );
    my $quiet = $watched->sibling( debug => undef );
    is( ref $quiet, 'Future::IO::Redis', 'debug => undef: a plain client' );
    is( run( $quiet->ping ), 'PONG' );
};

subtest 'commands and replies, handshake not logged' => sub {
    run( $redis->set( greeting => 'hello world' ) );
    is( run( $redis->get('greeting') ), 'hello world' );
    is( run( $redis->get('no-such-key') ), undef );
    my $got = lines_since(0);
    is( $got->[0], 'send #1 SET greeting "hello world"', 'first line: the command, as sent' );
    is( $got->[1], 'event connected 127.0.0.1:' . $srv->port, 'then the connect (after the handshake)' );
    like( $got->[2], qr/\Arecv #1 SET -> OK \(\d+\.\d{3} ms\)\z/, 'reply summary with latency' );
    is( $got->[3], 'send #2 GET greeting' );
    like( $got->[4], qr/\Arecv #2 GET -> "hello world" \(\d+\.\d{3} ms\)\z/ );
    like( $got->[6], qr/\Arecv #3 GET -> nil \(/, 'nil' );
    is( scalar( grep { /AUTH/ } @$got ), 0, 'the handshake (AUTH with the password option) is not logged' );
    no_secret('plain commands');
};

subtest 'error replies and croaks' => sub {
    my $n = @lines;
    ok( error_of( $redis->incr('greeting') ), 'INCR on a string fails' );
    like( lines_since($n)->[1], qr/\Arecv #\d+ INCR -> error Redis: ERR value is not an integer.* \(\d+\.\d{3} ms\)\z/ );
    $n = @lines;
    like( dies { $redis->get(undef) }, qr/argument 1 .* is undef.* at \Q${\__FILE__}\E line/, 'croak names this file' );
    like( lines_since($n)->[0], qr/\Asend #\d+ GET undef\z/, 'the refused command is logged' );
    like( lines_since($n)->[1], qr/\Arecv #\d+ GET -> refused: .*undef/ );
};

subtest 'secret-bearing commands, sent for real' => sub {
    my $n = @lines;
    # AUTH: a wrong password and the right one; method and command forms.
    ok( error_of( $redis->command( 'AUTH', 'pw-bob-1' ) ), 'AUTH with a wrong password fails' );
    is( run( $redis->auth($PW) ), 'OK', 'auth with the right one' );
    is( run( $redis->command( 'auth', 'default', $PW ) ), 'OK', 'AUTH default password' );
    # HELLO 2 AUTH (RESP2 stays).
    ok( ref run( $redis->hello( 2, 'AUTH', 'default', $PW, 'SETNAME', 'dbg' ) ), 'HELLO 2 AUTH default pw SETNAME' );
    # ACL SETUSER with >pass, <pass, #hash, then a login as that user.
    is( run( $redis->acl_setuser( 'bob', 'on', '>pw-bob-1', '>pw-bob-2', '~*', '+@all' ) ), 'OK', 'ACL SETUSER >pass >pass' );
    is( run( $redis->command( 'ACL', 'SETUSER', 'bob', '<pw-bob-2' ) ), 'OK', 'ACL SETUSER <pass' );
    is( run( $redis->command( 'AUTH', 'bob', 'pw-bob-1' ) ), 'OK', 'AUTH as bob with his password' );
    is( run( $redis->command( 'AUTH', 'default', $PW ) ), 'OK', 'and back' );
    # CONFIG SET of secret settings (set back to what they were).
    is( run( $redis->config_set( 'masterauth', 'pw-master-3', 'masteruser', 'repl' ) ), 'OK', 'CONFIG SET masterauth masteruser' );
    is( run( $redis->command( 'CONFIG', 'SET', 'requirepass', $PW ) ), 'OK', 'CONFIG SET requirepass' );
    # MIGRATE to the second server, with AUTH and with AUTH2.
    run( $redis->set( 'mig:1', 'one' ) );
    run( $redis->set( 'mig:2', 'two' ) );
    is( run( $redis->migrate( '127.0.0.1', $srv2->port, 'mig:1', 0, 5000, 'AUTH', $PW2 ) ), 'OK', 'MIGRATE ... AUTH pw' );
    is( run( $redis->command( 'MIGRATE', '127.0.0.1', $srv2->port, '', 0, 5000, 'AUTH2', 'default', $PW2, 'KEYS', 'mig:2' ) ), 'OK', 'MIGRATE ... AUTH2 user pw KEYS' );
    my $other = client( $srv2, password => $PW2 );
    is( [ run( $other->get('mig:1') ), run( $other->get('mig:2') ) ], [ 'one', 'two' ], 'the keys moved' );

    my $got = lines_since($n);
    my @sent = grep { /\Asend / } @$got;
    is(
        [ map { s/\Asend #\d+ //r } @sent ],
        [
            'AUTH [REDACTED]',
            'AUTH [REDACTED]',
            'auth default [REDACTED]',
            'HELLO 2 AUTH default [REDACTED] SETNAME dbg',
            'ACL SETUSER bob on >[REDACTED] >[REDACTED] ~* +@all',
            'ACL SETUSER bob <[REDACTED]',
            'AUTH bob [REDACTED]',
            'AUTH default [REDACTED]',
            'CONFIG SET masterauth [REDACTED] masteruser [REDACTED]',
            'CONFIG SET requirepass [REDACTED]',
            'SET mig:1 one',
            'SET mig:2 two',
            'MIGRATE 127.0.0.1 ' . $srv2->port . ' mig:1 0 5000 AUTH [REDACTED]',
            'MIGRATE 127.0.0.1 ' . $srv2->port . ' "" 0 5000 AUTH2 default [REDACTED] KEYS mig:2',
        ],
        'each logged with its secret redacted'
    );
    is( scalar( grep { /\Arecv / } @$got ), scalar @sent, 'and each reply' );
    no_secret('secret-bearing commands');
    run( $redis->config_set( 'masterauth', '', 'masteruser', '' ) );
};

subtest 'ACL GENPASS: the password it gives is not logged' => sub {
    my $n = @lines;
    my $gen  = run( $redis->acl_genpass );
    my $gen2 = run( $redis->command( 'acl', 'genpass', 64 ) );
    like( $_, qr/\A[0-9a-f]{16,}\z/, 'a generated password' ) for $gen, $gen2;
    my $got = lines_since($n);
    is( scalar( grep { /\Arecv #\d+ ACL GENPASS -> \[REDACTED\] \(/ } @$got ), 2, 'each reply logged as [REDACTED]' ) or diag join "\n", @$got;
    is( [ grep { index( $_, $gen ) >= 0 || index( $_, $gen2 ) >= 0 } @$got ], [], 'the passwords appear in no line' );
};

subtest 'long, binary and character values' => sub {
    my $n = @lines;
    run( $redis->set( big => 'x' x 5000 ) );
    run( $redis->set( "bin\0key" => "\x00\x01\xfe\xff\r\n" ) );
    is( run( $redis->get("bin\0key") ), "\x00\x01\xfe\xff\r\n", 'binary round trip' );
    run( $redis->set( 'text' => "caf\x{e9} \x{263a}" ) );
    my $got = lines_since($n);
    is( $got->[0], 'send #' . ( $got->[0] =~ /#(\d+)/ )[0] . ' SET big "' . ( 'x' x 64 ) . '"...(+4936 bytes)', 'long value cut' );
    like( $got->[2], qr/\Asend #\d+ SET "bin\\x00key" "\\x00\\x01\\xfe\\xff\\r\\n"\z/, 'binary escaped' );
    like( $got->[5], qr/\Arecv #\d+ GET -> "\\x00\\x01\\xfe\\xff\\r\\n" \(/, 'binary reply escaped' );
    like( $got->[6], qr/\Asend #\d+ SET text "caf\\xc3\\xa9 \\xe2\\x98\\xba"\z/, 'characters as their UTF-8 bytes' );
    is( scalar( grep { /[^\x20-\x7e]/ } @$got ), 0, 'every line is printable ASCII' );
};

subtest 'aggregates show their size only' => sub {
    my $n = @lines;
    run( $redis->hset( 'h', a => 1, b => 2 ) );
    run( $redis->hgetall('h') );
    run( $redis->config_get('requirepass') );
    run( $redis->command( 'CONFIG', 'GET', 'requirepass' ) );
    my $got = lines_since($n);
    like( $got->[3], qr/\Arecv #\d+ HGETALL -> \{2 fields\} \(/, 'hgetall: a hash' );
    like( $got->[5], qr/\Arecv #\d+ CONFIG GET -> \{1 field\} \(/, 'config_get: a hash' );
    like( $got->[7], qr/\Arecv #\d+ CONFIG GET -> \[2 items\] \(/, 'CONFIG GET through command: an array' );
    no_secret('CONFIG GET requirepass');
};

subtest 'pipeline' => sub {
    my $n = @lines;
    my $res = run( $redis->pipeline->set( p => 1 )->incr('p')->hgetall('p')->execute );
    is( scalar @$res, 3 );
    my $got = lines_since($n);
    my ($seq) = $got->[0] =~ /\Asend #(\d+) /;
    is( [ @$got[ 0 .. 3 ] ], [ "send #$seq PIPELINE 3 commands", "send #$seq.1 SET p 1", "send #$seq.2 INCR p", "send #$seq.3 HGETALL p" ] );
    like( $got->[4], qr/\Arecv #$seq PIPELINE -> \[3 results, 1 failed\] \(\d+\.\d{3} ms\)\z/ );
};

subtest 'a retry policy: each attempt logged' => sub {
    my @l;
    my $r = client( $srv, password => $PW, retry => sub { $_[0] < 3 ? 0.01 : 0 }, debug => sub { push @l, "$_[0] $_[1]" } );
    run( $r->set( 'rt', 'text' ) );
    ok( error_of( $r->incr('rt') ), 'INCR on a string fails, after retries' );
    is( [ grep { /INCR/ } @l ], [
        'send #2 INCR rt', 'send #3 INCR rt', match(qr/\Arecv #3 INCR -> error Redis: /), 'send #4 INCR rt',
        match(qr/\Arecv #4 INCR -> error Redis: /), match(qr/\Arecv #2 INCR -> error Redis: .*\(\d+\.\d{3} ms\)\z/),
    ], 'the call, two resubmissions, and the outcome of the whole' )
      or diag join "\n", @l;
    my @p;
    my $pr = client( $srv, password => $PW, prefix => 'pf:', retry => sub { $_[0] < 2 ? 0.01 : 0 }, debug => sub { push @p, $_[1] } );
    run( $pr->set( 'rt', 'text' ) );
    ok( error_of( $pr->incr('rt') ) );
    is( [ grep { /\A#\d+ INCR pf/ } @p ], [ "#2 INCR pf:rt", "#3 INCR pf:rt" ], "a resubmission shows the prefix once" );
};

subtest 'prefix: shown as sent' => sub {
    my @l;
    my $p = client( $srv, password => $PW, prefix => 'app:', debug => sub { push @l, $_[1] } );
    run( $p->mset( a => 1, b => 2 ) );
    is( $l[0], '#1 MSET app:a 1 app:b 2' );
};

subtest 'debug => 1 writes to STDERR' => sub {
    my $tmp = File::Temp->new;
    open( my $saved, '>&', \*STDERR ) or die $!;
    open( STDERR, '>', $tmp->filename ) or die $!;
    my $ok = eval {
        my $d = client( $srv, password => $PW, debug => 1 );
        run( $d->set( k => 'v' ) );
        run( $d->auth($PW) );
        1;
    };
    open( STDERR, '>&', $saved ) or die $!;
    die $@ unless $ok;
    open( my $in, '<', $tmp->filename ) or die $!;
    my @err = <$in>;
    my $peer = '127.0.0.1:' . $srv->port;
    is( $err[0], "[Future::IO::Redis $peer] send #1 SET k v\n" );
    is( $err[1], "[Future::IO::Redis $peer] event connected $peer\n" );
    like( $err[2], qr/\A\[Future::IO::Redis \Q$peer\E\] recv #1 SET -> OK \(\d+\.\d{3} ms\)\n\z/ );
    is( $err[3], "[Future::IO::Redis $peer] send #2 AUTH [REDACTED]\n" );
    is( scalar( grep { index( $_, $PW ) >= 0 } @err ), 0, 'no password' );
};

subtest 'bad values croak' => sub {
    like( dies { Future::IO::Redis->new( debug => [] ) }, qr/debug must be 1 or a code reference at \Q${\__FILE__}\E/ );
    my $plain = Future::IO::Redis->new( debug => 0 );
    is( ref $plain, 'Future::IO::Redis', 'debug => 0: a plain client' );
};

no_secret('the whole run');
done_testing;

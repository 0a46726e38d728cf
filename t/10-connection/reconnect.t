# Reconnection after an established connection is lost: CLIENT KILL, a server killed and
# restarted, reconnect => 0, queue_size, written commands failing with Connection (and never
# sent twice), and the handshake (AUTH / SELECT / CLIENT SETNAME) replayed on the new connection.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Test::FIORedis::FakeServer;
use Future::AsyncAwait;
use File::Temp qw(tempdir);
use Time::HiRes qw(time);

my %LOST = map { $_ => 1 } qw( server_closed connection_lost );

subtest 'CLIENT KILL: on_disconnect, on_connect again, next command works' => sub {
    my $srv = start_server();
    my ( @events, $connects );
    my $redis = client(
        $srv,
        client_name     => 'victim',
        reconnect_delay => 0.05,
        on_connect      => sub { $connects++; push @events, 'connect' },
        on_disconnect   => sub { push @events, "disconnect:$_[1]" },
    );
    run( $redis->connect );
    my $id = run( $redis->client_id );
    is( $srv->cli( 'CLIENT', 'KILL', 'ID', $id ), '1', 'killed our connection from another client' );

    ok( wait_until( sub { ( $connects // 0 ) >= 2 }, 10 ), 'on_connect fired again without any command pending' );
    is( $events[0], 'connect', 'events: connect first' );
    like( $events[1], qr/\Adisconnect:(?:server_closed|connection_lost)\z/, "then on_disconnect ($events[1])" );
    is( $events[2], 'connect', 'then connect again' );
    is( scalar @events, 3, 'and nothing else' );
    ok( $redis->is_connected, 'is_connected' );
    is( run( $redis->ping ), 'PONG', 'the next command succeeds' );
    isnt( run( $redis->client_id ), $id, 'on a new server connection' );

    # Kill it again by name, as an operator would (SKIPME yes: not the killer's own connection).
    $srv->cli( 'CLIENT', 'KILL', 'SKIPME', 'yes', 'ID', run( $redis->client_id ) );
    ok( wait_until( sub { $connects >= 3 }, 10 ), 'reconnected a second time' );
    is( run( $redis->echo('again') ), 'again', 'still works' );
    run( $redis->disconnect );
};

subtest 'kill -9 and restart on the same port: commands issued during the outage complete' => sub {
    my $srv = start_server();
    my ( $connects, @reasons ) = (0);
    my $redis = client(
        $srv,
        reconnect_delay     => 0.05,
        reconnect_delay_max => 0.2,
        request_timeout     => 15,
        on_connect          => sub { $connects++ },
        on_disconnect       => sub { push @reasons, $_[1] },
    );
    run( $redis->connect );
    run( $redis->set( 'rc:before', 'x' ) );

    $srv->kill9;
    ok( wait_until( sub { @reasons }, 5 ), 'the loss was noticed' );
    ok( $LOST{ $reasons[0] }, "reason $reasons[0]" );
    ok( !$redis->is_connected, 'not connected' );

    my @f = (
        $redis->set( 'rc:during', 'yes' ),
        $redis->incr('rc:n'),
        $redis->get('rc:during'),
        $redis->incr('rc:n'),
        map { $redis->echo("during-$_") } 1 .. 10,
    );
    run( Future::IO->sleep(0.3) );
    ok( ( !grep { $_->is_ready } @f ), 'while the server is down, the commands wait' );

    $srv->restart;
    my @r = run( Future->needs_all(@f), 20 );
    is( \@r, [ 'OK', 1, 'yes', 2, map { "during-$_" } 1 .. 10 ], 'after the restart they all completed, in order' );
    is( $connects, 2, 'on_connect fired twice' );
    is( scalar @reasons, 1, 'on_disconnect fired once' );
    is( run( $redis->get('rc:before') ), undef, 'the restarted server has no old data (no persistence)' );
    run( $redis->disconnect );
};

subtest 'reconnect => 0: commands fail with Disconnected after the loss' => sub {
    my $srv = start_server();
    my ( $connects, @reasons ) = (0);
    my $redis = client(
        $srv,
        reconnect     => 0,
        on_connect    => sub { $connects++ },
        on_disconnect => sub { push @reasons, $_[1] },
    );
    run( $redis->connect );
    my $id = run( $redis->client_id );
    $srv->cli( 'CLIENT', 'KILL', 'ID', $id );
    ok( wait_until( sub { @reasons }, 5 ), 'on_disconnect fired' );
    ok( $LOST{ $reasons[0] }, "reason $reasons[0]" );
    ok( !$redis->is_connected, 'not connected' );
    isa_ok( error_of( $redis->ping ),      ['Future::IO::Redis::Error::Disconnected'], 'PING fails' );
    isa_ok( error_of( $redis->get('k') ),  ['Future::IO::Redis::Error::Disconnected'], 'GET fails' );
    run( Future::IO->sleep(0.5) );
    is( $connects, 1, 'no reconnect happened' );
    ok( lives { run( $redis->connect ) }, 'an explicit connect works' ) or note $@;
    is( run( $redis->ping ), 'PONG', 'and commands work again' );
    run( $redis->disconnect );
};

subtest 'queue_size => 2 while the server is down: the 3rd command fails at once' => sub {
    my $srv = start_server();
    my @reasons;
    my $redis = client(
        $srv,
        queue_size          => 2,
        reconnect_delay     => 0.05,
        reconnect_delay_max => 0.2,
        request_timeout     => 15,
        on_disconnect       => sub { push @reasons, $_[1] },
    );
    run( $redis->connect );
    $srv->kill9;
    ok( wait_until( sub { @reasons }, 5 ), 'the loss was noticed' );

    my @f = map { $redis->echo("q$_") } 1 .. 3;
    my $t0  = time;
    my $err = error_of( $f[2] );
    isa_ok( $err, ['Future::IO::Redis::Error::Disconnected'], 'the 3rd command fails with Disconnected' );
    ok( time - $t0 < 1, 'at once, not after the reconnect' );
    ok( !$f[0]->is_ready && !$f[1]->is_ready, 'the first two still wait' );
    isa_ok( error_of( $redis->echo('q4') ), ['Future::IO::Redis::Error::Disconnected'], 'so does a 4th' );

    $srv->restart;
    is( [ run( Future->needs_all( @f[ 0, 1 ] ), 20 ) ], [ 'q1', 'q2' ], 'the two queued commands complete after the restart' );
    is( run( $redis->echo('q5') ), 'q5', 'and the queue has room again' );
    run( $redis->disconnect );
};

# A fake server whose first connection reads the first non-PING command, waits for the rest of
# the pipeline, then drops the connection; later connections answer +PONG to everything. Every
# command received is logged as "<connection number> <args>". Returns (futures, log lines).
sub drop_scenario {
    my ( $opts, @commands ) = ref $_[0] eq 'HASH' ? @_ : ( {}, @_ );
    my $dir  = tempdir( CLEANUP => 1 );
    my $log  = "$dir/commands.log";
    my $fake = Test::FIORedis::FakeServer->start(
        sub {
            my ( $sock, $n ) = @_;
            while ( my @cmd = Test::FIORedis::FakeServer::read_command($sock) ) {
                open my $fh, '>>', $log or die "$log: $!";
                print {$fh} "$n @cmd\n";
                close $fh;
                if ( $n == 1 && uc $cmd[0] ne 'PING' ) {
                    Time::HiRes::sleep(0.2);    # let the rest of the pipeline arrive, then drop the connection
                    return;
                }
                Test::FIORedis::FakeServer::write_all( $sock, "+PONG\r\n" );
            }
        }
    );
    my ( @reasons, $connects );
    my $redis = Future::IO::Redis->new(
        host            => '127.0.0.1',
        port            => $fake->port,
        reconnect_delay => 0.05,
        request_timeout => 10,
        on_connect      => sub { $connects++ },
        on_disconnect   => sub { push @reasons, $_[1] },
        %$opts,
    );
    run( $redis->connect );
    is( run( $redis->ping ), 'PONG', 'the fake server answers PING' );

    my @f = map { $redis->command(@$_) } @commands;
    run( Future->wait_all(@f), 10 );
    ok( wait_until( sub { @reasons }, 5 ), 'on_disconnect fired' );
    ok( $LOST{ $reasons[0] // '' }, 'reason ' . ( $reasons[0] // 'none' ) );
    is( run( $redis->ping, 10 ), 'PONG', 'the client reconnected and works' );
    is( $connects, 2, 'on_connect fired twice' );
    run( $redis->disconnect );
    $fake->stop;

    open my $fh, '<', $log or die "$log: $!";
    my @seen = map { chomp; $_ } <$fh>;
    return ( \@f, \@seen );
}

subtest 'written but unanswered write commands fail with Connection, and are not sent again' => sub {
    my ( $f, $seen ) = drop_scenario( [ 'SET', 'a', 1 ], [ 'INCR', 'c' ], [ 'LPUSH', 'l', 'x' ] );
    isa_ok( $f->[$_]->failure, ['Future::IO::Redis::Error::Connection'], "written command #$_ fails with Connection" ) for 0 .. 2;
    is( [ grep { !/\A1 / && !/\A\d+ PING\z/ } @$seen ], [], 'none of them was sent on the new connection' );
    is( scalar( grep { /\A1 SET a 1\z/ } @$seen ), 1, 'SET was sent once' );
};

subtest 'written but unanswered read-only commands are sent again once, in order (retry policy)' => sub {
    # Read-only commands cannot change anything by running twice: the default retry policy
    # ('exponential') sends them again on the new connection.
    my ( $f, $seen ) = drop_scenario( [ 'GET', 'a' ], [ 'EXISTS', 'b' ], [ 'ECHO', 'c' ] );
    is( [ map { $_->is_done ? $_->result : 'failed: ' . $_->failure } @$f ], [ 'PONG', 'PONG', 'PONG' ],
        'each got the reply from the new connection' );
    is( [ grep { !/\A1 / && !/\A\d+ PING\z/ } @$seen ], [ '2 GET a', '2 EXISTS b', '2 ECHO c' ],
        'sent once more on the new connection, in their order' );
    is( scalar( grep { /\A\d+ GET a\z/ } @$seen ), 2, 'GET was sent twice in all' );
};

subtest "with retry => 'none', written read-only commands fail with Connection (never sent twice)" => sub {
    my ( $f, $seen ) = drop_scenario( { retry => 'none' }, [ 'GET', 'a' ], [ 'EXISTS', 'b' ], [ 'ECHO', 'c' ] );
    isa_ok( $f->[$_]->failure, ['Future::IO::Redis::Error::Connection'], "written command #$_ fails with Connection" ) for 0 .. 2;
    is( [ grep { !/\A1 / && !/\A\d+ PING\z/ } @$seen ], [], 'none of them was sent on the new connection' );
    is( scalar( grep { /\A\d+ GET a\z/ } @$seen ), 1, 'GET was sent once' );
};

subtest 'handshake replay: database, client_name (and password) after a reconnect' => sub {
    my $srv = start_server( password => 'replay-pw' );
    my $connects = 0;
    my $redis = client(
        $srv,
        password        => 'replay-pw',
        database        => 3,
        client_name     => 'x',
        reconnect_delay => 0.05,
        on_connect      => sub { $connects++ },
    );
    run( $redis->connect );
    is( run( $redis->client_getname ), 'x', 'client name set on connect' );

    # CLIENT KILL: the server stays, the connection goes.
    $srv->cli( 'CLIENT', 'KILL', 'ID', run( $redis->client_id ) );
    ok( wait_until( sub { $connects >= 2 }, 10 ), 'reconnected' );
    is( run( $redis->client_getname ), 'x', 'CLIENT GETNAME after the reconnect' );
    run( $redis->set( 'replay:key', 'in-db-3' ) );
    is( $srv->cli( '-n', 3, 'GET', 'replay:key' ), 'in-db-3', 'a key set after the reconnect lands in db 3' );
    is( $srv->cli( '-n', 0, 'EXISTS', 'replay:key' ), '0', 'and not in db 0' );

    # kill -9 and restart: AUTH has to be replayed too.
    $srv->kill9;
    my $f = $redis->set( 'replay:key2', 'after-restart' );
    $srv->restart;
    my $r = eval { run( $f, 20 ) };
    # The SET may have been written to the dying connection (then it fails with Connection) or
    # queued for the new one; either way the next command runs on an authenticated connection.
    ok( !defined $r || $r eq 'OK', 'SET during the restart: OK or failed' );
    ok( !$@ || ( ref $@ && $@->isa('Future::IO::Redis::Error::Connection') ), 'a failure is a Connection error' )
      or note $@;
    is( run( $redis->set( 'replay:key3', 'v3' ), 20 ), 'OK', 'commands work after the restart (AUTH replayed)' );
    is( run( $redis->client_getname ), 'x', 'client name replayed' );
    is( $srv->cli( '-n', 3, 'GET', 'replay:key3' ), 'v3', 'key in db 3 (SELECT replayed)' );
    ok( $connects >= 3, 'on_connect fired for each connection' );
    run( $redis->disconnect );
};

done_testing;

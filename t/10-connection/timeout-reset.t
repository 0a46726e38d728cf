# A request timeout resets the connection: the timed-out command fails with Timeout, the other
# written ones with Connection, on_disconnect says 'timeout', the client reconnects by itself,
# commands issued while it does wait for the new connection, and written commands are never sent
# twice.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $srv = start_server();

sub server_awake { is( $srv->cli('PING'), 'PONG', 'server answers again' ) }

subtest 'after a timeout the client reconnects and works' => sub {
    my ( @events, $connects );
    my $redis = client(
        $srv,
        request_timeout => 0.4,
        reconnect_delay => 0.05,
        client_name     => 'reset-me',
        on_connect      => sub { $connects++; push @events, 'connect' },
        on_disconnect   => sub { push @events, "disconnect:$_[1]" },
    );
    run( $redis->connect );
    my $id1 = run( $redis->client_id );

    my $err = error_of( $redis->command( 'DEBUG', 'SLEEP', 1 ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'DEBUG SLEEP timed out' );
    server_awake();

    is( run( $redis->ping, 10 ), 'PONG', 'next command succeeds' );
    ok( $redis->is_connected, 'is_connected' );
    my $id2 = run( $redis->client_id );
    isnt( $id2, $id1, 'on a new server connection' );
    is( run( $redis->client_getname ), 'reset-me', 'the handshake (client_name) was replayed' );
    wait_until( sub { $connects >= 2 }, 5 );
    is( $events[0], 'connect',            'first event: connect' );
    is( $events[1], 'disconnect:timeout', "then on_disconnect with reason 'timeout'" );
    is( $events[2], 'connect',            'then on_connect again' );
    is( $connects,  2,                    'on_connect fired exactly twice' );
    ok( wait_until( sub { $srv->cli( 'CLIENT', 'LIST', 'ID', $id1 ) !~ /id=$id1\b/ }, 5 ), 'the old connection was closed' );
    run( $redis->disconnect );
};

subtest 'written commands are never sent twice' => sub {
    $srv->cli( 'DEL', 'reset:counter' );
    my $redis = client( $srv, request_timeout => 0.4, reconnect_delay => 0.05 );
    run( $redis->connect );
    my $sleep = $redis->command( 'DEBUG', 'SLEEP', 1 );
    my @incr  = map { $redis->incr('reset:counter') } 1 .. 5;
    run( Future->wait_all( $sleep, @incr ), 10 );
    isa_ok( $sleep->failure, ['Future::IO::Redis::Error::Timeout'], 'DEBUG SLEEP: Timeout' );
    for my $i ( 0 .. $#incr ) {
        isa_ok( $incr[$i]->failure, ['Future::IO::Redis::Error::Connection'], "INCR #$i: Connection" );
    }
    server_awake();
    # Let the client reconnect and run something, then look at the counter.
    is( run( $redis->ping, 10 ), 'PONG', 'reconnected' );
    run( Future::IO->sleep(0.3) );
    my $n = $srv->cli( 'GET', 'reset:counter' );
    $n = 0 if $n eq '';
    ok( $n <= 5, "the server ran each written INCR at most once (counter $n <= 5)" );
    is( run( $redis->incr('reset:counter') ), $n + 1, 'a new INCR counts once more' );
    run( $redis->disconnect );
};

subtest 'commands issued during the reset wait for the new connection' => sub {
    my @during;
    my $redis;
    $redis = client(
        $srv,
        request_timeout => 0.4,
        reconnect_delay => 0.05,
        # ECHO gets a long deadline: it has to wait until the server wakes from DEBUG SLEEP.
        timeout       => { ECHO => 15 },
        on_disconnect => sub { push @during, map { $redis->echo("during-$_") } 1 .. 3 },
    );
    run( $redis->connect );
    my $sleep = $redis->command( 'DEBUG', 'SLEEP', 1 );
    my $err   = error_of($sleep);
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'DEBUG SLEEP timed out' );
    # Issued right after the failure, in the same tick as its report.
    push @during, $redis->echo('after-1');
    ok( wait_until( sub { @during >= 4 }, 5 ), 'on_disconnect issued its commands' );
    my @got = run( Future->needs_all(@during), 15 );
    is( [ sort @got ], [ sort 'after-1', map { "during-$_" } 1 .. 3 ], 'they all completed on the new connection' );
    server_awake();
    run( $redis->disconnect );
};

subtest 'repeated timeouts: the client keeps recovering' => sub {
    my $connects = 0;
    my $redis    = client(
        $srv,
        request_timeout => 0.3,
        reconnect_delay => 0.05,
        on_connect      => sub { $connects++ },
    );
    run( $redis->connect );
    for my $round ( 1 .. 3 ) {
        my $err = error_of( $redis->command( 'DEBUG', 'SLEEP', 0.6 ) );
        isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], "round $round: Timeout" );
        server_awake();
        is( run( $redis->echo("round-$round"), 10 ), "round-$round", "round $round: the client works again" );
    }
    ok( $connects >= 4, "reconnected after each timeout (on_connect fired $connects times)" );
    run( $redis->disconnect );
};

subtest "a timeout resets only that client's connection" => sub {
    my $other_disc = 0;
    my $other = client( $srv, request_timeout => 5, on_disconnect => sub { $other_disc++ } );
    my $redis = client( $srv, request_timeout => 0.3, reconnect_delay => 0.05 );
    run( Future->needs_all( $other->connect, $redis->connect ) );
    my $other_id = run( $other->client_id );

    my $sleep = $redis->command( 'DEBUG', 'SLEEP', 0.8 );
    my $o     = $other->echo('patient');    # waits for the server, 5 s deadline
    isa_ok( error_of($sleep), ['Future::IO::Redis::Error::Timeout'], 'the impatient client timed out' );
    is( run( $o, 10 ), 'patient', 'the other client got its reply' );
    is( run( $other->client_id ), $other_id, 'on its original connection' );
    is( $other_disc, 0, 'the other client never disconnected' );
    run( Future->needs_all( $other->disconnect, $redis->disconnect ) );
};

subtest 'with reconnect => 0 a timeout leaves the client disconnected' => sub {
    my @reasons;
    my $redis = client( $srv, request_timeout => 0.3, reconnect => 0, on_disconnect => sub { push @reasons, $_[1] } );
    run( $redis->connect );
    isa_ok( error_of( $redis->command( 'DEBUG', 'SLEEP', 0.6 ) ), ['Future::IO::Redis::Error::Timeout'], 'Timeout' );
    server_awake();
    wait_until( sub { @reasons }, 2 );
    is( \@reasons, ['timeout'], "on_disconnect reason 'timeout'" );
    ok( !$redis->is_connected, 'not connected' );
    isa_ok( error_of( $redis->ping ), ['Future::IO::Redis::Error::Disconnected'], 'later commands fail with Disconnected' );
    ok( lives { run( $redis->connect ) }, 'an explicit connect works' ) or note $@;
    is( run( $redis->ping ), 'PONG', 'and so do commands' );
    run( $redis->disconnect );
};

done_testing;

# on_connect / on_disconnect / on_error: when they fire, with what arguments, in what order, and
# every on_disconnect reason (client, server_closed / connection_lost, timeout, protocol_error).
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Test::FIORedis::FakeServer;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $srv = start_server();

sub recorder {
    my ($log) = @_;
    return (
        on_connect    => sub { push @$log, [ connect    => $_[0] ] },
        on_disconnect => sub { push @$log, [ disconnect => $_[0], $_[1] ] },
        on_error      => sub { push @$log, [ error      => $_[0], $_[1] ] },
    );
}

sub kinds { [ map { $_->[0] eq 'disconnect' ? "disconnect:$_->[2]" : $_->[0] } @{ $_[0] } ] }

subtest 'connect, then disconnect(): reason client' => sub {
    my @log;
    my $redis = client( $srv, recorder( \@log ) );
    run( $redis->connect );
    is( kinds( \@log ), ['connect'], 'on_connect fired once connect resolved' );
    ref_is( $log[0][1], $redis, 'on_connect gets the client' );
    ok( $redis->is_connected, 'is_connected is already true inside/after on_connect' );
    run( $redis->disconnect );
    wait_until( sub { @log >= 2 }, 5 );
    is( kinds( \@log ), [ 'connect', 'disconnect:client' ], "on_disconnect with reason 'client'" );
    ref_is( $log[1][1], $redis, 'on_disconnect gets the client' );
    run( Future::IO->sleep(0.3) );
    is( scalar @log, 2, 'nothing more (no reconnect after disconnect())' );
};

subtest 'is_connected inside the callbacks' => sub {
    my ( $in_connect, $in_disconnect );
    my $redis;
    $redis = client(
        $srv,
        on_connect    => sub { $in_connect    = $_[0]->is_connected },
        on_disconnect => sub { $in_disconnect = $_[0]->is_connected },
    );
    run( $redis->connect );
    run( $redis->disconnect );
    wait_until( sub { defined $in_disconnect }, 5 );
    ok( $in_connect, 'true in on_connect' );
    ok( defined $in_disconnect && !$in_disconnect, 'false in on_disconnect' );
};

subtest 'server-side kill: server_closed or connection_lost, then on_connect' => sub {
    my @log;
    my $redis = client( $srv, reconnect_delay => 0.05, recorder( \@log ) );
    run( $redis->connect );
    $srv->cli( 'CLIENT', 'KILL', 'ID', run( $redis->client_id ) );
    ok( wait_until( sub { @log >= 3 }, 10 ), 'events arrived without a command pending' );
    my $k = kinds( \@log );
    is( $k->[0], 'connect', 'connect' );
    like( $k->[1], qr/\Adisconnect:(?:server_closed|connection_lost)\z/, "then $k->[1]" );
    is( $k->[2], 'connect', 'then connect again' );
    is( scalar( grep { $_->[0] eq 'error' } @log ), 0, 'no on_error (the reconnect succeeded at once)' );
    run( $redis->disconnect );
};

subtest 'request timeout: reason timeout' => sub {
    my @log;
    my $redis = client( $srv, request_timeout => 0.3, reconnect_delay => 0.05, recorder( \@log ) );
    run( $redis->connect );
    isa_ok( error_of( $redis->command( 'DEBUG', 'SLEEP', 0.7 ) ), ['Future::IO::Redis::Error::Timeout'], 'timed out' );
    is( $srv->cli('PING'), 'PONG', 'server awake' );
    ok( wait_until( sub { @log >= 3 }, 10 ), 'reconnected' );
    is( kinds( \@log )->[1], 'disconnect:timeout', "on_disconnect reason 'timeout'" );
    is( kinds( \@log )->[2], 'connect', 'then on_connect' );
    run( $redis->disconnect );
};

subtest 'garbage from the server: reason protocol_error' => sub {
    my $fake = Test::FIORedis::FakeServer->start(
        sub {
            my ( $sock, $n ) = @_;
            while ( my @cmd = Test::FIORedis::FakeServer::read_command($sock) ) {
                if ( $n == 1 && $cmd[0] eq 'GET' ) {
                    Test::FIORedis::FakeServer::write_all( $sock, "?this is not RESP\r\n" );
                    Time::HiRes::sleep(1);
                    return;
                }
                Test::FIORedis::FakeServer::write_all( $sock, "+PONG\r\n" );
            }
        },
        concurrent => 1,
    );
    my @log;
    my $redis = Future::IO::Redis->new(
        host            => '127.0.0.1',
        port            => $fake->port,
        reconnect_delay => 0.05,
        recorder( \@log ),
    );
    run( $redis->connect );
    my $err = error_of( $redis->get('k') );
    isa_ok( $err, ['Future::IO::Redis::Error::Protocol'], 'the command fails with a Protocol error' );
    ok( wait_until( sub { @log >= 3 }, 10 ), 'reconnected' );
    is( kinds( \@log )->[1], 'disconnect:protocol_error', "on_disconnect reason 'protocol_error'" );
    is( kinds( \@log )->[2], 'connect', 'then on_connect' );
    is( run( $redis->ping ), 'PONG', 'and the new connection works' );
    run( $redis->disconnect );
    $fake->stop;
};

subtest 'on_error: a failed first connect, and each failed reconnect attempt' => sub {
    my $port = Test::FIORedis::Server->free_port;
    my @log;
    my $redis = Future::IO::Redis->new( host => '127.0.0.1', port => $port, recorder( \@log ) );
    my $err = error_of( $redis->connect );
    isa_ok( $err, ['Future::IO::Redis::Error::Connection'], 'connect failed' );
    wait_until( sub { @log }, 2 );
    is( kinds( \@log ), ['error'], 'on_error fired (no on_connect, no on_disconnect)' );
    ref_is( $log[0][1], $redis, 'on_error gets the client' );
    isa_ok( $log[0][2], ['Future::IO::Redis::Error'], 'and the error object' );
    run( Future::IO->sleep(0.5) );
    is( scalar @log, 1, 'the first connect is not retried' );

    my $srv2 = start_server();
    my @log2;
    my $r2 = client( $srv2, reconnect_delay => 0.05, recorder( \@log2 ) );
    run( $r2->connect );
    $srv2->kill9;
    ok( wait_until( sub { ( grep { $_->[0] eq 'error' } @log2 ) >= 2 }, 10 ), 'on_error for each failed reconnect attempt' );
    my $k = kinds( \@log2 );
    is( $k->[0], 'connect', 'connect first' );
    like( $k->[1], qr/\Adisconnect:/, 'then disconnect' );
    ok( ( !grep { $_ ne 'error' } @$k[ 2 .. $#$k ] ), 'then only errors' );
    $srv2->restart;
    ok( wait_until( sub { $log2[-1][0] eq 'connect' }, 10 ), 'and on_connect once the server is back' );
    run( $r2->disconnect );
};

subtest 'a callback that dies does not break the client' => sub {
    my @warnings;
    local $SIG{__WARN__} = sub { push @warnings, $_[0] };
    my $connects = 0;
    my $redis = client(
        $srv,
        reconnect_delay => 0.05,
        on_connect      => sub { $connects++; die "boom in on_connect\n" },
        on_disconnect   => sub { die "boom in on_disconnect\n" },
    );
    run( $redis->connect );
    is( run( $redis->ping ), 'PONG', 'commands work although on_connect died' );
    $srv->cli( 'CLIENT', 'KILL', 'ID', run( $redis->client_id ) );
    ok( wait_until( sub { $connects >= 2 }, 10 ), 'the client still reconnected' );
    is( run( $redis->ping ), 'PONG', 'and works' );
    ok( ( grep { /boom in on_connect/ } @warnings ),    'the on_connect death was warned about' );
    ok( ( grep { /boom in on_disconnect/ } @warnings ), 'the on_disconnect death was warned about' );
    run( $redis->disconnect );
};

subtest 'a command issued from on_connect runs' => sub {
    my $from_cb;
    my $redis;
    $redis = client( $srv, on_connect => sub { $from_cb //= $_[0]->echo('from-on-connect') } );
    run( $redis->connect );
    ok( $from_cb, 'on_connect issued a command' );
    is( run( $from_cb, 5 ), 'from-on-connect', 'and it got its reply' );
    run( $redis->disconnect );
};

done_testing;

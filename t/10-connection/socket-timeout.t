# Socket-level timeouts: connect_timeout covers the handshake (a server that accepts but never
# answers AUTH), read_timeout detects a silent connection (a fake server that never answers, a
# real server stopped with SIGSTOP).
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Test::FIORedis::FakeServer;
use Future::AsyncAwait;
use Time::HiRes qw(time);

sub fake_silent {
    # Reads every command it gets, never answers.
    return Test::FIORedis::FakeServer->start(
        sub {
            my ($sock) = @_;
            1 while Test::FIORedis::FakeServer::read_command($sock);
        },
        concurrent => 1,
    );
}

sub fake_goes_silent {
    # Answers the connection handshake (PING), then falls silent at the first other command.
    return Test::FIORedis::FakeServer->start(
        sub {
            my ($sock) = @_;
            my $silent = 0;
            while ( my @cmd = Test::FIORedis::FakeServer::read_command($sock) ) {
                $silent ||= uc $cmd[0] ne 'PING';
                Test::FIORedis::FakeServer::write_all( $sock, "+PONG\r\n" ) unless $silent;
            }
        },
        concurrent => 1,
    );
}

subtest 'connect_timeout: the AUTH handshake never gets an answer' => sub {
    my $fake = fake_silent();
    my @errors;
    my $redis = Future::IO::Redis->new(
        host            => '127.0.0.1',
        port            => $fake->port,
        password        => 'sekrit-pw',
        connect_timeout => 0.5,
        request_timeout => 0,
        read_timeout    => 0,
        on_error        => sub { push @errors, $_[1] },
    );
    my $t0   = time;
    my $err  = error_of( $redis->connect );
    my $took = time - $t0;
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'connect fails with a Timeout' );
    is( $err && $err->kind, 'connect', "kind is 'connect'" );
    ok( $took < 5, sprintf( 'within a generous bound (%.2fs)', $took ) );
    ok( $took >= 0.4, sprintf( 'but not before the connect_timeout (%.2fs)', $took ) );
    unlike( "$err", qr/sekrit-pw/, 'the message does not contain the password' );
    ok( !$redis->is_connected, 'not connected' );
    wait_until( sub { @errors }, 2 );
    ok( scalar @errors, 'on_error reported the failed attempt' );
    $fake->stop;
};

subtest 'connect_timeout: a command that triggers the (lazy) connect fails too' => sub {
    my $fake = fake_silent();
    my $redis = Future::IO::Redis->new(
        host            => '127.0.0.1',
        port            => $fake->port,
        password        => 'pw',
        connect_timeout => 0.5,
        request_timeout => 0,
    );
    my $t0  = time;
    my $err = error_of( $redis->get('k') );
    ok( $err && ref $err && $err->isa('Future::IO::Redis::Error'), 'the command fails with an error object: ' . ( ref $err || $err // 'none' ) );
    ok( time - $t0 < 5, 'within a generous bound' );
    $fake->stop;
};

subtest 'read_timeout: a server that reads commands and never answers' => sub {
    my $fake = fake_goes_silent();
    my @reasons;
    my $redis = Future::IO::Redis->new(
        host            => '127.0.0.1',
        port            => $fake->port,
        read_timeout    => 0.5,
        request_timeout => 0,
        connect_timeout => 5,
        on_disconnect   => sub { push @reasons, $_[1] },
    );
    run( $redis->connect );
    ok( $redis->is_connected, 'connected to the fake server' );

    my $t0 = time;
    my @f  = ( $redis->get('head'), $redis->set( 'second', 1 ), $redis->incr('third') );
    run( Future->wait_all(@f), 10 );
    my $took = time - $t0;

    my @err = map { $_->failure } @f;
    isa_ok( $err[0], ['Future::IO::Redis::Error::Timeout'], 'the head command fails with a Timeout' );
    is( $err[0] && $err[0]->kind,    'read', "kind is 'read'" );
    is( $err[0] && $err[0]->command_name, 'GET',  'the timeout names the head command' );
    isa_ok( $err[1], ['Future::IO::Redis::Error::Connection'], 'the second written command fails with Connection' );
    isa_ok( $err[2], ['Future::IO::Redis::Error::Connection'], 'the third written command fails with Connection' );
    ok( $took < 5, sprintf( 'within a generous bound (%.2fs)', $took ) );
    ok( $took >= 0.4, sprintf( 'not before the read_timeout (%.2fs)', $took ) );

    wait_until( sub { @reasons }, 2 );
    is( $reasons[0], 'timeout', "on_disconnect reason 'timeout'" );

    run( $redis->disconnect );
    $fake->stop;
};

subtest 'read_timeout does not fire on an idle connection' => sub {
    my $srv   = start_server();
    my @reasons;
    my $redis = client( $srv, read_timeout => 0.3, on_disconnect => sub { push @reasons, $_[1] } );
    run( $redis->connect );
    run( Future::IO->sleep(1) );
    is( \@reasons, [], 'no disconnect while nothing waits for a reply' );
    is( run( $redis->ping ), 'PONG', 'the connection still works' );
    run( $redis->disconnect );
};

subtest 'read_timeout: a real server stopped with SIGSTOP' => sub {
    my $srv = start_server();
    my ( @reasons, $connects );
    my $redis = client(
        $srv,
        read_timeout    => 0.5,
        request_timeout => 0,
        reconnect_delay => 0.05,
        connect_timeout => 2,
        on_connect      => sub { $connects++ },
        on_disconnect   => sub { push @reasons, $_[1] },
    );
    run( $redis->connect );
    run( $redis->set( 'st:k', 'before' ) );

    $srv->pause;
    my $t0  = time;
    my $f1  = $redis->get('st:k');
    my $f2  = $redis->incr('st:n');
    run( Future->wait_all( $f1, $f2 ), 10 );
    my $took = time - $t0;
    my $err = $f1->failure;
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'the command to the stopped server times out' );
    is( $err && $err->kind, 'read', "kind is 'read'" );
    isa_ok( $f2->failure, ['Future::IO::Redis::Error::Connection'], 'the other written command fails with Connection' );
    ok( $took < 5, sprintf( 'within a generous bound (%.2fs)', $took ) );
    wait_until( sub { @reasons }, 2 );
    is( $reasons[0], 'timeout', "on_disconnect reason 'timeout'" );
    $srv->resume;

    is( run( $redis->get('st:k'), 20 ), 'before', 'after SIGCONT the client reconnects and works' );
    my $n = $srv->cli( 'GET', 'st:n' );
    ok( $n eq '' || $n eq '1', "the failed INCR was not sent again after the reconnect (st:n is '$n')" );
    ok( $connects >= 2, "on_connect fired again ($connects)" );
    ok( $redis->is_connected, 'connected' );
    run( $redis->disconnect );
};

done_testing;

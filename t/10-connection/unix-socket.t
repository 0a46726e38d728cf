# Unix domain sockets: path =>, uri => 'redis+unix:///path' (with ?db=N), a unix-only server,
# reconnecting over a unix socket, and a missing socket file.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use File::Temp qw(tempdir);
use Time::HiRes qw(time);

my $srv = start_server( unixsocket => 1 );    # TCP and unix
ok( -S $srv->path, 'the server made its socket ' . $srv->path );

subtest 'path =>' => sub {
    my $redis = Future::IO::Redis->new( path => $srv->path );
    ref_is( run( $redis->connect ), $redis, 'connect resolves to the client' );
    ok( $redis->is_connected, 'connected' );
    is( run( $redis->set( 'ux:k', 'over-unix' ) ), 'OK', 'SET' );
    is( run( $redis->get('ux:k') ), 'over-unix', 'GET' );
    is( $srv->cli( 'GET', 'ux:k' ), 'over-unix', 'same data as over TCP' );
    like( run( $redis->command( 'CLIENT', 'INFO' ) ), qr/\bflags=\S*U/, 'the server sees a unix-socket client (flags U)' );
    run( $redis->disconnect );
};

subtest 'path => overrides host and port' => sub {
    # host:port names a loopback port nothing listens on: only the unix socket can answer.
    my $redis = Future::IO::Redis->new( host => '127.0.0.1', port => 1, path => $srv->path, connect_timeout => 3 );
    is( run( $redis->ping, 10 ), 'PONG', 'connected over the unix socket, not to host:port' );
    like( run( $redis->command( 'CLIENT', 'INFO' ) ), qr/\bflags=\S*U/, 'flags U' );
    run( $redis->disconnect );
};

subtest "uri => 'redis+unix:///path'" => sub {
    my $redis = Future::IO::Redis->new( uri => 'redis+unix://' . $srv->path );
    is( run( $redis->ping ), 'PONG', 'PING' );
    is( run( $redis->get('ux:k') ), 'over-unix', 'GET sees the data' );
    run( $redis->disconnect );

    my $db = Future::IO::Redis->new( uri => 'redis+unix://' . $srv->path . '?db=4' );
    run( $db->set( 'ux:db4', 'four' ) );
    is( $srv->cli( '-n', 4, 'GET', 'ux:db4' ), 'four', '?db=4 selects database 4' );
    is( $srv->cli( '-n', 0, 'EXISTS', 'ux:db4' ), '0', 'not database 0' );
    run( $db->disconnect );
};

subtest 'a unix-only server (tcp => 0)' => sub {
    my $ux = start_server( unixsocket => 1, tcp => 0 );
    ok( !$ux->port, 'no TCP port' );
    my $redis = client($ux);    # the helper gives path => for a unix-only server
    is( run( $redis->ping ), 'PONG', 'PING via client()' );
    run( $redis->set( 'only', 'unix' ) );
    is( $ux->cli( 'GET', 'only' ), 'unix', 'value on the server' );
    run( $redis->disconnect );

    my $by_uri = Future::IO::Redis->new( uri => $ux->uri );
    like( $ux->uri, qr{\Aredis\+unix:///}, 'the server URI is redis+unix:///...' );
    is( run( $by_uri->get('only') ), 'unix', 'connect by that URI' );
    run( $by_uri->disconnect );
};

subtest 'reconnect over a unix socket' => sub {
    my $ux = start_server( unixsocket => 1, tcp => 0 );
    my ( $connects, @reasons ) = (0);
    my $redis = Future::IO::Redis->new(
        path            => $ux->path,
        reconnect_delay => 0.05,
        client_name     => 'ux-client',
        on_connect      => sub { $connects++ },
        on_disconnect   => sub { push @reasons, $_[1] },
    );
    run( $redis->connect );
    $ux->cli( 'CLIENT', 'KILL', 'ID', run( $redis->client_id ) );
    ok( wait_until( sub { $connects >= 2 }, 10 ), 'reconnected after CLIENT KILL' );
    is( run( $redis->client_getname ), 'ux-client', 'client name replayed' );

    $ux->kill9;
    ok( wait_until( sub { @reasons >= 2 }, 5 ), 'noticed the server died' );
    my $f = $redis->echo('after-restart');
    $ux->restart;
    is( run( $f, 15 ), 'after-restart', 'a command issued during the outage completes after the restart' );
    run( $redis->disconnect );
};

subtest 'a socket path with nothing there fails with Connection' => sub {
    my $dir   = tempdir( CLEANUP => 1 );
    my $redis = Future::IO::Redis->new( path => "$dir/no-such.sock" );
    my $t0    = time;
    my $err   = error_of( $redis->connect );
    isa_ok( $err, ['Future::IO::Redis::Error::Connection'], 'connect fails' );
    ok( time - $t0 < 5, 'quickly' );
};

subtest 'invalid path values croak' => sub {
    like( dies { Future::IO::Redis->new( path => '' ) }, qr/path/, 'empty path' );
    like( dies { Future::IO::Redis->new( path => [] ) }, qr/path/, 'reference as path' );
};

done_testing;

# Blocking commands get their server-side timeout plus blocking_timeout_buffer as deadline (not
# request_timeout); a server timeout of 0 means no client deadline, and read_timeout does not
# apply while they wait. A server that stops answering still fails them, after timeout + buffer.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $srv = start_server();
$srv->cli('FLUSHALL');

subtest 'BLPOP with server timeout 1 outlives request_timeout 0.2' => sub {
    my @reasons;
    my $redis = client( $srv, request_timeout => 0.2, on_disconnect => sub { push @reasons, $_[1] } );
    run( $redis->connect );
    my $id   = run( $redis->client_id );
    my $t0   = time;
    my $got  = run( $redis->blpop( 'bt:empty', 1 ), 10 );
    my $took = time - $t0;
    is( $got, undef, 'BLPOP on an empty list returns undef (nil) at the server timeout' );
    ok( $took >= 0.9, sprintf( 'after the server-side timeout (%.2fs)', $took ) );
    ok( $took < 5,    'well within a generous bound' );
    is( run( $redis->client_id ), $id, 'same connection: no reset' );
    is( \@reasons, [], 'no disconnect' );
    run( $redis->disconnect );
};

subtest 'fractional server timeout' => sub {
    my $redis = client( $srv, request_timeout => 0.1 );
    my $t0    = time;
    is( run( $redis->brpop( 'bt:empty', '0.6' ), 10 ), undef, 'BRPOP 0.6 returns nil' );
    ok( time - $t0 >= 0.5, 'after the server-side timeout' );
    run( $redis->disconnect );
};

subtest 'BLPOP 0 waits forever: no request_timeout, no read_timeout' => sub {
    my $redis  = client( $srv, request_timeout => 0.2, read_timeout => 0.3 );
    my $pusher = client($srv);
    run( Future->needs_all( $redis->connect, $pusher->connect ) );
    my $id   = run( $redis->client_id );
    my $t0   = time;
    my $pop  = $redis->blpop( 'bt:forever', 0 );
    my $push = Future::IO->sleep(1)->then( sub { $pusher->lpush( 'bt:forever', 'item' ) } );
    is( run( $pop, 10 ), [ 'bt:forever', 'item' ], 'BLPOP 0 got the item pushed after 1 s' );
    ok( time - $t0 >= 0.9, 'it really waited for the push' );
    is( run($push), 1, 'LPUSH replied' );
    is( run( $redis->client_id ), $id, 'same connection: neither timeout fired' );
    run( Future->needs_all( $redis->disconnect, $pusher->disconnect ) );
};

subtest 'other blocking commands: BLMOVE, BZPOPMIN, XREAD BLOCK, WAIT' => sub {
    my $redis = client( $srv, request_timeout => 0.2, read_timeout => 0.3 );
    run( $redis->connect );
    my $id = run( $redis->client_id );
    my $t0 = time;
    is( run( $redis->blmove( 'bt:src', 'bt:dst', 'LEFT', 'RIGHT', '0.8' ), 10 ), undef, 'BLMOVE 0.8 returns nil' );
    ok( time - $t0 >= 0.7, 'after its server-side timeout' );
    $t0 = time;
    is( run( $redis->command( 'BZPOPMIN', 'bt:zset', '0.8' ), 10 ), undef, 'BZPOPMIN 0.8 returns nil' );
    ok( time - $t0 >= 0.7, 'after its server-side timeout' );
    $t0 = time;
    is( run( $redis->command( 'XREAD', 'BLOCK', 800, 'STREAMS', 'bt:stream', '$' ), 10 ), undef, 'XREAD BLOCK 800 (ms) returns nil' );
    ok( time - $t0 >= 0.7, 'after its server-side timeout' );
    $t0 = time;
    is( run( $redis->command( 'WAIT', 1, 800 ), 10 ), 0, 'WAIT 1 800 (ms) returns 0 replicas' );
    ok( time - $t0 >= 0.7, 'after its server-side timeout' );
    is( run( $redis->client_id ), $id, 'all on the same connection: no reset' );
    run( $redis->disconnect );
};

subtest 'a paused server: BLPOP 0.3 fails after timeout + buffer' => sub {
    my @reasons;
    my $redis = client(
        $srv,
        blocking_timeout_buffer => 0.2,
        request_timeout         => 0,
        reconnect_delay         => 0.05,
        on_disconnect           => sub { push @reasons, $_[1] },
    );
    run( $redis->connect );
    $srv->pause;
    my $t0   = time;
    my $err  = error_of( $redis->blpop( 'bt:paused', '0.3' ) );
    my $took = time - $t0;
    $srv->resume;
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'BLPOP fails with Timeout' );
    is( $err && $err->command_name, 'BLPOP', 'naming BLPOP' );
    ok( $took < 5,    sprintf( 'well before 5 s (%.2fs)', $took ) );
    ok( $took >= 0.4, sprintf( 'not before server timeout + buffer (%.2fs)', $took ) );
    wait_until( sub { @reasons }, 2 );
    is( $reasons[0], 'timeout', "on_disconnect reason 'timeout'" );
    is( run( $redis->ping, 10 ), 'PONG', 'after SIGCONT the client reconnects and works' );
    run( $redis->disconnect );
};

subtest 'a paused server: XREAD BLOCK 300 (ms) fails after timeout + buffer' => sub {
    my $redis = client( $srv, blocking_timeout_buffer => 0.2, request_timeout => 0, reconnect_delay => 0.05 );
    run( $redis->connect );
    $srv->pause;
    my $t0   = time;
    my $err  = error_of( $redis->command( 'XREAD', 'BLOCK', 300, 'STREAMS', 'bt:stream', '$' ) );
    my $took = time - $t0;
    $srv->resume;
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'XREAD BLOCK fails with Timeout' );
    ok( $took < 5, sprintf( 'well before 5 s (%.2fs)', $took ) );
    is( run( $redis->ping, 10 ), 'PONG', 'the client recovers' );
    run( $redis->disconnect );
};

done_testing;

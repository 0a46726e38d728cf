# BLPOP / BRPOP against a real redis-server: data pushed later by another client, data already
# there, priority order across keys, errors.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $srv    = start_server();
my $redis  = client($srv);
my $pusher = client($srv);
run( $redis->command('FLUSHALL') );
run( $pusher->ping );

subtest 'BLPOP gets data pushed by another client 0.3 s later' => sub {
    my $t0   = time;
    my $pop  = $redis->blpop( 'bl:queue', 10 );
    my $push = later( 0.3, sub { $pusher->rpush( 'bl:queue', 'job-1' ) } );
    ok( !$pop->is_ready, 'BLPOP is pending at first' );
    my $got = run($pop);
    is( $got, [ 'bl:queue', 'job-1' ], q{BLPOP returns [key, value]} );
    is( run($push), 1, 'the push made a one-element list' );
    ok( time - $t0 < 8, sprintf( 'long before its 10 s timeout (%.2f s)', time - $t0 ) );
    is( run( $redis->llen('bl:queue') ), 0, 'the element was removed' );
};

subtest 'BLPOP with the design example: BLPOP queue 30' => sub {
    my $pop = $redis->blpop( 'bl:design', 30 );
    later( 0.3, sub { $pusher->lpush( 'bl:design', 'item' ) } )->retain;
    is( run($pop), [ 'bl:design', 'item' ], q{['queue', 'item']} );
};

subtest 'BLPOP with data already there returns at once, from the head' => sub {
    run( $pusher->rpush( 'bl:ready', qw( first second third ) ) );
    my $t0 = time;
    is( run( $redis->blpop( 'bl:ready', 5 ) ), [ 'bl:ready', 'first' ], 'BLPOP takes the head' );
    is( run( $redis->brpop( 'bl:ready', 5 ) ), [ 'bl:ready', 'third' ], 'BRPOP takes the tail' );
    ok( time - $t0 < 2, 'without waiting' );
    is( run( $redis->lrange( 'bl:ready', 0, -1 ) ), ['second'], 'what is left' );
};

subtest 'priority order across several keys' => sub {
    run( $pusher->rpush( 'bl:low',    'l1' ) );
    run( $pusher->rpush( 'bl:medium', 'm1', 'm2' ) );
    is( run( $redis->blpop( 'bl:high', 'bl:medium', 'bl:low', 5 ) ), [ 'bl:medium', 'm1' ],
        'the first non-empty key in argument order wins' );
    run( $pusher->rpush( 'bl:high', 'h1' ) );
    is( run( $redis->blpop( 'bl:high', 'bl:medium', 'bl:low', 5 ) ), [ 'bl:high', 'h1' ], 'high once it has data' );
    is( run( $redis->blpop( 'bl:high', 'bl:medium', 'bl:low', 5 ) ), [ 'bl:medium', 'm2' ], 'then medium' );
    is( run( $redis->blpop( 'bl:high', 'bl:medium', 'bl:low', 5 ) ), [ 'bl:low', 'l1' ], 'then low' );

    # all empty: the key that receives data first wins, whatever its position
    my $pop = $redis->blpop( 'bl:high', 'bl:medium', 'bl:low', 10 );
    later( 0.3, sub { $pusher->rpush( 'bl:low', 'late-low' ) } )->retain;
    is( run($pop), [ 'bl:low', 'late-low' ], 'all empty: the first key pushed to wins' );

    # several keys filled in one transaction while blocked: one of them serves the BLPOP
    $pop = $redis->blpop( 'bl:high', 'bl:medium', 'bl:low', 10 );
    later(
        0.3,
        sub {
            $pusher->pipeline->multi->rpush( 'bl:low', 'x-low' )->rpush( 'bl:high', 'x-high' )->exec->execute;
        }
    )->retain;
    my $got = run($pop);
    ok( $got->[0] eq 'bl:low' || $got->[0] eq 'bl:high', "one of the filled keys served ($got->[0])" );
    run( $redis->del( 'bl:high', 'bl:low' ) );
};

subtest 'BRPOP gets data pushed later, from the tail' => sub {
    my $pop = $redis->brpop( 'bl:tail', 10 );
    later( 0.3, sub { $pusher->rpush( 'bl:tail', 'a', 'b', 'c' ) } )->retain;
    is( run($pop), [ 'bl:tail', 'c' ], 'BRPOP returns [key, last value]' );
    is( run( $redis->lrange( 'bl:tail', 0, -1 ) ), [ 'a', 'b' ], 'the rest stays' );
};

subtest 'through command(), and BLPOP 0 (wait forever)' => sub {
    my $pop = $redis->command( 'BLPOP', 'bl:cmd', 0 );
    later( 0.5, sub { $pusher->rpush( 'bl:cmd', 'forever' ) } )->retain;
    is( run( $pop, 20 ), [ 'bl:cmd', 'forever' ], 'BLPOP 0 via command() gets the data' );
};

subtest 'binary and large values' => sub {
    my $bin = join '', map { chr } 0 .. 255;
    my $pop = $redis->blpop( "bl:bin\0key", 10 );
    later( 0.2, sub { $pusher->rpush( "bl:bin\0key", $bin ) } )->retain;
    is( run($pop), [ "bl:bin\0key", $bin ], 'binary key and value' );

    my $big = 'q' x ( 2 * 1024 * 1024 );
    $pop = $redis->blpop( 'bl:big', 10 );
    later( 0.2, sub { $pusher->rpush( 'bl:big', $big ) } )->retain;
    my $got = run($pop);
    ok( $got->[1] eq $big, '2 MB value' );
};

subtest 'errors' => sub {
    run( $pusher->set( 'bl:string', 'x' ) );
    my $err = error_of( $redis->blpop( 'bl:string', 1 ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'BLPOP of a string' );
    is( $err && $err->code, 'WRONGTYPE', 'code WRONGTYPE' );
    $err = error_of( $redis->blpop( 'bl:x', 'soon' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'BLPOP with a non-numeric timeout' );
    like( $err && $err->message, qr/timeout is not a float or out of range/, 'message' );
    $err = error_of( $redis->blpop( 'bl:x', -1 ) );
    like( $err && $err->message, qr/timeout is negative/, 'negative timeout' );
    is( run( $redis->ping ), 'PONG', 'the client works after' );
};

done_testing;

# BRPOPLPUSH / BLMOVE (and the other blocking pops through command()) against a real
# redis-server.
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

subtest 'BRPOPLPUSH' => sub {
    run( $pusher->rpush( 'bm:src', qw( a b c ) ) );
    is( run( $redis->brpoplpush( 'bm:src', 'bm:dst', 5 ) ), 'c', 'data there: returns the element at once' );
    is( run( $redis->lrange( 'bm:dst', 0, -1 ) ), ['c'], 'pushed onto the destination' );

    run( $redis->del( 'bm:src', 'bm:dst' ) );
    my $f = $redis->brpoplpush( 'bm:src', 'bm:dst', 10 );
    later( 0.3, sub { $pusher->rpush( 'bm:src', 'late' ) } )->retain;
    is( run($f), 'late', 'data pushed 0.3 s later: returns the element (a string, not a pair)' );
    is( run( $redis->lrange( 'bm:dst', 0, -1 ) ), ['late'], 'moved to the destination' );
    is( run( $redis->llen('bm:src') ), 0, 'and gone from the source' );

    my @r = run( $redis->brpoplpush( 'bm:empty', 'bm:dst', 0.3 ) );
    is( \@r, [undef], 'timeout: undef' );
};

subtest 'BLMOVE' => sub {
    run( $redis->del( 'bm:src', 'bm:dst' ) );
    run( $pusher->rpush( 'bm:src', qw( 1 2 3 ) ) );
    run( $pusher->rpush( 'bm:dst', qw( x ) ) );
    is( run( $redis->blmove( 'bm:src', 'bm:dst', 'RIGHT', 'LEFT', 5 ) ), '3', 'RIGHT LEFT' );
    is( run( $redis->blmove( 'bm:src', 'bm:dst', 'LEFT', 'RIGHT', 5 ) ), '1', 'LEFT RIGHT' );
    is( run( $redis->lrange( 'bm:dst', 0, -1 ) ), [qw( 3 x 1 )], 'destination' );
    is( run( $redis->lrange( 'bm:src', 0, -1 ) ), ['2'], 'source' );

    my $f = $redis->blmove( 'bm:wait', 'bm:dst', 'LEFT', 'LEFT', 10 );
    later( 0.3, sub { $pusher->rpush( 'bm:wait', 'w1', 'w2' ) } )->retain;
    is( run($f), 'w1', 'the design example shape: waits for data, returns the element' );
    is( run( $redis->lindex( 'bm:dst', 0 ) ), 'w1', 'moved to the head of the destination' );

    my @r = run( $redis->blmove( 'bm:none', 'bm:dst', 'RIGHT', 'LEFT', 0.3 ) );
    is( \@r, [undef], 'timeout: undef' );

    run( $redis->del('bm:rot') );
    run( $pusher->rpush( 'bm:rot', qw( a b c ) ) );
    is( run( $redis->blmove( 'bm:rot', 'bm:rot', 'LEFT', 'RIGHT', 1 ) ), 'a', 'rotating a list onto itself' );
    is( run( $redis->lrange( 'bm:rot', 0, -1 ) ), [qw( b c a )], 'rotated' );

    my $err = error_of( $redis->blmove( 'bm:src', 'bm:dst', 'UP', 'DOWN', 1 ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'BLMOVE with bad directions' );
    is( $err && $err->code, 'ERR', 'code ERR' );
};

subtest 'a chain of BLMOVEs: a work queue through processing lists' => sub {
    my $stage1 = $redis->blmove( 'bm:q:in', 'bm:q:mid', 'LEFT', 'RIGHT', 10 );
    my $c2     = client($srv);
    my $stage2 = $c2->blmove( 'bm:q:mid', 'bm:q:out', 'LEFT', 'RIGHT', 10 );
    later( 0.3, sub { $pusher->rpush( 'bm:q:in', 'job' ) } )->retain;
    is( run($stage1), 'job', 'stage 1 moved the job' );
    is( run($stage2), 'job', 'stage 2 (another client, blocked on the middle list) got it' );
    is( run( $redis->lrange( 'bm:q:out', 0, -1 ) ), ['job'], 'it reached the end' );
    run( $c2->disconnect );
};

subtest 'BLMPOP, BZPOPMIN, BZPOPMAX through command()' => sub {
    my $f = $redis->command( 'BLMPOP', 5, 2, 'bm:lm1', 'bm:lm2', 'LEFT', 'COUNT', 2 );
    later( 0.3, sub { $pusher->rpush( 'bm:lm2', qw( p q r ) ) } )->retain;
    is( run($f), [ 'bm:lm2', [ 'p', 'q' ] ], 'BLMPOP: [key, [elements]]' );
    my @r = run( $redis->command( 'BLMPOP', 0.2, 1, 'bm:lm-none', 'RIGHT' ) );
    is( \@r, [undef], 'BLMPOP timeout: undef' );

    $f = $redis->command( 'BZPOPMIN', 'bm:z', 5 );
    later( 0.3, sub { $pusher->zadd( 'bm:z', 3, 'three', 1, 'one', 2, 'two' ) } )->retain;
    is( run($f), [ 'bm:z', 'one', '1' ], 'BZPOPMIN: [key, member, score]' );
    is( run( $redis->command( 'BZPOPMAX', 'bm:z', 5 ) ), [ 'bm:z', 'three', '3' ], 'BZPOPMAX' );
    @r = run( $redis->command( 'BZPOPMIN', 'bm:z-none', 0.2 ) );
    is( \@r, [undef], 'BZPOPMIN timeout: undef' );
};

done_testing;

# Sorted set commands against a real redis-server, with exact replies.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->command('FLUSHALL') );

subtest 'ZADD, ZCARD, ZSCORE, ZRANK, ZREVRANK' => sub {
    is( run( $redis->zadd( 'z:lb', 100, 'alice', 200, 'bob', 150, 'carol' ) ), 3, 'ZADD three: 3' );
    is( run( $redis->zadd( 'z:lb', 120, 'alice', 50, 'dave' ) ), 1, 'ZADD one update, one new: 1' );
    is( run( $redis->zadd( 'z:lb', 'CH', 130, 'alice', 50, 'dave' ) ), 1, 'ZADD CH counts changed: 1' );
    is( run( $redis->zadd( 'z:lb', 'NX', 1, 'alice' ) ), 0, 'ZADD NX on an existing member: 0' );
    is( run( $redis->zadd( 'z:lb', 'INCR', 5, 'dave' ) ), '55', 'ZADD INCR returns the new score' );
    is( run( $redis->zcard('z:lb') ), 4, 'ZCARD' );
    is( run( $redis->zscore( 'z:lb', 'alice' ) ), '130', 'ZSCORE is a string' );
    is( run( $redis->zscore( 'z:lb', 'nobody' ) ), undef, 'ZSCORE of a non-member: undef' );
    is( run( $redis->zrank( 'z:lb', 'dave' ) ), 0, 'ZRANK lowest: 0' );
    is( run( $redis->zrank( 'z:lb', 'bob' ) ), 3, 'ZRANK highest: 3' );
    is( run( $redis->zrank( 'z:lb', 'nobody' ) ), undef, 'ZRANK of a non-member: undef' );
    is( run( $redis->zrevrank( 'z:lb', 'bob' ) ), 0, 'ZREVRANK highest: 0' );
};

subtest 'ZRANGE, ZREVRANGE (WITHSCORES)' => sub {
    is( run( $redis->zrange( 'z:lb', 0, -1 ) ), [qw( dave alice carol bob )], 'ZRANGE 0 -1' );
    is(
        run( $redis->zrange( 'z:lb', 0, -1, 'WITHSCORES' ) ),
        [qw( dave 55 alice 130 carol 150 bob 200 )],
        'ZRANGE WITHSCORES: a flat member/score array'
    );
    is( run( $redis->zrange( 'z:lb', 0, 1 ) ), [qw( dave alice )], 'ZRANGE 0 1' );
    is( run( $redis->zrevrange( 'z:lb', 0, 1, 'WITHSCORES' ) ), [qw( bob 200 carol 150 )], 'ZREVRANGE WITHSCORES' );
    is( run( $redis->zrange( 'z:lb', 0, -1, 'REV' ) ), [qw( bob carol alice dave )], 'ZRANGE REV' );
    is( run( $redis->zrange( 'z:lb', 100, 160, 'BYSCORE' ) ), [qw( alice carol )], 'ZRANGE BYSCORE' );
    is( run( $redis->zrange( 'z:missing', 0, -1 ) ), [], 'ZRANGE of a missing key: []' );
};

subtest 'ZRANGEBYSCORE, ZCOUNT' => sub {
    is( run( $redis->zrangebyscore( 'z:lb', 100, 200 ) ), [qw( alice carol bob )], 'ZRANGEBYSCORE 100 200' );
    is( run( $redis->zrangebyscore( 'z:lb', '(130', '+inf' ) ), [qw( carol bob )], 'exclusive min, +inf' );
    is( run( $redis->zrangebyscore( 'z:lb', '-inf', '(150', 'WITHSCORES' ) ),
        [qw( dave 55 alice 130 )], 'with -inf, exclusive max, WITHSCORES' );
    is( run( $redis->zrangebyscore( 'z:lb', '-inf', '+inf', 'LIMIT', 1, 2 ) ), [qw( alice carol )], 'LIMIT 1 2' );
    is( run( $redis->zrangebyscore( 'z:lb', 1000, 2000 ) ), [], 'nothing in range: []' );
    is( run( $redis->zcount( 'z:lb', 100, 150 ) ), 2, 'ZCOUNT' );
    my $err = error_of( $redis->zrangebyscore( 'z:lb', 'low', 'high' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'ZRANGEBYSCORE with non-numbers' );
    is( $err && $err->message, 'ERR min or max is not a float', 'message' );
};

subtest 'ZINCRBY, float scores' => sub {
    is( run( $redis->zincrby( 'z:lb', 10, 'dave' ) ), '65', 'ZINCRBY 10' );
    is( run( $redis->zincrby( 'z:lb', '-0.5', 'dave' ) ), '64.5', 'ZINCRBY -0.5' );
    is( run( $redis->zincrby( 'z:new', 2.5, 'm' ) ), '2.5', 'ZINCRBY on a missing key creates it' );
    is( run( $redis->zrank( 'z:lb', 'dave' ) ), 0, 'still the lowest' );
    run( $redis->zadd( 'z:inf', '+inf', 'top', '-inf', 'bottom', 0, 'zero' ) );
    is( run( $redis->zrange( 'z:inf', 0, -1, 'WITHSCORES' ) ), [qw( bottom -inf zero 0 top inf )], 'infinite scores' );
    my $err = error_of( $redis->zincrby( 'z:lb', 'abc', 'dave' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'ZINCRBY with a non-number' );
    is( $err && $err->message, 'ERR value is not a valid float', 'message' );
};

subtest 'ZREM, ZREMRANGEBYRANK, ZREMRANGEBYSCORE' => sub {
    run( $redis->zadd( 'z:rm', map { ( $_, "m$_" ) } 1 .. 10 ) );
    is( run( $redis->zrem( 'z:rm', 'm1', 'm2', 'nope' ) ), 2, 'ZREM: 2' );
    is( run( $redis->zremrangebyrank( 'z:rm', 0, 1 ) ), 2, 'ZREMRANGEBYRANK 0 1: 2' );
    is( run( $redis->zremrangebyscore( 'z:rm', 9, '+inf' ) ), 2, 'ZREMRANGEBYSCORE 9 +inf: 2' );
    is( run( $redis->zrange( 'z:rm', 0, -1 ) ), [qw( m5 m6 m7 m8 )], 'what is left' );
};

subtest 'ZPOPMIN / ZPOPMAX via command()' => sub {
    run( $redis->zadd( 'z:pop', 1, 'a', 2, 'b', 3, 'c' ) );
    is( run( $redis->command( 'ZPOPMIN', 'z:pop' ) ), [ 'a', '1' ], 'ZPOPMIN' );
    is( run( $redis->command( 'ZPOPMAX', 'z:pop', 2 ) ), [ 'c', '3', 'b', '2' ], 'ZPOPMAX 2' );
    is( run( $redis->command( 'ZPOPMIN', 'z:pop' ) ), [], 'ZPOPMIN of an empty set: []' );
};

subtest 'WRONGTYPE' => sub {
    run( $redis->set( 'z:string', 'x' ) );
    my $err = error_of( $redis->zadd( 'z:string', 1, 'm' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'ZADD on a string' );
    is( $err && $err->code, 'WRONGTYPE', 'code' );
    $err = error_of( $redis->zscore( 'z:string', 'm' ) );
    is( $err && $err->code, 'WRONGTYPE', 'ZSCORE on a string' );
};

done_testing;

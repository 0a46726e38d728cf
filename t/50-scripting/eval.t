# EVAL and EVAL_RO (the generated methods): results of every reply type, script errors as
# Error::Redis objects, keys prefixed and arguments not.
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

subtest 'the design example' => sub {
    run( $redis->set( 'mykey', 'hello' ) );
    is( run( $redis->eval( 'return redis.call("GET", KEYS[1])', 1, 'mykey' ) ), 'hello', 'GET through a script' );
};

subtest 'reply types' => sub {
    is( run( $redis->eval( 'return 42', 0 ) ), 42, 'integer' );
    is( run( $redis->eval( 'return "text"', 0 ) ), 'text', 'string' );
    is( run( $redis->eval( 'return {1, "two", {3}}', 0 ) ), [ 1, 'two', [3] ], 'nested table' );
    is( run( $redis->eval( 'return nil', 0 ) ), undef, 'nil' );
    is( run( $redis->eval( 'return false', 0 ) ), undef, 'false is nil' );
    is( run( $redis->eval( 'return true', 0 ) ), 1, 'true is 1' );
    is( run( $redis->eval( 'return redis.status_reply("FINE")', 0 ) ), 'FINE', 'status reply' );
    is( run( $redis->eval( 'return {KEYS[1], KEYS[2], ARGV[1]}', 2, 'a', 'b', 'c' ) ), [ 'a', 'b', 'c' ], 'KEYS and ARGV' );
};

subtest 'errors' => sub {
    my $err = error_of( $redis->eval( 'return redis.error_reply("MYCODE something broke")', 0 ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'error_reply' );
    is( $err->code, 'MYCODE', 'its code' );
    $err = error_of( $redis->eval( 'return redis.call("INCR", KEYS[1])', 1, 'mykey' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'a failing command inside' );
    like( $err->message, qr/not an integer/, 'its message' );
    $err = error_of( $redis->eval( 'this is not lua', 0 ) );
    like( $err->message, qr/Error compiling script/, 'a syntax error' );
    # A table in an error reply nested in an array: in place.
    my $r = run( $redis->eval( 'return {1, redis.pcall("INCR", KEYS[1])}', 1, 'mykey' ) );
    is( $r->[0], 1, 'first element' );
    isa_ok( $r->[1], ['Future::IO::Redis::Error::Redis'], 'a nested error, in place' );
};

subtest 'EVAL_RO' => sub {
    is( run( $redis->eval_ro( 'return redis.call("GET", KEYS[1])', 1, 'mykey' ) ), 'hello', 'reads' );
    like( error_of( $redis->eval_ro( 'return redis.call("SET", KEYS[1], "x")', 1, 'mykey' ) ), qr/Write commands are not allowed from read-only scripts/, 'refuses writes' );
};

subtest 'prefix: keys only' => sub {
    my $p = client( $srv, prefix => 'e:' );
    is( run( $p->eval( 'return {KEYS[1], KEYS[2], ARGV[1]}', 2, 'a', 'b', 'c' ) ), [ 'e:a', 'e:b', 'c' ], 'KEYS prefixed, ARGV not' );
    is( run( $p->eval( 'return {#KEYS, ARGV[1]}', 0, 'x' ) ), [ 0, 'x' ], 'no keys: nothing prefixed' );
};

done_testing;

# String commands against a real redis-server, with exact replies.
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

subtest 'SET / GET' => sub {
    is( run( $redis->set( 's:a', 'hello' ) ), 'OK', 'SET replies OK' );
    is( run( $redis->get('s:a') ), 'hello', 'GET returns the value' );
    is( $srv->cli( 'GET', 's:a' ), 'hello', 'the server has it' );
    is( run( $redis->get('s:missing') ), undef, 'GET of a missing key is undef' );
    is( run( $redis->set( 's:a', 'world' ) ), 'OK', 'SET overwrites' );
    is( run( $redis->get('s:a') ), 'world', 'new value' );
    is( run( $redis->set( 's:num', 42 ) ), 'OK', 'SET with a number' );
    is( run( $redis->get('s:num') ), '42', 'comes back as the string 42' );
    is( run( $redis->set( 's:empty', '' ) ), 'OK', 'SET an empty string' );
    my $e = run( $redis->get('s:empty') );
    ok( defined $e && $e eq '', 'GET of an empty string is "" (not undef)' );
};

subtest 'SET options: EX, PX, NX, XX, GET, KEEPTTL' => sub {
    is( run( $redis->set( 's:ex', 'v', 'EX', 100 ) ), 'OK', 'SET EX' );
    my $ttl = run( $redis->ttl('s:ex') );
    ok( $ttl > 90 && $ttl <= 100, "TTL after SET EX 100 is $ttl" );
    is( run( $redis->set( 's:px', 'v', 'PX', 50_000 ) ), 'OK', 'SET PX' );
    my $pttl = run( $redis->pttl('s:px') );
    ok( $pttl > 40_000 && $pttl <= 50_000, "PTTL after SET PX 50000 is $pttl" );

    is( run( $redis->set( 's:nx', 'first', 'NX' ) ), 'OK', 'SET NX on a new key sets it' );
    is( run( $redis->set( 's:nx', 'second', 'NX' ) ), undef, 'SET NX on an existing key replies nil' );
    is( run( $redis->get('s:nx') ), 'first', 'and leaves the value' );

    is( run( $redis->set( 's:xx', 'v', 'XX' ) ), undef, 'SET XX on a missing key replies nil' );
    is( run( $redis->exists('s:xx') ), 0, 'and does not create it' );
    run( $redis->set( 's:xx', 'a' ) );
    is( run( $redis->set( 's:xx', 'b', 'XX' ) ), 'OK', 'SET XX on an existing key sets it' );
    is( run( $redis->get('s:xx') ), 'b', 'new value' );

    is( run( $redis->set( 's:xx', 'c', 'GET' ) ), 'b', 'SET ... GET returns the old value' );
    is( run( $redis->set( 's:getnew', 'c', 'GET' ) ), undef, 'SET ... GET on a new key returns nil' );

    is( run( $redis->set( 's:ex', 'w', 'KEEPTTL' ) ), 'OK', 'SET KEEPTTL' );
    ok( run( $redis->ttl('s:ex') ) > 90, 'kept its TTL' );
    is( run( $redis->set( 's:ex', 'w' ) ), 'OK', 'plain SET' );
    is( run( $redis->ttl('s:ex') ), -1, 'clears the TTL' );

    my $err = error_of( $redis->set( 's:bad', 'v', 'EX', 0 ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'SET EX 0' );
    is( $err->code, 'ERR', 'code ERR' );
    like( $err->message, qr/invalid expire time/, 'message' );
};

subtest 'SETNX, SETEX, GETSET, GETDEL, GETEX' => sub {
    is( run( $redis->setnx( 's:setnx', 1 ) ), 1, 'SETNX new key: 1' );
    is( run( $redis->setnx( 's:setnx', 2 ) ), 0, 'SETNX existing key: 0' );
    is( run( $redis->setex( 's:setex', 60, 'v' ) ), 'OK', 'SETEX' );
    my $ttl = run( $redis->ttl('s:setex') );
    ok( $ttl > 50 && $ttl <= 60, "TTL after SETEX is $ttl" );
    is( run( $redis->getset( 's:setnx', 'new' ) ), '1', 'GETSET returns the old value' );
    is( run( $redis->get('s:setnx') ), 'new', 'and sets the new one' );
    is( run( $redis->getdel('s:setnx') ), 'new', 'GETDEL returns the value' );
    is( run( $redis->exists('s:setnx') ), 0, 'and deletes the key' );
    is( run( $redis->getdel('s:setnx') ), undef, 'GETDEL of a missing key: nil' );
    run( $redis->set( 's:getex', 'v' ) );
    is( run( $redis->getex( 's:getex', 'EX', 30 ) ), 'v', 'GETEX EX returns the value' );
    $ttl = run( $redis->ttl('s:getex') );
    ok( $ttl > 20 && $ttl <= 30, "and sets the TTL ($ttl)" );
};

subtest 'INCR, INCRBY, DECR, DECRBY, INCRBYFLOAT' => sub {
    is( run( $redis->incr('s:counter') ), 1, 'INCR of a missing key: 1' );
    is( run( $redis->incr('s:counter') ), 2, 'INCR: 2' );
    is( run( $redis->incrby( 's:counter', 10 ) ), 12, 'INCRBY 10: 12' );
    is( run( $redis->incrby( 's:counter', -20 ) ), -8, 'INCRBY -20: -8' );
    is( run( $redis->decr('s:counter') ), -9, 'DECR: -9' );
    is( run( $redis->decrby( 's:counter', 1 ) ), -10, 'DECRBY 1: -10' );
    is( run( $redis->get('s:counter') ), '-10', 'GET sees -10' );

    is( run( $redis->incrbyfloat( 's:float', '10.5' ) ), '10.5', 'INCRBYFLOAT on a missing key' );
    is( run( $redis->incrbyfloat( 's:float', 0.1 ) ), '10.6', 'INCRBYFLOAT 0.1' );
    is( run( $redis->incrbyfloat( 's:float', -5 ) ), '5.6', 'INCRBYFLOAT -5' );
    is( run( $redis->incrbyfloat( 's:float2', '5.0e3' ) ), '5000', 'INCRBYFLOAT with an exponent' );

    run( $redis->set( 's:big', '9223372036854775806' ) );
    is( run( $redis->incr('s:big') ), '9223372036854775807', 'INCR up to the largest 64-bit integer' );
    my $err = error_of( $redis->incr('s:big') );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'INCR past it' );
    like( $err->message, qr/overflow/, 'overflow message' );

    # A real server sends :-9223372036854775808 here: a valid RESP integer.
    run( $redis->set( 's:small', '-9223372036854775807' ) );
    my $min = eval { run( $redis->decr('s:small') ) };
    is( $min, '-9223372036854775808', 'DECR down to the smallest 64-bit integer' ) or diag("error: $@");
    is( $srv->cli( 'GET', 's:small' ), '-9223372036854775808', 'the server has it' );

    run( $redis->set( 's:text', 'abc' ) );
    $err = error_of( $redis->incr('s:text') );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'INCR of a non-integer' );
    is( $err->code, 'ERR', 'code ERR' );
    is( $err->message, 'ERR value is not an integer or out of range', 'exact message' );
    $err = error_of( $redis->incrbyfloat( 's:text', 1 ) );
    is( $err && $err->message, 'ERR value is not a valid float', 'INCRBYFLOAT of a non-float' );
};

subtest 'APPEND, STRLEN, GETRANGE, SETRANGE' => sub {
    is( run( $redis->append( 's:app', 'Hello' ) ), 5, 'APPEND to a missing key: new length 5' );
    is( run( $redis->append( 's:app', ' World' ) ), 11, 'APPEND: new length 11' );
    is( run( $redis->get('s:app') ), 'Hello World', 'value' );
    is( run( $redis->strlen('s:app') ), 11, 'STRLEN' );
    is( run( $redis->strlen('s:missing') ), 0, 'STRLEN of a missing key' );
    is( run( $redis->getrange( 's:app', 0, 4 ) ), 'Hello', 'GETRANGE 0 4' );
    is( run( $redis->getrange( 's:app', -5, -1 ) ), 'World', 'GETRANGE -5 -1' );
    is( run( $redis->getrange( 's:app', 0, -1 ) ), 'Hello World', 'GETRANGE 0 -1' );
    is( run( $redis->getrange( 's:app', 100, 200 ) ), '', 'GETRANGE out of range: empty string' );
    is( run( $redis->setrange( 's:app', 6, 'Redis' ) ), 11, 'SETRANGE returns the length' );
    is( run( $redis->get('s:app') ), 'Hello Redis', 'value after SETRANGE' );
    is( run( $redis->setrange( 's:pad', 3, 'x' ) ), 4, 'SETRANGE past the end pads' );
    is( run( $redis->get('s:pad') ), "\0\0\0x", 'with NUL bytes' );
};

subtest 'MSET, MGET (missing keys are undef), MSETNX' => sub {
    is( run( $redis->mset( 's:m1', 'one', 's:m2', 'two', 's:m3', 'three' ) ), 'OK', 'MSET' );
    is(
        run( $redis->mget( 's:m1', 's:nope', 's:m2', 's:m3', 's:nope2' ) ),
        [ 'one', undef, 'two', 'three', undef ],
        'MGET: values in order, missing keys undef'
    );
    is( run( $redis->mget('s:nope') ), [undef], 'MGET of one missing key' );
    is( run( $redis->msetnx( 's:m1', 'x', 's:m4', 'y' ) ), 0, 'MSETNX with an existing key: 0' );
    is( run( $redis->exists('s:m4') ), 0, 'sets nothing' );
    is( run( $redis->msetnx( 's:m4', 'x', 's:m5', 'y' ) ), 1, 'MSETNX with new keys: 1' );
    is( run( $redis->mget( 's:m4', 's:m5' ) ), [ 'x', 'y' ], 'both set' );

    my $err = error_of( $redis->mset( 's:m1', 'one', 's:odd' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'MSET with an odd number of arguments' );
    is( $err->message, q{ERR wrong number of arguments for 'mset' command}, 'exact message' );
};

subtest 'WRONGTYPE' => sub {
    run( $redis->rpush( 's:list', 'a' ) );
    my $err = error_of( $redis->get('s:list') );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'GET of a list' );
    is( $err->code, 'WRONGTYPE', 'code WRONGTYPE' );
    is( $err->message, 'WRONGTYPE Operation against a key holding the wrong kind of value', 'message' );
    ok( $err->is_fatal, 'is_fatal' );
    $err = error_of( $redis->append( 's:list', 'x' ) );
    is( $err && $err->code, 'WRONGTYPE', 'APPEND to a list' );
    $err = error_of( $redis->incr('s:list') );
    is( $err && $err->code, 'WRONGTYPE', 'INCR of a list' );
    is( run( $redis->get('s:a') ), 'world', 'the client carries on after errors' );
};

subtest 'unknown command through command()' => sub {
    my $err = error_of( $redis->command( 'NOSUCHCOMMAND', 'x' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'unknown command' );
    is( $err->code, 'ERR', 'code ERR' );
    like( $err->message, qr/\AERR unknown command 'NOSUCHCOMMAND'/, 'message' );
    is( run( $redis->command( 'GET', 's:a' ) ), 'world', 'command() with a known command' );
    is( run( $redis->command( 'get', 's:a' ) ), 'world', 'command names are case-insensitive' );
};

done_testing;

# Hash commands against a real redis-server, with exact replies.
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

subtest 'HSET, HGET, HSETNX, HEXISTS, HLEN' => sub {
    is( run( $redis->hset( 'h:user', 'name', 'Alice' ) ), 1, 'HSET one new field: 1' );
    is( run( $redis->hset( 'h:user', 'age', 30, 'city', 'Paris' ) ), 2, 'HSET two new fields: 2' );
    is( run( $redis->hset( 'h:user', 'name', 'Alicia', 'lang', 'fr' ) ), 1, 'HSET one updated, one new: 1' );
    is( run( $redis->hget( 'h:user', 'name' ) ), 'Alicia', 'HGET' );
    is( run( $redis->hget( 'h:user', 'age' ) ), '30', 'HGET of a number field is the string' );
    is( run( $redis->hget( 'h:user', 'nope' ) ), undef, 'HGET of a missing field: undef' );
    is( run( $redis->hget( 'h:missing', 'name' ) ), undef, 'HGET of a missing key: undef' );
    is( run( $redis->hsetnx( 'h:user', 'name', 'Bob' ) ), 0, 'HSETNX existing field: 0' );
    is( run( $redis->hsetnx( 'h:user', 'zip', '75001' ) ), 1, 'HSETNX new field: 1' );
    is( run( $redis->hexists( 'h:user', 'zip' ) ), 1, 'HEXISTS: 1' );
    is( run( $redis->hexists( 'h:user', 'nope' ) ), 0, 'HEXISTS missing: 0' );
    is( run( $redis->hlen('h:user') ), 5, 'HLEN' );
    is( $srv->cli( 'HGET', 'h:user', 'city' ), 'Paris', 'the server has it' );
};

subtest 'HGETALL resolves to a hash reference' => sub {
    my $h = run( $redis->hgetall('h:user') );
    is( ref $h, 'HASH', 'a hash ref' );
    is( $h, { name => 'Alicia', age => '30', city => 'Paris', lang => 'fr', zip => '75001' }, 'all fields' );
    is( run( $redis->hgetall('h:missing') ), {}, 'HGETALL of a missing key: empty hash' );
    is( run( $redis->command( 'HGETALL', 'h:user' ) ) && 1, 1, 'command(HGETALL) works too' );
    my $raw = run( $redis->command( 'HGETALL', 'h:user' ) );
    is( ref $raw, 'ARRAY', 'command(HGETALL) returns the raw array' );
    is( scalar @$raw, 10, 'of 10 elements' );
    is( {@$raw}, $h, 'with the same pairs' );
};

subtest 'HMGET, HMSET, HKEYS, HVALS, HDEL' => sub {
    is( run( $redis->hmget( 'h:user', 'name', 'nope', 'city' ) ), [ 'Alicia', undef, 'Paris' ], 'HMGET with a missing field' );
    is( run( $redis->hmset( 'h:two', 'a', 1, 'b', 2 ) ), 'OK', 'HMSET' );
    is( [ sort @{ run( $redis->hkeys('h:two') ) } ], [ 'a', 'b' ], 'HKEYS' );
    is( [ sort @{ run( $redis->hvals('h:two') ) } ], [ '1', '2' ], 'HVALS' );
    is( [ sort @{ run( $redis->hkeys('h:user') ) } ], [qw( age city lang name zip )], 'HKEYS of the user' );
    is( run( $redis->hkeys('h:missing') ), [], 'HKEYS of a missing key: []' );
    is( run( $redis->hdel( 'h:user', 'zip', 'lang', 'nope' ) ), 2, 'HDEL two existing, one missing: 2' );
    is( run( $redis->hlen('h:user') ), 3, 'HLEN after HDEL' );
    is( run( $redis->hdel( 'h:two', 'a', 'b' ) ), 2, 'HDEL every field' );
    is( run( $redis->exists('h:two') ), 0, 'deletes the key' );
};

subtest 'HINCRBY, HINCRBYFLOAT' => sub {
    is( run( $redis->hincrby( 'h:counts', 'visits', 1 ) ), 1, 'HINCRBY missing field: 1' );
    is( run( $redis->hincrby( 'h:counts', 'visits', 41 ) ), 42, 'HINCRBY 41: 42' );
    is( run( $redis->hincrby( 'h:counts', 'visits', -50 ) ), -8, 'HINCRBY -50: -8' );
    is( run( $redis->hincrbyfloat( 'h:counts', 'ratio', '1.5' ) ), '1.5', 'HINCRBYFLOAT: 1.5' );
    is( run( $redis->hincrbyfloat( 'h:counts', 'ratio', '0.25' ) ), '1.75', 'HINCRBYFLOAT: 1.75' );
    is( run( $redis->hgetall('h:counts') ), { visits => '-8', ratio => '1.75' }, 'HGETALL' );
    run( $redis->hset( 'h:counts', 'word', 'abc' ) );
    my $err = error_of( $redis->hincrby( 'h:counts', 'word', 1 ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'HINCRBY of a non-integer' );
    is( $err->message, 'ERR hash value is not an integer', 'message' );
};

subtest 'WRONGTYPE and argument errors' => sub {
    run( $redis->set( 'h:string', 'x' ) );
    my $err = error_of( $redis->hset( 'h:string', 'f', 'v' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'HSET on a string' );
    is( $err->code, 'WRONGTYPE', 'code' );
    $err = error_of( $redis->hgetall('h:string') );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'HGETALL on a string fails (no hash made of an error)' );
    is( $err && $err->code, 'WRONGTYPE', 'code' );
    $err = error_of( $redis->hset( 'h:user', 'odd' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'HSET with a field and no value' );
    is( $err && $err->message, q{ERR wrong number of arguments for 'hset' command}, 'message' );
};

subtest 'HSCAN via command()' => sub {
    run( $redis->hset( 'h:scan', map { ( "f$_" => "v$_" ) } 1 .. 50 ) );
    my ( $cursor, %seen ) = (0);
    do {
        my $r = run( $redis->command( 'HSCAN', 'h:scan', $cursor, 'COUNT', 10 ) );
        is( ref $r, 'ARRAY', 'HSCAN reply is an array' ) unless %seen;
        ( $cursor, my $pairs ) = @$r;
        %seen = ( %seen, @$pairs );
    } while ( $cursor ne '0' );
    is( \%seen, { map { ( "f$_" => "v$_" ) } 1 .. 50 }, 'HSCAN visits every field' );
};

done_testing;

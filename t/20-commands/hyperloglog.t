# HyperLogLog commands through the generated methods, with exact replies.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->flushall );

subtest 'PFADD, PFCOUNT' => sub {
    is( run( $redis->pfadd( 'hll:a', qw( x y z ) ) ), 1, 'PFADD new elements: 1' );
    is( run( $redis->pfadd( 'hll:a', qw( x y ) ) ), 0, 'PFADD known elements: 0' );
    is( run( $redis->pfadd('hll:empty') ), 1, 'PFADD with no element creates the key' );
    is( run( $redis->pfcount('hll:a') ), 3, 'PFCOUNT 3' );
    is( run( $redis->pfcount('hll:empty') ), 0, 'PFCOUNT of an empty HLL: 0' );
    is( run( $redis->pfcount('hll:missing') ), 0, 'PFCOUNT of a missing key: 0' );
    run( $redis->pfadd( 'hll:big', map { "e$_" } 1 .. 10_000 ) );
    my $n = run( $redis->pfcount('hll:big') );
    ok( abs( $n - 10_000 ) < 200, "PFCOUNT of 10,000 elements is close ($n)" );
    run( $redis->set( 'hll:str', 'not an hll' ) );
    like( error_of( $redis->pfadd( 'hll:str', 'x' ) )->code, qr/\AWRONGTYPE\z/, 'PFADD on a string: WRONGTYPE' );
};

subtest 'PFMERGE, PFCOUNT of several keys' => sub {
    run( $redis->pfadd( 'hll:b', qw( z w ) ) );
    is( run( $redis->pfcount( 'hll:a', 'hll:b' ) ), 4, 'PFCOUNT of the union: 4' );
    is( run( $redis->pfmerge( 'hll:ab', 'hll:a', 'hll:b' ) ), 'OK', 'PFMERGE' );
    is( run( $redis->pfcount('hll:ab') ), 4, 'merged count 4' );
    is( run( $redis->pfmerge( 'hll:ab', 'hll:empty' ) ), 'OK', 'PFMERGE into an existing key' );
    is( run( $redis->pfcount('hll:ab') ), 4, 'still 4' );
    is( run( $redis->type('hll:ab') ), 'string', 'an HLL is a string' );
    is( run( $redis->pfdebug( 'ENCODING', 'hll:ab' ) ), 'sparse', 'PFDEBUG ENCODING' );
    is( run( $redis->pfselftest ), 'OK', 'PFSELFTEST' );
};

done_testing;

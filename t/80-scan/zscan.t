# zscan_iter: member/score pairs of one sorted set.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->flushall );

subtest 'a small sorted set' => sub {
    run( $redis->zadd( 'z:small', 1, 'a', 2.5, 'b', -3, 'c' ) );
    is( { @{ run( $redis->zscan_iter('z:small')->all ) } }, { a => 1, b => 2.5, c => -3 }, 'member => score' );
};

subtest 'a large sorted set' => sub {
    run( $redis->zadd( 'z:big', map { ( $_, "m$_" ) } 1 .. 1500 ) );
    my $iter = $redis->zscan_iter( 'z:big', count => 100 );
    my ( %all, $batches, $odd );
    while ( my $pairs = run( $iter->next ) ) {
        $odd++ if @$pairs % 2;
        my %b = @$pairs;
        $all{$_} = $b{$_} for keys %b;
        $batches++;
    }
    ok( !$odd, 'whole pairs' );
    ok( $batches > 1, "several batches ($batches)" );
    is( \%all, { map { ( "m$_" => $_ ) } 1 .. 1500 }, 'every member with its score' );
};

subtest 'MATCH' => sub {
    my %m = @{ run( $redis->zscan_iter( 'z:big', match => 'm15*', count => 1000 )->all ) };
    is( \%m, { map { ( "m$_" => $_ ) } 15, 150 .. 159, 1500 }, 'match => m15*' );
};

subtest 'wrong type' => sub {
    run( $redis->sadd( 'z:set', 'x' ) );
    is( error_of( $redis->zscan_iter('z:set')->next )->code, 'WRONGTYPE', 'WRONGTYPE' );
};

done_testing;

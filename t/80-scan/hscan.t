# hscan_iter: field/value pairs of one hash.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->flushall );

subtest 'a small hash (one batch, listpack)' => sub {
    run( $redis->hset( 'h:small', a => 1, b => 2, c => 3 ) );
    my $iter = $redis->hscan_iter('h:small');
    my $batch = run( $iter->next );
    is( {@$batch}, { a => 1, b => 2, c => 3 }, 'field => value pairs' );
    is( run( $iter->next ), undef, 'then undef' );
};

subtest 'a large hash' => sub {
    run( $redis->hset( 'h:big', map { ( "f$_" => "v$_" ) } 1 .. 1000 ) );
    my $iter = $redis->hscan_iter( 'h:big', count => 50 );
    my ( %all, $batches, $odd );
    while ( my $pairs = run( $iter->next ) ) {
        $odd++ if @$pairs % 2;
        my %batch = @$pairs;
        $all{$_} = $batch{$_} for keys %batch;
        $batches++;
    }
    ok( !$odd, 'every batch is whole pairs' );
    ok( $batches > 1, "several batches ($batches)" );
    is( \%all, { map { ( "f$_" => "v$_" ) } 1 .. 1000 }, 'every field with its value' );
};

subtest 'MATCH and COUNT' => sub {
    my %m = @{ run( $redis->hscan_iter( 'h:big', match => 'f99*', count => 100 )->all ) };
    is( [ sort keys %m ], [ sort qw( f99 f990 f991 f992 f993 f994 f995 f996 f997 f998 f999 ) ], 'match => f99*' );
    is( $m{f995}, 'v995', 'with values' );
    like( dies { $redis->hscan_iter( 'h:big', type => 'x' ) }, qr/hscan_iter: unknown option 'type'/, 'no TYPE for HSCAN' );
    like( dies { $redis->hscan_iter() }, qr/hscan_iter needs a key/, 'a key is needed' );
};

subtest 'missing key, wrong type' => sub {
    is( run( $redis->hscan_iter('h:none')->next ), undef, 'a missing key: undef' );
    run( $redis->set( 'h:str', 'x' ) );
    my $err = error_of( $redis->hscan_iter('h:str')->next );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'a string' );
    is( $err->code, 'WRONGTYPE', 'WRONGTYPE' );
};

done_testing;

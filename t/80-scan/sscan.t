# sscan_iter: the members of one set.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->flushall );

subtest 'a small set (intset)' => sub {
    run( $redis->sadd( 'set:ints', 1 .. 10 ) );
    is( [ sort { $a <=> $b } @{ run( $redis->sscan_iter('set:ints')->all ) } ], [ 1 .. 10 ], 'every member' );
};

subtest 'a large set' => sub {
    run( $redis->sadd( 'set:big', map { "m$_" } 1 .. 2000 ) );
    my $iter = $redis->sscan_iter( 'set:big', count => 100 );
    my ( @all, $batches );
    while ( my $members = run( $iter->next ) ) {
        push @all, @$members;
        $batches++;
    }
    ok( $batches > 1, "several batches ($batches)" );
    is( [ sort @all ], [ sort map { "m$_" } 1 .. 2000 ], 'every member exactly once' );
};

subtest 'MATCH' => sub {
    is( [ sort @{ run( $redis->sscan_iter( 'set:big', match => 'm100*', count => 500 )->all ) } ],
        [ sort qw( m100 m1000 m1001 m1002 m1003 m1004 m1005 m1006 m1007 m1008 m1009 ) ], 'match => m100*' );
    is( run( $redis->sscan_iter( 'set:big', match => 'nothing*' )->next ), undef, 'no match: undef, no empty batch' );
};

subtest 'binary members' => sub {
    my @bin = ( "\x00", "a\x00b", "\xff\xfe", "\r\n" );
    run( $redis->sadd( 'set:bin', @bin ) );
    is( [ sort @{ run( $redis->sscan_iter('set:bin')->all ) } ], [ sort @bin ], 'as stored' );
};

subtest 'wrong type' => sub {
    run( $redis->set( 'set:str', 'x' ) );
    is( error_of( $redis->sscan_iter('set:str')->next )->code, 'WRONGTYPE', 'WRONGTYPE' );
};

done_testing;

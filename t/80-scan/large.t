# scan_iter over 20,000 keys: every key exactly once, while the loop keeps running.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::IO;

my $srv   = start_server();
my $redis = client( $srv, request_timeout => 30 );
run( $redis->flushall );

my $N = 20_000;
for my $chunk ( 0 .. 19 ) {
    my $base = $chunk * 1000;
    run( $redis->mset( map { ( "big:$_" => $_ ) } $base + 1 .. $base + 1000 ) );
}
is( run( $redis->dbsize ), $N, "$N keys" );

subtest 'default COUNT' => sub {
    my ( %seen, $batches, $dups );
    my $iter = $redis->scan_iter;
    while ( my $keys = run( $iter->next ) ) {
        $batches++;
        $seen{$_}++ and $dups++ for @$keys;
    }
    is( scalar keys %seen, $N, 'every key' );
    ok( !$dups, 'none twice' );
    ok( $batches > 100, "in many batches ($batches)" );
};

subtest 'COUNT 1000, MATCH' => sub {
    my $all = run( $redis->scan_iter( count => 1000 )->all );
    is( scalar @$all, $N, 'all: every key' );
    my %c;
    is( [ grep { $c{$_}++ } @$all ], [], 'exactly once' );
    my $m = run( $redis->scan_iter( match => 'big:1999*', count => 1000 )->all );
    is( [ sort @$m ], [ sort map { "big:$_" } 1999, 19990 .. 19999 ], 'match => big:1999*' );
};

subtest 'with a prefix among other keys' => sub {
    run( $redis->mset( map { ( "app:$_" => 1 ) } 1 .. 5000 ) );
    my $app = client( $srv, prefix => 'app:' );
    my $all = run( $app->scan_iter( count => 500 )->all );
    is( [ sort { $a <=> $b } @$all ], [ 1 .. 5000 ], 'only the 5,000 app: keys, without the prefix, once each' );
};

subtest 'the loop keeps running while scanning' => sub {
    my $ticks = 0;
    my $stop  = 0;
    my $tick;
    $tick = sub { return if $stop; $ticks++; Future::IO->sleep(0.001)->on_done($tick) };
    my $timer = Future::IO->sleep(0.001)->on_done($tick);
    my $n = 0;
    my $iter = $redis->scan_iter( count => 100 );
    while ( my $keys = run( $iter->next ) ) { $n += @$keys }
    $stop = 1;
    undef $tick;
    is( $n, $N + 5000, 'every key' );
    ok( $ticks > 5, "a timer ticked $ticks times meanwhile" );
};

done_testing;

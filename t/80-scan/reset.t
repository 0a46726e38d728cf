# Iterator reset (back to cursor 0) and done, against a real server.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv = start_server();
$srv->cli('FLUSHALL');
my $redis = client($srv);
run( $redis->sadd( 'rs:set', map {"m$_"} 1 .. 300 ) );
run( $redis->mset( map { ( "rs:key:$_" => $_ ) } 1 .. 200 ) );

subtest 'done: 0 until the end, 1 after' => sub {
    my $iter = $redis->sscan_iter( 'rs:set', count => 50 );
    is( $iter->done, 0, 'not done before the first batch' );
    my @all;
    while ( my $batch = run( $iter->next ) ) {
        push @all, @$batch;
        last if $iter->done;
    }
    is( $iter->done, 1, 'done at the end' );
    is( run( $iter->next ), undef, 'next after the end: undef' );
    is( [ sort @all ], [ sort map {"m$_"} 1 .. 300 ], 'every member' );
};

subtest 'reset starts again from cursor 0, also after the end' => sub {
    my $iter  = $redis->scan_iter( match => 'rs:key:*', count => 20 );
    my $first = run( $iter->all );
    is( scalar @$first, 200, 'all 200 keys' );
    is( $iter->done, 1, 'done' );
    ref_is( $iter->reset, $iter, 'reset returns the iterator' );
    is( [ $iter->done, $iter->cursor ], [ 0, '0' ], 'not done, cursor 0' );
    my $again = run( $iter->all );
    is( [ sort @$again ], [ sort @$first ], 'the same keys again' );
};

subtest 'reset in the middle' => sub {
    my $iter = $redis->sscan_iter( 'rs:set', count => 10 );
    my $b1   = run( $iter->next );
    ok( $iter->cursor ne '0', 'partway: cursor ' . $iter->cursor );
    $iter->reset;
    is( $iter->cursor, '0', 'reset: cursor 0' );
    my $all = run( $iter->all );
    is( [ sort @$all ], [ sort map {"m$_"} 1 .. 300 ], 'all members from the start, including the first batch' );
};

subtest 'reset while a next is waiting: that call still gets its batch, the next starts over' => sub {
    my $iter    = $redis->sscan_iter( 'rs:set', count => 10 );
    my $pending = $iter->next;
    $iter->reset;
    my $batch = run($pending);
    ok( ref $batch eq 'ARRAY', 'the waiting next resolved to a batch' );
    is( $iter->cursor, '0', 'but the cursor stayed at 0' );
    my $all = run( $iter->all );
    is( [ sort @$all ], [ sort map {"m$_"} 1 .. 300 ], 'everything from the start' );
};

done_testing;

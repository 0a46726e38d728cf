# WATCH: watch_multi with the watched values; manual WATCH/MULTI/EXEC; `watching` and `in_multi` as the engine sees the connection
# (cleared by EXEC, DISCARD and UNWATCH as the server clears them); inflight_count. Conflicts
# (a watched key changed) are in watch-conflict.t.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv   = start_server();
my $redis = client($srv);
my $other = client($srv);
run( $redis->command('FLUSHALL') );

subtest 'watch_multi: the design example' => sub {
    run( $redis->set( 'balance', 150 ) );
    my $seen;
    my $results = run( $redis->watch_multi( ['balance'], async sub {
        my ( $tx, $watched ) = @_;
        $seen = {%$watched};
        if ( $watched->{balance} >= 100 ) {
            $tx->decrby( 'balance', 100 );
            $tx->incr('purchases');
        }
    } ) );
    is( $seen, { balance => 150 }, 'the watched keys with their current values' );
    is( $results, [ 50, 1 ], 'EXEC results' );
    ok( !$redis->watching, 'EXEC unwatched' );
    ok( !$redis->in_multi, 'not in MULTI' );
};

subtest 'watch_multi: values of several keys, missing and non-string ones undef' => sub {
    run( $redis->mset( 'w:a', 1, 'w:b', 'two' ) );
    run( $redis->rpush( 'w:list', 'x' ) );
    my $seen;
    run( $redis->watch_multi( [ 'w:a', 'w:b', 'w:none', 'w:list' ], async sub { $seen = $_[1] } ) );
    is( $seen, { 'w:a' => 1, 'w:b' => 'two', 'w:none' => undef, 'w:list' => undef }, 'as MGET reads them' );
};

subtest 'watch_multi: an error in the callback unwatches and passes the exception on' => sub {
    run( $redis->set( 'wk', 1 ) );
    my $err = error_of( $redis->watch_multi( ['wk'], async sub {
        $_[0]->set( 'wk', 2 );
        die "no\n";
    } ) );
    is( $err, "no\n", 'the exception' );
    ok( !$redis->watching, 'unwatched' );
    is( run( $redis->get('wk') ), '1', 'nothing ran' );
};

subtest 'watch_multi: transactions of one client wait for it (their EXEC would end its watch)' => sub {
    run( $redis->set( 'order', 0 ) );
    my @log;
    my $gate = Future::IO->sleep(0.2);
    my $wm = $redis->watch_multi( ['order'], async sub {
        my ($tx) = @_;
        push @log, 'watch_multi built';
        await $gate;    # holds the client between WATCH and EXEC
        $tx->incr('order');
    } );
    my $m = $redis->multi( async sub { push @log, 'multi built'; $_[0]->incr('order') } );
    is( run($wm), [1], 'watch_multi was not aborted by the other transaction' );
    is( run($m), [2], 'the other transaction ran after it' );
    is( \@log, [ 'watch_multi built', 'multi built' ], 'in that order' );

    # A waiting transaction cancelled: the one it waits for goes on.
    $gate = Future::IO->sleep(0.2);
    $wm = $redis->watch_multi( ['order'], async sub { await $gate; $_[0]->incr('order') } );
    $m = $redis->multi( async sub { $_[0]->incr('order') } );
    $m->cancel;
    is( run($wm), [3], 'the watch_multi completed' );
    is( run( $redis->get('order') ), '3', 'the cancelled transaction never ran' );
};

subtest 'watch_multi: prefixed keys, values given under the names used' => sub {
    my $p = client( $srv, prefix => 'pfx:' );
    run( $redis->set( 'pfx:wp', 5 ) );
    my $seen;
    my $r = run( $p->watch_multi( ['wp'], async sub { $seen = $_[1]; $_[0]->incr('wp') } ) );
    is( $seen, { wp => 5 }, 'read through the prefix, keyed as given' );
    is( $r, [6], 'result' );
    run( $other->set( 'pfx:wp', 0 ) );
    is( run( $p->watch_multi( ['wp'], async sub { await $other->incr('pfx:wp'); $_[0]->incr('wp') } ) ),
        undef, 'the prefixed key is the one watched' );
};

subtest 'manual control: the design example' => sub {
    run( $redis->mset( 'key1', 10, 'key2', 10 ) );
    run( $redis->watch( 'key1', 'key2' ) );
    ok( $redis->watching, 'watching after WATCH' );
    ok( !$redis->in_multi, 'not in MULTI yet' );
    is( run( $redis->multi ), 'OK', 'MULTI' );
    ok( $redis->in_multi, 'in MULTI' );
    is( run( $redis->incr('key1') ), 'QUEUED', 'queued' );
    is( run( $redis->decr('key2') ), 'QUEUED', 'queued' );
    is( run( $redis->exec ), [ 11, 9 ], 'EXEC results' );
    ok( !$redis->in_multi, 'EXEC ended MULTI' );
    ok( !$redis->watching, 'EXEC unwatched' );
    is( run( $redis->unwatch ), 'OK', 'UNWATCH (nothing left to clear)' );
};

subtest 'watching is cleared by DISCARD and UNWATCH, as on the server' => sub {
    run( $redis->watch('k') );
    ok( $redis->watching, 'WATCH' );
    run( $redis->unwatch );
    ok( !$redis->watching, 'UNWATCH cleared it' );
    run( $redis->watch('k') );
    run( $redis->multi );
    ok( $redis->watching && $redis->in_multi, 'watching, in MULTI' );
    is( run( $redis->discard ), 'OK', 'DISCARD' );
    ok( !$redis->watching, 'DISCARD cleared watching' );
    ok( !$redis->in_multi, 'and MULTI' );
    # A refused WATCH (inside MULTI) watches nothing.
    run( $redis->multi );
    my $err = error_of( $redis->watch('k') );
    like( $err, qr/WATCH inside MULTI is not allowed/, 'the server refuses WATCH inside MULTI' );
    run( $redis->discard );
    ok( !$redis->watching, 'not watching' );
    is( $redis->is_dirty, '', 'the connection is clean' );
};

subtest 'in_multi as soon as MULTI is issued; is_dirty while in MULTI' => sub {
    my $f = $redis->multi;
    ok( $redis->in_multi, 'in_multi before the reply came' );
    run($f);
    like( $redis->is_dirty, qr/in_multi/, 'is_dirty names it' );
    run( $redis->discard );
    ok( !$redis->in_multi, 'DISCARD ended it' );
};

subtest 'inflight_count' => sub {
    my $fresh = client($srv);
    is( $fresh->inflight_count, 0, 'never connected: 0' );
    run( $fresh->ping );
    is( $fresh->inflight_count, 0, 'idle: 0' );
    my @f = map { $fresh->incr('ic') } 1 .. 3;
    my $p = $fresh->pipeline->incr('ic')->incr('ic')->execute;
    is( $fresh->inflight_count, 5, 'three commands and a pipeline of two' );
    run( Future->needs_all( @f, $p ) );
    is( $fresh->inflight_count, 0, 'all answered' );
    my $b = $fresh->blpop( 'ic:empty', 0.3 );
    is( $fresh->inflight_count, 1, 'a blocking command waiting' );
    run($b);
    is( $fresh->inflight_count, 0, 'answered (nil)' );
};

done_testing;

# Blocking commands and concurrency: several clients blocked on one list, the event loop running
# while a BLPOP waits, other clients' commands answered meanwhile.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $srv    = start_server();
my $pusher = client($srv);
run( $pusher->command('FLUSHALL') );

subtest 'several clients blocked on the same list each get one item' => sub {
    my @clients = map { client($srv) } 1 .. 5;
    run( Future->needs_all( map { $_->connect } @clients ) );
    my @pops = map { $_->blpop( 'cc:shared', 10 ) } @clients;

    # wait until the server sees all five blocked, then push five items at once
    ok( wait_until( sub { ( run( $pusher->info('clients') )->{clients}{blocked_clients} // 0 ) >= 5 }, 5 ),
        'the server reports five blocked clients' );
    is( run( $pusher->rpush( 'cc:shared', map { "item$_" } 1 .. 5 ) ), 5, 'pushed five items' );

    my @got = run( Future->needs_all(@pops) );
    is( scalar @got, 5, 'every BLPOP resolved' );
    is( [ map { $_->[0] } @got ], [ ('cc:shared') x 5 ], 'each from the shared list' );
    is( [ sort map { $_->[1] } @got ], [ map { "item$_" } 1 .. 5 ], 'each got a different item: all five, once each' );
    is( run( $pusher->llen('cc:shared') ), 0, 'nothing left' );
    run( $_->disconnect ) for @clients;
};

subtest 'more waiters than items: the rest keep waiting, then time out' => sub {
    my @clients = map { client($srv) } 1 .. 4;
    run( Future->needs_all( map { $_->connect } @clients ) );
    my @pops = map { $_->blpop( 'cc:few', 1.5 ) } @clients;
    wait_until( sub { ( run( $pusher->info('clients') )->{clients}{blocked_clients} // 0 ) >= 4 }, 5 );
    run( $pusher->rpush( 'cc:few', 'only-1', 'only-2' ) );
    my @got = run( Future->needs_all(@pops) );
    my @items   = grep { defined } @got;
    my @timeout = grep { !defined } @got;
    is( scalar @items,   2, 'two clients got an item' );
    is( scalar @timeout, 2, 'two timed out with undef' );
    is( [ sort map { $_->[1] } @items ], [ 'only-1', 'only-2' ], 'the two items' );
    run( $_->disconnect ) for @clients;
};

subtest 'the event loop keeps running while BLPOP waits' => sub {
    my $redis = client($srv);
    run( $redis->connect );
    my $ticks   = 0;
    my $running = 1;
    my $ticker  = ( async sub {
        while ($running) {
            await Future::IO->sleep(0.01);
            $ticks++;
        }
    } )->();
    my $t0 = time;
    my @r  = run( $redis->blpop( 'cc:nothing', 1 ) );
    my $elapsed = time - $t0;
    $running = 0;
    run($ticker);
    is( \@r, [undef], 'BLPOP 1 timed out' );
    ok( $ticks > 10, "the 0.01 s ticker ran $ticks times during the ${\ sprintf '%.2f', $elapsed } s BLPOP" );
};

subtest 'other clients are answered while one is blocked' => sub {
    my $blocked = client($srv);
    my $busy    = client($srv);
    run( Future->needs_all( $blocked->connect, $busy->connect ) );
    my $pop = $blocked->blpop( 'cc:later', 10 );
    my $results = run(
        async sub {
            my @r;
            for my $i ( 1 .. 50 ) {
                push @r, await $busy->incr('cc:counter');
            }
            return \@r;
        }
    );
    is( $results, [ 1 .. 50 ], '50 sequential commands on another client answered' );
    ok( !$pop->is_ready, 'while the BLPOP still waits' );
    run( $busy->rpush( 'cc:later', 'done' ) );
    is( run($pop), [ 'cc:later', 'done' ], 'then the BLPOP gets its item' );
    run( $_->disconnect ) for $blocked, $busy;
};

subtest 'BLPOPs on different keys resolve independently' => sub {
    my @clients = map { client($srv) } 1 .. 3;
    run( Future->needs_all( map { $_->connect } @clients ) );
    my @pops = map { $clients[$_]->blpop( "cc:key$_", 10 ) } 0 .. 2;
    wait_until( sub { ( run( $pusher->info('clients') )->{clients}{blocked_clients} // 0 ) >= 3 }, 5 );

    run( $pusher->rpush( 'cc:key1', 'one' ) );
    is( run( $pops[1] ), [ 'cc:key1', 'one' ], 'the client on key1 got its item' );
    ok( !$pops[0]->is_ready && !$pops[2]->is_ready, 'the others still wait' );
    run( $pusher->rpush( 'cc:key2', 'two' ) );
    run( $pusher->rpush( 'cc:key0', 'zero' ) );
    is( run( $pops[2] ), [ 'cc:key2', 'two' ],  'key2' );
    is( run( $pops[0] ), [ 'cc:key0', 'zero' ], 'key0' );
    run( $_->disconnect ) for @clients;
};

subtest 'a producer and consumers in one loop' => sub {
    my @consumers = map { client($srv) } 1 .. 3;
    my %got;
    my @workers = map {
        my $c = $consumers[$_];
        my $n = $_;
        ( async sub {
            while (1) {
                my $r = await $c->blpop( 'cc:jobs', 2 );
                last unless $r;
                last if $r->[1] eq 'STOP';
                push @{ $got{$n} }, $r->[1];
            }
        } )->();
    } 0 .. 2;
    my $producer = ( async sub {
        for my $i ( 1 .. 60 ) {
            await $pusher->rpush( 'cc:jobs', "job$i" );
            await Future::IO->sleep(0.005) if $i % 10 == 0;
        }
        await $pusher->rpush( 'cc:jobs', ('STOP') x 3 );
    } )->();
    run( Future->needs_all( $producer, @workers ), 30 );
    my @all = sort { substr( $a, 3 ) <=> substr( $b, 3 ) } map { @$_ } values %got;
    is( \@all, [ map { "job$_" } 1 .. 60 ], 'every job consumed exactly once' );
    run( $_->disconnect ) for @consumers;
};

done_testing;

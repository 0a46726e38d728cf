# MULTI cannot be nested: each way of trying croaks with a clear message (naming the caller's
# line), and leaves the connection usable.
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
my $line;

subtest 'multi(code) and bare multi while a bare MULTI is open' => sub {
    run( $redis->multi );
    like( dies { $line = __LINE__; $redis->multi( async sub { } ) },
        qr/multi: MULTI cannot be nested: this connection is already in a transaction .* line $line\.$/m, 'multi(code) croaks' );
    like( dies { $redis->multi }, qr/MULTI cannot be nested/, 'bare multi croaks' );
    like( dies { $redis->multi_start }, qr/MULTI cannot be nested/, 'multi_start croaks' );
    like( dies { $redis->watch_multi( ['k'], async sub { } ) }, qr/watch_multi: MULTI cannot be nested/, 'watch_multi croaks' );
    is( run( $redis->exec ), [], 'the open transaction is still there, empty' );
    ok( !$redis->in_multi, 'and over' );
};

subtest 'a bare MULTI not yet answered counts as open' => sub {
    my $f = $redis->multi;
    like( dies { $redis->multi }, qr/MULTI cannot be nested/, 'croaks before the reply came' );
    run($f);
    run( $redis->discard );
};

subtest 'inside the callback' => sub {
    my $err = error_of( $redis->multi( async sub {
        my ($tx) = @_;
        $tx->incr('n:a');
        $tx->multi;
    } ) );
    like( $err, qr/Transaction: MULTI cannot be nested: this callback already builds a transaction/, '$tx->multi' );
    for my $m (qw( exec discard unwatch )) {
        my $e = error_of( $redis->multi( async sub { $_[0]->$m } ) );
        like( $e, qr/\U$m\E cannot be queued inside a transaction/, "\$tx->$m" );
    }
    my $e = error_of( $redis->multi( async sub { $_[0]->watch('k') } ) );
    like( $e, qr/WATCH cannot be queued inside a transaction: watch keys with watch_multi/, '$tx->watch' );
    $e = error_of( $redis->multi( async sub { $redis->multi( async sub { } ) } ) );
    like( $e, qr/MULTI cannot be nested: called from the callback of another multi/, '$redis->multi in the callback' );
    is( run( $redis->exists('n:a') ), 0, 'nothing ran' );
    ok( !$redis->in_multi, 'not in MULTI' );
};

subtest 'after the first await, a multi on the client is an independent transaction' => sub {
    my $inner;
    my $outer = run( $redis->multi( async sub {
        my ($tx) = @_;
        $tx->incr('ind');
        await $redis->ping;
        $inner = await $redis->multi( async sub { $_[0]->incr('ind') } );
        $tx->incr('ind');
    } ) );
    is( $inner, [1], 'the inner one ran first, alone' );
    is( $outer, [ 2, 3 ], 'then the outer one' );
};

subtest 'a transaction started inside a watch_multi callback fails after request_timeout (no hang)' => sub {
    my $c = client( $srv, request_timeout => 0.3 );
    my $inner;
    my $err = error_of( $c->watch_multi( ['wn'], async sub {
        my ($tx) = @_;
        await $c->ping;
        $inner = $c->multi( async sub { $_[0]->incr('wn') } );
        await $inner;
        $tx->incr('wn');
    } ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'the inner transaction timed out waiting' );
    like( $err->message, qr/waited 0\.3s for a watch_multi of the same client .* MULTI cannot be nested/, 'says why' );
    ok( $inner->is_failed, 'the inner one failed' );
    is( run( $c->exists('wn') ), 0, 'nothing ran' );
    ok( !$c->watching, 'the outer one unwatched' );
    is( run( $c->multi( async sub { $_[0]->incr('wn') } ) ), [1], 'the client takes transactions again' );
};

subtest 'the server refuses nesting too (through command)' => sub {
    run( $redis->command('MULTI') );
    my $err = error_of( $redis->command('MULTI') );
    like( $err, qr/MULTI calls can not be nested/, "the server's error" );
    ok( $redis->in_multi, 'still in the first MULTI' );
    run( $redis->discard );
    ok( !$redis->in_multi, 'discarded' );
};

done_testing;

# Pipelines: the design's basic example, count(), single use, empty pipelines, reply shapes and
# reply transformers (hgetall, config_get, info, time) inside a pipeline.
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

subtest 'the design example (section 4)' => sub {
    my $pipe = $redis->pipeline;
    isa_ok( $pipe, ['Future::IO::Redis::Pipeline'], 'pipeline()' );
    $pipe->set( 'key1', 'value1' );
    $pipe->set( 'key2', 'value2' );
    $pipe->get('key1');
    $pipe->incr('counter');
    is( $pipe->count, 4, 'count: 4 queued' );

    my $results = run( $pipe->execute );
    is( $results, [ 'OK', 'OK', 'value1', 1 ], q{['OK', 'OK', 'value1', 1]} );
    is( $srv->cli( 'GET', 'key2' ), 'value2', 'the server has key2' );
    is( $srv->cli( 'GET', 'counter' ), '1', 'and counter' );
};

subtest 'commands are queued locally until execute' => sub {
    my $pipe = $redis->pipeline;
    $pipe->set( 'queued', 'yes' );
    $pipe->incr('queued:n');
    run( Future::IO->sleep(0.2) );
    is( $srv->cli( 'EXISTS', 'queued' ), '0', 'nothing sent before execute' );
    is( run( $redis->exists('queued') ), 0, 'not even after other commands on the client' );
    my $f = $pipe->execute;
    isa_ok( $f, ['Future'], 'execute returns a Future' );
    is( run($f), [ 'OK', 1 ], 'executed' );
    is( $srv->cli( 'GET', 'queued' ), 'yes', 'now the server has it' );
};

subtest 'count' => sub {
    my $pipe = $redis->pipeline;
    is( $pipe->count, 0, 'a new pipeline counts 0' );
    $pipe->ping;
    is( $pipe->count, 1, '1 after one command' );
    $pipe->command( 'ECHO', 'x' )->get('k');
    is( $pipe->count, 3, '3 after three' );
    run( $pipe->execute );
};

subtest 'single use: executing twice croaks' => sub {
    my $pipe = $redis->pipeline->set( 'once', 1 );
    is( run( $pipe->execute ), ['OK'], 'first execute' );
    like( dies { $pipe->execute }, qr/already executed/, 'second execute croaks' );
    like( dies { $pipe->set( 'once', 2 ) }, qr/already executed/, 'queueing after execute croaks' );
    like( dies { $pipe->command( 'SET', 'once', 2 ) }, qr/already executed/, 'command() after execute croaks' );
    is( run( $redis->get('once') ), '1', 'nothing more was sent' );

    my $empty = $redis->pipeline;
    run( $empty->execute );
    like( dies { $empty->execute }, qr/already executed/, 'an empty pipeline executes once too' );
};

subtest 'an empty pipeline resolves to []' => sub {
    my $pipe = $redis->pipeline;
    my $f    = $pipe->execute;
    isa_ok( $f, ['Future'], 'execute of an empty pipeline returns a Future' );
    is( run($f), [], 'resolving to []' );
};

subtest 'reply shapes inside a pipeline' => sub {
    run( $redis->rpush( 'p:list', qw( a b c ) ) );
    my $r = run(
        $redis->pipeline
          ->get('p:missing')
          ->lrange( 'p:list', 0, -1 )
          ->lrange( 'p:missing', 0, -1 )
          ->incrby( 'p:n', -5 )
          ->echo('')
          ->mget( 'p:list:nope', 'key1' )
          ->command( 'LPOP', 'p:missing', 2 )
          ->execute
    );
    is( scalar @$r, 7, 'seven results' );
    is( $r->[0], undef, 'nil bulk: undef' );
    is( $r->[1], [qw( a b c )], 'array' );
    is( $r->[2], [], 'empty array' );
    is( $r->[3], -5, 'negative integer' );
    is( $r->[4], '', 'empty string' );
    is( $r->[5], [ undef, 'value1' ], 'array with a nil' );
    is( $r->[6], undef, 'nil array: undef' );
};

subtest 'hgetall, config_get, info and time transform inside a pipeline' => sub {
    run( $redis->hset( 'p:hash', 'name', 'Alice', 'age', 30 ) );
    my $r = run(
        $redis->pipeline
          ->hgetall('p:hash')
          ->get('key1')
          ->hgetall('p:nohash')
          ->config_get('maxmemory-policy')
          ->info('server')
          ->time
          ->command( 'HGETALL', 'p:hash' )
          ->execute
    );
    is( $r->[0], { name => 'Alice', age => '30' }, 'hgetall: a hash' );
    is( $r->[1], 'value1', 'the next command is not transformed' );
    is( $r->[2], {}, 'hgetall of a missing key: {}' );
    is( $r->[3], { 'maxmemory-policy' => 'noeviction' }, 'config_get: a hash' );
    is( ref $r->[4], 'HASH', 'info: a hash' );
    like( $r->[4]{server}{redis_version}, qr/\A7\./, 'of sections' );
    is( ref $r->[5], 'ARRAY', 'time: an array' );
    ok( abs( $r->[5][0] - time ) < 60, 'of seconds' );
    ok( $r->[5][1] >= 0 && $r->[5][1] < 1e6, 'and microseconds' );
    is( ref $r->[6], 'ARRAY', 'command(HGETALL) in a pipeline is the raw array' );
    is( { @{ $r->[6] } }, $r->[0], 'with the same pairs' );
};

subtest 'a pipeline and single commands on the same client' => sub {
    my $pipe = $redis->pipeline;
    $pipe->set( 'p:mix', $_ ) for 1 .. 5;
    $pipe->get('p:mix');
    my $single_before = $redis->set( 'p:mix', 'before' );
    my $pf            = $pipe->execute;
    my $single_after  = $redis->get('p:mix');
    is( run($single_before), 'OK', 'single command before execute' );
    is( run($pf), [ ('OK') x 5, '5' ], 'the pipeline ran after it' );
    is( run($single_after), '5', 'the single command after execute saw the pipeline' );
};

subtest 'a pipeline connects a fresh client lazily' => sub {
    my $c = client($srv);
    ok( !$c->is_connected, 'not connected' );
    is( run( $c->pipeline->ping->echo('lazy')->execute ), [ 'PONG', 'lazy' ], 'first use is a pipeline' );
    ok( $c->is_connected, 'connected now' );
    run( $c->disconnect );
};

done_testing;

# The design's metrics, through otel_meter (a recording meter with OpenTelemetry's method
# names, t/lib/Test/FIORedis/Recorder.pm) and through Metrics::Any (its Test adapter), against a
# real server: commands by name, latency, errors by type, pipeline sizes, connections active
# and total across a server-side kill and reconnect, reconnect attempts, a pool's acquire wait.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Metrics::Any::Adapter 'Test';
use Metrics::Any::Adapter::Test;
use Test::FIORedis;
use Test::FIORedis::Recorder;
use Future::IO::Redis::Pool;

my $srv = start_server();

sub metric_lines {
    my ($re) = @_;
    return [ grep { /$re/ } split /\n/, Metrics::Any::Adapter::Test->metrics ];
}

subtest 'otel_meter: commands, latency, errors, pipelines, connections' => sub {
    my $meter = Test::FIORedis::Recorder::Meter->new;
    my $redis = client( $srv, otel_meter => $meter, reconnect_delay => 0.05 );
    is(
        [ $meter->names ],
        [ sort qw( redis.commands.total redis.commands.duration redis.connections.active redis.connections.total
              redis.reconnects.total redis.errors.total redis.pipeline.size redis.pool.acquire.duration ) ],
        'the instruments'
    );
    is( $meter->instrument('redis.commands.total')->type,     'counter' );
    is( $meter->instrument('redis.commands.duration')->type,  'histogram' );
    is( $meter->instrument('redis.connections.active')->type, 'up_down_counter' );
    is( $meter->instrument('redis.commands.duration')->{unit}, 's' );

    run( $redis->set( "m:$_", $_ ) ) for 1 .. 3;
    run( $redis->get('m:1') ) for 1 .. 2;
    ok( error_of( $redis->hgetall('m:1') ), 'a WRONGTYPE error' );
    my $res = run( $redis->pipeline->incr('m:p')->incr('m:p')->lpush( 'm:1', 'x' )->get('m:p')->execute );
    is( $res->[3], 2 );

    my $total = $meter->instrument('redis.commands.total');
    is( $total->sum( { 'db.operation' => 'SET' } ),     3, 'SET x 3' );
    is( $total->sum( { 'db.operation' => 'GET' } ),     3, 'GET x 3 (one in the pipeline)' );
    is( $total->sum( { 'db.operation' => 'HGETALL' } ), 1 );
    is( $total->sum( { 'db.operation' => 'INCR' } ),    2, 'pipeline commands counted one by one' );
    is( $total->sum, 10, 'ten commands' );
    my $dur = $meter->instrument('redis.commands.duration');
    is( $dur->sum( {}, count => 1 ), 6, 'a latency for each command sent alone' );
    ok( ( !grep { $_->[0] < 0 || $_->[0] > 30 } $dur->points ), 'latencies are seconds' );
    is( $meter->instrument('redis.errors.total')->sum( { 'error.type' => 'Redis' } ), 2, 'errors by type: HGETALL and LPUSH' );
    is( [ map { $_->[0] } $meter->instrument('redis.pipeline.size')->points ], [4], 'one pipeline of 4' );
    is( $meter->instrument('redis.connections.active')->sum, 1, 'one connection active' );
    is( $meter->instrument('redis.connections.total')->sum,  1, 'one created' );

    # The server kills the connection: down, a reconnect attempt, up again.
    my $id = run( $redis->client_id );
    $srv->cli( 'CLIENT', 'KILL', 'ID', $id );
    ok( wait_until( sub { $meter->instrument('redis.connections.total')->sum == 2 }, 10 ), 'reconnected' );
    is( $meter->instrument('redis.connections.active')->sum,  1, 'still one active (down, then up)' );
    is( [ map { $_->[0] } $meter->instrument('redis.connections.active')->points ], [ 1, -1, 1 ], 'up, down, up' );
    is( $meter->instrument('redis.reconnects.total')->sum, 1, 'one reconnect attempt' );

    run( $redis->disconnect );
    ok( wait_until( sub { $meter->instrument('redis.connections.active')->sum == 0 }, 5 ), 'disconnect: none active' );
    is( $meter->instrument('redis.reconnects.total')->sum, 1, 'a disconnect asked for is not a reconnect' );

    # A client let go while connected.
    my $other = client( $srv, otel_meter => $meter );
    run( $other->ping );
    is( $meter->instrument('redis.connections.active')->sum, 1 );
    undef $other;
    is( $meter->instrument('redis.connections.active')->sum, 0, 'a connected client let go: down' );
};

subtest 'timeouts and lost connections are errors by type' => sub {
    my $meter = Test::FIORedis::Recorder::Meter->new;
    my $redis = client( $srv, otel_meter => $meter, request_timeout => 0.2, reconnect_delay => 0.05 );
    isa_ok( error_of( $redis->command( 'DEBUG', 'SLEEP', 0.5 ) ), ['Future::IO::Redis::Error::Timeout'] );
    is( $meter->instrument('redis.errors.total')->sum( { 'error.type' => 'Timeout' } ), 1, 'Timeout' );
    run( Future::IO->sleep(0.4) );
};

subtest 'Metrics::Any (Test adapter)' => sub {
    Metrics::Any::Adapter::Test->clear;
    my $redis = client( $srv, metrics => 1 );
    run( $redis->set( 'ma:1', 'a' ) );
    run( $redis->get('ma:1') ) for 1 .. 2;
    ok( error_of( $redis->incr('ma:1') ) );
    run( $redis->pipeline->ping->ping->ping->execute );
    my $m = Metrics::Any::Adapter::Test->metrics;
    like( $m, qr/^redis_commands_total command:GET = 2$/m,  'commands by name' );
    like( $m, qr/^redis_commands_total command:SET = 1$/m );
    like( $m, qr/^redis_commands_total command:PING = 3$/m, 'pipeline commands' );
    like( $m, qr/^redis_commands_duration command:GET_count = 2$/m, 'latency' );
    like( $m, qr/^redis_errors_total type:Redis = 1$/m,   'errors by type' );
    like( $m, qr/^redis_pipeline_size_count = 1$/m,        'pipeline size' );
    like( $m, qr/^redis_pipeline_size_total = 3$/m );
    like( $m, qr/^redis_connections_active = 1$/m,         'connections active' );
    like( $m, qr/^redis_connections_total = 1$/m,          'connections created' );

    my $plain = client($srv);
    is( ref $plain, 'Future::IO::Redis', 'a client without the option is a plain client' );
    run( $plain->get('ma:1') );
    like( Metrics::Any::Adapter::Test->metrics, qr/^redis_commands_total command:GET = 2$/m, 'and reports nothing' );
    run( $redis->disconnect );
    ok( wait_until( sub { Metrics::Any::Adapter::Test->metrics =~ /^redis_connections_active = 0$/m }, 5 ), 'gauge back to 0' );
};

subtest 'pool: acquire wait time' => sub {
    Metrics::Any::Adapter::Test->clear;
    my $meter = Test::FIORedis::Recorder::Meter->new;
    my $pool  = Future::IO::Redis::Pool->new( host => '127.0.0.1', port => $srv->port, min => 1, max => 1, otel_meter => $meter, metrics => 1 );
    my $first = run( $pool->acquire );
    my $second = $pool->acquire;
    run( Future::IO->sleep(0.2) );
    ok( !$second->is_ready, 'the second acquire waits (max 1)' );
    $pool->release($first);
    my $c = run($second);
    $pool->release($c);
    my $s = $pool->stats;
    is( $s->{acquires}, 2, 'two acquires served' );
    ok( $s->{acquire_wait_max} >= 0.15, "the longest waited about 0.2 s ($s->{acquire_wait_max})" );
    ok( $s->{acquire_wait_total} >= $s->{acquire_wait_max}, 'total at least the longest' );
    my @w = map { $_->[0] } $meter->instrument('redis.pool.acquire.duration')->points;
    is( scalar @w, 2, 'otel: two waits recorded' );
    ok( $w[1] >= 0.15, 'the second about 0.2 s' );
    like( Metrics::Any::Adapter::Test->metrics, qr/^redis_pool_acquire_duration_count = 2$/m, 'Metrics::Any too' );
    run( $pool->with( sub { $_[0]->ping } ) );
    is( $pool->stats->{acquires}, 3, 'an idle connection handed out at once counts (with)' );
    is( ( $meter->instrument('redis.pool.acquire.duration')->points )[-1][0], 0, 'with no wait' );
    run( $c->ping );
    is( $meter->instrument('redis.commands.total')->sum( { 'db.operation' => 'PING' } ) >= 1, 1, 'pooled connections report commands to the same meter' );
    $pool->shutdown;
};

subtest 'bad values croak' => sub {
    like( dies { Future::IO::Redis->new( otel_meter => bless {}, 'NotAMeter' ) }, qr/otel_meter must be an OpenTelemetry meter .* at \Q${\__FILE__}\E/ );
    like( dies { Future::IO::Redis->new( metrics => [] ) }, qr/metrics must be 0 or 1/ );
};

done_testing;

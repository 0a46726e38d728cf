# pipeline(max_depth => N) and the pipeline_max_depth option: queuing more than N commands croaks
# with "Pipeline depth limit (N) exceeded" (at the caller's line), what was queued stays queued
# and runs; no limit by default. pipeline_depth keeps its own meaning (commands in flight on the
# connection) and does not limit what a pipeline takes.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv = start_server();
$srv->cli('FLUSHALL');

subtest 'max_depth given to pipeline' => sub {
    my $redis = client($srv);
    my $pipe  = $redis->pipeline( max_depth => 3 );
    is( $pipe->max_depth, 3, 'max_depth' );
    $pipe->incr('dl:a')->incr('dl:a')->incr('dl:a');
    my $line = __LINE__ + 1;
    my $err  = dies { $pipe->incr('dl:a') };
    like( $err, qr/\APipeline depth limit \(3\) exceeded at \Q${\__FILE__}\E line $line\.?\n/, 'the fourth croaks, at the caller' );
    like( dies { $pipe->command( 'INCR', 'dl:a' ) }, qr/Pipeline depth limit \(3\) exceeded/, 'command() too' );
    is( $pipe->count, 3, 'the three queued stay queued' );
    is( run( $pipe->execute ), [ 1, 2, 3 ], 'and run' );
    is( $srv->cli( 'GET', 'dl:a' ), '3', 'exactly three INCRs reached the server' );
};

subtest 'default from the pipeline_max_depth option; max_depth overrides it' => sub {
    my $redis = client( $srv, pipeline_max_depth => 2 );
    my $pipe  = $redis->pipeline;
    is( $pipe->max_depth, 2, 'the option is the default' );
    $pipe->set( 'dl:x', 1 )->set( 'dl:y', 2 );
    like( dies { $pipe->set( 'dl:z', 3 ) }, qr/\APipeline depth limit \(2\) exceeded at /, 'a third croaks' );
    is( run( $pipe->execute ), [ 'OK', 'OK' ], 'the two run' );
    my $big = $redis->pipeline( max_depth => 5 );
    $big->ping for 1 .. 5;
    is( run( $big->execute ), [ ('PONG') x 5 ], 'max_depth 5 overrides the option' );
    my $open = $redis->pipeline( max_depth => 0 );
    $open->ping for 1 .. 50;
    is( scalar @{ run( $open->execute ) }, 50, 'max_depth 0: no limit' );
};

subtest 'no limit by default; pipeline_depth is not a limit on pipelines' => sub {
    my $redis = client( $srv, pipeline_depth => 2 );
    my $pipe  = $redis->pipeline;
    is( $pipe->max_depth, 0, 'no limit' );
    $pipe->incr('dl:n') for 1 .. 500;
    my $res = run( $pipe->execute );
    is( scalar @$res, 500, '500 commands queued and run with pipeline_depth 2 (which limits commands in flight only)' );
    is( $res->[-1], 500, 'in order' );
};

subtest 'bad values croak' => sub {
    my $redis = client($srv);
    like( dies { $redis->pipeline( max_depth => -1 ) },   qr/max_depth must be a non-negative integer/, 'negative' );
    like( dies { $redis->pipeline( max_depth => 'x' ) },  qr/max_depth must be a non-negative integer/, 'not a number' );
    like( dies { $redis->pipeline( colour => 1 ) },       qr/unknown option 'colour'/,                  'unknown option' );
    like( dies { $redis->pipeline('max_depth') },         qr/name => value/,                            'odd list' );
    like( dies { client( $srv, pipeline_max_depth => 1.5 ) }, qr/pipeline_max_depth must be a non-negative integer/, 'option' );
};

done_testing;

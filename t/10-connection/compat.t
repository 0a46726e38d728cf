# Names that code written for the earlier pure-Perl clients of this design calls, against a real
# server: pipeline add, in_pubsub, URI to_hash into new, uri => '' ignored.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::IO::Redis::URI;

my $srv = start_server();
$srv->cli('FLUSHALL');

subtest 'pipeline add' => sub {
    my $redis = client($srv);
    my $pipe  = $redis->pipeline;
    ref_is( $pipe->add( 'SET', 'cp:k', 'v' ), $pipe, 'add returns the pipeline' );
    $pipe->add( 'GET', 'cp:k' )->get('cp:k');
    is( run( $pipe->execute ), [ 'OK', 'v', 'v' ], 'add queues like command' );
};

subtest 'in_pubsub' => sub {
    my $redis = client($srv);
    run( $redis->connect );
    is( $redis->in_pubsub, 0, 'not subscribed' );
    my $sub = run( $redis->subscribe('cp:news') );
    is( $redis->in_pubsub, 1, 'subscribed' );
    run( $sub->unsubscribe );
    ok( wait_until( sub { !$redis->in_pubsub }, 5 ), 'not after unsubscribing from everything' );
    is( run( $redis->ping ), 'PONG', 'and commands work again' );
};

subtest 'URI to_hash into new; an empty uri is none' => sub {
    my $uri   = Future::IO::Redis::URI->parse( 'redis://127.0.0.1:' . $srv->port . '/3?timeout=5' );
    my $redis = Future::IO::Redis->new( $uri->to_hash );
    run( $redis->set( 'cp:db3', 1 ) );
    is( $srv->cli( '-n', 3, 'GET', 'cp:db3' ), '1', 'connected to database 3 through to_hash' );
    my $plain = Future::IO::Redis->new( uri => '', host => '127.0.0.1', port => $srv->port );
    is( run( $plain->ping ), 'PONG', "uri => '' is ignored" );
};

subtest 'Subscription: next_message, channel_count, sharded_channels, punsubscribe, sunsubscribe' => sub {
    my $redis = client($srv);
    my $pub   = client($srv);
    my $sub   = run( $redis->subscribe('cp:ch') );
    run( $redis->psubscribe('cp:p:*') );
    run( $redis->ssubscribe('cp:sh') );
    is( $sub->channel_count, 3, 'channel_count: one of each family' );
    is( [ $sub->sharded_channels ], ['cp:sh'], 'sharded_channels' );
    run( $pub->publish( 'cp:ch', 'hello' ) );
    is( run( $sub->next_message ), { type => 'message', channel => 'cp:ch', pattern => undef, message => 'hello' },
        'next_message: the payload under message' );
    run( $sub->punsubscribe );
    is( [ $sub->patterns ], [], 'punsubscribe without names: every pattern' );
    is( [ $sub->channels ], ['cp:ch'], '... channels stay' );
    run( $sub->sunsubscribe('cp:sh') );
    is( [ $sub->shard_channels ], [], 'sunsubscribe cp:sh' );
    is( $sub->is_closed, 0, 'still subscribed to a channel' );
    run( $pub->publish( 'cp:ch', 'again' ) );
    is( run( $sub->next_message )->{message}, 'again', 'messages still come' );
    run( $sub->unsubscribe );
    is( [ $sub->is_closed, $sub->channel_count ], [ 1, 0 ], 'closed after the last one' );
    is( run( $sub->next_message ), undef, 'next_message: undef at the end' );
};

subtest 'Pool min and max' => sub {
    require Future::IO::Redis::Pool;
    my $pool = Future::IO::Redis::Pool->new( host => '127.0.0.1', port => $srv->port, min => 1, max => 3 );
    is( [ $pool->min, $pool->max ], [ 1, 3 ], 'min and max' );
    is( run( $pool->with( sub { $_[0]->ping } ) ), 'PONG', 'and the pool works' );
    $pool->shutdown;
};

done_testing;

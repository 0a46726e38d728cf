# Names that code written for the earlier pure-Perl clients of this design calls, against a real
# server: pipeline add, in_pubsub, URI to_hash into new, uri => '' ignored.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
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

subtest 'Pool min and max' => sub {
    require Future::IO::Redis::Pool;
    my $pool = Future::IO::Redis::Pool->new( host => '127.0.0.1', port => $srv->port, min => 1, max => 3 );
    is( [ $pool->min, $pool->max ], [ 1, 3 ], 'min and max' );
    is( run( $pool->with( sub { $_[0]->ping } ) ), 'PONG', 'and the pool works' );
    $pool->shutdown;
};

done_testing;

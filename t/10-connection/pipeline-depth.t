# pipeline_depth: at most that many commands are written and awaiting replies; later ones wait
# on the client, in order, and go out as replies come back. The server's own view of the
# connection (CLIENT LIST's qbuf: bytes received but not yet executed) shows what was written.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv = start_server();
my $obs = client($srv);
run( $obs->connect );

sub qbuf_of {
    my ($id) = @_;
    my $line = run( $obs->client_list( 'ID', $id ) );
    return $line =~ /\bqbuf=(\d+)/ ? $1 : die "no qbuf in: $line";
}

sub blocked { ( run( $obs->info('clients') )->{clients}{blocked_clients} // 0 ) }

subtest 'what waits for room is not written; it goes out when a reply makes room' => sub {
    for my $case ( [ 1, 'pipeline_depth 1' ], [ 0, 'no limit (control)' ] ) {
        my ( $depth, $name ) = @$case;
        my $c  = client( $srv, pipeline_depth => $depth );
        my $id = run( $c->client_id );
        my $list = "pd:list:$depth";
        my $pop  = $c->blpop( $list, 0 );
        my $set  = $c->set( "pd:key:$depth", 'v' );
        ok( wait_until( sub { blocked() >= 1 }, 5 ), "$name: BLPOP blocks on the server" );
        # Give a SET that was written time to arrive.
        run( Future::IO->sleep(0.2) );
        if ($depth) {
            is( qbuf_of($id), 0, "$name: the SET behind the BLPOP was not written" );
        }
        else {
            ok( qbuf_of($id) > 0, "$name: the SET behind the BLPOP sits in the server's query buffer" );
        }
        ok( !$set->is_ready, "$name: the SET waits" );
        run( $obs->rpush( $list, 'item' ) );
        is( run($pop), [ $list, 'item' ], "$name: BLPOP answered" );
        is( run($set), 'OK', "$name: then the SET" );
        is( run( $c->get("pd:key:$depth") ), 'v', "$name: and it took effect" );
    }
};

subtest 'a command waiting for room times out alone; the connection stays' => sub {
    my $disconnects = 0;
    my $c = client( $srv, pipeline_depth => 1, timeout => { GET => 0.3 }, on_disconnect => sub { $disconnects++ } );
    my $id  = run( $c->client_id );
    my $pop = $c->blpop( 'pd:slow', 0 );
    ok( wait_until( sub { blocked() >= 1 }, 5 ), 'BLPOP blocks' );
    my $err = error_of( $c->get('pd:whatever') );
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'the waiting GET timed out' );
    like( "$err", qr/waiting to be sent \(pipeline_depth\)/, 'and says it was never sent' );
    ok( !$pop->is_ready, 'the BLPOP still waits' );
    run( $obs->rpush( 'pd:slow', 'x' ) );
    is( run($pop), [ 'pd:slow', 'x' ], 'BLPOP answered on the same connection' );
    is( run( $c->client_id ), $id, 'same connection' );
    is( $disconnects, 0, 'never reset' );
};

subtest 'thousands of commands through a small window, each with its own reply' => sub {
    my $c = client( $srv, pipeline_depth => 7 );
    my @f = map { $c->echo("pd-$_") } 1 .. 3000;
    my $p = $c->pipeline;
    $p->incr('pd:n') for 1 .. 500;
    my $batch = $p->execute;
    is( [ run( Future->needs_all(@f) ) ], [ map { "pd-$_" } 1 .. 3000 ], '3,000 ECHOs, in order, each its own' );
    is( run($batch), [ 1 .. 500 ], 'a pipeline of 500 behind them' );
};

subtest 'bad values croak' => sub {
    like( dies { client( $srv, pipeline_depth => -1 ) }, qr/pipeline_depth must be a non-negative integer/, 'negative' );
    like( dies { client( $srv, pipeline_depth => 'x' ) }, qr/pipeline_depth must be a non-negative integer/, 'not a number' );
};

done_testing;

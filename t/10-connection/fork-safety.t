# A forked child that uses a client inherited from its parent gets a fresh engine and
# connection; it never reads, writes or closes the parent's connections, and never steals the
# parent's wake-ups. Prefork servers (Starman) do exactly this.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv = start_server();
my $disconnects = 0;
my $redis = client( $srv, on_disconnect => sub { $disconnects++ } );
run( $redis->connect );
run( $redis->del('fork:counter') );
my $parent_id = run( $redis->command( 'CLIENT', 'ID' ) );

subtest 'children and parent work at the same time' => sub {
    my @kids = map {
        my $n = $_;
        in_child {
            for my $i ( 1 .. 200 ) { run( $redis->incr('fork:counter') ) }
            run( $redis->set( "fork:child:$n", $$ ) );
            my $got = run( $redis->get("fork:child:$n") );
            die "child $n read $got" unless $got eq $$;
            my $id = run( $redis->command( 'CLIENT', 'ID' ) );
            die "child $n used the parent's connection" if $id == $parent_id;
        }
    } 1 .. 4;
    my @f = map { $redis->incr('fork:counter') } 1 .. 2000;
    run( Future->needs_all(@f) );
    for my $pid (@kids) {
        waitpid $pid, 0;
        is( $? >> 8, 0, "child $pid succeeded" );
    }
    is( run( $redis->get('fork:counter') ), 4 * 200 + 2000, 'every INCR of parent and children counted once' );
    is( run( $redis->command( 'CLIENT', 'ID' ) ), $parent_id, 'the parent still uses its original connection' );
    is( $disconnects, 0, 'the parent never lost its connection' );
};

subtest 'a command pending at the fork belongs to the parent' => sub {
    my $other = client($srv);
    run( $other->del('fork:queue') );
    my $pending = $redis->blpop( 'fork:queue', 5 );
    my $kid = in_child {
        # The child cannot get the parent's reply: once it uses the client, the inherited
        # Future fails with a Connection error instead of hanging.
        run( $redis->ping );
        my $err = error_of($pending);
        die "pending future did not fail in the child" unless $err && $err->isa('Future::IO::Redis::Error::Connection');
    };
    waitpid $kid, 0;
    is( $? >> 8, 0, 'in the child, the inherited pending command failed with a Connection error' );
    run( $other->rpush( 'fork:queue', 'item' ) );
    is( run($pending), [ 'fork:queue', 'item' ], 'in the parent, the same command got its reply' );
};

subtest 'a pipeline pending at the fork belongs to the parent' => sub {
    my $other = client($srv);
    run( $other->del( 'fork:queue2', 'fork:hash' ) );
    run( $other->hset( 'fork:hash', f => 'v' ) );
    # One plain pipeline, and one whose replies are transformed (HGETALL gives a hash).
    my $plain = $redis->pipeline->ping->blpop( 'fork:queue2', 5 )->execute;
    my $xform = $redis->pipeline->hgetall('fork:hash')->echo('x')->execute;
    my $kid = in_child {
        run( $redis->ping );
        for my $f ( $plain, $xform ) {
            my $err = error_of($f);
            die "pending pipeline did not fail in the child" unless $err && $err->isa('Future::IO::Redis::Error::Connection');
        }
    };
    waitpid $kid, 0;
    is( $? >> 8, 0, 'in the child, the inherited pending pipelines failed with a Connection error' );
    run( $other->rpush( 'fork:queue2', 'item' ) );
    is( run($plain), [ 'PONG', [ 'fork:queue2', 'item' ] ], 'in the parent, the same pipeline got its replies' );
    is( run($xform), [ { f => 'v' }, 'x' ], 'and the transformed one too' );
};

subtest 'a child busy with its own commands does not steal the parent\'s wake-ups' => sub {
    my $kid = in_child {
        for ( 1 .. 50 ) { run( Future->needs_all( map { $redis->ping } 1 .. 20 ) ) }
    };
    for ( 1 .. 50 ) { run( Future->needs_all( map { $redis->ping } 1 .. 20 ), 10 ) }
    waitpid $kid, 0;
    is( $? >> 8, 0, 'child finished' );
    pass('the parent received every reply while the child ran');
};

done_testing;

# Pipelines in chained style: every command method returns the pipeline itself.
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

subtest 'the design example (chained style)' => sub {
    my $results = run(
        $redis->pipeline
          ->set( 'a', 1 )
          ->set( 'b', 2 )
          ->get('a')
          ->get('b')
          ->execute
    );
    is( $results, [ 'OK', 'OK', '1', '2' ], q{['OK', 'OK', '1', '2']} );
};

subtest 'command methods and command() return the pipeline itself' => sub {
    my $pipe = $redis->pipeline;
    ref_is( $pipe->set( 'c:x', 1 ),             $pipe, 'set returns the pipeline' );
    ref_is( $pipe->incr('c:x'),                 $pipe, 'incr returns the pipeline' );
    ref_is( $pipe->hgetall('c:h'),              $pipe, 'hgetall (a transformed method) too' );
    ref_is( $pipe->command( 'GET', 'c:x' ),     $pipe, 'command() too' );
    ref_is( $pipe->client_getname,              $pipe, 'a two-word method too' );
    is( $pipe->count, 5, 'five queued' );
    is( run( $pipe->execute ), [ 'OK', 2, {}, '2', undef ], 'results in order' );
};

subtest 'an await in an async sub' => sub {
    my $got = run(
        async sub {
            my $r = await $redis->pipeline->rpush( 'c:list', qw( x y z ) )->lrange( 'c:list', 0, -1 )->llen('c:list')->execute;
            my $v = await $redis->lindex( 'c:list', 1 );
            return [ @$r, $v ];
        }
    );
    is( $got, [ 3, [qw( x y z )], 3, 'y' ], 'pipeline result then a single command' );
};

subtest 'a long chain across data types' => sub {
    my $r = run(
        $redis->pipeline
          ->del( 'c:s', 'c:z', 'c:hh' )
          ->sadd( 'c:s', qw( b a ) )
          ->zadd( 'c:z', 2, 'two', 1, 'one' )
          ->hset( 'c:hh', f1 => 'v1', f2 => 'v2' )
          ->scard('c:s')
          ->zrange( 'c:z', 0, -1, 'WITHSCORES' )
          ->hgetall('c:hh')
          ->type('c:z')
          ->exists( 'c:s', 'c:z', 'c:hh', 'c:nope' )
          ->execute
    );
    is( $r, [ 0, 2, 2, 2, 2, [qw( one 1 two 2 )], { f1 => 'v1', f2 => 'v2' }, 'zset', 3 ], 'every result' );
};

subtest 'MULTI / EXEC inside a pipeline' => sub {
    my $r = run(
        $redis->pipeline
          ->multi
          ->set( 'c:tx', 10 )
          ->incrby( 'c:tx', 5 )
          ->get('c:tx')
          ->exec
          ->execute
    );
    is( $r, [ 'OK', 'QUEUED', 'QUEUED', 'QUEUED', [ 'OK', 15, '15' ] ], 'QUEUED replies, then the EXEC array' );
};

subtest 'chains built in a loop' => sub {
    my $pipe = $redis->pipeline;
    $pipe = $pipe->rpush( 'c:loop', $_ ) for 1 .. 100;
    $pipe = $pipe->lrange( 'c:loop', 0, -1 );
    my $r = run( $pipe->execute );
    is( [ @$r[ 0 .. 99 ] ], [ 1 .. 100 ], 'RPUSH lengths 1..100 in order' );
    is( $r->[100], [ 1 .. 100 ], 'then the whole list' );
};

subtest 'one pipeline per key, built and executed in the same tick' => sub {
    my @f = map {
        my $n = $_;
        $redis->pipeline->set( "c:par:$n", $n )->incrby( "c:par:$n", $n )->get("c:par:$n")->execute
    } 1 .. 20;
    my @r = run( Future->needs_all(@f) );
    is( \@r, [ map { [ 'OK', 2 * $_, '' . 2 * $_ ] } 1 .. 20 ], 'each pipeline gets its own results' );
};

done_testing;

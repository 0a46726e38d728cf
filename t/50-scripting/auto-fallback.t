# evalsha_or_eval: EVALSHA, falling back to EVAL on NOSCRIPT (which loads the script for next
# time); in pipelines and transactions it queues EVAL; key prefixing; argument checks.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Digest::SHA qw(sha1_hex);

my $srv   = start_server();
my $redis = client($srv);
run( $redis->command('FLUSHALL') );
run( $redis->script_flush );

my $lua = q{return {KEYS[1], ARGV[1], redis.call('INCRBY', KEYS[1], ARGV[1])}};
my $sha = sha1_hex($lua);

sub evalsha_calls {
    my $stats = run( $redis->info('commandstats') )->{commandstats};
    return map { ( $stats->{"cmdstat_$_"} // '' ) =~ /calls=(\d+)/ ? $1 : 0 } qw( evalsha eval );
}

subtest 'the design example: NOSCRIPT, then EVAL, then EVALSHA finds it' => sub {
    is( run( $redis->script_exists($sha) ), [0], 'not loaded' );
    is( run( $redis->evalsha_or_eval( $sha, $lua, 1, 'fb:n', 5 ) ), [ 'fb:n', 5, 5 ], 'first call' );
    is( run( $redis->script_exists($sha) ), [1], 'EVAL loaded it' );
    my ( $sha_before, $eval_before ) = evalsha_calls();
    is( run( $redis->evalsha_or_eval( $sha, $lua, 1, 'fb:n', 2 ) ), [ 'fb:n', 2, 7 ], 'second call' );
    my ( $sha_after, $eval_after ) = evalsha_calls();
    is( [ $sha_after - $sha_before, $eval_after - $eval_before ], [ 1, 0 ], 'the second call was one EVALSHA, no EVAL' );
};

subtest 'the SHA may be omitted' => sub {
    is( run( $redis->evalsha_or_eval( undef, 'return ARGV[1]', 0, 'x' ) ), 'x', 'computed from the script' );
    is( run( $redis->script_exists( sha1_hex('return ARGV[1]') ) ), [1], 'and loaded under it' );
};

subtest 'a script error is an Error::Redis, not a fallback' => sub {
    my $err = error_of( $redis->evalsha_or_eval( undef, 'return redis.call("NOSUCH")', 0 ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'the Lua error' );
    like( $err->message, qr/Unknown Redis command/i, 'its message' );
};

subtest 'after SCRIPT FLUSH' => sub {
    run( $redis->script_flush );
    is( run( $redis->evalsha_or_eval( $sha, $lua, 1, 'fb:n', 1 ) ), [ 'fb:n', 1, 8 ], 'falls back again' );
};

subtest 'key prefixing applies to the keys, not to the arguments' => sub {
    my $p = client( $srv, prefix => 'px:' );
    is( run( $p->evalsha_or_eval( $sha, $lua, 1, 'k', 3 ) ), [ 'px:k', 3, 3 ], 'KEYS[1] has the prefix, ARGV[1] not' );
    run( $redis->script_flush );
    is( run( $p->evalsha_or_eval( $sha, $lua, 1, 'k', 3 ) ), [ 'px:k', 3, 6 ], 'also through the EVAL fallback (prefixed once)' );
};

subtest 'in a pipeline: EVAL, whether or not the script is loaded' => sub {
    run( $redis->script_flush );
    my $r = run( $redis->pipeline
          ->set( 'pl:a', 1 )
          ->evalsha_or_eval( $sha, $lua, 1, 'pl:n', 4 )
          ->evalsha_or_eval( $sha, $lua, 1, 'pl:n', 4 )
          ->get('pl:n')
          ->execute );
    is( $r, [ 'OK', [ 'pl:n', 4, 4 ], [ 'pl:n', 4, 8 ], '8' ], 'results in place' );
    my $p = client( $srv, prefix => 'px:' );
    is( run( $p->pipeline->evalsha_or_eval( $sha, $lua, 1, 'pl', 1 )->execute ), [ [ 'px:pl', 1, 1 ] ], 'prefixed' );
};

subtest 'in a transaction' => sub {
    run( $redis->script_flush );
    my $r = run( $redis->multi( async sub {
        my ($tx) = @_;
        $tx->incr('tx:n');
        $tx->evalsha_or_eval( $sha, $lua, 1, 'tx:n', 10 );
    } ) );
    is( $r, [ 1, [ 'tx:n', 10, 11 ] ], 'ran inside EXEC' );
    is( run( $redis->script_exists($sha) ), [1], 'and loaded the script' );
};

subtest 'argument checks croak' => sub {
    like( dies { $redis->evalsha_or_eval( $sha, undef, 0 ) }, qr/evalsha_or_eval: the script must be a string at \Q${\ __FILE__}\E/, 'no script' );
    like( dies { $redis->evalsha_or_eval( $sha, $lua, 'one', 'k' ) }, qr/the number of keys must be a whole number \(got 'one'\)/, 'numkeys not a number' );
    like( dies { $redis->evalsha_or_eval( $sha, $lua, 2, 'k' ) }, qr/2 keys announced but only 1 keys and arguments given/, 'too few' );
    like( dies { $redis->pipeline->evalsha_or_eval( $sha, $lua, 3 ) }, qr/3 keys announced/, 'in a pipeline too' );
};

done_testing;

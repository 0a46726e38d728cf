# define_command: a named method on one client (not on others of its class), backed by a
# script; keys => N or 'dynamic'; run_script by name, on the client, pipelines and transactions;
# prefixing; argument checks.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv   = start_server();
my $redis = client($srv);
my $plain = client($srv);
run( $redis->command('FLUSHALL') );

my $capped = q{
    local v = redis.call('INCRBY', KEYS[1], ARGV[1])
    if v > tonumber(ARGV[2]) then redis.call('SET', KEYS[1], ARGV[2]) return tonumber(ARGV[2]) end
    return v
};

subtest 'a method on this client only' => sub {
    is( $redis->define_command( capped_incr => { keys => 1, lua => $capped } ), exact_ref($redis), 'returns the client' );
    ok( $redis->can('capped_incr'), 'the client has the method' );
    ok( $redis->isa('Future::IO::Redis'), 'still a Future::IO::Redis' );
    ok( !$plain->can('capped_incr'), 'another client of the class has not' );
    ok( !Future::IO::Redis->can('capped_incr'), 'nor the class' );
    is( run( $redis->capped_incr( 'hits', 5, 100 ) ), 5, 'runs' );
    is( run( $redis->capped_incr( 'hits', 500, 100 ) ), 100, 'capped' );
    is( run( $redis->run_script( capped_incr => 'hits', 1, 100 ) ), 100, 'by name' );
    is( run( $redis->get('hits') ), '100', 'KEYS[1] was hits' );
    # Ordinary methods still work on the re-blessed client.
    is( run( $redis->ping ), 'PONG', 'ping' );
    is( run( $redis->hgetall('none') ), {}, 'a generated method with a transformer' );
};

subtest "keys => 'dynamic' (the default): the key count comes first" => sub {
    $redis->define_command( count_args => { lua => 'return {#KEYS, #ARGV}' } );
    is( run( $redis->count_args( 2, 'a', 'b', 'x' ) ), [ 2, 1 ], 'two keys, one arg' );
    is( run( $redis->count_args(0) ), [ 0, 0 ], 'none' );
    like( dies { $redis->count_args( 3, 'a' ) }, qr/count_args \(keys => 'dynamic': the number of keys comes first\): 3 keys announced/, 'too few' );
    like( dies { $redis->count_args('x') }, qr/the number of keys must be a whole number \(got 'x'\)/, 'not a count' );
    ok( $redis->can('capped_incr') && $redis->can('count_args'), 'both methods now' );
};

subtest 'clients defining the same names share a class' => sub {
    my @c = map { client($srv)->define_command( capped_incr => { keys => 1, lua => $capped } ) } 1 .. 3;
    is( { map { ref($_) => 1 } @c }, { ref( $c[0] ) => 1 }, 'one class for the three' );
    isnt( ref( $c[0] ), ref($redis), 'not the class of a client with another set of names' );
    is( run( $c[1]->capped_incr( 'shared', 1, 10 ) ), 1, 'works' );
};

subtest 'redefining replaces the script' => sub {
    my $c = client($srv);
    $c->define_command( answer => { keys => 0, lua => 'return 1' } );
    is( run( $c->answer ), 1, 'first' );
    $c->define_command( answer => { keys => 0, lua => 'return 42' } );
    is( run( $c->answer ), 42, 'replaced' );
};

subtest 'survives SCRIPT FLUSH' => sub {
    run( $redis->script_flush );
    is( run( $redis->capped_incr( 'flushed', 1, 9 ) ), 1, 'loaded again' );
};

subtest 'in pipelines and transactions (run_script)' => sub {
    run( $redis->script_flush );
    my $r = run( $redis->pipeline->run_script( capped_incr => 'p:n', 3, 4 )->run_script( capped_incr => 'p:n', 3, 4 )->execute );
    is( $r, [ 3, 4 ], 'pipeline' );
    $r = run( $redis->multi( async sub {
        my ($tx) = @_;
        $tx->run_script( capped_incr => 't:n', 7, 10 );
        $tx->run_script( count_args => 1, 'k', 'a', 'b' );
    } ) );
    is( $r, [ 7, [ 1, 2 ] ], 'transaction' );
    like( dies { $redis->pipeline->run_script( 'nosuch', 1 ) }, qr/no command 'nosuch' was defined on this client/, 'unknown name' );
};

subtest 'prefixing applies to the keys' => sub {
    my $p = client( $srv, prefix => 'app:' );
    $p->define_command( keyname => { keys => 1, lua => 'redis.call("SET", KEYS[1], ARGV[1]) return KEYS[1]' } );
    is( run( $p->keyname( 'k', 'v' ) ), 'app:k', 'KEYS[1] prefixed' );
    is( run( $plain->get('app:k') ), 'v', 'written there' );
    is( run( $p->pipeline->run_script( keyname => 'k2', 'v' )->execute ), ['app:k2'], 'in a pipeline too' );
};

subtest 'registry: get_script, list_scripts, preload_scripts; a sibling starts without them' => sub {
    my $c = client($srv);
    is( [ $c->list_scripts ], [], 'none defined yet' );
    is( run( $c->preload_scripts ), 0, 'preloading nothing' );
    $c->define_command( reg_b => { keys => 1, lua => 'return redis.call("GET", KEYS[1])' } );
    $c->define_command( reg_a => { keys => 0, lua => 'return "a:" .. ARGV[1]' } );
    is( [ $c->list_scripts ], [ 'reg_a', 'reg_b' ], 'names, sorted' );
    isa_ok( $c->get_script('reg_a'), 'Future::IO::Redis::Script' );
    is( $c->get_script('nosuch'), undef, 'an unknown name: undef' );
    run( $c->script_flush );
    is( run( $c->preload_scripts ), 2, 'preload: how many' );
    is( run( $c->script_exists( map { $c->get_script($_)->sha } qw( reg_a reg_b ) ) ), [ 1, 1 ], 'both in the server\'s script cache' );
    is( run( $c->reg_a('x') ), 'a:x', 'and they run' );
    my $sib = $c->sibling;
    is( ref $sib, 'Future::IO::Redis', 'the sibling is of the plain class' );
    is( [ $sib->list_scripts ], [], 'without the defined commands' );
    ok( !$sib->can('reg_a'), 'nor their methods' );
    is( run( $sib->ping ), 'PONG', 'and works' );
};

subtest 'bad definitions croak' => sub {
    my $c = client($srv);
    like( dies { $c->define_command( get => { lua => 'return 1' } ) }, qr/get is already a method of Future::IO::Redis; choose another name/, 'an existing method' );
    like( dies { $c->define_command( 'bad name' => { lua => 'return 1' } ) }, qr/'bad name' is not a method name/, 'not a method name' );
    like( dies { $c->define_command( x => 'return 1' ) }, qr/define_command takes a name and a hash reference/, 'not a hash' );
    like( dies { $c->define_command( x => { lua => 'return 1', kes => 1 } ) }, qr/unknown options: kes/, 'unknown option' );
    like( dies { $c->define_command( x => {} ) }, qr/give either lua => \.\.\. or function => \.\.\./, 'neither lua nor function' );
    like( dies { $c->define_command( x => { lua => 'return 1', keys => -1 } ) }, qr/keys must be a whole number or 'dynamic'/, 'bad keys' );
    like( dies { $c->run_script('x') }, qr/no command 'x' was defined on this client/, 'run_script of nothing' );
    is( ref $c, 'Future::IO::Redis', 'the client was not re-blessed' );
};

done_testing;

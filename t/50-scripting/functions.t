# Redis 7 functions: function_library (FCALL / FCALL_RO, loading the library when the server does
# not know the function: first use, FUNCTION FLUSH, a restart), define_command with a function,
# key prefixing.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv   = start_server();
my $redis = client( $srv, reconnect_delay => 0.02, reconnect_delay_max => 0.2 );
my ($major) = run( $redis->info('server') )->{server}{redis_version} =~ /\A(\d+)/;
if ( $major < 7 ) {
    # FUNCTION/FCALL do not exist before Redis 7: nothing here can pass or fail.
    plan skip_all => "redis-server $major.x has no functions (Redis 7)";
}
run( $redis->command('FLUSHALL') );
run( $redis->function_flush );

my $code = <<'LUA';
#!lua name=counters
redis.register_function('bump', function(keys, args)
    return redis.call('INCRBY', keys[1], args[1])
end)
redis.register_function{
    function_name = 'peek',
    callback = function(keys, args) return {keys[1], redis.call('GET', keys[1])} end,
    flags = { 'no-writes' },
}
LUA

subtest 'a library: loaded on first use' => sub {
    my $lib = $redis->function_library($code);
    isa_ok( $lib, ['Future::IO::Redis::Library'], 'a library object' );
    is( $lib->name, 'counters', 'its name, from the shebang' );
    like( error_of( $redis->fcall( 'bump', 1, 'n', 1 ) ), qr/Function not found/, 'the server does not know it yet' );
    is( run( $lib->call( bump => 1, 'n', 5 ) ), 5, 'FCALL loads it and calls' );
    is( run( $lib->call_ro( peek => 1, 'n' ) ), [ 'n', '5' ], 'FCALL_RO' );
    is( run( $redis->fcall( 'bump', 1, 'n', 1 ) ), 6, 'loaded on the server' );
    like( error_of( $lib->call_ro( bump => 1, 'n', 1 ) ), qr/Can not execute a script with write flag using \*_ro command/,
        'FCALL_RO of a writing function: the server refuses it' );
};

subtest 'survives FUNCTION FLUSH' => sub {
    my $lib = $redis->function_library($code);
    run( $redis->function_flush );
    is( run( $redis->function_list ), [], 'nothing loaded' );
    is( run( $lib->call( bump => 1, 'f', 2 ) ), 2, 'loaded again by itself' );
    is( run( $lib->load ), 'counters', 'load (REPLACE) resolves to the name' );
};

subtest 'calls that find the function missing together share one load' => sub {
    my $lib = $redis->function_library($code);
    run( $redis->function_flush );
    run( $redis->config_resetstat );
    my @f = map { $lib->call( bump => 1, 'many', 1 ) } 1 .. 20;
    is( [ sort { $a <=> $b } map { run($_) } @f ], [ 1 .. 20 ], 'every call ran once' );
    my $stats = run( $redis->info('commandstats') )->{commandstats};
    my ($loads) = ( $stats->{'cmdstat_function|load'} // '' ) =~ /calls=(\d+)/;
    is( $loads, 1, 'one FUNCTION LOAD' );
};

subtest 'survives a server restart (kill -9, same port)' => sub {
    my $lib = $redis->function_library($code);
    run( $lib->call( bump => 1, 'r', 1 ) );
    $srv->kill9;
    $srv->restart;
    my $r = run( async sub {
        for my $try ( 1 .. 50 ) {
            my $v = eval { await $lib->call( bump => 1, 'r', 1 ) };
            return $v if defined $v;
            die $@ unless ref $@ && $@->isa('Future::IO::Redis::Error::Connection');
            await Future::IO->sleep(0.05);
        }
        die "no success after the restart\n";
    } );
    is( $r, 1, 'the function ran on the new server (its data is gone: 1 again)' );
};

subtest 'define_command with a function' => sub {
    $redis->define_command( bump => { function => 'bump', library => $code, keys => 1 } );
    $redis->define_command( peek => { function => 'peek', library => $code, keys => 1, read_only => 1 } );
    run( $redis->function_flush );
    is( run( $redis->bump( 'd', 3 ) ), 3, 'loads the library and calls' );
    is( run( $redis->peek('d') ), [ 'd', '3' ], 'FCALL_RO' );
    is( run( $redis->pipeline->run_script( bump => 'd', 1 )->run_script( peek => 'd' )->execute ), [ 4, [ 'd', '4' ] ],
        'run_script in a pipeline: FCALL, FCALL_RO' );
    is( run( $redis->multi( async sub { $_[0]->run_script( bump => 'd', 1 ) } ) ), [5], 'in a transaction' );
    my $lib_less = client($srv);
    $lib_less->define_command( bump2 => { function => 'bump', keys => 1 } );
    is( run( $lib_less->bump2( 'd', 1 ) ), 6, 'without a library: plain FCALL of a loaded function' );
    run( $redis->function_flush );
    like( error_of( $lib_less->bump2( 'd', 1 ) ), qr/Function not found/, '... which fails when it is not loaded' );
    like( dies { $redis->define_command( x => { function => 'bump', lua => 'return 1' } ) }, qr/either lua/, 'lua and function' );
    like( dies { $redis->define_command( x => { lua => 'return 1', read_only => 1 } ) }, qr/library and read_only go with function/, 'read_only with lua' );
};

subtest 'key prefixing applies to the keys' => sub {
    my $p = client( $srv, prefix => 'fp:' );
    my $lib = $p->function_library($code);
    is( run( $lib->call( bump => 1, 'k', 1 ) ), 1, 'call' );
    is( run( $lib->call_ro( peek => 1, 'k' ) ), [ 'fp:k', '1' ], 'keys[1] has the prefix' );
    is( run( $redis->get('fp:k') ), '1', 'written there' );
};

subtest 'bad libraries croak' => sub {
    like( dies { $redis->function_library('return 1') }, qr/must start with a shebang naming it/, 'no shebang' );
    like( dies { $redis->function_library(undef) }, qr/needs the library source/, 'no source' );
    my $lib = $redis->function_library($code);
    like( dies { $lib->call( bump => 2, 'k' ) }, qr/fcall bump: 2 keys announced but only 1/, 'too few arguments' );
    my $broken = $redis->function_library("#!lua name=broken\nthis is not lua");
    isa_ok( error_of( $broken->load ), ['Future::IO::Redis::Error::Redis'], 'a library the server refuses' );
};

done_testing;

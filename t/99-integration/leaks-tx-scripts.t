# No Perl value outlives a transaction or a script call (see leaks.t for the method):
# Test::LeakTrace counts SVs allocated inside each block that are still alive after it.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::LeakTrace;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->connect );
run( $redis->set( 'leak:v', 1 ) );
my $script = $redis->script(q{ return redis.call('GET', KEYS[1]) });
my $lib    = $redis->function_library("#!lua name=leak\nredis.register_function('leak', function(k) return redis.call('GET', k[1]) end)");
$redis->define_command( leak_get => { keys => 1, lua => q{ return redis.call('GET', KEYS[1]) } } );

my %cases = (
    'multi'                 => sub { run( $redis->multi( async sub { $_[0]->incr('leak:v')->get('leak:v') } ) ) },
    'multi, callback dies'  => sub { error_of( $redis->multi( async sub { $_[0]->incr('leak:v'); die "no\n" } ) ) },
    'multi, EXECABORT'      => sub { error_of( $redis->multi( async sub { $_[0]->command('NOSUCH') } ) ) },
    'watch_multi'           => sub { run( $redis->watch_multi( ['leak:v'], async sub { $_[0]->get('leak:v') } ) ) },
    'manual MULTI/EXEC'     => sub { run( $redis->multi ); run( $redis->incr('leak:v') ); run( $redis->exec ) },
    'script call'           => sub { run( $script->call('leak:v') ) },
    'script after a flush'  => sub { run( $redis->script_flush ); run( $script->call('leak:v') ) },
    'defined command'       => sub { run( $redis->leak_get('leak:v') ) },
    'function, loaded again' => sub { run( $redis->function_flush ); run( $lib->call( leak => 1, 'leak:v' ) ) },
    'evalsha_or_eval in a pipeline' => sub { run( $redis->pipeline->evalsha_or_eval( undef, 'return 1', 0 )->execute ) },
);

for my $name ( sort keys %cases ) {
    my $code = $cases{$name};
    $code->() for 1 .. 3;    # warm-up: method caches, the pump, buffers
    no_leaks_ok { $code->() for 1 .. 5 } "$name leaks no Perl values";
}

done_testing;

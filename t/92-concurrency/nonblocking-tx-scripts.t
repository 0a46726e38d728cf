# The non-blocking proof (t/00-nonblocking-proof.t) for transactions and scripts: while
# transactions (multi, watch_multi) run and scripts load and run (EVALSHA falling back to EVAL
# after SCRIPT FLUSH, a function library loaded after FUNCTION FLUSH), a 10 ms timer of the same
# event loop keeps ticking.
use v5.14;
use warnings;
use Test2::V0;
use IO::Async::Loop;
use Future::IO::Impl::IOAsync;
use Future::IO::Redis;
use Future::AsyncAwait;
use lib 't/lib';
use Test::FIORedis::Server -needs_server;
use Test::FIORedis::Ticks;

my $server = Test::FIORedis::Server->start;
my $loop   = IO::Async::Loop->new;


my %addr  = ( host => '127.0.0.1', port => $server->port );
my $redis = Future::IO::Redis->new(%addr);

subtest 'transactions' => sub {
    my $n = 0;
    ticks_while(
        $loop, 'transactions',
        async sub {
            my @f = map { $redis->multi( async sub { $_[0]->incr('nb:tx')->incr('nb:tx') } ) } 1 .. 50;
            push @f, $redis->watch_multi( ['nb:tx'], async sub { my ( $tx, $w ) = @_; $tx->set( 'nb:copy', $w->{'nb:tx'} ) } );
            my @r = await Future->needs_all(@f);
            $n += 50;
        }
    );
    is( $loop->await( $redis->get('nb:tx') )->get, 2 * $n, "every one of the $n transactions ran" );
};

subtest 'scripts and functions' => sub {
    my $script = $redis->script(q{ return redis.call('INCRBY', KEYS[1], ARGV[1]) });
    my $lib    = $redis->function_library("#!lua name=nb\nredis.register_function('nb', function(k, a) return redis.call('INCR', k[1]) end)");
    my $calls  = 0;
    ticks_while(
        $loop, 'scripts',
        async sub {
            await $redis->script_flush;
            await $redis->function_flush;
            await Future->needs_all( map { $script->call( 'nb:s', 1 ) } 1 .. 100 );
            await Future->needs_all( map { $lib->call( nb => 1, 'nb:f' ) } 1 .. 100 );
            $calls += 100;
        }
    );
    is( $loop->await( $redis->mget( 'nb:s', 'nb:f' ) )->get, [ $calls, $calls ], 'every call ran once' );
};

done_testing;

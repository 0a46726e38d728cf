# Engine v2 has no IO thread: the process keeps the one thread it started with while clients
# connect to an IP address, pipeline, time out and reconnect. A host name is resolved on a
# helper thread that exists only while the name is being resolved.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

sub threads_now {
    opendir( my $d, "/proc/self/task" ) or return;
    return scalar grep { /\A\d+\z/ } readdir $d;
}

plan skip_all => 'needs /proc/self/task (Linux)' unless defined threads_now();
is( threads_now(), 1, 'one thread before any client' );

my $srv   = start_server();
my $redis = client($srv);    # 127.0.0.1
run( $redis->connect );
run( Future->needs_all( map { $redis->set( "k$_", $_ ) } 1 .. 1000 ) );
is( run( $redis->pipeline->get('k1')->get('k1000')->execute ), [ 1, 1000 ], 'commands and a pipeline' );
my $short = client( $srv, request_timeout => 0.2 );
isa_ok( error_of( $short->command( 'DEBUG', 'SLEEP', 0.5 ) ), ['Future::IO::Redis::Error::Timeout'], 'a request timeout' );
run( Future::IO->sleep(0.6) );    # the server sleeps on
is( run( $short->ping ), 'PONG', 'and a reconnect' );
is( threads_now(), 1, 'still one thread: no IO thread' );

my $named = Future::IO::Redis->new( host => 'localhost', port => $srv->port );
is( run( $named->ping ), 'PONG', 'a client connected through a host name' );
my $deadline = time + 5;
sleep 0.05 while threads_now() > 1 && time < $deadline;
is( threads_now(), 1, 'the resolver thread is gone once the name is resolved' );

done_testing;

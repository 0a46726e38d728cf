use v5.14;
use warnings;
use Test2::V0;

my @modules = qw(
  Future::IO::Redis
  Future::IO::Redis::Commands
  Future::IO::Redis::Compat
  Future::IO::Redis::Engine
  Future::IO::Redis::Error
  Future::IO::Redis::Error::Connection
  Future::IO::Redis::Error::Disconnected
  Future::IO::Redis::Error::Protocol
  Future::IO::Redis::Error::PubSub
  Future::IO::Redis::Error::Redis
  Future::IO::Redis::Error::Timeout
  Future::IO::Redis::Iterator
  Future::IO::Redis::KeyExtractor
  Future::IO::Redis::Pipeline
  Future::IO::Redis::Subscription
  Future::IO::Redis::Telemetry
  Future::IO::Redis::Pool
  Future::IO::Redis::URI
);

for my $m (@modules) {
    ok( eval "require $m; 1", "$m loads" ) or diag $@;
}

my $engine = Future::IO::Redis::Engine->new;
isa_ok( $engine, 'Future::IO::Redis::Engine' );
ok( $engine->is_running, 'the engine starts' );
ok( $engine->fd > 2, "and has an fd for the event loop" );
is( $engine->pid, $$, 'owned by this process' );
undef $engine;
pass('and stops cleanly');

done_testing;

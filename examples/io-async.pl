#!/usr/bin/env perl
# Future::IO::Redis inside an IO::Async program: load Future::IO::Impl::IOAsync and the client's
# Futures run on the IO::Async loop, next to its timers, streams and notifiers. Here a timer
# keeps ticking while a BLPOP waits a second on the server, and while 10,000 commands are in
# flight.
#   perl examples/io-async.pl [redis://host:port]   (default: $REDIS_URL, else redis://127.0.0.1:6379)
use v5.14;
use warnings;
use IO::Async::Loop;
use IO::Async::Timer::Periodic;
use Future::IO::Impl::IOAsync;    # Future::IO on IO::Async
use Future::AsyncAwait;
use Future::IO::Redis;

my $uri  = $ARGV[0] // $ENV{REDIS_URL} // 'redis://127.0.0.1:6379';
my $loop = IO::Async::Loop->new;

my $ticks = 0;
my $timer = IO::Async::Timer::Periodic->new( interval => 0.01, on_tick => sub { $ticks++ } );
$loop->add($timer);
$timer->start;

my $redis = Future::IO::Redis->new( uri => $uri, prefix => "fior-example:io-async:$$:" );

my $main = async sub {
    await $redis->connect;
    my $before = $ticks;
    my $popped = await $redis->blpop( 'empty-list', 1 );    # the server holds it for 1 s
    say "BLPOP on an empty list: ", defined $popped ? "@$popped" : 'nothing after its 1 s timeout';
    say "the timer kept ticking meanwhile: ", ( $ticks > $before ? 'yes' : 'no' );

    my @replies = await Future->needs_all( map { $redis->incr('counter') } 1 .. 10_000 );
    say "10,000 INCRs in flight on IO::Async: last reply $replies[-1]";
    await $redis->del('counter');
    await $redis->disconnect;
};

# The loop runs until the Future is ready (await and ->get work too: Future::IO drives it).
$loop->await( $main->() )->get;
$timer->stop;
say "done";

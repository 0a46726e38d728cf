package Test::FIORedis::Ticks;

# The non-blocking proof's measure (t/00-nonblocking-proof.t), for other workloads:
#
#   use Test::FIORedis::Ticks;
#   ticks_while( $loop, 'pub/sub', async sub { ... } );   # an IO::Async loop
#
# runs the work (an async sub) over and over for 1 s under a 10 ms timer of the same loop, then
# checks the ticks: their ratio to the expected count, that they are spread over both halves of
# the run, and that the work ran more than once. A client that blocked the loop (waiting on a
# socket, or running a whole burst without returning) starves the timer or bunches its ticks (a
# blocked run measured 1 tick of 66 in its first half); the bounds leave room for a busy machine.

use strict;
use warnings;
use Exporter 'import';
use Future::AsyncAwait;
use IO::Async::Timer::Periodic;
use Test2::V0 ();
use Time::HiRes ();

our @EXPORT = qw( ticks_while );

sub ticks_while {
    my ( $loop, $what, $work ) = @_;
    my @ticks;
    my $timer = IO::Async::Timer::Periodic->new( interval => 0.01, on_tick => sub { push @ticks, Time::HiRes::time() } );
    $loop->add($timer);
    $timer->start;
    my $start  = Time::HiRes::time();
    my $rounds = 0;
    $loop->await( ( async sub {
        while ( Time::HiRes::time() - $start < 1 ) { $rounds++; await $work->() }
    } )->() );
    $timer->stop;
    $loop->remove($timer);
    my $elapsed  = Time::HiRes::time() - $start;
    my $expected = int( $elapsed / 0.01 );
    my $ratio    = @ticks / $expected;
    Test2::V0::ok( $ratio > 0.8, "$what: the loop ticked " . scalar(@ticks) . " times (expected ~$expected, ratio $ratio)" );
    my $first_half = grep { $_ < $start + $elapsed / 2 } @ticks;
    my $balance    = @ticks ? $first_half / @ticks : 0;
    Test2::V0::ok( $balance > 0.2 && $balance < 0.8, "$what: ticks spread over the run (first half $first_half of " . scalar(@ticks) . ")" );
    Test2::V0::ok( $rounds > 1, "$what: $rounds rounds of work in ${elapsed}s" );
}

1;

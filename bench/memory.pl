#!/usr/bin/env perl
# RSS of a Future::IO::Redis process over many commands (default 1,000,000), against a private
# redis-server: a leak shows as steady growth, a healthy client as a plateau after warm-up.
#   perl -Mblib bench/memory.pl [commands]
#
# Printed: RSS at start (after connecting and one SET), every 100,000 commands, and at the end;
# then the slope from the first 100,000 (the end of warm-up) to the end, in KB per 100,000
# commands, and the number of threads the process has at the end. The command counts are the
# real ones: a batch is 1,100 commands (200 x five single commands, one pipeline of 100), so a
# checkpoint falls on the first batch that reaches it.
use v5.14;
use warnings;
use lib 't/lib';
use Future::AsyncAwait;
use Future::IO::Redis;
use Test::FIORedis::Server;
use Time::HiRes qw(time);

my $total = shift // 1_000_000;
sub status_field { my ($re) = @_; open my $fh, '<', "/proc/$$/status" or return 0; while (<$fh>) { return $1 if /^$re:\s+(\d+)/ } 0 }
sub rss_kb  { status_field('VmRSS') }
sub threads { status_field('Threads') }

my $srv   = Test::FIORedis::Server->start;
my $redis = Future::IO::Redis->new( host => '127.0.0.1', port => $srv->port );
$redis->connect->get;
$redis->set( 'v', 'x' x 100 )->get;

my $done = 0;
my $t0   = time;
printf "%-8s %10s %10s %10s\n", '', 'commands', 'RSS MB', 'ops/s';
my $rss0 = rss_kb();
printf "%-8s %10d %10.1f %10s\n", 'start', 0, $rss0 / 1024, '-';
my $next = 100_000;
my ( $warm_done, $warm_rss );
while ( $done < $total ) {
    my @f;
    for my $i ( 1 .. 200 ) {
        push @f, $redis->get('v'), $redis->set( "k" . ( $i % 50 ), $i ), $redis->incr('c'), $redis->get('missing'),
          $redis->incr('v')->else( sub { Future->done('err') } );
    }
    my $p = $redis->pipeline;
    $p->get("k$_") for 1 .. 100;
    push @f, $p->execute;
    Future->needs_all(@f)->get;
    $done += 1100;
    if ( $done >= $next || $done >= $total ) {
        my $rss = rss_kb();
        ( $warm_done, $warm_rss ) = ( $done, $rss ) unless defined $warm_done;
        printf "%-8s %10d %10.1f %10.0f\n", $done >= $total ? 'end' : '', $done, $rss / 1024, $done / ( time - $t0 );
        $next += 100_000 while $next <= $done;
    }
}
my $rss_end = rss_kb();
printf "\nRSS: %.1f MB at start, %.1f MB after %d commands (warm-up), %.1f MB at the end (%d commands)\n",
  $rss0 / 1024, $warm_rss / 1024, $warm_done, $rss_end / 1024, $done;
if ( $done > $warm_done ) {
    printf "slope after warm-up: %+.1f KB per 100,000 commands (%+.1f KB over %d commands)\n",
      ( $rss_end - $warm_rss ) / ( ( $done - $warm_done ) / 100_000 ), $rss_end - $warm_rss, $done - $warm_done;
}
else {
    say "slope after warm-up: - (the run ended at the first checkpoint; give more commands)";
}
say "threads at the end: ", threads();

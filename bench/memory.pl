#!/usr/bin/env perl
# RSS of a Future::IO::Redis process over many commands (default 1,000,000), printed every
# 100,000, against a private redis-server: a leak shows as steady growth, a healthy client as a
# plateau after warm-up.
#   perl -Mblib bench/memory.pl [commands]
use v5.14;
use warnings;
use lib 't/lib';
use Future::AsyncAwait;
use Future::IO::Redis;
use Test::FIORedis::Server;
use Time::HiRes qw(time);

my $total = shift // 1_000_000;
sub rss_mb { open my $fh, '<', "/proc/$$/status" or return 0; while (<$fh>) { return $1 / 1024 if /^VmRSS:\s+(\d+)/ } 0 }

my $srv   = Test::FIORedis::Server->start;
my $redis = Future::IO::Redis->new( host => '127.0.0.1', port => $srv->port );
$redis->connect->get;
$redis->set( 'v', 'x' x 100 )->get;

my $done = 0;
my $t0   = time;
printf "%10s %10s %10s\n", 'commands', 'RSS MB', 'ops/s';
printf "%10d %10.1f %10s\n", 0, rss_mb(), '-';
my $next = 100_000;
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
    if ( $done >= $next ) {
        printf "%10d %10.1f %10.0f\n", $done, rss_mb(), $done / ( time - $t0 );
        $next += 100_000;
    }
}

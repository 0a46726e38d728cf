#!/usr/bin/env perl
# Reliability measurements, against private redis-servers:
#   - time from a server restart (kill -9, start again on the same port) to the first
#     successful command, with the default reconnect back-off;
#   - throughput over TLS as a ratio of plain TCP on the same server, in the same run.
#   perl -Mblib bench/reliability.pl [--trials 5]
use v5.14;
use warnings;
use lib 't/lib';
use Getopt::Long;
use Time::HiRes qw(time sleep);
use Future::AsyncAwait;
use Future::IO::Redis;
use Test::FIORedis::Server;

my $trials = 5;
GetOptions( 'trials=i' => \$trials ) or die "usage: $0 [--trials N]\n";

sub median { my @s = sort { $a <=> $b } @_; $s[ $#s / 2 ] }

# --- restart to first success
{
    my $srv = Test::FIORedis::Server->start;
    my $redis = Future::IO::Redis->new( host => '127.0.0.1', port => $srv->port, request_timeout => 30 );
    $redis->connect->get;
    my ( @after_ready, @outage );
    for my $t ( 1 .. $trials ) {
        $srv->kill9;
        my $killed = time;
        my $f = $redis->set( 'k', $t );    # issued during the outage: waits for the reconnect
        $srv->restart;                     # returns once the server answers PING
        my $ready = time;
        $f->get;
        my $done = time;
        push @after_ready, ( $done - $ready ) * 1000;
        push @outage,      ( $done - $killed ) * 1000;
        sleep 0.2;
    }
    printf "restart -> first successful command (default back-off, %d trials):\n", $trials;
    printf "  after the server was ready again: median %.0f ms (min %.0f, max %.0f)\n", median(@after_ready),
      ( sort { $a <=> $b } @after_ready )[0], ( sort { $b <=> $a } @after_ready )[0];
    printf "  whole outage as the client saw it (kill to success): median %.0f ms\n", median(@outage);
}

# --- TLS vs plain TCP
{
    my $srv = Test::FIORedis::Server->start( tls => 1, tcp => 1 );
    my $plain = Future::IO::Redis->new( host => '127.0.0.1', port => $srv->port );
    my $tls = Future::IO::Redis->new( host => 'localhost', port => $srv->tls_port, tls => { ca_file => $srv->certs->{ca} } );
    $_->connect->get for $plain, $tls;
    my %rate;
    my %work = (
        'sequential SET+GET' => [ 20_000, async sub { my ( $r, $n ) = @_; for my $i ( 1 .. $n / 2 ) { await $r->set( "k", $i ); await $r->get("k") } } ],
        'GET, 1,000 in flight' => [ 100_000, async sub { my ( $r, $n ) = @_; for my $i ( 1 .. $n / 1000 ) { await Future->needs_all( map { $r->get('k') } 1 .. 1000 ) } } ],
        '1 MB SET+GET' => [ 200, async sub { my ( $r, $n ) = @_; my $v = 'x' x 1_048_576; for my $i ( 1 .. $n / 2 ) { await $r->set( "big", $v ); await $r->get("big") } } ],
    );
    for my $round ( 1 .. 3 ) {
        for my $name ( sort keys %work ) {
            my ( $n, $code ) = @{ $work{$name} };
            for my $which ( [ plain => $plain ], [ tls => $tls ] ) {
                my $t = time;
                $code->( $which->[1], $n )->get;
                my $r = $n / ( time - $t );
                $rate{$name}{ $which->[0] } = $r if $r > ( $rate{$name}{ $which->[0] } // 0 );
            }
        }
    }
    print "\nTLS throughput against plain TCP (same server, same run, best of 3):\n";
    printf "  %-22s %10.0f/s plain %10.0f/s TLS   ratio %.2f\n", $_, $rate{$_}{plain}, $rate{$_}{tls}, $rate{$_}{tls} / $rate{$_}{plain}
      for sort keys %rate;
}

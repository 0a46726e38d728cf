#!/usr/bin/env perl
# What observability costs on the command path: a plain client (twice, to show the noise) against
# clients with debug (a callback that does nothing), otel_tracer (a tracer whose spans do
# nothing), otel_meter (a meter whose instruments do nothing), metrics => 1 (Metrics::Any with no
# adapter: its Null adapter) and all of them, in one run, against one private redis-server.
#
#   perl -Mblib bench/observability.pl [--rounds 5] [--quick]
#
# Workloads: "sequential" (GETs awaited one by one) and "inflight" (1,000 GETs issued together,
# then awaited, repeated). Rows are interleaved within each round; reported per row: the median
# rate over the rounds, the median client CPU per command (this process's user+sys CPU,
# CLOCK_PROCESS_CPUTIME_ID, divided by the commands), and the difference in CPU per command from
# the first plain row. The do-nothing tracer, meter and callback measure this client's own cost:
# a real exporter adds its own.
#
# Also: the cost of one Metrics::Any report with no adapter configured (why `metrics` is an
# option, not always on).
#
# The machine may be busy (other processes share its cores): read the figures as relative and
# noisy; the two plain rows show how much two identical configurations differ in one run.
use v5.14;
use warnings;
use lib 't/lib';
use Getopt::Long;
use Time::HiRes qw(time);
use Future;
use Future::IO;
use Future::IO::Redis;
use Test::FIORedis::Server;

my $rounds = 5;
my $quick  = 0;
GetOptions( 'rounds=i' => \$rounds, 'quick' => \$quick ) or die "usage: $0 [--rounds N] [--quick]\n";
die "--rounds must be at least 3\n" if $rounds < 3;

my $SEQ      = $quick ? 2_000 : 6_000;
my $INFLIGHT = 1_000;
my $BATCHES  = $quick ? 6 : 20;

my $cpu_id = Time::HiRes::CLOCK_PROCESS_CPUTIME_ID();
sub cpu { Time::HiRes::clock_gettime($cpu_id) }

package NoopSpan { sub set_attribute { $_[0] } sub set_status { $_[0] } sub record_exception { $_[0] } sub end { $_[0] } }
package NoopTracer { my $s = bless {}, 'NoopSpan'; sub new { bless {}, shift } sub create_span { $s } }
package NoopInstrument { sub add { } sub record { } }
package NoopMeter {
    my $i = bless {}, 'NoopInstrument';
    sub new { bless {}, shift }
    sub create_counter { $i } sub create_histogram { $i } sub create_up_down_counter { $i }
}
package main;

my $srv = Test::FIORedis::Server->start;
my %addr = ( host => '127.0.0.1', port => $srv->port );

my @rows = (
    [ 'plain'             => {} ],
    [ 'plain (again)'     => {} ],
    [ 'debug => sub {}'   => { debug => sub { } } ],
    [ 'otel_tracer'       => { otel_tracer => NoopTracer->new } ],
    [ 'otel_meter'        => { otel_meter => NoopMeter->new } ],
    [ 'metrics => 1'      => { metrics => 1 } ],
    [ 'all of them'       => { debug => sub { }, otel_tracer => NoopTracer->new, otel_meter => NoopMeter->new, metrics => 1 } ],
);

my %client = map { $_->[0] => Future::IO::Redis->new( %addr, %{ $_->[1] } ) } @rows;
for my $r (@rows) {
    my $c = $client{ $r->[0] };
    $c->connect->get;
    $c->set( 'bench:key', 'x' x 32 )->get;
    $c->get('bench:key')->get for 1 .. 200;    # compile the methods, warm up
}

my %res;    # workload => row => [ [ rate, cpu per op ], ... ]
for my $round ( 1 .. $rounds ) {
    for my $r (@rows) {
        my $c = $client{ $r->[0] };
        {
            my ( $t0, $c0 ) = ( time, cpu() );
            $c->get('bench:key')->get for 1 .. $SEQ;
            my ( $dt, $dc ) = ( time - $t0, cpu() - $c0 );
            push @{ $res{sequential}{ $r->[0] } }, [ $SEQ / $dt, $dc / $SEQ ];
        }
        {
            my ( $t0, $c0 ) = ( time, cpu() );
            for ( 1 .. $BATCHES ) {
                my @f = map { $c->get('bench:key') } 1 .. $INFLIGHT;
                Future->needs_all(@f)->get;
            }
            my $n = $BATCHES * $INFLIGHT;
            my ( $dt, $dc ) = ( time - $t0, cpu() - $c0 );
            push @{ $res{inflight}{ $r->[0] } }, [ $n / $dt, $dc / $n ];
        }
    }
}

sub median { my @s = sort { $a <=> $b } @_; return @s % 2 ? $s[ $#s / 2 ] : ( $s[ @s / 2 - 1 ] + $s[ @s / 2 ] ) / 2 }

printf "Future::IO::Redis observability cost: %d rounds, sequential %d GETs, inflight %d x %d GETs; medians\n\n",
  $rounds, $SEQ, $BATCHES, $INFLIGHT;
for my $w (qw( sequential inflight )) {
    printf "%-11s %-18s %12s %14s %16s\n", $w, 'client', 'GETs/s', 'CPU us/GET', 'vs plain (us)';
    my $base = median( map { $_->[1] } @{ $res{$w}{plain} } ) * 1e6;
    for my $r (@rows) {
        my $rate = median( map { $_->[0] } @{ $res{$w}{ $r->[0] } } );
        my $cpu  = median( map { $_->[1] } @{ $res{$w}{ $r->[0] } } ) * 1e6;
        printf "%-11s %-18s %12.0f %14.2f %+16.2f\n", '', $r->[0], $rate, $cpu, $cpu - $base;
    }
    print "\n";
}

# One Metrics::Any report with no adapter (the Null adapter), against an empty method call.
{
    require Metrics::Any;
    package Bench::MA { Metrics::Any->import('$M', name_prefix => ['bench'], strict => 1); $Bench::MA::M->make_counter( c => name => ['c'], labels => ['command'] ); }
    my $m = $Bench::MA::M;
    my $N = 200_000;
    my @t;
    for ( 1 .. 3 ) {
        my $c0 = cpu();
        $m->inc_counter( c => [ command => 'GET' ] ) for 1 .. $N;
        my $c1 = cpu();
        my $o = bless {}, 'NoopInstrument';
        $o->add( 1, {} ) for 1 .. $N;
        my $c2 = cpu();
        push @t, [ ( $c1 - $c0 ) / $N, ( $c2 - $c1 ) / $N ];
    }
    printf "Metrics::Any with no adapter: %.2f us per labelled inc_counter (an empty method call: %.2f us)\n",
      median( map { $_->[0] } @t ) * 1e6, median( map { $_->[1] } @t ) * 1e6;
}
print "\nThe machine may be busy: figures are relative and noisy (compare the two plain rows).\n";
$srv->stop;

#!/usr/bin/env perl
# Throughput of Future::IO::Redis against the other Perl Redis clients installed here
# (Redis::Fast, Redis, AnyEvent::Redis), in one run, against one private redis-server.
#
#   perl -Mblib bench/compare.pl [--rounds 3] [--quick] [--only sequential,inflight,...]
#
# Each workload runs for every client, interleaved, --rounds times; the best round of each
# client counts (the least disturbed by whatever else the machine was doing). Ratios are
# Future::IO::Redis against Redis::Fast, the fastest other client.
use v5.14;
use warnings;
use lib 't/lib';
use Getopt::Long;
use Time::HiRes qw(time);
use Future;
use Future::AsyncAwait;
use Future::IO::Redis;
use Test::FIORedis::Server;

my $rounds = 3;
my $quick  = 0;
my $only   = '';
my $loop   = 'default';
GetOptions( 'rounds=i' => \$rounds, 'quick' => \$quick, 'only=s' => \$only, 'loop=s' => \$loop )
  or die "usage: $0 [--rounds N] [--quick] [--only a,b] [--loop default|ioasync]\n";

my $LOOP;
if ( $loop eq 'ioasync' ) {
    require IO::Async::Loop;
    require Future::IO::Impl::IOAsync;
    $LOOP = IO::Async::Loop->new;
}
sub run_f { my ($f) = @_; return $LOOP ? $LOOP->await($f)->get : $f->get }

my %have = map { $_ => eval "require $_; 1" ? 1 : 0 } qw( Redis::Fast Redis AnyEvent::Redis );

my $srv  = Test::FIORedis::Server->start;
my $port = $srv->port;
my $S    = $quick ? 0.1 : 1;    # workload scale

my $fior = Future::IO::Redis->new( host => '127.0.0.1', port => $port, request_timeout => 60 );
run_f( $fior->connect );
my $rf = $have{'Redis::Fast'} ? Redis::Fast->new( server => "127.0.0.1:$port", reconnect => 0 ) : undef;
my $rp = $have{'Redis'}       ? Redis->new( server => "127.0.0.1:$port" )                     : undef;
my $ae = $have{'AnyEvent::Redis'} ? AnyEvent::Redis->new( host => '127.0.0.1', port => $port ) : undef;

my $big = 'x' x ( 1024 * 1024 );

# name => [ description, ops, { client => code } ]
my @workloads = (
    [
        sequential => 'SET+GET, one in flight, each awaited',
        2 * int( 20_000 * $S ),
        {
            'Future::IO::Redis' => sub {
                my $n = shift;
                run_f( ( async sub { for my $i ( 1 .. $n / 2 ) { await $fior->set( "k$i", $i ); await $fior->get("k$i") } } )->() );
            },
            'Redis::Fast' => $rf && sub { my $n = shift; for my $i ( 1 .. $n / 2 ) { $rf->set( "k$i", $i ); $rf->get("k$i") } },
            'Redis'       => $rp && sub { my $n = shift; for my $i ( 1 .. $n / 2 ) { $rp->set( "k$i", $i ); $rp->get("k$i") } },
            'AnyEvent::Redis' => $ae && sub {
                my $n = shift;
                for my $i ( 1 .. $n / 2 ) { $ae->set( "k$i", $i )->recv; $ae->get("k$i")->recv }
            },
        }
    ],
    [
        inflight => 'GET with 1,000 in flight',
        int( 100_000 * $S ),
        {
            'Future::IO::Redis' => sub {
                my $n = shift;
                run_f( ( async sub {
                    for my $r ( 1 .. $n / 1000 ) { await Future->needs_all( map { $fior->get("k$_") } 1 .. 1000 ) }
                } )->() );
            },
            'Redis::Fast' => $rf && sub {
                my $n = shift;
                for my $r ( 1 .. $n / 1000 ) { $rf->get( "k$_", sub { } ) for 1 .. 1000; $rf->wait_all_responses }
            },
            'Redis' => $rp && sub {
                my $n = shift;
                for my $r ( 1 .. $n / 1000 ) { $rp->get( "k$_", sub { } ) for 1 .. 1000; $rp->wait_all_responses }
            },
            'AnyEvent::Redis' => $ae && sub {
                my $n = shift;
                for my $r ( 1 .. $n / 1000 ) { my @cv = map { $ae->get("k$_") } 1 .. 1000; $_->recv for @cv }
            },
        }
    ],
    [
        # Not a client: what the Futures of the inflight workload cost by themselves (Future 0.49
        # is pure Perl on Debian 12; Future::XS is not packaged). The same class as the client's
        # Futures, made, combined with needs_all and resolved as there, with no I/O at all: the
        # ceiling of any client that returns one Future per command.
        floor => 'Futures alone: inflight with no I/O',
        int( 100_000 * $S ),
        {
            'Future::IO::Redis' => sub {
                my $n = shift;
                for my $r ( 1 .. $n / 1000 ) {
                    my @f = map { Future::IO::Redis::Engine::new_future() } 1 .. 1000;
                    my $all = Future->needs_all(@f);
                    $_->done("v$r") for @f;
                    $all->get;
                }
            },
        }
    ],
    [
        pipeline => 'SET via pipelines of 1,000',
        int( 100_000 * $S ),
        {
            'Future::IO::Redis' => sub {
                my $n = shift;
                run_f( ( async sub {
                    for my $r ( 1 .. $n / 1000 ) {
                        my $p = $fior->pipeline;
                        $p->set( "p$_", $_ ) for 1 .. 1000;
                        await $p->execute;
                    }
                } )->() );
            },
            'Redis::Fast' => $rf && sub {
                my $n = shift;
                for my $r ( 1 .. $n / 1000 ) { $rf->set( "p$_", $_, sub { } ) for 1 .. 1000; $rf->wait_all_responses }
            },
            'Redis' => $rp && sub {
                my $n = shift;
                for my $r ( 1 .. $n / 1000 ) { $rp->set( "p$_", $_, sub { } ) for 1 .. 1000; $rp->wait_all_responses }
            },
        }
    ],
    [
        large => '1 MB SET+GET, sequential',
        2 * int( 200 * $S ),
        {
            'Future::IO::Redis' => sub {
                my $n = shift;
                run_f( ( async sub {
                    for my $i ( 1 .. $n / 2 ) { await $fior->set( 'big', $big ); length( await $fior->get('big') ) == length $big or die }
                } )->() );
            },
            'Redis::Fast' => $rf && sub {
                my $n = shift;
                for my $i ( 1 .. $n / 2 ) { $rf->set( 'big', $big ); length( $rf->get('big') ) == length $big or die }
            },
            'Redis' => $rp && sub {
                my $n = shift;
                for my $i ( 1 .. $n / 2 ) { $rp->set( 'big', $big ); length( $rp->get('big') ) == length $big or die }
            },
            'AnyEvent::Redis' => $ae && sub {
                my $n = shift;
                for my $i ( 1 .. $n / 2 ) { $ae->set( 'big', $big )->recv; length( $ae->get('big')->recv ) == length $big or die }
            },
        }
    ],
);

my %want = map { $_ => 1 } grep { length } split /,/, $only;
my @clients = ( 'Future::IO::Redis', 'Redis::Fast', 'Redis', 'AnyEvent::Redis' );
my %best;
say "# redis-server ", ( $srv->cli('INFO', 'server') =~ /redis_version:(\S+)/ )[0], " on 127.0.0.1:$port; ",
  "loop: $loop; rounds: $rounds", $quick ? ' (quick)' : '';
say "# Future::IO::Redis $Future::IO::Redis::VERSION",
  map { $have{$_} ? ", $_ " . $_->VERSION : ", $_ missing" } qw( Redis::Fast Redis AnyEvent::Redis );

for my $w (@workloads) {
    my ( $name, $desc, $ops, $code ) = @$w;
    next if %want && !$want{$name};
    for my $round ( 1 .. $rounds ) {
        for my $c (@clients) {
            my $run = $code->{$c} or next;
            my $t = time;
            $run->($ops);
            my $rate = $ops / ( time - $t );
            $best{$name}{$c} = $rate if $rate > ( $best{$name}{$c} // 0 );
        }
    }
}

printf "\n%-11s %-38s %14s %14s %14s %16s\n", 'workload', '', @clients;
for my $w (@workloads) {
    my ( $name, $desc ) = @$w;
    next unless $best{$name};
    printf "%-11s %-38s", $name, $desc;
    printf " %14s", defined $best{$name}{$_} ? sprintf( '%.0f/s', $best{$name}{$_} ) : '-' for @clients[ 0 .. 2 ];
    printf " %16s\n", defined $best{$name}{ $clients[3] } ? sprintf( '%.0f/s', $best{$name}{ $clients[3] } ) : '-';
}

say "\nRatios (Future::IO::Redis / Redis::Fast) and the targets of issue 2:";
my $ratio = sub { my ( $w, $c ) = @_; $best{$w}{'Future::IO::Redis'} && $best{$w}{$c} ? $best{$w}{'Future::IO::Redis'} / $best{$w}{$c} : undef };
my @targets = (
    [ sequential => 'sequential / Redis::Fast sequential',                sub { $ratio->( 'sequential', 'Redis::Fast' ) }, 0.5 ],
    [ inflight   => '1,000 in flight / Redis::Fast sequential', sub {
          $best{inflight}{'Future::IO::Redis'} && $best{sequential}{'Redis::Fast'}
            ? $best{inflight}{'Future::IO::Redis'} / $best{sequential}{'Redis::Fast'} : undef }, 4 ],
    [ pipeline   => 'pipeline / Redis::Fast callback pipeline', sub { $ratio->( 'pipeline', 'Redis::Fast' ) }, 0.5 ],
    [ large      => '1 MB values / Redis::Fast',                 sub { $ratio->( 'large', 'Redis::Fast' ) }, 0.8 ],
);
for my $t (@targets) {
    my ( $name, $label, $f, $target ) = @$t;
    my $r = $f->();
    next unless defined $r;
    printf "  %-45s %6.2f  (target >= %s) %s\n", $label, $r, $target, $r >= $target ? 'met' : 'NOT MET';
}

if ( $best{floor}{'Future::IO::Redis'} && $best{sequential}{'Redis::Fast'} ) {
    my $floor = $best{floor}{'Future::IO::Redis'};
    say "\nThe Futures' own cost (the floor workload) caps the inflight ratio:";
    printf "  %-45s %6.2f\n", 'Futures alone / Redis::Fast sequential', $floor / $best{sequential}{'Redis::Fast'};
    printf "  %-45s %6.2f\n", '1,000 in flight / Futures alone', $best{inflight}{'Future::IO::Redis'} / $floor
      if $best{inflight}{'Future::IO::Redis'};
}

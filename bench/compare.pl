#!/usr/bin/env perl
# Throughput and client CPU of Future::IO::Redis against the other Perl Redis clients installed
# here (Redis::Fast, Redis, AnyEvent::Redis), in one run, against one private redis-server on a
# loopback port, with the ratios the performance targets are stated in.
#
#   perl -Mblib bench/compare.pl [--rounds 3] [--quick] [--only sequential,inflight,...]
#                                [--loop default|ioasync | --both-loops]
#
# Each workload runs for every client, interleaved, --rounds times (at least 3). Reported per
# client: the median rate over the rounds (what the targets are judged on), the best round
# (labelled as such), and the client CPU per operation: the user+sys CPU time of this whole
# process (every thread; not redis-server's) during the workload, divided by its operations,
# median over the rounds.
#
# Reference rows (not clients): "pure-Perl floor" (bench/lib/PurePerlFloor.pm, the sequential
# workload done by a few lines of socket + Future::IO), "Future stack alone" (the sequential
# workload's Futures, awaits and event-loop wake-ups with no I/O at all: what any client that
# returns a Future per command pays under Future, Future::AsyncAwait and Future::IO's default
# implementation, before a byte is written; default loop only: under IO::Async a wait per call
# costs a watch and an unwatch, which the engine avoids by keeping its watch) and "Futures
# alone" (the floor workload: the Futures of the inflight workload with no I/O).
#
# --loop (default: $FIOR_LOOP, else "default") picks the Future::IO implementation the
# Future::IO::Redis and reference rows run under; --both-loops runs them under both in the same
# rounds and compares each workload's ratio under IO::Async with the default loop's.
#
# Run time on 2 cores: about 1.5 min (--both-loops: 2 min); --quick, a third of the operations:
# about 25 s (40 s). BENCH_TRACE=1 names each row on STDERR as it starts.
use v5.14;
use warnings;
use lib 't/lib', 'bench/lib';
use Getopt::Long;
use Time::HiRes qw(time);
use Future;
use Future::AsyncAwait;
use Future::IO;
use Future::IO::Redis;
use PurePerlFloor;
use Test::FIORedis::Server;

my $rounds = 3;
my $quick  = 0;
my $only   = '';
my $loop   = $ENV{FIOR_LOOP} // 'default';
my $both   = 0;
GetOptions( 'rounds=i' => \$rounds, 'quick' => \$quick, 'only=s' => \$only, 'loop=s' => \$loop, 'both-loops' => \$both )
  or die "usage: $0 [--rounds N] [--quick] [--only a,b] [--loop default|ioasync] [--both-loops]\n";
die "--rounds must be at least 3 (the median of fewer says little)\n" if $rounds < 3;
die "--loop must be default or ioasync\n" unless $loop =~ /\A(?:default|ioasync)\z/;
my @loops = $both ? qw(default ioasync) : ($loop);

my $t_start = time;

# --- CPU time of this process (all threads, user+sys), in seconds
my ( $cpu, $cpu_how );
if ( eval { require Time::HiRes; Time::HiRes::clock_gettime( Time::HiRes::CLOCK_PROCESS_CPUTIME_ID() ); 1 } ) {
    my $id = Time::HiRes::CLOCK_PROCESS_CPUTIME_ID();
    $cpu     = sub { Time::HiRes::clock_gettime($id) };
    $cpu_how = 'clock_gettime(CLOCK_PROCESS_CPUTIME_ID)';
}
else {
    $cpu     = sub { my ( $u, $s ) = times; $u + $s };
    $cpu_how = 'times (user+sys)';
}

sub threads_now {
    if ( open my $fh, '<', '/proc/self/status' ) { while (<$fh>) { return $1 if /^Threads:\s+(\d+)/ } }
    my @t = glob '/proc/self/task/*';
    return @t ? scalar @t : '?';
}
my $threads_start = threads_now();

# --- event loops. Future::IO::Impl::IOAsync claims $Future::IO::IMPL when loaded, so it is
# loaded first and the implementation is then set explicitly before each row.
my %IMPL = ( default => 'Future::IO::_DefaultImpl' );
my $LOOP;
if ( grep { $_ eq 'ioasync' } @loops ) {
    require IO::Async::Loop;
    require Future::IO::Impl::IOAsync;
    $LOOP = IO::Async::Loop->new;    # the loop Future::IO::Impl::IOAsync uses (one per process)
    $IMPL{ioasync} = 'Future::IO::Impl::IOAsync';
}
# Before each row, while Future::IO::Redis' engine is idle (nothing outstanding, no watchers),
# its wait on the notify pipe is stopped (Future::IO::Redis::Engine::_stop_pump, internal):
#   - the engine may leave that wait pending once idle (when the last reply is delivered in the
#     same wake-up as the command before it was sent). Under Future::IO's default
#     implementation, which takes one reader at a time, it refuses the pure-Perl floor's socket;
#   - the engine remembers the Future class of the implementation it armed under ($PROTO) and
#     the wait it armed; after --both-loops switches $Future::IO::IMPL, a stale one would make
#     Futures that the other loop never resolves.
# The engine arms again, for the implementation then current, on the next command.
sub idle_engine {
    no warnings 'once';
    my $engine = $Future::IO::Redis::Engine::ENGINE or return;
    Future::IO::Redis::Engine::_stop_pump() unless $engine->busy || $Future::IO::Redis::Engine::WATCHERS;
}
my $current_loop;
sub use_loop { idle_engine(); $current_loop = shift; $Future::IO::IMPL = $IMPL{$current_loop} }
sub run_f { my ($f) = @_; return $current_loop eq 'ioasync' ? $LOOP->await($f)->get : $f->get }
# A new pending Future of the class the current loop's Future::IO makes (one whose ->get drives
# that loop), without touching Future::IO::Redis' engine.
sub loop_future { return $current_loop eq 'ioasync' ? $LOOP->new_future : Future::IO::_DefaultImpl::F->new }
use_loop( $loops[0] );

my %have = map { $_ => eval "require $_; 1" ? 1 : 0 } qw( Redis::Fast Redis AnyEvent::Redis );

my $srv  = Test::FIORedis::Server->start;
my $port = $srv->port;
my $S    = $quick ? 0.3 : 1;    # workload scale

my $fior = Future::IO::Redis->new( host => '127.0.0.1', port => $port, request_timeout => 60 );
run_f( $fior->connect );
my $ppf = PurePerlFloor->new( host => '127.0.0.1', port => $port );
my $rf  = $have{'Redis::Fast'}     ? Redis::Fast->new( server => "127.0.0.1:$port", reconnect => 0 ) : undef;
my $rp  = $have{'Redis'}           ? Redis->new( server => "127.0.0.1:$port" )                     : undef;
my $ae  = $have{'AnyEvent::Redis'} ? AnyEvent::Redis->new( host => '127.0.0.1', port => $port )    : undef;

my $big = 'x' x ( 1024 * 1024 );

# The rows of the table. A row's loop-dependent flag says it runs once per loop of @loops.
my $FIOR = 'Future::IO::Redis';
my $PPF  = 'pure-Perl floor';
my $FUT  = 'Futures alone';
my $FSA  = 'Future stack alone';
my @rows = ( [ $FIOR, 1 ], [ 'Redis::Fast', 0 ], [ 'Redis', 0 ], [ 'AnyEvent::Redis', 0 ], [ $PPF, 1 ], [ $FSA, 0 ], [ $FUT, 1 ] );
my %ref  = ( $PPF => 1, $FSA => 1, $FUT => 1 );

# For the "Future stack alone" row: a pipe that is always readable, so that each wait on it
# completes at the next wake-up of the loop without any I/O.
pipe( my $ready_r, my $ready_w ) or die "pipe: $!";
syswrite( $ready_w, 'x' ) == 1 or die "write to the pipe: $!";

# name => [ description, ops, { row => code } ]
my @workloads = (
    [
        sequential => 'SET+GET, one in flight, each awaited',
        2 * int( 20_000 * $S ),
        {
            $FIOR => sub {
                my $n = shift;
                run_f( ( async sub { for my $i ( 1 .. $n / 2 ) { await $fior->set( "k$i", $i ); await $fior->get("k$i") } } )->() );
            },
            'Redis::Fast' => $rf && sub { my $n = shift; for my $i ( 1 .. $n / 2 ) { $rf->set( "k$i", $i ); $rf->get("k$i") } },
            'Redis'       => $rp && sub { my $n = shift; for my $i ( 1 .. $n / 2 ) { $rp->set( "k$i", $i ); $rp->get("k$i") } },
            'AnyEvent::Redis' => $ae && sub {
                my $n = shift;
                for my $i ( 1 .. $n / 2 ) { $ae->set( "k$i", $i )->recv; $ae->get("k$i")->recv }
            },
            # The same workload done by a few lines of non-blocking socket + Future::IO.
            $PPF => sub {
                my $n = shift;
                run_f( ( async sub { for my $i ( 1 .. $n / 2 ) { await $ppf->set( "k$i", $i ); await $ppf->get("k$i") } } )->() );
            },
            # Per command: a Future of the loop's class, resolved when a wait on a readable
            # descriptor (the same Future::IO wait the pure-Perl floor uses) completes, awaited.
            $FSA => sub {
                my $n = shift;
                run_f( ( async sub {
                    for my $i ( 1 .. $n ) {
                        my $f = loop_future();
                        my ($wait) = PurePerlFloor::_wait($ready_r);
                        $wait->on_done( sub { $f->done($i) } );
                        await $f;
                    }
                } )->() );
            },
        }
    ],
    [
        inflight => 'GET with 1,000 in flight',
        int( 100_000 * $S ),
        {
            $FIOR => sub {
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
            $FUT => sub {
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
            $FIOR => sub {
                my $n = shift;
                run_f( ( async sub {
                    for my $r ( 1 .. $n / 1000 ) {
                        my $p = $fior->pipeline;
                        $p->set( "p$_", $_ ) for 1 .. 1000;
                        await $p->execute;
                    }
                } )->() );
            },
            # Redis::Fast's (and Redis') pipeline: commands with callbacks, then wait_all_responses.
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
            $FIOR => sub {
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
for ( keys %want ) {
    my $w = $_;
    die "--only: no workload '$w' (there are: @{[ map { $_->[0] } @workloads ]})\n" unless grep { $_->[0] eq $w } @workloads;
}

# The table's row label for a row under a loop.
sub label { my ( $row, $l ) = @_; return $both && defined $l ? "$row [$l]" : $row }

say "# redis-server ", ( $srv->cli( 'INFO', 'server' ) =~ /redis_version:(\S+)/ )[0], " on 127.0.0.1:$port; ",
  "loop: ", join( ' + ', @loops ), "; rounds: $rounds", $quick ? ' (quick)' : '';
say "# Future::IO::Redis $Future::IO::Redis::VERSION, Future $Future::VERSION, Future::IO $Future::IO::VERSION",
  map { $have{$_} ? ", $_ " . $_->VERSION : ", $_ missing" } qw( Redis::Fast Redis AnyEvent::Redis );
say "# CPU per op: this process's user+sys CPU (all threads) during the workload / ops, by $cpu_how";

# %res{workload}{label} = { rate => [per round], cpu => [us per op, per round] }
my %res;
for my $round ( 1 .. $rounds ) {
    for my $w (@workloads) {
        my ( $name, $desc, $ops, $code ) = @$w;
        next if %want && !$want{$name};
        for my $r (@rows) {
            my ( $row, $per_loop ) = @$r;
            my $run = $code->{$row} or next;
            for my $l ( $per_loop ? @loops : ( $loops[0] ) ) {
                use_loop($l);
                print STDERR "# $name $row $l\n" if $ENV{BENCH_TRACE};
                my ( $t, $c ) = ( time, $cpu->() );
                $run->($ops);
                my ( $dt, $dc ) = ( time - $t, $cpu->() - $c );
                my $slot = $res{$name}{ label( $row, $per_loop ? $l : undef ) } //= { rate => [], cpu => [] };
                push @{ $slot->{rate} }, $ops / $dt;
                push @{ $slot->{cpu} },  1e6 * $dc / $ops;
            }
        }
    }
    printf STDERR "# round %d of %d done (%.0f s)\n", $round, $rounds, time - $t_start;
}
use_loop( $loops[0] );

sub median {
    my @s = sort { $a <=> $b } @_;
    return undef unless @s;
    return @s % 2 ? $s[ $#s / 2 ] : ( $s[ @s / 2 - 1 ] + $s[ @s / 2 ] ) / 2;
}
sub best { my $m; for (@_) { $m = $_ if !defined $m || $_ > $m } $m }
sub med_rate { my ( $w, $l ) = @_; my $s = $res{$w}{$l} or return undef; median( @{ $s->{rate} } ) }
sub med_cpu  { my ( $w, $l ) = @_; my $s = $res{$w}{$l} or return undef; median( @{ $s->{cpu} } ) }

# --- the table
my %desc = map { $_->[0] => $_->[1] } @workloads;
printf "\n%-11s %-38s %14s %14s %13s\n", 'workload', 'client', 'median ops/s', 'best ops/s', 'CPU us/op';
printf "%-11s %-38s %14s %14s %13s\n",   '',         '',       "(of $rounds)", "(1 round)", '(median)';
for my $w (@workloads) {
    my $name = $w->[0];
    next unless $res{$name};
    say "$name: $desc{$name}";
    for my $r (@rows) {
        my ( $row, $per_loop ) = @$r;
        for my $l ( $per_loop ? @loops : ( $loops[0] ) ) {
            my $lab = label( $row, $per_loop ? $l : undef );
            my $s = $res{$name}{$lab} or next;
            printf "%-11s %-38s %14.0f %14.0f %13.1f\n", '', $lab . ( $ref{$row} ? ' (reference)' : '' ),
              median( @{ $s->{rate} } ), best( @{ $s->{rate} } ), median( @{ $s->{cpu} } );
        }
    }
}

# --- the performance targets, judged on the medians
# Each: [ workload, label, sub { $loop -> value }, op, target ]; op '>=' or '<=' or '>'.
my @targets = (
    [ sequential => 'sequential: FIOR / Redis::Fast', sub { ratio( 'sequential', label( $FIOR, shift ), 'sequential', 'Redis::Fast' ) }, '>=', 1.2 ],
    [ sequential => 'sequential: FIOR / pure-Perl floor', sub { my $l = shift; ratio( 'sequential', label( $FIOR, $l ), 'sequential', label( $PPF, $l ) ) }, '>', 1 ],
    [ sequential => 'sequential CPU/op: FIOR / Redis::Fast', sub {
          my $l = shift;
          my ( $a, $b ) = ( med_cpu( 'sequential', label( $FIOR, $l ) ), med_cpu( 'sequential', 'Redis::Fast' ) );
          defined $a && $b ? $a / $b : undef
      }, '<=', 1.2 ],
    [ sequential => 'sequential CPU/op: Future stack / Redis::Fast', sub {
          my $l = shift;
          return undef unless $l eq 'default';
          my ( $a, $b ) = ( med_cpu( 'sequential', $FSA ), med_cpu( 'sequential', 'Redis::Fast' ) );
          defined $a && $b ? $a / $b : undef
      }, 'info', 'the least any Future-per-command client pays, before I/O' ],
    [ inflight => '1,000 in flight: FIOR / Futures alone', sub { my $l = shift; ratio( 'inflight', label( $FIOR, $l ), 'floor', label( $FUT, $l ) ) }, '>=', 0.85 ],
    [ pipeline => 'pipeline of 1,000: FIOR / Redis::Fast callbacks', sub { ratio( 'pipeline', label( $FIOR, shift ), 'pipeline', 'Redis::Fast' ) }, '>=', 1.2 ],
    [ large => '1 MB SET+GET: FIOR / Redis::Fast', sub { ratio( 'large', label( $FIOR, shift ), 'large', 'Redis::Fast' ) }, '>=', 2 ],
);
sub ratio {
    my ( $wa, $la, $wb, $lb ) = @_;
    my ( $a, $b ) = ( med_rate( $wa, $la ), med_rate( $wb, $lb ) );
    return defined $a && $b ? $a / $b : undef;
}
sub meets { my ( $v, $op, $t ) = @_; $op eq '>=' ? $v >= $t : $op eq '>' ? $v > $t : $v <= $t }

# A target line, or an information line (op 'info': a figure that explains the targets).
sub target_line {
    my ( $lab, $v, $op, $target ) = @_;
    return sprintf "  %-48s %6.2f   (%s)\n", $lab, $v, $target if $op eq 'info';
    return sprintf "  %-48s %6.2f   target %-2s %-4s  %s\n", $lab, $v, $op, $target, meets( $v, $op, $target ) ? 'met' : 'MISSED';
}

my %value;    # {target index}{loop}
for my $l (@loops) {
    my @lines;
    for my $i ( 0 .. $#targets ) {
        my ( $w, $lab, $f, $op, $target ) = @{ $targets[$i] };
        my $v = $f->($l);
        next unless defined $v;
        $value{$i}{$l} = $v;
        push @lines, target_line( $lab, $v, $op, $target );
    }
    next unless @lines;
    print "\nTargets (medians of $rounds rounds; Future::IO::Redis and the reference rows under the $l loop):\n", @lines;
}

if ($both) {
    say "\nIO::Async against the default loop (each workload's ratio above; met when within 20 % of the default loop's):";
    for my $i ( 0 .. $#targets ) {
        my ( $d, $io ) = ( $value{$i}{default}, $value{$i}{ioasync} );
        next unless defined $d && defined $io && $d && $targets[$i][3] ne 'info';
        my $diff = $io / $d - 1;
        printf "  %-48s default %6.2f  ioasync %6.2f  %+5.0f %%  IO::Async ratio within 20 %% of the default loop's: %s\n",
          $targets[$i][1], $d, $io, 100 * $diff, abs($diff) <= 0.2 ? 'met' : 'MISSED';
    }
}

# --- threads: after the run, then after a client that connects by host name
say "\nThreads in this process: $threads_start at start, ", threads_now(), " after the run";
{
    use_loop( $loops[0] );
    my $named = Future::IO::Redis->new( host => 'localhost', port => $port, connect_timeout => 5, request_timeout => 10 );
    my $ok = eval {
        run_f( $named->connect );
        run_f( ( async sub { for my $i ( 1 .. 100 ) { await $named->set( "n$i", $i ); await $named->get("n$i") } } )->() );
        1;
    };
    printf "  after 200 commands on a client connected to host name 'localhost': %s%s\n", threads_now(),
      $ok ? '' : " (that client failed: " . ( $@ =~ s/\s+\z//r ) . ")";
}
printf "\n# total %.0f s\n", time - $t_start;

#!/usr/bin/env perl
# Pub/Sub receive rate of Future::IO::Redis ($sub->next and the on_message callback form) against
# the other Perl clients installed here that have a subscriber (Redis::Fast, Redis: subscribe with
# a callback + wait_for_messages; AnyEvent::Redis: subscribe with a callback), in one run, against
# one private redis-server on a loopback port; and the pool's with() overhead per call. Prints
# the medians and the ratios the performance targets are stated in (receive rate at least 0.5x
# Redis::Fast through next, 1x through on_message).
#
#   perl -Mblib bench/pubsub.pl [--rounds 3] [--quick] [--messages N] [--loop default|ioasync]
#
# Receive rate: a publisher process (forked at the start, before any client exists) sends N
# PUBLISHes down one socket as fast as it can (one big pipelined write of raw RESP, then reads
# the replies); the subscriber under test counts messages until N arrived. The rate is
# (N - 1) / (time of the Nth - time of the 1st), so subscribing, forking and building the
# publisher's buffer are not measured. Every client gets a fresh subscribed connection per round;
# the rows are interleaved, --rounds times (at least 3), and the median is reported with the best
# round. Future::IO::Redis subscribes with max_pending => 0 (no limit): with the default 10,000 a
# consumer slower than the publisher would lose the oldest messages, and the count would never
# reach N. The server runs with client-output-buffer-limit pubsub 0 0 0 for the same reason.
#
# Pool: N sequential `await $redis->ping` on a plain client, and N sequential
# `await $pool->with(async sub { await $_[0]->ping })` on a pool (max 1, so one connection): the
# difference per call is the pool's overhead (acquire, release, the dirty check, the extra
# Futures). Median over the rounds.
#
# Run time on 2 shared cores: about 1 min by default (100,000 messages a row), --quick about 20 s.
use v5.14;
use warnings;
use lib 't/lib';
use Getopt::Long;
use IO::Handle;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time);
use Test::FIORedis::Server;

my ( $rounds, $quick, $n_msg, $loop, $LOOP );
BEGIN {
    ( $rounds, $quick, $loop ) = ( 3, 0, $ENV{FIOR_LOOP} // 'default' );
    GetOptions( 'rounds=i' => \$rounds, 'quick' => \$quick, 'messages=i' => \$n_msg, 'loop=s' => \$loop )
      or die "usage: $0 [--rounds N] [--quick] [--messages N] [--loop default|ioasync]\n";
    die "--rounds must be at least 3 (the median of fewer says little)\n" if $rounds < 3;
    die "--loop must be default or ioasync\n" unless $loop =~ /\A(?:default|ioasync)\z/;
    if ( $loop eq 'ioasync' ) {    # before Future::IO::Redis, as t/lib/Test/FIORedis.pm does
        require IO::Async::Loop;
        require Future::IO::Impl::IOAsync;
        $LOOP = IO::Async::Loop->new;
    }
}
use Future;
use Future::AsyncAwait;
use Future::IO;
use Future::IO::Redis;
use Future::IO::Redis::Pool;
$n_msg //= $quick ? 30_000 : 100_000;
my $n_pool = $quick ? 5_000 : 20_000;
my $t_start = time;

my $srv  = Test::FIORedis::Server->start;
my $port = $srv->port;
$srv->cli( 'CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 0 0 0' );

# --- the publisher process (forked before any client exists; it uses plain sockets only):
# reads "channel count\n", publishes, answers "ok\n".
my $payload = 'x' x 32;
pipe( my $req_r, my $req_w ) or die "pipe: $!";
pipe( my $ans_r, my $ans_w ) or die "pipe: $!";
my $pub_pid = fork // die "fork: $!";
if ( !$pub_pid ) {
    close $req_w;
    close $ans_r;
    $ans_w->autoflush(1);
    my $s = IO::Socket::INET->new( PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp' ) or die "publisher: connect: $!";
    $s->setsockopt( IPPROTO_TCP, TCP_NODELAY, 1 );
    while ( my $line = <$req_r> ) {
        my ( $ch, $n ) = split ' ', $line;
        my $one = sprintf "*3\r\n\$7\r\nPUBLISH\r\n\$%d\r\n%s\r\n\$%d\r\n%s\r\n", length $ch, $ch, length $payload, $payload;
        my $buf = $one x $n;
        my $off = 0;
        while ( $off < length $buf ) {
            my $w = syswrite $s, $buf, 1 << 20, $off;
            die "publisher: write: $!" unless defined $w;
            $off += $w;
        }
        my $lines = 0;
        while ( $lines < $n ) {
            my $r = sysread $s, my $in, 1 << 16;
            die "publisher: read: $!" unless $r;
            $lines += ( $in =~ tr/\n// );
        }
        print $ans_w "ok\n";
    }
    exit 0;
}
close $req_r;
close $ans_w;
$req_w->autoflush(1);
sub publish_start { my ( $ch, $n ) = @_; print $req_w "$ch $n\n" }
sub publish_wait  { my $ok = <$ans_r>; die "the publisher died\n" unless defined $ok && $ok eq "ok\n" }
END { if ($pub_pid) { close $req_w; waitpid $pub_pid, 0 } }

sub run_f { my ($f) = @_; return $LOOP ? $LOOP->await($f)->get : $f->get }

my %have = map { $_ => eval "require $_; 1" ? 1 : 0 } qw( Redis::Fast Redis AnyEvent::Redis );
require AnyEvent if $have{'AnyEvent::Redis'};

my $seq = 0;
sub channel { 'bench:ps:' . ++$seq }

# Each row: code that receives $n messages on a fresh connection and returns (t_first, t_last).
my %rows;
my $FN = 'Future::IO::Redis next';
my $FC = 'Future::IO::Redis on_message';
$rows{$FN} = sub {
    my ($n) = @_;
    my $ch = channel();
    my $r  = Future::IO::Redis->new( host => '127.0.0.1', port => $port, request_timeout => 60 );
    my ( $t0, $t1 );
    run_f( ( async sub {
        my $sub = await $r->subscribe( $ch, { max_pending => 0 } );
        publish_start( $ch, $n );
        my $m = await $sub->next;
        $t0 = time;
        for my $i ( 2 .. $n ) { $m = await $sub->next }
        $t1 = time;
        die "wrong message\n" unless $m->{data} eq $payload;
        await $sub->unsubscribe;
    } )->() );
    publish_wait();
    return ( $t0, $t1 );
};
$rows{$FC} = sub {
    my ($n) = @_;
    my $ch = channel();
    my $r  = Future::IO::Redis->new( host => '127.0.0.1', port => $port, request_timeout => 60 );
    my ( $t0, $t1, $count ) = ( 0, 0, 0 );
    my $done = Future::IO::Redis::Engine::new_future();
    my $sub  = run_f( $r->subscribe( $ch, { on_message => sub {
        $t0 = time if ++$count == 1;
        if ( $count == $n ) { $t1 = time; $done->done }
    } } ) );
    publish_start( $ch, $n );
    run_f($done);
    run_f( $sub->unsubscribe );
    publish_wait();
    return ( $t0, $t1 );
};
for my $class ( grep { $have{$_} } 'Redis::Fast', 'Redis' ) {
    $rows{$class} = sub {
        my ($n) = @_;
        my $ch = channel();
        my $r  = $class->new( server => "127.0.0.1:$port", reconnect => 0 );
        my ( $t0, $t1, $count ) = ( 0, 0, 0 );
        $r->subscribe( $ch, sub { $t0 = time if ++$count == 1; $t1 = time if $count == $n } );
        publish_start( $ch, $n );
        $r->wait_for_messages(0.1) while $count < $n;    # returns after 0.1 s without a message
        publish_wait();
        return ( $t0, $t1 );
    };
}
if ( $have{'AnyEvent::Redis'} ) {
    $rows{'AnyEvent::Redis'} = sub {
        my ($n) = @_;
        my $ch = channel();
        my $r  = AnyEvent::Redis->new( host => '127.0.0.1', port => $port );
        my ( $t0, $t1, $count ) = ( 0, 0, 0 );
        my $cv = AnyEvent->condvar;
        $r->subscribe( $ch, sub { $t0 = time if ++$count == 1; if ( $count == $n ) { $t1 = time; $cv->send } } );
        # AnyEvent::Redis says nothing when the server confirmed: give it a moment.
        my $ready = AnyEvent->condvar;
        my $w     = AnyEvent->timer( after => 0.2, cb => sub { $ready->send } );
        $ready->recv;
        publish_start( $ch, $n );
        $cv->recv;
        publish_wait();
        return ( $t0, $t1 );
    };
}
my @order = grep { $rows{$_} } ( $FN, $FC, 'Redis::Fast', 'Redis', 'AnyEvent::Redis' );

# --- pool overhead
my $plain = Future::IO::Redis->new( host => '127.0.0.1', port => $port );
my $pool  = Future::IO::Redis::Pool->new( host => '127.0.0.1', port => $port, min => 1, max => 1 );
run_f( $plain->ping );
run_f( $pool->with( async sub { await $_[0]->ping } ) );
my %pool_rows = (
    'plain client ping' => sub {
        my ($n) = @_;
        my $t = time;
        run_f( ( async sub { for my $i ( 1 .. $n ) { await $plain->ping } } )->() );
        return time - $t;
    },
    'pool with() ping' => sub {
        my ($n) = @_;
        my $t = time;
        run_f( ( async sub { for my $i ( 1 .. $n ) { await $pool->with( async sub { await $_[0]->ping } ) } } )->() );
        return time - $t;
    },
);
my @pool_order = ( 'plain client ping', 'pool with() ping' );

# --- rounds, interleaved
my ( %rate, %pool_us );
printf "redis-server %s on 127.0.0.1:%d; %d messages of %d bytes per row; %d rounds; Future::IO loop: %s\n",
  ( $srv->cli( 'INFO', 'server' ) =~ /redis_version:(\S+)/ )[0], $port, $n_msg, length $payload, $rounds, $loop;
for my $round ( 1 .. $rounds ) {
    for my $name ( $round % 2 ? @order : reverse @order ) {
        printf STDERR "%6.2fs round %d: %s\n", time - $t_start, $round, $name if $ENV{BENCH_TRACE};
        my ( $t0, $t1 ) = $rows{$name}->($n_msg);
        push @{ $rate{$name} }, ( $n_msg - 1 ) / ( $t1 - $t0 );
    }
    for my $name ( $round % 2 ? @pool_order : reverse @pool_order ) {
        push @{ $pool_us{$name} }, $pool_rows{$name}->($n_pool) / $n_pool * 1e6;
    }
}

sub median { my @s = sort { $a <=> $b } @_; return @s % 2 ? $s[ $#s / 2 ] : ( $s[ @s / 2 - 1 ] + $s[ @s / 2 ] ) / 2 }
sub max    { my $m = shift; $_ > $m and $m = $_ for @_; $m }
sub min    { my $m = shift; $_ < $m and $m = $_ for @_; $m }

say '';
say 'messages received per second (median over the rounds; best round)';
printf "  %-30s %12s %12s\n", 'subscriber', 'median', 'best';
printf "  %-30s %12.0f %12.0f\n", $_, median( @{ $rate{$_} } ), max( @{ $rate{$_} } ) for @order;
say '';
say "pool with() overhead ($n_pool sequential PINGs; median over the rounds; best round)";
printf "  %-30s %9.1f us %9.1f us\n", $_, median( @{ $pool_us{$_} } ), min( @{ $pool_us{$_} } ) for @pool_order;
printf "  %-30s %9.1f us\n", 'with() overhead per call', median( @{ $pool_us{'pool with() ping'} } ) - median( @{ $pool_us{'plain client ping'} } );
say '';
if ( $rate{'Redis::Fast'} ) {
    my $rf = median( @{ $rate{'Redis::Fast'} } );
    say 'ratios to Redis::Fast (the performance targets)';
    for ( [ $FN, 0.5 ], [ $FC, 1.0 ] ) {
        my ( $name, $want ) = @$_;
        my $r = median( @{ $rate{$name} } ) / $rf;
        printf "  %-30s %5.2f x   target >= %.1f x   %s\n", $name, $r, $want, $r >= $want ? 'met' : 'MISSED';
    }
}
else {
    say 'Redis::Fast is not installed: no ratios';
}
printf "\n%.0f s in all\n", time - $t_start;

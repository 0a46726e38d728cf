# The non-blocking proof, for the slow paths: while a connect times out, a TLS handshake hangs,
# the client backs off between reconnect attempts, the server sleeps, or a large value moves,
# an IO::Async timer keeps ticking every 10 ms (ratio as in t/00-nonblocking-proof.t).
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use IO::Async::Loop;
use IO::Async::Timer::Periodic;
use Future::IO::Impl::IOAsync;
use Future::AsyncAwait;
use Time::HiRes qw(time);
use Test::FIORedis::Server -needs_server;
use Test::FIORedis::FakeServer;
use Future::IO::Redis;

my $loop = IO::Async::Loop->new;

# Run $code (an async sub) with a 10 ms ticker; return (tick ratio, elapsed, result or error).
sub ticking {
    my ($code) = @_;
    my @ticks;
    my $timer = IO::Async::Timer::Periodic->new( interval => 0.01, on_tick => sub { push @ticks, time } );
    $loop->add($timer);
    $timer->start;
    my $start = time;
    my $f = $code->();
    $loop->await( Future->wait_any( $f, $loop->delay_future( after => 30 ) ) );
    my $elapsed = time - $start;
    $timer->stop;
    $loop->remove($timer);
    my $expected = int( $elapsed / 0.01 ) || 1;
    return ( scalar(@ticks) / $expected, $elapsed, $f );
}

sub check_ticks {
    my ( $name, $code, $expect ) = @_;
    my ( $ratio, $elapsed, $f ) = ticking($code);
    ok( $f->is_ready, "$name: finished" );
    $expect->($f) if $expect;
    cmp_ok( $ratio, '>', 0.8, sprintf "%s: the loop ticked through %.2f s (ratio %.2f)", $name, $elapsed, $ratio );
}

my $silent = Test::FIORedis::FakeServer->start( sub { my ($s) = @_; sleep 30 }, concurrent => 1 );

check_ticks(
    'connect timeout (the server accepts and never answers)',
    sub { Future::IO::Redis->new( host => '127.0.0.1', port => $silent->port, connect_timeout => 0.5 )->connect->else_done },
);

my $tls = Test::FIORedis::Server->start( tls => 1, tcp => 1 );
check_ticks(
    'TLS handshake with a plain port (silence until connect_timeout)',
    sub {
        Future::IO::Redis->new( host => 'localhost', port => $tls->port, tls => { ca_file => $tls->certs->{ca} }, connect_timeout => 0.5 )
          ->connect->else_done;
    },
);
check_ticks(
    'TLS handshake and traffic',
    sub {
        my $r = Future::IO::Redis->new( host => 'localhost', port => $tls->tls_port, tls => { ca_file => $tls->certs->{ca} } );
        ( async sub { await $r->connect; await $r->set( big => 'x' x 5_000_000 ); length await $r->get('big') } )->();
    },
    sub { is( $_[0]->get, 5_000_000, 'TLS: 5 MB round trip' ) },
);

my $srv = Test::FIORedis::Server->start;
check_ticks(
    'server-side DEBUG SLEEP 0.5',
    sub { my $r = Future::IO::Redis->new( host => '127.0.0.1', port => $srv->port ); $r->command( 'DEBUG', 'SLEEP', '0.5' ) },
    sub { is( $_[0]->get, 'OK', 'slept' ) },
);
check_ticks(
    'a 20 MB value',
    sub {
        my $r = Future::IO::Redis->new( host => '127.0.0.1', port => $srv->port, request_timeout => 30 );
        ( async sub { await $r->set( big => 'y' x 20_000_000 ); length await $r->get('big') } )->();
    },
    sub { is( $_[0]->get, 20_000_000, '20 MB round trip' ) },
);

my $redis = Future::IO::Redis->new( host => '127.0.0.1', port => $srv->port, reconnect_delay => 0.05, request_timeout => 10 );
$loop->await( $redis->connect );
check_ticks(
    'reconnect back-off while the server is down for a second',
    sub {
        $srv->kill9;
        my $pending = $redis->set( 'after', 'restart' );
        my $restart = $loop->delay_future( after => 1 )->then( sub { $srv->restart; Future->done } );
        Future->needs_all( $pending, $restart )->then( sub { $redis->get('after') } );
    },
    sub { is( $_[0]->get, 'restart', 'the command issued during the outage ran after the restart' ) },
);

done_testing;

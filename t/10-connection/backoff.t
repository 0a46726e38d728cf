# Reconnect back-off: while the server is down, attempts repeat (on_error each time) with growing
# gaps, capped by reconnect_delay_max, and the delay starts small again after a success.
# Assertions are loose on purpose: the machine may be busy.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);

sub gaps { my @t = @_; map { $t[$_] - $t[ $_ - 1 ] } 1 .. $#t }
sub fmt  { join ' ', map { sprintf '%.3f', $_ } @_ }

my $srv = start_server();
my ( @errors, @error_times, @reasons, $connects, $down_at );
my $redis = client(
    $srv,
    reconnect_delay     => 0.05,
    reconnect_delay_max => 0.8,
    reconnect_jitter    => 0,
    request_timeout     => 30,
    on_connect          => sub { $connects++ },
    on_disconnect       => sub { push @reasons, $_[1] },
    on_error            => sub { push @errors, $_[1]; push @error_times, time },
);
run( $redis->connect );
is( scalar @errors, 0, 'no error while connecting to a live server' );

subtest 'attempts repeat with growing gaps while the server is down' => sub {
    $srv->kill9;
    $down_at = time;
    ok( wait_until( sub { @error_times >= 5 }, 10 ), 'on_error fired at least five times' );
    run( Future::IO->sleep(2) );    # long enough to reach the cap
    my @gaps = gaps(@error_times);
    note 'gaps between attempts: ' . fmt(@gaps);
    ok( @error_times >= 3, scalar(@error_times) . ' attempts' );
    ok( ( !grep { !( ref $_ && $_->isa('Future::IO::Redis::Error') ) } @errors ), 'each on_error got an error object' );
    ok( ( !grep { !$_->isa('Future::IO::Redis::Error::Connection') && !$_->isa('Future::IO::Redis::Error::Timeout') } @errors ),
        'Connection (or Timeout) errors' );
    ok( $gaps[-1] > $gaps[0], sprintf( 'the latest gap (%.3f) is larger than the first (%.3f)', $gaps[-1], $gaps[0] ) );
    ok( $gaps[2] > $gaps[0], 'the third gap is larger than the first' );
    ok( ( !grep { $_ > 2.5 } @gaps ), 'no gap far above reconnect_delay_max (0.8)' );
    ok( $error_times[0] - $down_at < 2, 'the first attempt came soon after the loss' );
    is( scalar @reasons, 1, 'one on_disconnect for the whole outage' );
    is( $connects, 1, 'no on_connect while the server is down' );
};

subtest 'a command issued during the outage completes after the restart' => sub {
    my $f = $redis->echo('waited');
    $srv->restart;
    is( run( $f, 10 ), 'waited', 'the queued command ran on the new connection' );
    is( $connects, 2, 'on_connect fired again' );
};

subtest 'after a successful reconnect the delay starts small again' => sub {
    @error_times = ();
    $srv->kill9;
    my $t0 = time;
    ok( wait_until( sub { @error_times >= 2 }, 5 ), 'two attempts' );
    my $first = $error_times[0] - $t0;
    my $gap   = $error_times[1] - $error_times[0];
    ok( $gap < 0.6, sprintf( 'the first gap (%.3f) is back near reconnect_delay, not at the cap', $gap ) );
    $srv->restart;
    is( run( $redis->ping, 10 ), 'PONG', 'recovered' );
};

subtest 'reconnect_delay_max caps the delay' => sub {
    my $srv2 = start_server();
    my @t;
    my $r = client(
        $srv2,
        reconnect_delay     => 0.05,
        reconnect_delay_max => 0.1,
        reconnect_jitter    => 0,
        on_error            => sub { push @t, time },
    );
    run( $r->connect );
    $srv2->kill9;
    run( Future::IO->sleep(1.5) );
    my @gaps = gaps(@t);
    note 'gaps: ' . fmt(@gaps);
    ok( @t >= 6, scalar(@t) . ' attempts in 1.5 s with a 0.1 s cap (an uncapped doubling would give ~5)' );
    ok( ( !grep { $_ > 0.75 } @gaps ), 'no gap much above the cap' );
    run( $r->disconnect );
};

subtest 'jitter keeps delays within 1 +- reconnect_jitter (loosely)' => sub {
    my $srv3 = start_server();
    my @t;
    my $r = client(
        $srv3,
        reconnect_delay     => 0.2,
        reconnect_delay_max => 0.2,
        reconnect_jitter    => 0.5,
        on_error            => sub { push @t, time },
    );
    run( $r->connect );
    $srv3->kill9;
    ok( wait_until( sub { @t >= 5 }, 10 ), 'five attempts' );
    my @gaps = gaps(@t);
    note 'gaps: ' . fmt(@gaps);
    ok( ( !grep { $_ < 0.05 } @gaps ), 'no gap below delay * (1 - jitter), with slack' );
    ok( ( !grep { $_ > 1.5 } @gaps ),  'no gap far above delay * (1 + jitter)' );
    run( $r->disconnect );
};

subtest 'disconnect() stops the reconnect attempts' => sub {
    $srv->kill9;
    @error_times = ();
    ok( wait_until( sub { @error_times >= 1 }, 5 ), 'attempting to reconnect' );
    run( $redis->disconnect );
    my $n = @error_times;
    run( Future::IO->sleep(1) );
    is( scalar @error_times, $n, 'no further attempts after disconnect()' );
    # With reconnect on, the next command connects again, as on a new client: the server is gone,
    # so it fails.
    my $err = error_of( $redis->ping );
    ok( ref $err && ( $err->isa('Future::IO::Redis::Error::Connection') || $err->isa('Future::IO::Redis::Error::Timeout') ),
        'the next command tries to connect once and fails (the server is gone)' ) or note $err;
    run( Future::IO->sleep(1) );
    is( scalar @error_times, $n + 1, 'one attempt for that command, no reconnect loop after it' );
};

done_testing;

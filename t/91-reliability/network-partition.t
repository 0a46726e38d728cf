# A proxy cuts the connection at random while thousands of commands are in flight. Every Future
# resolves; every success carries its own reply; every failure is a typed error; a write is
# never executed twice (and never executed when it failed as "never sent").
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Test::FIORedis::Proxy;
use Future::AsyncAwait;

my $srv   = start_server();
my $proxy = Test::FIORedis::Proxy->start( to => $srv->port, cut_every => [ 0.01, 0.05 ] );
my $direct = client($srv);
run( $direct->del('part:counter') );

my $redis = Future::IO::Redis->new(
    host            => '127.0.0.1',
    port            => $proxy->port,
    reconnect_delay => 0.01,
    reconnect_delay_max => 0.1,
    request_timeout => 5,
    queue_size      => 100_000,
);
# The first connect is not retried by the client (its failure is reported), and the proxy may
# cut it: try until one connect gets through.
for my $try ( 1 .. 50 ) {
    last if eval { run( $redis->connect ); 1 };
    die "could not connect through the proxy: $@" if $try == 50;
}

my ( $ok, $wrong, %failed, %incr_failed, $incr_ok ) = ( 0, 0 );
my $typed = qr/\AFuture::IO::Redis::Error::(?:Connection|Disconnected|Timeout)\z/;
my $untyped = 0;

for my $wave ( 1 .. 60 ) {
    my @f;
    for my $i ( 1 .. 300 ) {
        my $payload = "w$wave-i$i-" . ( 'x' x ( $i % 50 ) );
        push @f, [ echo => $payload, $redis->echo($payload) ];
        push @f, [ incr => undef, $redis->incr('part:counter') ] if $i % 10 == 0;
    }
    run( Future->wait_all( map { $_->[2] } @f ), 60 );
    for my $e (@f) {
        my ( $kind, $payload, $f ) = @$e;
        if ( $f->is_done ) {
            if ( $kind eq 'echo' ) { $f->result eq $payload ? $ok++ : $wrong++ }
            else                   { $incr_ok++ }
            next;
        }
        my $err = $f->failure;
        my $class = ref $err;
        $untyped++ unless $class =~ $typed;
        $failed{$class}++;
        $incr_failed{$class}++ if $kind eq 'incr';
    }
}

my $cuts = $proxy->cuts;
$proxy->stop;
note "cuts: $cuts; echo ok: $ok; failures: " . join( ', ', map { "$_ $failed{$_}" } sort keys %failed );
cmp_ok( $cuts, ">=", 5, 'the proxy cut connections while commands were in flight' );
is( $wrong, 0, 'no reply ever went to the wrong command' );
is( $untyped, 0, 'every failure was a typed Connection, Disconnected or Timeout error' );
cmp_ok( $ok, '>', 0, 'commands succeeded between the cuts' );

# INCR is not read-only: sent at most once. The counter counts the successes, plus at most the
# ones that failed after being written (Connection) -- never those that failed unsent.
my $counter = run( $direct->get('part:counter') ) // 0;
my $written_failed = $incr_failed{'Future::IO::Redis::Error::Connection'} // 0;
cmp_ok( $counter, '>=', $incr_ok, "every successful INCR counted ($incr_ok)" );
cmp_ok( $counter, '<=', $incr_ok + $written_failed, 'no INCR counted twice, none counted that was never sent' );

is( run( $direct->ping ), 'PONG', 'the server is fine' );
done_testing;

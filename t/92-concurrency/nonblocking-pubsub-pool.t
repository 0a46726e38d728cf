# The non-blocking proof (t/00-nonblocking-proof.t) for pub/sub and the pool: while a subscriber
# drains bursts of published messages and a pool serves concurrent with() calls, a 10 ms timer of
# the same event loop keeps ticking. A client that blocked the loop (waiting on a socket, or
# draining a burst without returning) would starve the timer and fail the tick ratio.
use v5.14;
use warnings;
use Test2::V0;
use IO::Async::Loop;
use Future::IO::Impl::IOAsync;
use Future::IO::Redis;
use Future::IO::Redis::Pool;
use Future::AsyncAwait;
use lib 't/lib';
use Test::FIORedis::Server -needs_server;
use Test::FIORedis::Ticks;

my $server = Test::FIORedis::Server->start;
my $loop   = IO::Async::Loop->new;


my %addr = ( host => '127.0.0.1', port => $server->port );

subtest 'a subscriber draining bursts of messages' => sub {
    my $pub      = Future::IO::Redis->new(%addr);
    my $listener = Future::IO::Redis->new(%addr);
    my $sub      = $loop->await( $listener->subscribe('nb:ch') )->get;
    my ( $seen, $bad ) = ( 0, undef );
    ticks_while(
        $loop, 'pub/sub',
        async sub {
            my @published = map { $pub->publish( 'nb:ch', "m$_" ) } 1 .. 2000;
            for my $i ( 1 .. 2000 ) {
                my $m = await $sub->next;
                $bad //= "message $i is $m->{data}" unless $m->{data} eq "m$i";
                $seen++;
            }
            await Future->needs_all(@published);
        }
    );
    is( $bad, undef, "all $seen messages arrived in order" );
    is( $sub->dropped, 0, 'none dropped' );
};

subtest 'a pool serving 20 concurrent with() calls over max 5' => sub {
    my $pool = Future::IO::Redis::Pool->new( %addr, min => 1, max => 5 );
    my $done = 0;
    ticks_while(
        $loop, 'pool',
        async sub {
            await Future->needs_all(
                map {
                    my $i = $_;
                    $pool->with( async sub {
                        my ($r) = @_;
                        await $r->incr('nb:pool');
                        await $r->get('nb:pool');
                        $done++;
                    } )
                } 1 .. 20
            );
        }
    );
    my $check = Future::IO::Redis->new(%addr);
    is( $loop->await( $check->get('nb:pool') )->get, $done, "every one of the $done with() calls counted" );
    ok( $pool->stats->{total} <= 5, 'never more than max connections' );
};

done_testing;

# max, acquire_timeout (a typed Timeout), first come first served, a cancelled acquire gives its
# place up.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);
use Future::IO::Redis::Pool;

my $srv  = start_server();
my %addr = ( host => '127.0.0.1', port => $srv->port );

subtest 'acquire beyond max fails with a typed Timeout after acquire_timeout' => sub {
    my $pool = Future::IO::Redis::Pool->new( %addr, min => 0, max => 2, acquire_timeout => 0.3 );
    my @held = run( Future->needs_all( $pool->acquire, $pool->acquire ) );
    is( $pool->stats->{active}, 2, 'two in use' );
    my $t0  = time;
    my $err = error_of( $pool->acquire );
    my $took = time - $t0;
    isa_ok( $err, 'Future::IO::Redis::Error::Timeout' );
    is( $err->kind,    'acquire', 'kind acquire' );
    is( $err->timeout, 0.3,       'timeout 0.3' );
    ok( $took >= 0.25 && $took < 2, "after about acquire_timeout ($took s)" );
    is( $pool->stats->{waiting}, 0, 'the timed out waiter left the queue' );
    $pool->release($_) for @held;
    is( $pool->stats, hash { field active => 0; field idle => 2; field total => 2; etc }, 'both back' );
};

subtest 'waiters are served first come, first served' => sub {
    my $pool = Future::IO::Redis::Pool->new( %addr, min => 0, max => 1, acquire_timeout => 10 );
    my $held = run( $pool->acquire );
    my @order;
    my @w = map {
        my $i = $_;
        $pool->acquire->then( sub { my ($r) = @_; push @order, $i; $r->ping->then( sub { $pool->release($r); Future->done($i) } ) } )
    } 1 .. 5;
    is( $pool->stats->{waiting}, 5, 'five waiting' );
    $pool->release($held);
    run( Future->needs_all(@w) );
    is( \@order, [ 1 .. 5 ], 'served in the order they asked' );
};

subtest 'a cancelled acquire gives its place up' => sub {
    my $pool = Future::IO::Redis::Pool->new( %addr, min => 0, max => 1, acquire_timeout => 10 );
    my $held = run( $pool->acquire );
    my $id   = run( $held->command( 'CLIENT', 'ID' ) );
    my $a1   = $pool->acquire;
    my $a2   = $pool->acquire;
    is( $pool->stats->{waiting}, 2, 'two waiting' );
    $a1->cancel;
    is( $pool->stats->{waiting}, 1, 'one left after the cancel' );
    $pool->release($held);
    my $r = run($a2);
    is( run( $r->command( 'CLIENT', 'ID' ) ), $id, 'the second waiter got the connection' );
    ok( $a1->is_cancelled, 'the first stays cancelled' );
    $pool->release($r);
    is( $pool->stats, hash { field active => 0; field idle => 1; field waiting => 0; etc }, 'nothing leaked' );
    # A with() cancelled while its code runs releases (and, with a command in flight, destroys).
    my $w = $pool->with( async sub { await $_[0]->blpop( 'nothing', 0 ) } );
    run( Future::IO->sleep(0.1) );
    $w->cancel;
    is( $pool->stats->{active}, 0, 'a cancelled with() released its connection' );
    is( $pool->stats->{destroyed}, 1, 'destroyed: its BLPOP was still outstanding' );
};

subtest 'an unreachable server fails the waiter at once, with the connect error' => sub {
    my $port = Test::FIORedis::Server::free_port();
    my $pool = Future::IO::Redis::Pool->new( host => '127.0.0.1', port => $port, min => 0, max => 2, acquire_timeout => 10 );
    my $t0  = time;
    my $err = error_of( $pool->acquire );
    ok( ref $err && $err->isa('Future::IO::Redis::Error'), 'a typed error: ' . ( ref $err ) );
    ok( time - $t0 < 5, 'not at acquire_timeout' );
    is( $pool->stats->{total}, 0, 'nothing kept' );
};

done_testing;

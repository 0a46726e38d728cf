# Future::IO::Redis::Pool: acquire/release, with(), exceptions, stats, reuse (CLIENT ID), bad
# options, and a pool beside plain clients in one process.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Future::IO::Redis::Pool;

my $srv  = start_server();
my %addr = ( host => '127.0.0.1', port => $srv->port );

like( dies { Future::IO::Redis::Pool->new( %addr, port => 0 ) }, qr/port/, 'a bad connection option croaks at new, in the client\'s words' );
like( dies { Future::IO::Redis::Pool->new( %addr, port => 0 ) }, qr/at \Q$0\E line/, '... naming the caller\'s line' );
like( dies { Future::IO::Redis::Pool->new( %addr, min => 3, max => 2 ) }, qr/min/, 'min above max croaks' );
like( dies { Future::IO::Redis::Pool->new( %addr, on_dirty => 'keep' ) }, qr/on_dirty/, 'unknown on_dirty croaks' );

my $pool = Future::IO::Redis::Pool->new( %addr, min => 1, max => 3, database => 2 );
my $plain = client($srv);    # a plain client beside the pool, same loop, same engine

subtest 'acquire and release reuse one connection' => sub {
    my $id = run( async sub {
        my $r = await $pool->acquire;
        isa_ok( $r, 'Future::IO::Redis' );
        await $r->set( 'p:k', 'v' );
        my $id = await $r->command( 'CLIENT', 'ID' );
        is( $pool->stats, { active => 1, idle => 0, waiting => 0, total => 1, destroyed => 0, cleaned => 0, opening => 0, checking => 0,
                acquires => 1, acquire_wait_total => D(), acquire_wait_max => D() }, 'stats while in use' );
        $pool->release($r);
        return $id;
    } );
    is( $pool->stats->{idle}, 1, 'idle after release' );
    my $id2 = run( $pool->with( async sub { await $_[0]->command( 'CLIENT', 'ID' ) } ) );
    is( $id2, $id, 'the same server connection (CLIENT ID) served again' );
    is( run( $pool->with( async sub { await $_[0]->get('p:k') } ) ), 'v', 'connection options pass through (database 2)' );
    is( $srv->cli( '-n', 2, 'GET', 'p:k' ), 'v', 'the key is in database 2' );
    like( dies { $pool->release( client($srv) ) }, qr/not a connection this pool handed out/, 'releasing a stranger croaks' );
};

subtest 'with(): the result passes through, released on success and on exception' => sub {
    my @r = run( $pool->with( async sub { my ($r) = @_; await $r->incr('p:n'); return ( 'a', 'b' ) } ) );
    is( \@r, [ 'a', 'b' ], 'a list result passes through' );
    my $err = error_of( $pool->with( async sub { my ($r) = @_; await $r->ping; die "oops\n" } ) );
    is( $err, "oops\n", 'the exception passes on' );
    is( $pool->stats->{active}, 0, 'released after the exception' );
    is( $pool->stats->{destroyed}, 0, 'a clean connection is kept' );
    my $e2 = error_of( $pool->with( sub { die "sync\n" } ) );
    is( $e2, "sync\n", 'a code that dies before returning a Future' );
    is( $pool->stats->{active}, 0, 'released too' );
    my $rerr = error_of( $pool->with( async sub { await $_[0]->incr('p:k') } ) );
    isa_ok( $rerr, 'Future::IO::Redis::Error::Redis' );
    is( $pool->stats->{active}, 0, 'released after a Redis error' );
};

subtest 'concurrency: 100 with() calls over max => 3, plain client alongside' => sub {
    my $before = $pool->stats->{destroyed};
    my %ids;
    my @f = map {
        my $i = $_;
        $pool->with( async sub {
            my ($r) = @_;
            $ids{ await $r->command( 'CLIENT', 'ID' ) }++;
            await $r->incr('p:count');
            return $i;
        } )
    } 1 .. 100;
    my @plain = map { $plain->incr('p:plain') } 1 .. 50;
    my @got = run( Future->needs_all( @f, @plain ) );
    is( [ @got[ 0 .. 99 ] ], [ 1 .. 100 ], 'every with() gave its own result' );
    is( $srv->cli( '-n', 2, 'GET', 'p:count' ), 100, 'each ran once' );
    ok( keys(%ids) <= 3, 'never more than max connections (' . keys(%ids) . ')' );
    is( $pool->stats->{total}, scalar keys %ids, 'all of them idle in the pool now' );
    is( $pool->stats->{destroyed}, $before, 'none destroyed' );
    my @clients = grep { /db=2/ } split /\n/, $srv->cli( 'CLIENT', 'LIST' );
    is( scalar @clients, scalar keys %ids, 'the server sees exactly those connections' );
};

subtest 'shutdown' => sub {
    my $p = Future::IO::Redis::Pool->new( %addr, min => 0, max => 2 );
    run( $p->with( async sub { await $_[0]->ping } ) );
    is( $p->stats->{idle}, 1, 'one idle' );
    $p->shutdown;
    is( $p->stats->{total}, 0, 'closed' );
    my $e = error_of( $p->acquire );
    isa_ok( $e, 'Future::IO::Redis::Error::Connection' );
};

subtest 'with() in void context: the code runs and the connection comes back' => sub {
    my $p = Future::IO::Redis::Pool->new( %addr, min => 0, max => 1 );
    my @warnings;
    local $SIG{__WARN__} = sub { push @warnings, @_ };
    my $ran = 0;
    $p->with( sub { $ran++; $_[0]->incr('void:with') } ) for 1 .. 3;    # no idle connection: they wait
    ok( wait_until( sub { $ran == 3 && $p->stats->{active} == 0 } ), 'all three ran, one after another' )
      or diag join " ", %{ $p->stats };
    is( run( $plain->get('void:with') ), 3, 'their commands were sent' );
    is( $p->stats->{idle}, 1, 'the connection is idle again' );
    is( \@warnings, [], 'no warning' );
    $p->shutdown;
};

subtest 'a pool of a password-protected server: its dump never shows the password' => sub {
    require Data::Dumper;
    my $pw   = 'Pool-Secret-83k';
    my $psrv = start_server( password => $pw );
    my $port = $psrv->port;
    for my $how (
        [ 'password option' => host => '127.0.0.1', port => $port, password => $pw ],
        [ 'uri' => uri => "redis://:$pw\@127.0.0.1:$port/1" ],
        [ 'auth (Net::Async::Redis spelling)' => server => "127.0.0.1:$port", auth => $pw ],
    ) {
        my ( $name, @opts ) = @$how;
        my $p = Future::IO::Redis::Pool->new( @opts, min => 1, max => 2 );
        is( run( $p->with( sub { $_[0]->ping } ) ), 'PONG', "$name: the connections authenticate" );
        my $dump = do { local $Data::Dumper::Deparse = 0; Data::Dumper::Dumper($p) };
        unlike( $dump, qr/\Q$pw\E/, "$name: not in the pool's dump" );
        $p->shutdown;
    }
};

ok( !$INC{'IO/Async/Loop.pm'}, 'IO::Async not loaded' ) if loop_name() eq 'default';
done_testing;

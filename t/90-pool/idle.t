# idle_timeout closes idle connections above min; health check on acquire after
# health_check_idle (a connection that fails it is replaced).
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

sub server_ids {
    my %ids = map { /\bid=(\d+)/ ? ( $1 => 1 ) : () } split /\n/, $srv->cli( 'CLIENT', 'LIST' );
    return \%ids;
}

subtest 'idle_timeout shrinks to min' => sub {
    my $pool = Future::IO::Redis::Pool->new( %addr, min => 1, max => 4, idle_timeout => 0.3 );
    my @r = run( Future->needs_all( map { $pool->acquire } 1 .. 4 ) );
    my @ids = map { run( $_->command( 'CLIENT', 'ID' ) ) } @r;
    $pool->release($_) for @r;
    is( $pool->stats->{idle}, 4, 'four idle' );
    ok( wait_until( sub { $pool->stats->{idle} == 1 }, 5 ), 'down to min after idle_timeout' );
    is( $pool->stats, hash { field total => 1; field destroyed => 0; etc }, 'shrinking is not destroying' );
    ok( wait_until( sub { my $s = server_ids(); 1 == grep { $s->{$_} } @ids }, 5 ), 'the server sees one of them left' );
    my $kept = run( $pool->with( async sub { await $_[0]->command( 'CLIENT', 'ID' ) } ) );
    is( $kept, $ids[-1], 'the most recently used one was kept' );
};

subtest 'health check: an idle connection killed on the server is replaced' => sub {
    my $pool = Future::IO::Redis::Pool->new( %addr, min => 0, max => 2, health_check_idle => 0, reconnect => 0 );
    my $id   = run( $pool->with( async sub { await $_[0]->command( 'CLIENT', 'ID' ) } ) );
    $srv->cli( 'CLIENT', 'KILL', 'ID', $id );
    my $id2 = run( $pool->with( async sub { await $_[0]->command( 'CLIENT', 'ID' ) } ) );
    isnt( $id2, $id, 'a fresh connection served' );
    is( $pool->stats, hash { field destroyed => 1; field total => 1; etc }, 'the dead one destroyed' );
};

subtest 'health check: PING on acquire after health_check_idle, not before' => sub {
    my $pings = sub { ( $srv->cli( 'INFO', 'commandstats' ) =~ /cmdstat_ping:calls=(\d+)/ )[0] // 0 };
    for ( [ 0, 1, 'health_check_idle 0: every acquire of an idle connection PINGs' ],
          [ undef, 0, 'health_check_idle undef: never' ],
          [ 30, 0, 'health_check_idle 30: not after a short idle' ] ) {
        my ( $limit, $want, $name ) = @$_;
        my $pool = Future::IO::Redis::Pool->new( %addr, min => 0, max => 1, health_check_idle => $limit );
        run( $pool->with( async sub { await $_[0]->set( 'h:k', 1 ) } ) );    # opens (its handshake PINGs)
        my $before = $pings->();
        run( $pool->with( async sub { await $_[0]->get('h:k') } ) );
        is( $pings->() - $before, $want, $name );
    }
};

subtest 'min warm connections' => sub {
    my $pool = Future::IO::Redis::Pool->new( %addr, min => 3, max => 5 );
    run( $pool->with( async sub { await $_[0]->ping } ) );
    ok( wait_until( sub { $pool->stats->{idle} == 3 }, 5 ), 'the first demand warmed the pool up to min' );
};

done_testing;

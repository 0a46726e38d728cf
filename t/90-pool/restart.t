# The server is killed (kill -9) and restarted on the same port: no dead connection stays in
# the pool. Idle ones are dropped when they report the disconnect; one handed out during the
# crash is destroyed at release; what acquire gives afterwards works.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Future::IO::Redis::Pool;
use Scalar::Util ();

my $srv  = start_server();
my %addr = ( host => '127.0.0.1', port => $srv->port );
my @user_reasons;
my $pool = Future::IO::Redis::Pool->new(
    %addr,
    min                 => 2,
    max                 => 4,
    reconnect_delay     => 0.05,
    reconnect_delay_max => 0.25,
    on_disconnect       => sub { push @user_reasons, $_[1] },
);

my @r = run( Future->needs_all( map { $pool->acquire } 1 .. 3 ) );
my %old = map { run( $_->command( 'CLIENT', 'ID' ) ) => 1 } @r;
my $held = pop @r;
$pool->release($_) for @r;
is( $pool->stats, hash { field idle => 2; field active => 1; etc }, 'two idle, one held' );

$srv->kill9;
ok( wait_until( sub { $pool->stats->{idle} == 0 }, 5 ), 'the idle connections left the pool when they reported the loss' );
ok( scalar @user_reasons >= 2, 'the user\'s on_disconnect still ran (' . scalar(@user_reasons) . ')' );
$srv->restart;

$pool->release($held);
is( $pool->stats->{active}, 0, 'the held one released' );
ok( $pool->stats->{destroyed} >= 3, 'all three destroyed (' . $pool->stats->{destroyed} . ')' );

# (CLIENT IDs start again after a restart: the client objects tell old from new; the old ones
# are still referenced here, so their addresses are not reused.)
my %old_obj = map { Scalar::Util::refaddr($_) => 1 } @r, $held;
my ( @ids, @objs );
run( Future->needs_all( map {
    my $i = $_;
    $pool->with( async sub {
        my ($r) = @_;
        push @objs, Scalar::Util::refaddr($r);
        await $r->set( "rs:$i", 1 );
        push @ids, await $r->command( 'CLIENT', 'ID' );
    } )
} 1 .. 6 ) );
is( scalar( grep { $old_obj{$_} } @objs ), 0, 'only new connections serve after the restart' );
is( scalar( grep { $_ } map { $srv->cli( 'GET', "rs:$_" ) } 1 .. 6 ), 6, 'and they work' );
my %server = map { /\bid=(\d+)/ ? ( $1 => 1 ) : () } split /\n/, $srv->cli( 'CLIENT', 'LIST' );
ok( $pool->stats->{total} <= 4, 'within max' );
is( [ grep { !$server{$_} } @ids ], [], 'every connection the pool holds is live on the server' );

done_testing;

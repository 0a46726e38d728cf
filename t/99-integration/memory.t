# RSS stays flat over 1,000,000 commands: nothing the engine, the XS glue or the Perl side
# keeps per command survives the command.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

sub rss_kb {
    open my $fh, '<', "/proc/$$/status" or return undef;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)\s+kB/ }
    return undef;
}

my $srv   = start_server();
my $redis = client($srv);
run( $redis->connect );
run( $redis->set( 'mem:value', 'x' x 100 ) );

# One round: 1,000 commands in flight (GET, SET, INCR, a nil, an error reply) and a pipeline of
# 100 -- 1,100 commands.
my $round = async sub {
    my @f;
    for my $i ( 1 .. 200 ) {
        push @f, $redis->get('mem:value'), $redis->set( "mem:k" . ( $i % 50 ), $i ),
          $redis->incr('mem:counter'), $redis->get('mem:missing'),
          $redis->incr('mem:value')->else( sub { Future->done('err') } );
    }
    my $p = $redis->pipeline;
    $p->get("mem:k$_") for 1 .. 100;
    push @f, $p->execute;
    await Future->needs_all(@f);
};

my $rounds = int( 1_000_000 / 1100 ) + 1;
my ( $warm, $end );
for my $r ( 1 .. $rounds ) {
    run( $round->() );
    $warm = rss_kb() if $r == int( $rounds / 10 );    # after ~100,000 commands
}
$end = rss_kb();

ok( defined $warm && defined $end, 'RSS readable' ) or diag 'no /proc';
my $growth_mb = ( $end - $warm ) / 1024;
note sprintf "RSS after ~100k commands: %.1f MB; after %d commands: %.1f MB; growth %.2f MB",
  $warm / 1024, $rounds * 1100, $end / 1024, $growth_mb;
cmp_ok( $growth_mb, '<', 10, 'RSS grows by less than 10 MB over the remaining ~900,000 commands' );
is( run( $redis->get('mem:counter') ), $rounds * 200, 'every INCR ran exactly once' );

done_testing;

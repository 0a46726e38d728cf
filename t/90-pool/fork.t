# A pool inherited by a forked child (a prefork server built its pool before forking): the child's
# with() calls work on connections of its own, and the parent's pool keeps its connections, never
# read, written or closed by the child.
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
my $pool = Future::IO::Redis::Pool->new( %addr, min => 2, max => 4 );

# The server connection ids the parent's pool uses: 3 held at once, so 3 connections exist.
my @parent_ids = sort { $a <=> $b } @{ run( Future->needs_all(
    map { $pool->with( async sub { my ($r) = @_; await Future::IO->sleep(0.05); await $r->command( 'CLIENT', 'ID' ) } ) } 1 .. 3
) ->then( sub { Future->done( [@_] ) } ) ) };
is( scalar @parent_ids, 3, 'the parent pool holds three connections' );
run( $pool->with( async sub { await $_[0]->del('pf:counter') } ) );

my %parent = map { $_ => 1 } @parent_ids;
my @kids = map {
    in_child {
        my @ids = @{ run( Future->needs_all(
            map {
                $pool->with( async sub {
                    my ($r) = @_;
                    for my $i ( 1 .. 50 ) { await $r->incr('pf:counter') }
                    await $r->command( 'CLIENT', 'ID' );
                } )
            } 1 .. 6
        )->then( sub { Future->done( [@_] ) } ) ) };
        die "the child used a connection of its parent (@ids)" if grep { $parent{$_} } @ids;
        my $s = $pool->stats;
        die "child pool over max: $s->{total}" if $s->{total} > 4;
    }
} 1 .. 3;

# The parent goes on using its pool meanwhile.
my @f = map { $pool->with( async sub { await $_[0]->incr('pf:counter') } ) } 1 .. 100;
run( Future->needs_all(@f) );
for my $pid (@kids) {
    waitpid $pid, 0;
    is( $? >> 8, 0, "child $pid: its with() calls worked on connections of its own" );
}

is( run( $pool->with( async sub { await $_[0]->get('pf:counter') } ) ), 3 * 6 * 50 + 100, 'every INCR of parent and children counted once' );
# All four connections the pool may have now (the parent's load may have opened a fourth).
my @after = sort { $a <=> $b } @{ run( Future->needs_all(
    map { $pool->with( async sub { my ($r) = @_; await Future::IO->sleep(0.05); await $r->command( 'CLIENT', 'ID' ) } ) } 1 .. 4
)->then( sub { Future->done( [@_] ) } ) ) };
my %after = map { $_ => 1 } @after;
is( [ grep { $after{$_} } @parent_ids ], \@parent_ids, 'the parent pool still has its own three connections, untouched by the children' );
is( $pool->stats->{destroyed}, 0, 'none of them was lost or destroyed' );
my %open = map { /\bid=(\d+)/ ? ( $1 => 1 ) : () } split /\n/, $srv->cli( 'CLIENT', 'LIST' );
ok( !grep( { !$open{$_} } @parent_ids ), 'the server still has every connection of the parent' );

done_testing;

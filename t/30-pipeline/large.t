# Large pipelines: 10,000 commands answered in order, concurrent pipelines on one client and on
# two clients, and pipelines of large values.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $srv   = start_server();
my $redis = client($srv);
run( $redis->command('FLUSHALL') );

subtest '10,000 ECHOs in one pipeline, answered in order' => sub {
    my $pipe = $redis->pipeline;
    my @want = map { "payload-$_-" . ( 'x' x ( $_ % 50 ) ) } 1 .. 10_000;
    $pipe->echo($_) for @want;
    is( $pipe->count, 10_000, '10,000 queued' );
    my $t0 = time;
    my $r  = run( $pipe->execute );
    my $mm = first_mismatch( $r, \@want );
    ok( !defined $mm, 'every reply is its own payload, in order' ) or diag $mm;
    ok( time - $t0 < 30, sprintf( 'within a generous bound (%.2f s)', time - $t0 ) );
};

subtest '10,000 mixed commands in one pipeline' => sub {
    my $pipe = $redis->pipeline;
    for my $i ( 1 .. 2_500 ) {
        $pipe->set( "lg:$i", "v$i" )->get("lg:$i")->incr('lg:counter')->get("lg:missing:$i");
    }
    my $r = run( $pipe->execute );
    is( scalar @$r, 10_000, '10,000 results' );
    my $bad;
    for my $i ( 1 .. 2_500 ) {
        my ( $set, $get, $incr, $nil ) = @$r[ 4 * ( $i - 1 ) .. 4 * $i - 1 ];
        next if $set eq 'OK' && $get eq "v$i" && $incr == $i && !defined $nil;
        $bad = "group $i: " . join( ', ', map { $_ // 'undef' } $set, $get, $incr, $nil );
        last;
    }
    ok( !$bad, 'each SET / GET / INCR / nil GET group is right' ) or diag $bad;
    is( $srv->cli( 'GET', 'lg:counter' ), '2500', 'the counter reached 2500' );
};

subtest 'two pipelines executed concurrently on one client' => sub {
    my ( $pa, $pb ) = ( $redis->pipeline, $redis->pipeline );
    my ( @wa, @wb );
    for my $i ( 1 .. 5_000 ) {
        push @wa, "A$i";
        push @wb, "B$i";
        $pa->echo("A$i");
        $pb->echo("B$i");
    }
    my $fa = $pa->execute;
    my $fb = $pb->execute;
    my ( $ra, $rb ) = run( Future->needs_all( $fa, $fb ) );
    my $mm = first_mismatch( $ra, \@wa );
    ok( !defined $mm, 'pipeline A got exactly its replies' ) or diag $mm;
    $mm = first_mismatch( $rb, \@wb );
    ok( !defined $mm, 'pipeline B got exactly its replies' ) or diag $mm;
};

subtest 'pipelines and single commands interleaved on one client' => sub {
    my @f;
    my @want;
    for my $round ( 1 .. 20 ) {
        push @f, $redis->echo("single-$round-a");
        push @want, "single-$round-a";
        my $p = $redis->pipeline;
        $p->echo("pipe-$round-$_") for 1 .. 100;
        push @f, $p->execute;
        push @want, [ map { "pipe-$round-$_" } 1 .. 100 ];
        push @f, $redis->echo("single-$round-b");
        push @want, "single-$round-b";
    }
    my @r = run( Future->needs_all(@f) );
    is( \@r, \@want, 'every single command and every pipeline got its own replies' );
};

subtest 'pipelines on two clients concurrently' => sub {
    my @clients = ( client($srv), client($srv) );
    run( Future->needs_all( map { $_->connect } @clients ) );
    my @f;
    my @want;
    for my $c ( 0 .. 1 ) {
        for my $p ( 1 .. 4 ) {
            my $pipe = $clients[$c]->pipeline;
            my @w    = map { "c$c-p$p-$_" } 1 .. 2_500;
            $pipe->echo($_) for @w;
            push @f,    $pipe->execute;
            push @want, \@w;
        }
    }
    my @r = run( Future->needs_all(@f) );
    is( scalar @r, 8, 'eight pipelines resolved' );
    for my $i ( 0 .. 7 ) {
        my $mm = first_mismatch( $r[$i], $want[$i] );
        ok( !defined $mm, "pipeline $i got exactly its 2,500 replies" ) or diag $mm;
    }
    my @ids = map { run( $_->client_id ) } @clients;
    isnt( $ids[0], $ids[1], 'on two server connections' );
    run( $_->disconnect ) for @clients;
};

# queue_size (default 1000) bounds the commands that wait while a connection is *down* (for a
# reconnect). A fresh client connects lazily on first use; a pipeline larger than queue_size as
# that first use must not lose the commands beyond the 1000th.
subtest 'a 5,000-command pipeline as the first use of a fresh client (lazy connect)' => sub {
    my $c = client($srv);
    my @want = map { "lazy-$_" } 1 .. 5_000;
    my $pipe = $c->pipeline;
    $pipe->echo($_) for @want;
    my $r  = run( $pipe->execute );
    my $mm = first_mismatch( $r, \@want );
    ok( !defined $mm, 'all 5,000 answered in order' ) or diag $mm;
    run( $c->disconnect );
};

subtest 'large values in one pipeline' => sub {
    my @values = map { chr( 65 + $_ ) x ( 1024 * 1024 ) . "-$_" } 0 .. 9;    # 10 x 1 MB
    my $pipe = $redis->pipeline;
    $pipe->set( "lg:big:$_", $values[$_] ) for 0 .. 9;
    $pipe->get("lg:big:$_") for reverse 0 .. 9;
    $pipe->strlen("lg:big:$_") for 0 .. 9;
    my $r = run( $pipe->execute );
    is( scalar @$r, 30, '30 results' );
    is( [ @$r[ 0 .. 9 ] ], [ ('OK') x 10 ], 'ten SETs' );
    my @bad = grep { $r->[ 10 + $_ ] ne $values[ 9 - $_ ] } 0 .. 9;
    ok( !@bad, 'ten 1 MB GETs came back exactly, in order' ) or diag "mismatch at @bad";
    is( [ @$r[ 20 .. 29 ] ], [ map { length $values[$_] } 0 .. 9 ], 'the server stored the right lengths' );
};

subtest 'a pipeline of 1,000 HGETALLs (transforms applied to each)' => sub {
    run( $redis->hset( "lg:h:$_", 'id', $_, 'sq', $_ * $_ ) ) for 1 .. 50;
    my $pipe = $redis->pipeline;
    $pipe->hgetall( 'lg:h:' . ( 1 + $_ % 50 ) )->echo("e$_") for 0 .. 999;
    my $r = run( $pipe->execute );
    is( scalar @$r, 2_000, '2,000 results' );
    my $bad;
    for my $i ( 0 .. 999 ) {
        my $n = 1 + $i % 50;
        my ( $h, $e ) = @$r[ 2 * $i, 2 * $i + 1 ];
        next if ref $h eq 'HASH' && $h->{id} == $n && $h->{sq} == $n * $n && keys %$h == 2 && $e eq "e$i";
        $bad = "pair $i";
        last;
    }
    ok( !$bad, 'each HGETALL is its hash, each ECHO untouched' ) or diag $bad;
};

done_testing;

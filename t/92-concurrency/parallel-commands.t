# Many commands in flight at once: each Future gets its own reply (RESP2 matches replies by
# order, so any mix-up shows as a wrong payload).
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $srv = start_server();
run( client($srv)->command('FLUSHALL') );

subtest '10,000 ECHOs in flight on one client' => sub {
    my $redis = client($srv);
    run( $redis->connect );
    my @want = map { "echo-$_-" . ( '#' x ( $_ % 97 ) ) } 1 .. 10_000;
    my $t0   = time;
    my @f    = map { $redis->echo($_) } @want;
    ok( ( grep { !$_->is_ready } @f ) > 0, 'commands are pending (not answered synchronously)' );
    my @got = run( Future->needs_all(@f) );
    my $mm  = first_mismatch( \@got, \@want );
    ok( !defined $mm, 'each of the 10,000 Futures got its own payload' ) or diag $mm;
    ok( ( !grep { !$_->is_done } @f ), 'every Future is done' );
    ok( time - $t0 < 60, sprintf( 'within a generous bound (%.2f s)', time - $t0 ) );
};

subtest '10,000 in flight, checked Future by Future' => sub {
    my $redis = client($srv);
    run( $redis->connect );
    my %f = map { ( $_ => $redis->echo("p$_") ) } 1 .. 10_000;
    run( Future->needs_all( values %f ) );
    my @bad = grep { $f{$_}->get ne "p$_" } sort { $a <=> $b } keys %f;
    is( scalar @bad, 0, 'no Future holds another command\'s reply' ) or diag "first bad: $bad[0]";
};

subtest '5 clients x 2,000 commands in flight' => sub {
    my @clients = map { client($srv) } 1 .. 5;
    run( Future->needs_all( map { $_->connect } @clients ) );
    my ( @f, @want );
    # issued round-robin, so that all five connections have work at the same time
    for my $i ( 1 .. 2_000 ) {
        for my $c ( 0 .. 4 ) {
            push @f,    $clients[$c]->echo("c$c-$i");
            push @want, "c$c-$i";
        }
    }
    my @got = run( Future->needs_all(@f) );
    my $mm  = first_mismatch( \@got, \@want );
    ok( !defined $mm, 'each of the 10,000 replies reached its own Future' ) or diag $mm;
    my @ids = map { run( $_->client_id ) } @clients;
    my %u   = map { $_ => 1 } @ids;
    is( scalar keys %u, 5, 'on five distinct server connections' );
    run( $_->disconnect ) for @clients;
};

subtest 'mixed pipelines and single commands interleaved' => sub {
    my $redis = client($srv);
    run( $redis->connect );
    my ( @f, @want );
    for my $round ( 1 .. 200 ) {
        push @f,    $redis->echo("s$round");
        push @want, "s$round";
        my $p = $redis->pipeline;
        $p->echo("p$round-$_") for 1 .. 10;
        $p->incr('par:mixed');
        push @f,    $p->execute;
        push @want, [ ( map { "p$round-$_" } 1 .. 10 ), $round ];
        push @f,    $redis->hgetall('par:none');
        push @want, {};
    }
    my @got = run( Future->needs_all(@f) );
    is( \@got, \@want, 'every single command, pipeline and transformed reply is its own, in order' );
};

subtest 'mixed command types in flight (replies of different shapes)' => sub {
    my $redis = client($srv);
    run( $redis->connect );
    run( $redis->rpush( 'par:list', 1 .. 5 ) );
    my ( @f, @want );
    for my $i ( 1 .. 2_000 ) {
        my $k = $i % 5;
        if    ( $k == 0 ) { push @f, $redis->echo("e$i");                 push @want, "e$i" }
        elsif ( $k == 1 ) { push @f, $redis->lrange( 'par:list', 0, 1 );  push @want, [ 1, 2 ] }
        elsif ( $k == 2 ) { push @f, $redis->get("par:missing:$i");       push @want, undef }
        elsif ( $k == 3 ) { push @f, $redis->incr('par:shape');           push @want, ( $i + 2 ) / 5 }
        else              { push @f, $redis->command( 'NOPE', $i );        push @want, 'error' }
    }
    my @got = map { my $f = $_; run( $f->else( sub { Future->done('error') } ) ) } @f;
    is( \@got, \@want, 'strings, arrays, nils, integers and errors all land on the right Future' );
};

subtest 'INCR from 10 clients concurrently totals correctly' => sub {
    my @clients = map { client($srv) } 1 .. 10;
    run( Future->needs_all( map { $_->connect } @clients ) );
    run( $clients[0]->del('par:counter') );
    my @f;
    for my $round ( 1 .. 500 ) {
        push @f, $_->incr('par:counter') for @clients;
    }
    my @got = run( Future->needs_all(@f) );
    is( scalar @got, 5_000, '5,000 INCR replies' );
    is( [ sort { $a <=> $b } @got ], [ 1 .. 5_000 ], 'each value 1..5000 returned exactly once' );
    is( run( $clients[0]->get('par:counter') ), '5000', 'the counter totals 5000' );
    is( $srv->cli( 'GET', 'par:counter' ), '5000', 'the server agrees' );

    # per client, the values seen are increasing (replies in order on each connection)
    my $ordered = 1;
    for my $c ( 0 .. 9 ) {
        my @mine = @got[ grep { $_ % 10 == $c } 0 .. $#got ];
        for my $i ( 1 .. $#mine ) { $ordered = 0 if $mine[$i] <= $mine[ $i - 1 ] }
    }
    ok( $ordered, 'each client saw its own INCRs in increasing order' );
    run( $_->disconnect ) for @clients;
};

subtest 'INCR from 10 async workers, awaiting one at a time' => sub {
    my @clients = map { client($srv) } 1 .. 10;
    run( $clients[0]->del('par:seq') );
    my @workers = map {
        my $c = $_;
        ( async sub {
            for my $i ( 1 .. 200 ) { await $c->incr('par:seq') }
            return 1;
        } )->();
    } @clients;
    run( Future->needs_all(@workers) );
    is( run( $clients[0]->get('par:seq') ), '2000', '10 x 200 sequential INCRs total 2000' );
    run( $_->disconnect ) for @clients;
};

done_testing;

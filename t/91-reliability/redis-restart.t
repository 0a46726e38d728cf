# The server is killed (kill -9) and restarted on the same port. Data is gone (no persistence)
# but the client recovers by itself: commands issued during the outage all complete, in order,
# each with its own reply, exactly once; on_disconnect fires once, on_connect twice.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $srv = start_server();
my ( @connects, @reasons );
my $redis = client(
    $srv,
    reconnect_delay     => 0.05,
    reconnect_delay_max => 0.25,
    request_timeout     => 30,
    on_connect          => sub { push @connects, time },
    on_disconnect       => sub { push @reasons, $_[1] },
);

subtest 'outage with 200 commands issued while the server is down' => sub {
    run( $redis->connect );
    run( $redis->set( 'rr:before', 'old value' ) );
    is( run( $redis->get('rr:before') ), 'old value', 'value set before the crash' );

    $srv->kill9;
    ok( wait_until( sub { @reasons }, 5 ), 'the client noticed the loss' );
    like( $reasons[0], qr/\A(?:server_closed|connection_lost)\z/, "reason $reasons[0]" );

    # 200 commands: ECHO with unique payloads, every 4th an INCR (to count executions).
    my ( @f, @expect, @done_order );
    my $incr_n = 0;
    for my $i ( 1 .. 200 ) {
        my $f;
        if ( $i % 4 == 0 ) {
            $f = $redis->incr('rr:counter');
            push @expect, ++$incr_n;
        }
        else {
            my $payload = "payload-$i-" . ( 'x' x ( $i % 17 ) ) . "-$$";
            $f = $redis->echo($payload);
            push @expect, $payload;
        }
        my $idx = $i;
        $f->on_ready( sub { push @done_order, $idx } );
        push @f, $f;
    }
    run( Future::IO->sleep(0.5) );
    is( scalar( grep { $_->is_ready } @f ), 0, 'none completes while the server is down' );

    $srv->restart;
    my @got = run( Future->wait_all(@f), 30 );
    my @failed = grep { $f[$_]->is_failed } 0 .. $#f;
    is( \@failed, [], 'no command failed' ) or diag 'first failure: ' . $f[ $failed[0] ]->failure;
    is( [ map { $_->is_failed ? undef : scalar $_->get } @f ], \@expect, 'each reply matches its command' );
    is( \@done_order, [ 1 .. 200 ], 'they completed in the order they were issued' );
    is( $srv->cli( 'GET', 'rr:counter' ), $incr_n, "each INCR ran exactly once ($incr_n)" );

    is( run( $redis->get('rr:before') ), undef, 'the value from before the crash is gone (no persistence)' );
    is( scalar @reasons,  1, 'on_disconnect fired once' );
    is( scalar @connects, 2, 'on_connect fired twice overall' );
    ok( $redis->is_connected, 'connected' );
};

subtest 'a crash in the middle of traffic: no reply is ever given to the wrong command' => sub {
    run( $redis->del('rr:counter2') );
    my %count;
    my @incr_replies;    # [ issue sequence number, reply ] of successful INCRs
    my $seq  = 0;
    my $stop = time + 3;
    my $worker = async sub {
        my ($w) = @_;
        while ( time < $stop ) {
            my @batch = map {
                my $n = ++$seq;
                [ $n, $n % 5 ? $redis->echo("w$w-$n") : $redis->incr('rr:counter2') ]
            } 1 .. 10;
            await Future->wait_all( map { $_->[1] } @batch );
            for (@batch) {
                my ( $n, $f ) = @$_;
                if ( $f->is_failed ) {
                    my $e = $f->failure;
                    if ( ref $e && $e->isa('Future::IO::Redis::Error::Connection') ) { $count{connection}++ }
                    else { $count{bad}++; diag "command $n failed with " . ( ref $e || $e ) }
                }
                elsif ( $n % 5 ) {
                    if ( $f->get eq "w$w-$n" ) { $count{ok}++ }
                    else { $count{bad}++; diag "command $n got " . $f->get }
                }
                else { $count{ok}++; push @incr_replies, [ $n, $f->get ] }
            }
        }
        return;
    };
    my $chaos = Future::IO->sleep(0.5)->then(
        sub {
            $srv->kill9;
            note 'killed';
            Future::IO->sleep(0.4);
        }
    )->then(
        sub {
            $srv->restart;
            note 'restarted';
            Future->done;
        }
    );
    run( Future->needs_all( $chaos, map { $worker->($_) } 1 .. 8 ), 40 );

    note join ', ', map {"$_: $count{$_}"} sort keys %count;
    ok( $count{ok} > 0, "commands succeeded ($count{ok})" );
    ok( !$count{bad}, 'every command either got its own reply or failed with Connection' );

    # INCR replies, in issue order, rise steadily on the old server, then start again from 1 on
    # the new one: at most one drop, and the new server's counter is the last reply.
    my @vals  = map { $_->[1] } sort { $a->[0] <=> $b->[0] } @incr_replies;
    my @drops = grep { $vals[$_] <= $vals[ $_ - 1 ] } 1 .. $#vals;
    ok( @drops <= 1, 'INCR replies restart at most once (at the crash): ' . scalar(@drops) . ' drops' );
    my $n = $srv->cli( 'GET', 'rr:counter2' );
    $n = 0 if $n eq '';
    ok( @drops == 0 ? ( $n == 0 || $n == $vals[-1] ) : $n == $vals[-1],
        "each INCR on the new server ran exactly once (counter $n, last reply " . ( $vals[-1] // 'none' ) . ')' );
    is( run( $redis->echo('still fine'), 10 ), 'still fine', 'the client works afterwards' );
    is( scalar @reasons,  2, 'one more on_disconnect' );
    is( scalar @connects, 3, 'one more on_connect' );
};

run( $redis->disconnect );
done_testing;

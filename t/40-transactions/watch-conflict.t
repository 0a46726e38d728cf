# WATCH conflicts: a concurrent writer on a second client changes a watched key between WATCH and
# EXEC; the transaction is aborted (undef) and nothing of it runs, whether built by watch_multi
# or by hand.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv   = start_server();
my $redis = client($srv);
my $other = client($srv);
run( $redis->command('FLUSHALL') );

subtest 'watch_multi: a concurrent writer aborts it (undef)' => sub {
    run( $redis->set( 'acct', 100 ) );
    my $results = run( $redis->watch_multi( ['acct'], async sub {
        my ( $tx, $watched ) = @_;
        # Another client changes the key between WATCH and EXEC.
        await $other->set( 'acct', 7 );
        $tx->set( 'acct', $watched->{acct} - 10 );
    } ) );
    is( $results, undef, 'undef: EXEC was aborted' );
    is( run( $redis->get('acct') ), '7', "the other client's value stands" );
    ok( !$redis->watching, 'EXEC (aborted) unwatched too' );

    # Retrying is up to the caller: the usual loop.
    my ( $tries, $r ) = (0);
    until ( defined $r ) {
        $tries++;
        $r = run( $redis->watch_multi( ['acct'], async sub {
            my ( $tx, $w ) = @_;
            await $other->incr('acct') if $tries == 1;
            $tx->set( 'acct', $w->{acct} * 2 );
        } ) );
    }
    is( $tries, 2, 'succeeded on the second try' );
    is( run( $redis->get('acct') ), '16', 'with the value read on that try' );
};

subtest 'manual control: exec is undef when a watched key changed' => sub {
    run( $redis->watch('key1') );
    run( $other->set( 'key1', 'changed' ) );
    run( $redis->multi_start );
    run( $redis->set( 'key1', 'mine' ) );
    is( run( $redis->exec ), undef, 'undef' );
    is( run( $redis->get('key1') ), 'changed', 'nothing ran' );
};

subtest 'a write by the same client does not abort it' => sub {
    run( $redis->set( 'self', 1 ) );
    my $r = run( $redis->watch_multi( ['self'], async sub {
        my ($tx) = @_;
        $tx->incr('self');
    } ) );
    is( $r, [2], 'its own queued write runs' );
};

subtest 'a key changed by another client then changed back still aborts' => sub {
    run( $redis->set( 'aba', 'a' ) );
    my $r = run( $redis->watch_multi( ['aba'], async sub {
        await $other->set( 'aba', 'b' );
        await $other->set( 'aba', 'a' );
        $_[0]->set( 'aba', 'mine' );
    } ) );
    is( $r, undef, 'aborted: WATCH sees the writes, not the value' );
    is( run( $redis->get('aba') ), 'a', 'unchanged by the transaction' );
};

subtest 'an expiring watched key' => sub {
    run( $redis->set( 'exp', 1, 'PX', 50 ) );
    my $r = run( $redis->watch_multi( ['exp'], async sub {
        await Future::IO->sleep(0.2);
        await $other->get('exp');    # the expiry happens (at the latest) on access
        $_[0]->set( 'exp', 2 );
    } ) );
    # Redis 7.0 aborts when a watched key expired after WATCH (older versions did not).
    is( $r, undef, 'aborted' );
};

done_testing;

# DISCARD, and transactions abandoned with their connection: the server discards them and the
# client never sends their commands anywhere else (not on the new connection, not alone); a
# request timeout inside one resets the connection, as for any command.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv   = start_server();
my $check = client($srv);
run( $check->command('FLUSHALL') );

subtest 'DISCARD drops what was queued' => sub {
    my $redis = client($srv);
    run( $redis->set( 'd:k', 'before' ) );
    run( $redis->multi );
    is( run( $redis->set( 'd:k', 'after' ) ), 'QUEUED', 'queued' );
    is( run( $redis->discard ), 'OK', 'DISCARD' );
    ok( !$redis->in_multi, 'not in MULTI' );
    is( run( $redis->get('d:k') ), 'before', 'nothing ran' );
    like( error_of( $redis->discard ), qr/DISCARD without MULTI/, 'DISCARD outside MULTI: the server refuses it' );
    like( error_of( $redis->exec ), qr/EXEC without MULTI/, 'so does EXEC' );
};

subtest 'the connection is killed inside MULTI: nothing of the transaction ever runs' => sub {
    my $connects = 0;
    my $redis = client( $srv, reconnect_delay => 0.02, client_name => 'killed-in-multi', on_connect => sub { $connects++ } );
    run( $redis->set( 'k:n', 0 ) );
    run( $redis->multi );
    is( run( $redis->incr('k:n') ), 'QUEUED', 'one command queued on the server' );
    my $id = do {
        # CLIENT ID cannot be asked inside MULTI (it would be queued): find it by its name.
        my $list = run( $check->client_list );
        my ($line) = grep { /name=killed-in-multi / } split /\n/, $list;
        ( $line // '' ) =~ /\bid=(\d+)/ ? $1 : die "the transaction's connection is not in CLIENT LIST:\n$list";
    };
    run( $check->client_kill( 'ID', $id ) );
    ok( wait_until( sub { $connects >= 2 }, 10 ), 'reconnected' );
    ok( $redis->in_multi, 'the lost transaction is still open to the application' );

    my $more = $redis->incr('k:n');
    my $exec = $redis->exec;
    my $e1 = error_of($more);
    isa_ok( $e1, ['Future::IO::Redis::Error::Connection'], 'a command issued for it afterwards' );
    like( $e1->message, qr/not sent: the connection was lost inside MULTI/, 'says why' );
    isa_ok( error_of($exec), ['Future::IO::Redis::Error::Connection'], 'EXEC' );
    ok( !$redis->in_multi, 'EXEC ended it' );
    is( run( $check->get('k:n') ), '0', 'the INCRs never ran: not queued then, not sent alone now' );
    is( run( $redis->incr('k:n') ), 1, 'later commands run normally' );

    # The same, ended with DISCARD (which succeeds: the server already discarded it).
    run( $redis->multi );
    run( $redis->incr('k:n') );
    ($id) = map { /\bid=(\d+)/ } grep { /name=killed-in-multi / } split /\n/, run( $check->client_list );
    run( $check->client_kill( 'ID', $id ) );
    ok( wait_until( sub { $connects >= 3 }, 10 ), 'reconnected again' );
    is( run( $redis->discard ), 'OK', 'DISCARD succeeds' );
    ok( !$redis->in_multi, 'and ends it' );
    is( run( $check->get('k:n') ), '1', 'nothing of the second transaction ran' );
};

subtest 'a client that disconnects, or is dropped, inside MULTI' => sub {
    run( $check->set( 'ab:n', 0 ) );
    my $redis = client($srv);
    run( $redis->multi );
    run( $redis->incr('ab:n') );
    run( $redis->disconnect );
    ok( !$redis->in_multi, 'an explicit disconnect ends the transaction on the client too' );
    run( $redis->connect );
    is( run( $redis->incr('ab:n') ), 1, 'after connect, commands run at once (no MULTI on the new connection)' );

    my $dropped = client( $srv, client_name => 'dropped-in-multi' );
    run( $dropped->multi );
    run( $dropped->incr('ab:n') );
    undef $dropped;    # the client goes away: its connection closes
    ok( wait_until( sub { run( $check->client_list ) !~ /name=dropped-in-multi / }, 10 ), 'its connection is gone' );
    is( run( $check->get('ab:n') ), '1', 'its queued INCR never ran' );
};

subtest 'multi(code) issued while the server is down waits whole and runs once' => sub {
    my $redis = client( $srv, reconnect_delay => 0.02, request_timeout => 30 );
    run( $redis->set( 'down:n', 0 ) );
    $srv->pause;
    my $f = $redis->multi( async sub { $_[0]->incr('down:n')->incr('down:n') } );
    run( Future::IO->sleep(0.2) );
    ok( !$f->is_ready, 'waiting' );
    $srv->resume;
    is( run($f), [ 1, 2 ], 'ran once, whole' );
};

subtest 'a request timeout inside a transaction: Error::Timeout, connection reset' => sub {
    my ( $connects, @reasons ) = (0);
    my $redis = client(
        $srv,
        request_timeout => 0.5,
        reconnect_delay => 0.02,
        on_connect      => sub { $connects++ },
        on_disconnect   => sub { push @reasons, $_[1] },
    );
    run( $redis->ping );
    my $err = error_of( $redis->multi( async sub {
        my ($tx) = @_;
        $tx->incr('t:n');
        $tx->command( 'DEBUG', 'SLEEP', 1.5 );    # EXEC's reply comes after the deadline
    } ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'the transaction fails with a Timeout' );
    is( \@reasons, ['timeout'], 'the connection was reset for it' );
    ok( wait_until( sub { $connects >= 2 }, 10 ), 'and reconnected' );
    is( run( $redis->ping ), 'PONG', 'commands work again' );
    ok( !$redis->in_multi, 'not in MULTI' );
};

done_testing;

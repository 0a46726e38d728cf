# State set through commands survives a reconnect: the database chosen by SELECT and the name
# set by CLIENT SETNAME are replayed by the handshake, whether the connection was killed by
# another client (CLIENT KILL) or the server restarted on the same port. Writes after the
# reconnect are read back by a separate client that SELECTs explicitly, so a write that went to
# database 0 shows. Also: the database/client_name options until a command changes them, RESET,
# a refused SELECT, and SELECT inside MULTI/EXEC and MULTI/DISCARD.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv = start_server();

# Another client, for killing connections and reading keys from a chosen database.
my $reader = client($srv);

sub in_db {
    my ( $db, $key ) = @_;
    run( $reader->select($db) );
    return run( $reader->get($key) );
}

sub db_of {
    my ($redis) = @_;
    my ($db) = run( $redis->client_info ) =~ /\bdb=(\d+)/;
    return $db;
}

my $serial = 0;

# A client with a connection counter; returns ($redis, \$connects).
sub counted_client {
    my (%opts) = @_;
    my $connects = 0;
    my $redis    = client( $srv, reconnect_delay => 0.05, reconnect_delay_max => 0.25, request_timeout => 10,
        on_connect => sub { $connects++ }, %opts );
    run( $redis->connect );
    return ( $redis, \$connects );
}

# Lose the connection one way or the other and wait for the reconnect.
sub bounce {
    my ( $how, $redis, $connects ) = @_;
    my $before = $$connects;
    if ( $how eq 'kill' ) {
        my $id = run( $redis->client_id );
        is( run( $reader->client_kill( 'ID', $id ) ), 1, 'CLIENT KILL ID from another client' );
    }
    else {
        $srv->kill9;
        $srv->restart;
    }
    ok( wait_until( sub { $$connects > $before }, 15 ), "reconnected after $how" );
}

for my $how (qw( kill restart )) {
    subtest "SELECT survives a reconnect ($how)" => sub {
        my ( $redis, $connects ) = counted_client();
        is( run( $redis->select(3) ), 'OK', 'SELECT 3' );
        bounce( $how, $redis, $connects );
        my $key = "sr:select:" . ++$serial;
        is( run( $redis->set( $key, 'three' ) ), 'OK', 'SET after the reconnect' );
        is( in_db( 3, $key ), 'three', 'the key is in db 3' );
        is( in_db( 0, $key ), undef, 'not in db 0' );
        is( db_of($redis), 3, 'CLIENT INFO says db=3' );
        is( run( $redis->get($key) ), 'three', 'and the client reads it back' );

        # A second reconnect: the replayed SELECT is not forgotten either.
        bounce( $how, $redis, $connects );
        is( db_of($redis), 3, 'still db 3 after another reconnect' );
        run( $redis->disconnect );
    };

    subtest "CLIENT SETNAME survives a reconnect ($how)" => sub {
        my ( $redis, $connects ) = counted_client();
        is( run( $redis->client_setname('replayed-name') ), 'OK', 'CLIENT SETNAME' );
        bounce( $how, $redis, $connects );
        is( run( $redis->client_getname ), 'replayed-name', 'CLIENT GETNAME after the reconnect' );
        like( run( $reader->client_list ), qr/\bname=replayed-name\b/, 'CLIENT LIST shows the name' );

        is( run( $redis->client_setname('') ), 'OK', 'an empty name clears it' );
        bounce( $how, $redis, $connects );
        is( run( $redis->client_getname ), undef, 'no name after the next reconnect' );
        run( $redis->disconnect );
    };
}

subtest 'commands issued during the outage go to the selected database' => sub {
    my ( $redis, $connects ) = counted_client();
    run( $redis->select(6) );
    $srv->kill9;
    my @f = map { $redis->set( "sr:outage:$_", $_ ) } 1 .. 20;
    $srv->restart;
    my @r = map { eval { run( $_, 20 ) } // 'failed' } @f;    # one may have hit the dying socket
    ok( ( grep { $_ eq 'OK' } @r ) >= 19, 'the commands issued while the server was down succeed' );
    for my $i ( grep { $r[ $_ - 1 ] eq 'OK' } 1 .. 20 ) {
        my $got = in_db( 6, "sr:outage:$i" );
        is( $got, $i, "sr:outage:$i in db 6" ) or last;
    }
    run( $reader->select(0) );
    is( run( $reader->dbsize ), 0, 'nothing in db 0' );
    run( $redis->disconnect );
};

subtest 'the database and client_name options apply until a command changes them' => sub {
    my ( $redis, $connects ) = counted_client( database => 5, client_name => 'from-option' );
    bounce( 'kill', $redis, $connects );
    is( db_of($redis), 5, 'db 5 (the option) after a reconnect' );
    is( run( $redis->client_getname ), 'from-option', 'the configured name' );

    run( $redis->select(2) );
    run( $redis->client_setname('from-command') );
    bounce( 'kill', $redis, $connects );
    is( db_of($redis), 2, 'db 2 (the SELECT) after a reconnect' );
    is( run( $redis->client_getname ), 'from-command', 'the name set by command' );

    run( $redis->select(0) );
    bounce( 'kill', $redis, $connects );
    is( db_of($redis), 0, 'SELECT 0 is replayed too (not the option)' );
    run( $redis->disconnect );
};

subtest 'a refused SELECT changes nothing' => sub {
    my ( $redis, $connects ) = counted_client( database => 1 );
    my $err = error_of( $redis->select(99) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'SELECT 99 fails' );
    like( dies { run( $redis->select('x') ) }, qr/ERR/, 'SELECT x fails' );
    bounce( 'kill', $redis, $connects );
    is( db_of($redis), 1, 'still db 1' );
    run( $redis->disconnect );
};

subtest 'RESET: db 0 and no name, as the server does' => sub {
    my ( $redis, $connects ) = counted_client( database => 2, client_name => 'before-reset' );
    run( $redis->select(4) );
    is( run( $redis->reset ), 'RESET', 'RESET' );
    is( db_of($redis),                 0,     'the server: db 0' );
    is( run( $redis->client_getname ), undef, 'the server: no name' );
    bounce( 'kill', $redis, $connects );
    is( db_of($redis),                 0,     'db 0 after a reconnect (not the option)' );
    is( run( $redis->client_getname ), undef, 'no name after a reconnect' );
    run( $redis->disconnect );
};

subtest 'SELECT inside MULTI counts when EXEC runs it' => sub {
    my ( $redis, $connects ) = counted_client();
    my $key = 'sr:multi:' . ++$serial;
    my @r = run( Future->needs_all( $redis->multi, $redis->select(7), $redis->set( $key, 'tx' ), $redis->exec ) );
    is( $r[-1], [ 'OK', 'OK' ], 'EXEC ran SELECT and SET' );
    is( in_db( 7, $key ), 'tx', 'SET inside the transaction went to db 7' );

    run( Future->needs_all( $redis->multi, $redis->select(8), $redis->discard ) );
    is( db_of($redis), 7, 'DISCARD: still db 7' );
    bounce( 'kill', $redis, $connects );
    is( db_of($redis), 7, 'db 7 after a reconnect' );
    run( $redis->disconnect );
};

done_testing;

# Authentication: requirepass, ACL users, the password "0", credentials in the URI, failures that
# never leak the password, and AUTH replayed (or refused) on reconnect.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $PW  = 'Right-Pass-91x';
my $srv = start_server(
    password  => $PW,
    acl_users => [ 'alice on >alice-Secret-7 ~* &* +@all', 'bob on >bob-Secret-8 ~bob:* +@all' ],
);

sub redis_error_ok {
    my ( $err, $codes, $secret, $what ) = @_;
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], "$what: Error::Redis" ) or return;
    like( $err->code, $codes, "$what: code " . $err->code );
    unlike( $err->message, qr/\Q$secret\E/, "$what: the message does not contain the password" );
    unlike( "$err", qr/\Q$secret\E/, "$what: nor does the stringified error" );
}

subtest 'the right password works' => sub {
    my $redis = client( $srv, password => $PW );
    ref_is( run( $redis->connect ), $redis, 'connect resolves' );
    is( run( $redis->set( 'auth:k', 'v' ) ), 'OK', 'SET' );
    is( run( $redis->get('auth:k') ), 'v', 'GET' );
    is( run( $redis->command( 'ACL', 'WHOAMI' ) ), 'default', 'authenticated as default' );
    run( $redis->disconnect );
};

subtest 'a wrong password fails connect' => sub {
    my @errors;
    my $secret = 'Wrong-Pass-xyz42';
    my $redis  = client( $srv, password => $secret, on_error => sub { push @errors, $_[1] } );
    my $err    = error_of( $redis->connect );
    redis_error_ok( $err, qr/\A(?:WRONGPASS|ERR)\z/, $secret, 'connect' );
    ok( !$redis->is_connected, 'not connected' );
    wait_until( sub { @errors }, 2 );
    ok( scalar @errors, 'on_error fired' );
    unlike( "@errors", qr/\Q$secret\E/, 'on_error errors do not contain the password' );
    run( Future::IO->sleep(0.3) );
    is( scalar @errors, 1, 'the failed first connect is not retried' );

    # A command on a client with the wrong password fails too, without leaking it.
    my $lazy = client( $srv, password => $secret );
    my $e2   = error_of( $lazy->get('auth:k') );
    ok( $e2 && ref $e2 && $e2->isa('Future::IO::Redis::Error'), 'a lazy command fails with an error object: ' . ( ref $e2 || '' ) );
    unlike( $e2 ? "$e2" : '', qr/\Q$secret\E/, 'no password in its message' );
};

subtest 'no password: commands fail with NOAUTH' => sub {
    my $redis = client($srv);
    my $err   = error_of( $redis->get('auth:k') );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'GET without AUTH' );
    is( ref $err && $err->can('code') ? $err->code : "$err", 'NOAUTH', 'code NOAUTH' );
    run( $redis->disconnect );
};

subtest 'ACL users' => sub {
    my $alice = client( $srv, username => 'alice', password => 'alice-Secret-7' );
    run( $alice->connect );
    is( run( $alice->command( 'ACL', 'WHOAMI' ) ), 'alice', 'authenticated as alice' );
    is( run( $alice->set( 'auth:alice', 1 ) ), 'OK', 'alice can write' );
    run( $alice->disconnect );

    my $bob = client( $srv, username => 'bob', password => 'bob-Secret-8' );
    is( run( $bob->set( 'bob:x', 1 ) ), 'OK', 'bob can write his keys' );
    my $perm = error_of( $bob->set( 'auth:not-bob', 1 ) );
    isa_ok( $perm, ['Future::IO::Redis::Error::Redis'], 'bob writing another key' );
    is( $perm && $perm->code, 'NOPERM', 'fails with NOPERM' );
    run( $bob->disconnect );

    my $wrong_user = client( $srv, username => 'mallory', password => 'alice-Secret-7' );
    redis_error_ok( error_of( $wrong_user->connect ), qr/\A(?:WRONGPASS|ERR)\z/, 'alice-Secret-7', 'unknown user' );

    my $wrong_pw = client( $srv, username => 'alice', password => 'bob-Secret-8' );
    redis_error_ok( error_of( $wrong_pw->connect ), qr/\A(?:WRONGPASS|ERR)\z/, 'bob-Secret-8', "alice with bob's password" );

    like( dies { client( $srv, username => 'alice' ) }, qr/password/, 'username without password croaks' );
};

subtest 'credentials in the URI' => sub {
    my $port = $srv->port;
    my $r1   = Future::IO::Redis->new( uri => "redis://:$PW\@127.0.0.1:$port" );
    is( run( $r1->command( 'ACL', 'WHOAMI' ) ), 'default', 'redis://:pw@host:port' );
    run( $r1->disconnect );

    my $r2 = Future::IO::Redis->new( uri => "redis://alice:alice-Secret-7\@127.0.0.1:$port" );
    is( run( $r2->command( 'ACL', 'WHOAMI' ) ), 'alice', 'redis://user:pw@host:port' );
    run( $r2->disconnect );

    my $r3  = Future::IO::Redis->new( uri => "redis://:not-it-Zq9\@127.0.0.1:$port" );
    redis_error_ok( error_of( $r3->connect ), qr/\A(?:WRONGPASS|ERR)\z/, 'not-it-Zq9', 'wrong password in the URI' );
};

subtest 'password "0"' => sub {
    my $zero = start_server( password => '0' );
    my $redis = client( $zero, password => '0' );
    ok( lives { run( $redis->connect ) }, 'connect with password "0"' ) or note $@;
    is( run( $redis->set( 'zero', 'ok' ) ), 'OK', 'commands work' );
    run( $redis->disconnect );

    my $by_uri = Future::IO::Redis->new( uri => 'redis://:0@127.0.0.1:' . $zero->port );
    is( run( $by_uri->get('zero') ), 'ok', 'password "0" in the URI' );
    run( $by_uri->disconnect );

    my $none = client($zero);
    my $err = error_of( $none->get('zero') );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'without it: a Redis error' );
    is( ref $err && $err->can('code') ? $err->code : "$err", 'NOAUTH', 'NOAUTH (so "0" really was sent before)' );
};

subtest 'a password with special characters' => sub {
    my $special = 'p@ss w:rd/%?#"\'';
    my $sp = start_server( password => $special );
    my $redis = client( $sp, password => $special );
    is( run( $redis->ping ), 'PONG', 'password option' );
    run( $redis->disconnect );
    my $by_uri = Future::IO::Redis->new( uri => $sp->uri );    # percent-encoded by the helper
    is( run( $by_uri->ping ), 'PONG', 'percent-encoded in the URI: ' . $sp->uri =~ s/:[^:@]*@/:***@/r );
    run( $by_uri->disconnect );
};

subtest 'AUTH is replayed on reconnect; a password changed meanwhile is reported, not leaked' => sub {
    my $pwsrv = start_server( password => 'first-Pw-1' );
    my ( @errors, $connects );
    my $redis = client(
        $pwsrv,
        password            => 'first-Pw-1',
        reconnect_delay     => 0.05,
        reconnect_delay_max => 0.2,
        on_connect          => sub { $connects++ },
        on_error            => sub { push @errors, $_[1] },
    );
    run( $redis->connect );
    $pwsrv->cli( 'CLIENT', 'KILL', 'ID', run( $redis->client_id ) );
    ok( wait_until( sub { $connects >= 2 }, 10 ), 'reconnected after CLIENT KILL' );
    is( run( $redis->command( 'ACL', 'WHOAMI' ) ), 'default', 'and authenticated (AUTH replayed)' );

    # The server's password changes; the next reconnect is refused.
    run( $redis->config_set( 'requirepass', 'second-Pw-2' ) );
    $pwsrv->cli( { pass => 'second-Pw-2' }, 'CLIENT', 'KILL', 'ID', run( $redis->client_id ) );
    ok( wait_until( sub { @errors >= 2 }, 10 ), 'on_error reports the refused reconnect attempts' );
    isa_ok( $errors[0], ['Future::IO::Redis::Error::Redis'], 'as Redis errors' );
    like( $errors[0]->code, qr/\A(?:WRONGPASS|ERR)\z/, 'code ' . $errors[0]->code );
    unlike( join( ' ', map {"$_"} @errors ), qr/first-Pw-1/, 'no password in any error' );
    ok( !$redis->is_connected, 'not connected' );

    # Back to the old password: the client gets in again by itself.
    $pwsrv->cli( { pass => 'second-Pw-2' }, 'CONFIG', 'SET', 'requirepass', 'first-Pw-1' );
    ok( wait_until( sub { $connects >= 3 }, 10 ), 'reconnected once the password matches again' );
    is( run( $redis->ping ), 'PONG', 'works' );
    run( $redis->disconnect );
};

done_testing;

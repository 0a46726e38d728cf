# TLS with rustls against a real redis-server with --tls-port and certificates the test
# generates (CA, server cert with SAN localhost/127.0.0.1, client cert, an unrelated CA).
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $srv   = start_server( tls => 1, tcp => 1 );
my $certs = $srv->certs;
my %ca    = ( ca_file => $certs->{ca} );

sub tls_client {
    my (%o) = @_;
    return Future::IO::Redis->new( host => 'localhost', port => $srv->tls_port, connect_timeout => 3, %o );
}

subtest 'TLS with the CA that signed the server' => sub {
    my $redis = tls_client( tls => {%ca} );
    is( run( $redis->connect ), $redis, 'connects' );
    is( run( $redis->set( 'tls:k', 'v' ) ), 'OK', 'SET' );
    is( run( $redis->get('tls:k') ), 'v', 'GET' );
    my $big = join '', map { chr( $_ % 256 ) } 1 .. 2_000_000;
    run( $redis->set( 'tls:big', $big ) );
    ok( run( $redis->get('tls:big') ) eq $big, '2 MB through TLS both ways' );
    my @many = run( Future->needs_all( map { $redis->echo("m$_") } 1 .. 2000 ) );
    is( \@many, [ map { "m$_" } 1 .. 2000 ], '2,000 in flight, each its own reply' );
    like( $srv->cli( 'CLIENT', 'LIST' ), qr/cmd=/, 'the server sees clients' );
};

subtest 'hostname and IP verification' => sub {
    my $ip = Future::IO::Redis->new( host => '127.0.0.1', port => $srv->tls_port, tls => {%ca} );
    is( run( $ip->ping ), 'PONG', 'an IP literal verifies against the IP SAN' );
    my $wrong = tls_client( tls => { %ca, server_name => 'redis.example.com' } );
    my $err = error_of( $wrong->connect );
    isa_ok( $err, ['Future::IO::Redis::Error::Connection'], 'a name the certificate does not carry' );
    like( "$err", qr/not valid for name/, 'says why' );
};

subtest 'an unrelated CA, or the system roots, reject the server' => sub {
    for my $case ( [ 'other CA', { ca_file => $certs->{other_ca} } ], [ 'system roots', 1 ] ) {
        my ( $name, $tls ) = @$case;
        my $err = error_of( tls_client( tls => $tls )->connect );
        isa_ok( $err, ['Future::IO::Redis::Error::Connection'], "$name: Connection error" );
        like( "$err", qr/UnknownIssuer|invalid peer certificate/, "$name: certificate rejected" );
    }
};

subtest 'verify => 0 accepts any certificate (testing only)' => sub {
    my $redis = tls_client( tls => { verify => 0 } );
    is( run( $redis->ping ), 'PONG', 'connects without verification' );
};

subtest 'rediss:// URI' => sub {
    my $redis = Future::IO::Redis->new( uri => 'rediss://localhost:' . $srv->tls_port . '/2', tls => {%ca} );
    is( run( $redis->set( 'tls:uri', 1 ) ), 'OK', 'rediss with a tls hash for the CA' );
    is( $srv->cli( '-n', 2, 'GET', 'tls:uri' ), '1', 'database from the URI' );
};

subtest 'plain client on the TLS port, TLS client on the plain port: Connection errors, no hang' => sub {
    my $t0  = time;
    my $err = error_of( Future::IO::Redis->new( host => 'localhost', port => $srv->tls_port, connect_timeout => 2 )->connect );
    isa_ok( $err, ['Future::IO::Redis::Error::Connection'], 'plain -> TLS port' );
    cmp_ok( time - $t0, '<', 2.5, 'within the connect timeout' );
    $t0  = time;
    $err = error_of( Future::IO::Redis->new( host => 'localhost', port => $srv->port, tls => {%ca}, connect_timeout => 1 )->connect );
    isa_ok( $err, ['Future::IO::Redis::Error::Connection'], 'TLS -> plain port' );
    like( "$err", qr/does the port serve TLS/, 'says what is likely wrong' );
    cmp_ok( time - $t0, '<', 2.5, 'within the connect timeout' );
};

subtest 'mutual TLS' => sub {
    my $mtls = start_server( tls => 1, tls_auth_clients => 1 );
    my $c    = $mtls->certs;
    my $with = Future::IO::Redis->new(
        host => 'localhost', port => $mtls->tls_port,
        tls  => { ca_file => $c->{ca}, cert_file => $c->{client_cert}, key_file => $c->{client_key} },
    );
    is( run( $with->ping ), 'PONG', 'with a client certificate' );
    my $err = error_of( Future::IO::Redis->new( host => 'localhost', port => $mtls->tls_port, tls => { ca_file => $c->{ca} }, connect_timeout => 3 )->connect );
    isa_ok( $err, ['Future::IO::Redis::Error::Connection'], 'without one: refused' );
};

subtest 'TLS with a password, and reconnect replays TLS and AUTH' => sub {
    my $s = start_server( tls => 1, password => 'tls-secret' );
    my $c = $s->certs;
    my $connects = 0;
    my $redis = Future::IO::Redis->new(
        host => 'localhost', port => $s->tls_port, password => 'tls-secret',
        tls => { ca_file => $c->{ca} }, reconnect_delay => 0.05, on_connect => sub { $connects++ },
    );
    is( run( $redis->set( 'a', 1 ) ), 'OK', 'authenticated over TLS' );
    my $id = run( $redis->client_id );
    $s->cli( 'CLIENT', 'KILL', 'ID', $id );
    ok( wait_until( sub { $connects >= 2 }, 10 ), 'reconnected' );
    is( run( $redis->get('a') ), '1', 'works after the reconnect' );
    my $bad = Future::IO::Redis->new( host => 'localhost', port => $s->tls_port, password => 'wrong-secret', tls => { ca_file => $c->{ca} } );
    my $err = error_of( $bad->connect );
    is( $err && $err->code, 'WRONGPASS', 'wrong password over TLS: WRONGPASS' );
    unlike( "$err", qr/wrong-secret/, 'the password is not in the message' );
};

subtest 'bad TLS options croak' => sub {
    like( dies { Future::IO::Redis->new( port => 1, tls => { ca_file => '/nonexistent/ca.pem' } ) }, qr/not a readable file/, 'missing ca_file' );
    like( dies { Future::IO::Redis->new( port => 1, tls => { cert_file => $certs->{client_cert} } ) }, qr/go together/, 'cert without key' );
    like( dies { Future::IO::Redis->new( port => 1, tls => { colour => 'blue' } ) }, qr/unknown tls option/, 'unknown option' );
    like( dies { Future::IO::Redis->new( path => '/tmp/x.sock', tls => 1 ) }, qr/not a unix socket/, 'TLS over a unix socket' );
    like( dies { run( Future::IO::Redis->new( port => 1, tls => { ca_file => $certs->{client_key} } )->connect ) },
        qr/holds no certificate|bad certificate/, 'a ca_file that holds no certificate' );
};

done_testing;

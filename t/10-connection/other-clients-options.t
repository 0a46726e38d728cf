# The constructor options of Redis.pm, Redis::Fast and Net::Async::Redis that mean the same here
# work (server, sock, name, auth, cnx_timeout, a URI without a scheme), REDIS_URL and
# REDIS_SERVER give the address when none is given, and the spellings that mean something else
# croak naming the option to use -- against real servers.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv  = start_server( unixsocket => 1 );
my $port = $srv->port;
my $line;

sub ping_ok {
    my ( $redis, $name ) = @_;
    is( run( $redis->ping ), 'PONG', $name );
    $redis->disconnect;
}

delete local @ENV{qw(REDIS_URL REDIS_SERVER)};

subtest "server => 'host:port' (Redis.pm, Redis::Fast)" => sub {
    ping_ok( Future::IO::Redis->new( server => "127.0.0.1:$port" ), 'connects to host:port' );
    ping_ok( Future::IO::Redis->new( server => $srv->path ), 'a socket path as server' );
    ping_ok( Future::IO::Redis->new( server => 'unix:' . $srv->path ), 'unix:/path as server' );
};

subtest 'sock => path (Redis.pm)' => sub {
    ping_ok( Future::IO::Redis->new( sock => $srv->path ), 'connects to the unix socket' );
};

subtest 'name => client name (Redis.pm, Redis::Fast)' => sub {
    my $redis = Future::IO::Redis->new( server => "127.0.0.1:$port", name => 'from-name' );
    is( run( $redis->client_getname ), 'from-name', 'CLIENT SETNAME on connect' );
    $redis->disconnect;
};

subtest 'cnx_timeout => connect_timeout (Redis.pm)' => sub {
    ping_ok( Future::IO::Redis->new( server => "127.0.0.1:$port", cnx_timeout => 3 ), 'accepted as connect_timeout' );
    $line = __LINE__ + 1;
    like( dies { Future::IO::Redis->new( cnx_timeout => -1 ) }, qr/connect_timeout/, 'and checked as connect_timeout' );
};

subtest 'a uri without a scheme' => sub {
    my $redis = Future::IO::Redis->new( uri => "127.0.0.1:$port/3" );
    my ($db) = run( $redis->client_info ) =~ /\bdb=(\d+)/;
    is( $db, 3, 'host:port/db' );
    $redis->disconnect;
    ping_ok( Future::IO::Redis->new( uri => $srv->path ), 'a socket path' );
};

subtest 'auth => password (Net::Async::Redis)' => sub {
    my $pw    = start_server( password => 'sekrit-pw' );
    my $redis = Future::IO::Redis->new( server => '127.0.0.1:' . $pw->port, auth => 'sekrit-pw' );
    ping_ok( $redis, 'AUTH with the auth option' );
    my $bad = Future::IO::Redis->new( server => '127.0.0.1:' . $pw->port, auth => 'wrong-pw', reconnect => 0 );
    my $err = error_of( $bad->ping );
    isa_ok( $err, ['Future::IO::Redis::Error'], 'a wrong password fails the Future with an error object' );
    unlike( "$err", qr/wrong-pw/, 'without the password in the message' );
};

subtest 'REDIS_URL and REDIS_SERVER when no address is given' => sub {
    {
        local $ENV{REDIS_URL} = "redis://127.0.0.1:$port/2";
        my $redis = Future::IO::Redis->new;
        my ($db) = run( $redis->client_info ) =~ /\bdb=(\d+)/;
        is( $db, 2, 'REDIS_URL (address and database)' );
        $redis->disconnect;
        local $ENV{REDIS_SERVER} = '127.0.0.1:1';
        ping_ok( Future::IO::Redis->new, 'REDIS_URL before REDIS_SERVER' );
    }
    {
        local $ENV{REDIS_SERVER} = "127.0.0.1:$port";
        ping_ok( Future::IO::Redis->new, 'REDIS_SERVER host:port' );
        local $ENV{REDIS_SERVER} = $srv->path;
        ping_ok( Future::IO::Redis->new, 'REDIS_SERVER socket path' );
        local $ENV{REDIS_SERVER} = '127.0.0.1:1';
        ping_ok( Future::IO::Redis->new( port => $port ), 'an address given wins over the environment' );
    }
};

subtest 'spellings that mean something else croak, naming the option to use' => sub {
    my %croak = (
        every    => [ 100_000, qr/unknown option 'every'; use reconnect_delay \(seconds/ ],
        encoding => [ 'utf8',  qr/unknown option 'encoding'; use nothing: values are sent and returned as bytes/ ],
        db       => [ 3,       qr/unknown option 'db'; use database/ ],
    );
    for my $k ( sort keys %croak ) {
        my ( $v, $re ) = @{ $croak{$k} };
        $line = __LINE__ + 1;
        my $e = dies { Future::IO::Redis->new( port => $port, $k => $v ) };
        like( $e, $re, "$k" );
        like( $e, qr/ at \Q$0\E line $line\b/, "$k: reported at the caller's line" );
    }
    like( dies { Future::IO::Redis->new( server => "127.0.0.1:$port", host => '127.0.0.1' ) },
        qr/server and host both give the address; give one/, 'server with host' );
    like( dies { Future::IO::Redis->new( name => 'a', client_name => 'b' ) },
        qr/'name' and 'client_name' are the same option; give one/, 'name with client_name' );
    like( dies { Future::IO::Redis->new( name => sub { 'x' } ) },
        qr/client_name must be a string/, 'name as a code reference' );
    like( dies { Future::IO::Redis->new( server => '127.0.0.1:port' ) },
        qr/server '127\.0\.0\.1:port' is not 'host:port' or a socket path/, 'a server that is not host:port' );
    like( dies { Future::IO::Redis->new( server => '' ) }, qr/server must be 'host:port' or a socket path/, 'an empty server' );
};

done_testing;

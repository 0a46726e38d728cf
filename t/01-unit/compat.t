# The translation of other clients' constructor options (Future::IO::Redis::Compat), without a
# server: what each spelling becomes, where REDIS_URL / REDIS_SERVER apply, and what croaks.
# t/10-connection/other-clients-options.t connects with them to real servers.
use v5.14;
use warnings;
use Test2::V0;
use Future::IO::Redis::Compat;

sub tr_ok { my ( $in, $want, $name ) = @_; is( { Future::IO::Redis::Compat::translate(@$in) }, $want, $name ) }

delete local @ENV{qw(REDIS_URL REDIS_SERVER)};

tr_ok( [ server => 'localhost:6380' ], { host => 'localhost', port => 6380 }, 'server host:port' );
tr_ok( [ server => '[::1]:6380' ],          { host => '::1', port => 6380 },            'server [v6]:port' );
tr_ok( [ server => '[::1]' ],               { host => '::1' },                          'server [v6]' );
tr_ok( [ server => '::1' ],                 { host => '::1' },                          'server, a bare IPv6 address' );
tr_ok( [ server => 'localhost' ],           { host => 'localhost' },                    'server host alone' );
tr_ok( [ server => 'fe80::1%eth0' ],        { host => 'fe80::1%eth0' },                 'server, a bare IPv6 address with a zone' );
tr_ok( [ server => 'redis://:pw@127.0.0.1:6390/2' ], { uri => 'redis://:pw@127.0.0.1:6390/2' }, 'server given a URI: taken as the uri' );
for my $bad ( 'user:Secret-pw9@127.0.0.1:6379', ':Secret-pw9@127.0.0.1:6379', 'user:Secret-pw9@h' ) {
    my $err = dies { Future::IO::Redis::Compat::translate( server => $bad ) };
    like( $err, qr/server '.*' is not 'host:port' or a socket path/, "server '$bad' croaks" );
    unlike( $err, qr/Secret-pw9/, '... without showing the password' );
}
{
    local $ENV{REDIS_SERVER} = 'redis://:pw@127.0.0.1:6391';
    tr_ok( [], { uri => 'redis://:pw@127.0.0.1:6391' }, 'REDIS_SERVER holding a URI' );
    local $ENV{REDIS_SERVER} = 'default:Secret-pw9@127.0.0.1:6391';
    my $err = dies { Future::IO::Redis::Compat::translate() };
    like( $err, qr/REDIS_SERVER '.*' is not 'host:port'/, 'REDIS_SERVER with credentials croaks' );
    unlike( $err, qr/Secret-pw9/, '... without showing the password' );
}
tr_ok( [ server => '/run/redis.sock' ],     { path => '/run/redis.sock' },              'server socket path' );
tr_ok( [ server => 'unix:/run/redis.sock' ], { path => '/run/redis.sock' },             'server unix:/path' );
tr_ok( [ sock => '/run/redis.sock' ],       { path => '/run/redis.sock' },              'sock' );
tr_ok( [ name => 'worker', port => 1 ],     { client_name => 'worker', port => 1 },     'name' );
tr_ok( [ auth => 'pw', port => 1 ],         { password => 'pw', port => 1 },            'auth' );
tr_ok( [ cnx_timeout => 2, port => 1 ],     { connect_timeout => 2, port => 1 },        'cnx_timeout' );
tr_ok( [ no_auto_connect_on_new => 1, port => 1 ], { port => 1 },                       'no_auto_connect_on_new: nothing to do' );
tr_ok( [ uri => '127.0.0.1:6390/2' ],       { uri => 'redis://127.0.0.1:6390/2' },      'a uri without a scheme' );
tr_ok( [ uri => '/run/redis.sock' ],        { uri => 'redis+unix:///run/redis.sock' },  'a socket path as uri' );
tr_ok( [ uri => 'rediss://localhost:1' ],           { uri => 'rediss://localhost:1' },                  'a uri with a scheme is left alone' );
tr_ok( [ host => 'localhost', port => 1 ], { host => 'localhost', port => 1 },                 'our own options are left alone' );

{
    local $ENV{REDIS_URL}    = 'redis://127.0.0.1:1';
    local $ENV{REDIS_SERVER} = 'localhost:2';
    tr_ok( [],                    { uri => 'redis://127.0.0.1:1' }, 'REDIS_URL when no address is given' );
    tr_ok( [ port => 7 ],         { port => 7 },                   'not when a port is given' );
    tr_ok( [ path => '/s' ],      { path => '/s' },                'nor a path' );
    tr_ok( [ server => '127.0.0.1:3' ], { host => '127.0.0.1', port => 3 },      'nor a server' );
    local $ENV{REDIS_URL} = '';
    tr_ok( [], { host => 'localhost', port => 2 }, 'REDIS_SERVER when REDIS_URL is empty' );
    local $ENV{REDIS_SERVER} = '/tmp/r.sock';
    tr_ok( [], { path => '/tmp/r.sock' }, 'REDIS_SERVER as a socket path' );
    local $ENV{REDIS_URL} = '127.0.0.1:9';
    tr_ok( [], { uri => 'redis://127.0.0.1:9' }, 'REDIS_URL without a scheme' );
}

my $line;
like( dies { $line = __LINE__; Future::IO::Redis::Compat::translate( every => 1000 ) },
    qr/^Future::IO::Redis->new: unknown option 'every'; use reconnect_delay/, 'every' );
like( dies { Future::IO::Redis::Compat::translate( sock => '/a', path => '/b' ) }, qr/'sock' and 'path' are the same option/, 'sock with path' );
like( dies { Future::IO::Redis::Compat::translate( auth => 'a', password => 'b' ) }, qr/'auth' and 'password' are the same option/, 'auth with password' );
like( dies { Future::IO::Redis::Compat::translate( server => '127.0.0.1:1', uri => 'redis://127.0.0.1' ) }, qr/server and uri both give the address/, 'server with uri' );
like( dies { Future::IO::Redis::Compat::translate( server => [1] ) }, qr/server must be 'host:port' or a socket path/, 'server as a reference' );
unlike( dies { Future::IO::Redis::Compat::translate( auth => 's3cret', password => 's3cret' ) }, qr/s3cret/, 'a password never appears in the message' );

done_testing;

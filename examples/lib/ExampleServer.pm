package ExampleServer;

# Where the examples talk to Redis: $ENV{REDIS_URL} when set, else a private redis-server started
# on a free loopback port (t/lib/Test/FIORedis/Server.pm), kept running while the returned
# server object lives.
#   my ( $uri, $server ) = ExampleServer::uri();

use v5.14;
use warnings;

sub uri {
    return ( $ENV{REDIS_URL}, undef ) if $ENV{REDIS_URL};
    require Test::FIORedis::Server;
    my $server = Test::FIORedis::Server->start;
    say "started redis-server on ", $server->uri;
    return ( $server->uri, $server );
}

1;

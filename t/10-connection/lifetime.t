# A client that goes away lets what it started finish, then closes its connection.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $admin = client($srv);
run( $admin->connect );
my $clients = sub { scalar grep { /\bname=lifetime\b/ } split /\n/, run( $admin->command( 'CLIENT', 'LIST' ) ) };

is( run( client($srv)->ping ), 'PONG', 'client($srv)->ping: the temporary client answers' );

my $f = client( $srv, client_name => 'lifetime' )->blpop( 'lifetime:q', 5 );
ok( wait_until( sub { $clients->() == 1 }, 5 ), 'the dropped client\'s connection stays while its BLPOP waits' );
run( $admin->rpush( 'lifetime:q', 'item' ) );
is( run($f), [ 'lifetime:q', 'item' ], 'and the BLPOP completes' );
ok( wait_until( sub { $clients->() == 0 }, 5 ), 'then the connection closes' );

{
    my $c = client( $srv, client_name => 'lifetime' );
    run( $c->ping );
    is( $clients->(), 1, 'a live client keeps its connection' );
}
ok( wait_until( sub { $clients->() == 0 }, 5 ), 'an idle client that goes out of scope closes at once' );

done_testing;

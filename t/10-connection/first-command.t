# The first command of a client opens its connection on the engine; it must go through the same
# path as every later one: its reply transformer applies, and so does a retry policy.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv  = start_server();
my $seed = client($srv);
run( $seed->hset( h => a => 1, b => 2 ) );

my $fresh = client($srv);
is( run( $fresh->hgetall('h') ), { a => 1, b => 2 }, 'a transformed reply as the very first command' );

my @seen;
my $policy = client( $srv, retry => sub { push @seen, $_[2]; 0 } );
ok( error_of( $policy->incr('h') ), 'the first command fails (WRONGTYPE)' );
is( \@seen, ['INCR'], 'and went through the retry policy' );

done_testing;

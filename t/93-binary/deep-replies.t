# Deeply nested replies from a real server: a one-line Lua script returns an array nested as
# deep as Lua lets it. The client decodes them whole (no recursion, no stack to overflow), and
# the connection carries on with the next reply.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->connect );

my $nest = 'local t = {} local c = t for i = 1, tonumber(ARGV[1]) do local n = {} c[1] = n c = n end c[1] = ARGV[2] return t';

sub depth_of {
    my ($v) = @_;
    my $d = 0;
    while ( ref $v eq 'ARRAY' ) { $d++; $v = $v->[0] }
    return ( $d, $v );
}

for my $depth ( 1_200, 5_000 ) {
    my $v = run( $redis->eval( $nest, 0, $depth, "leaf-$depth" ) );
    my ( $d, $leaf ) = depth_of($v);
    is( $d,    $depth + 1,     "a $depth-deep Lua table arrives $d arrays deep" );
    is( $leaf, "leaf-$depth",  'with its leaf' );
    is( run( $redis->echo("after-$depth") ), "after-$depth", 'the next reply is read normally' );
}

done_testing;

# Methods called in void context (nobody keeps the result) do their work and print nothing:
# no "Calling ->transform in void context", no "lost a sequence Future".
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my @warnings;
local $SIG{__WARN__} = sub { push @warnings, @_ };

my $srv   = start_server();
my $redis = client($srv);
run( $redis->connect );

# A plain command, a command whose reply is transformed (HGETALL gives a hash), and one going
# through a retry policy, all in void context.
$redis->set( void_key => 'v1' );
$redis->hset( void_hash => a => 1 );
$redis->hgetall('void_hash');
my $retry = client( $srv, retry => sub { 0 } );
$retry->set( void_retry => 'v2' );
$retry->hgetall('void_hash');
is( run( $redis->get('void_key') ), 'v1', 'a void-context SET was sent' );
is( run( $retry->get('void_retry') ), 'v2', 'a void-context SET through a retry policy was sent' );

# disconnect in void context, as in `$r->connect->get; $r->disconnect`.
$redis->disconnect;
$retry->disconnect;
run( Future::IO->sleep(0.05) );
ok( !$redis->is_connected, 'a void-context disconnect disconnected' );

# The command-line case from the issue, in a child perl.
my $port = $srv->port;
my $out  = `$^X -Mblib -MFuture::IO::Redis -e '\$r=Future::IO::Redis->new(host=>"127.0.0.1",port=>$port); \$r->connect->get; \$r->disconnect; print "done\\n"' 2>&1`;
is( $out, "done\n", 'perl -e with a void-context disconnect prints nothing else' );

is( \@warnings, [], 'no warnings' ) or diag join "", @warnings;

done_testing;

# max_bulk_len: a reply announcing a longer bulk string than allowed fails its command with a
# Protocol error when its header arrives, nothing is set aside for the announced length, the
# connection resets and reconnects, and values up to the limit arrive whole.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv    = start_server();
my $limit  = 64 * 1024;
my $events = 0;
my $redis  = client( $srv, max_bulk_len => $limit, on_disconnect => sub { $events++ } );
my $plain  = client($srv);

run( $plain->set( at_limit   => 'a' x $limit ) );
run( $plain->set( over_limit => 'b' x ( $limit + 1 ) ) );

is( length run( $redis->get('at_limit') ), $limit, 'a value of exactly max_bulk_len bytes arrives whole' );

my $err = error_of( $redis->get('over_limit') );
isa_ok( $err, ['Future::IO::Redis::Error::Protocol'], 'one byte more fails with a Protocol error' );
like( "$err", qr/longer than the limit of $limit bytes/, 'the message names the limit' );

is( run( $redis->ping ), 'PONG', 'the client reconnects and goes on' );
is( $events, 1, 'after one disconnect (protocol_error)' );
is( run( $redis->strlen('over_limit') ), $limit + 1, 'the server still holds the value' );

like(
    dies { Future::IO::Redis->new( port => $srv->port, max_bulk_len => -1 ) },
    qr/max_bulk_len must be a non-negative integer/,
    'a negative max_bulk_len croaks at new'
);

done_testing;

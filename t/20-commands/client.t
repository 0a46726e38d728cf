# CLIENT commands through the generated methods, with exact replies.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $redis = client($srv);
my $other = client($srv);

subtest 'CLIENT ID, CLIENT GETNAME, CLIENT SETNAME' => sub {
    my $id = run( $redis->client_id );
    like( $id, qr/\A\d+\z/, "CLIENT ID ($id)" );
    is( run( $redis->client_id ), $id, 'the same connection' );
    isnt( run( $other->client_id ), $id, 'another client, another id' );
    is( run( $redis->client_getname ), undef, 'CLIENT GETNAME without a name: nil' );
    is( run( $redis->client_setname('worker-1') ), 'OK', 'CLIENT SETNAME' );
    is( run( $redis->client_getname ), 'worker-1', 'CLIENT GETNAME' );
    like( error_of( $redis->client_setname('has space') )->message, qr/cannot contain spaces/, 'a name with a space fails' );
    my $named = client( $srv, client_name => 'from-option' );
    is( run( $named->client_getname ), 'from-option', 'the client_name option sets it on connect' );
};

subtest 'CLIENT LIST, CLIENT INFO' => sub {
    my $id = run( $redis->client_id );
    my $info = run( $redis->client_info );
    like( $info, qr/\Aid=$id addr=\S+ laddr=\S+ fd=\d+ name=worker-1 /, 'CLIENT INFO describes this connection' );
    my $list = run( $redis->client_list );
    my @lines = split /\n/, $list;
    ok( @lines >= 2, 'CLIENT LIST: a line per connection (' . scalar(@lines) . ')' );
    ok( ( grep { /\bid=$id\b.*\bname=worker-1\b/ } @lines ), 'this one among them' );
    like( run( $redis->client_list( 'ID', $id ) ), qr/\Aid=$id /, 'CLIENT LIST ID' );
    like( run( $redis->client_list( 'TYPE', 'normal' ) ), qr/id=$id/, 'CLIENT LIST TYPE normal' );
};

subtest 'CLIENT NO-EVICT, CLIENT TRACKINGINFO, CLIENT GETREDIR' => sub {
    is( run( $redis->client_no_evict('on') ), 'OK', 'CLIENT NO-EVICT on' );
    like( run( $redis->client_info ), qr/ flags=e /, 'the e flag' );
    is( run( $redis->client_no_evict('off') ), 'OK', 'CLIENT NO-EVICT off' );
    like( error_of( $redis->client_no_evict('maybe') )->message, qr/syntax error/i, 'anything else fails' );
    my %t = @{ run( $redis->client_trackinginfo ) };
    is( $t{flags}, ['off'], 'CLIENT TRACKINGINFO: off' );
    is( run( $redis->client_getredir ), -1, 'CLIENT GETREDIR: -1' );
};

subtest 'CLIENT PAUSE, CLIENT UNPAUSE, CLIENT KILL' => sub {
    is( run( $redis->client_pause( 100, 'WRITE' ) ), 'OK', 'CLIENT PAUSE 100 WRITE' );
    is( run( $redis->client_unpause ), 'OK', 'CLIENT UNPAUSE' );
    my $victim = client($srv);
    my $vid = run( $victim->client_id );
    is( run( $redis->client_kill( 'ID', $vid ) ), 1, 'CLIENT KILL ID: one killed' );
    is( run( $redis->client_kill( 'ID', 999_999 ) ), 0, 'an unknown id: 0' );
    is( run( $victim->ping ), 'PONG', 'the killed client reconnects by itself' );
    isnt( run( $victim->client_id ), $vid, 'on a new connection' );
};

done_testing;

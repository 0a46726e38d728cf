# Stream commands through the generated methods, with exact replies.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->flushall );

subtest 'XADD, XLEN, XRANGE, XREVRANGE' => sub {
    is( run( $redis->xadd( 'st:s', '1-1', name => 'ann', age => 30 ) ), '1-1', 'XADD with an explicit id' );
    is( run( $redis->xadd( 'st:s', '1-2', name => 'bob' ) ), '1-2', 'second entry' );
    my $auto = run( $redis->xadd( 'st:s', '*', name => 'cy' ) );
    like( $auto, qr/\A\d+-\d+\z/, "XADD * generates an id ($auto)" );
    is( run( $redis->xlen('st:s') ), 3, 'XLEN' );
    is(
        run( $redis->xrange( 'st:s', '-', '+', 'COUNT', 2 ) ),
        [ [ '1-1', [qw( name ann age 30 )] ], [ '1-2', [qw( name bob )] ] ],
        'XRANGE - + COUNT 2'
    );
    is( run( $redis->xrevrange( 'st:s', '+', '-', 'COUNT', 1 ) ), [ [ $auto, [qw( name cy )] ] ], 'XREVRANGE + - COUNT 1' );
    my $err = error_of( $redis->xadd( 'st:s', '1-1', f => 'v' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'XADD with an id not above the top' );
    like( $err->message, qr/equal or smaller/, 'message' );
    is( run( $redis->xadd( 'st:none', 'NOMKSTREAM', '*', f => 'v' ) ), undef, 'XADD NOMKSTREAM on a missing stream: nil' );
};

subtest 'XREAD' => sub {
    is(
        run( $redis->xread( 'COUNT', 1, 'STREAMS', 'st:s', '0' ) ),
        [ [ 'st:s', [ [ '1-1', [qw( name ann age 30 )] ] ] ] ],
        'XREAD COUNT 1 STREAMS st:s 0'
    );
    run( $redis->xadd( 'st:t', '5-0', x => 1 ) );
    is(
        run( $redis->xread( 'STREAMS', 'st:s', 'st:t', '1-2', '0' ) ),
        [ [ 'st:s', [ [ run( $redis->xrevrange( 'st:s', '+', '-', 'COUNT', 1 ) )->[0][0], [qw( name cy )] ] ] ], [ 'st:t', [ [ '5-0', [qw( x 1 )] ] ] ] ],
        'two streams'
    );
    is( run( $redis->xread( 'BLOCK', 50, 'STREAMS', 'st:t', '$' ) ), undef, 'XREAD BLOCK 50 times out with nil' );
    my $blocked = $redis->xread( 'BLOCK', 5000, 'STREAMS', 'st:t', '$' );
    my $other = client($srv);
    run( $other->xadd( 'st:t', '6-0', y => 2 ) );
    is( run($blocked), [ [ 'st:t', [ [ '6-0', [qw( y 2 )] ] ] ] ], 'XREAD BLOCK is woken by XADD' );
};

subtest 'consumer groups: XGROUP CREATE, XREADGROUP, XACK, XPENDING, XCLAIM' => sub {
    is( run( $redis->xgroup_create( 'st:s', 'g1', '0' ) ), 'OK', 'XGROUP CREATE' );
    my $err = error_of( $redis->xgroup_create( 'st:s', 'g1', '0' ) );
    is( $err->code, 'BUSYGROUP', 'again: BUSYGROUP' );
    is( run( $redis->xgroup_create( 'st:new', 'g', '$', 'MKSTREAM' ) ), 'OK', 'XGROUP CREATE ... MKSTREAM' );
    is( run( $redis->exists('st:new') ), 1, 'made the stream' );
    is( run( $redis->xgroup_createconsumer( 'st:s', 'g1', 'alice' ) ), 1, 'XGROUP CREATECONSUMER' );

    my $r = run( $redis->xreadgroup( 'GROUP', 'g1', 'alice', 'COUNT', 2, 'STREAMS', 'st:s', '>' ) );
    is( $r, [ [ 'st:s', [ [ '1-1', [qw( name ann age 30 )] ], [ '1-2', [qw( name bob )] ] ] ] ], 'XREADGROUP ... >' );
    is( run( $redis->xpending( 'st:s', 'g1' ) ), [ 2, '1-1', '1-2', [ [ 'alice', '2' ] ] ], 'XPENDING summary' );
    my $detail = run( $redis->xpending( 'st:s', 'g1', '-', '+', 10 ) );
    is( [ map { [ $_->[0], $_->[1], $_->[3] ] } @$detail ], [ [ '1-1', 'alice', 1 ], [ '1-2', 'alice', 1 ] ], 'XPENDING - + 10' );
    is( run( $redis->xack( 'st:s', 'g1', '1-1' ) ), 1, 'XACK one' );
    is( run( $redis->xack( 'st:s', 'g1', '1-1', '9-9' ) ), 0, 'XACK of acked or unknown ids: 0' );
    is( run( $redis->xclaim( 'st:s', 'g1', 'bob', 0, '1-2', 'JUSTID' ) ), ['1-2'], 'XCLAIM ... JUSTID' );
    my $auto = run( $redis->xautoclaim( 'st:s', 'g1', 'carl', 0, '0', 'JUSTID' ) );
    is( $auto->[1], ['1-2'], 'XAUTOCLAIM ... JUSTID' );
    is( run( $redis->xgroup_setid( 'st:s', 'g1', '0' ) ), 'OK', 'XGROUP SETID' );
    is( run( $redis->xgroup_delconsumer( 'st:s', 'g1', 'carl' ) ), 1, 'XGROUP DELCONSUMER: its pending count' );
};

subtest 'XINFO' => sub {
    my %info = @{ run( $redis->xinfo_stream('st:s') ) };
    is( $info{length}, 3, 'XINFO STREAM length' );
    is( $info{groups}, 1, 'groups' );
    is( $info{'first-entry'}, [ '1-1', [qw( name ann age 30 )] ], 'first-entry' );
    my %full = @{ run( $redis->xinfo_stream( 'st:s', 'FULL' ) ) };
    is( scalar @{ $full{entries} }, 3, 'XINFO STREAM FULL entries' );
    my $groups = run( $redis->xinfo_groups('st:s') );
    is( scalar @$groups, 1, 'XINFO GROUPS: one group' );
    my %g = @{ $groups->[0] };
    is( $g{name}, 'g1', 'its name' );
    my %c = map { @$_ } run( $redis->xinfo_consumers( 'st:s', 'g1' ) )->[0];
    ok( exists $c{name}, 'XINFO CONSUMERS' );
};

subtest 'XDEL, XTRIM, XSETID, XGROUP DESTROY' => sub {
    is( run( $redis->xdel( 'st:s', '1-1', '7-7' ) ), 1, 'XDEL: one deleted' );
    is( run( $redis->xlen('st:s') ), 2, 'XLEN 2' );
    is( run( $redis->xtrim( 'st:s', 'MAXLEN', 1 ) ), 1, 'XTRIM MAXLEN 1' );
    is( run( $redis->xlen('st:s') ), 1, 'XLEN 1' );
    is( run( $redis->xsetid( 'st:t', '99-0' ) ), 'OK', 'XSETID' );
    my ($ms) = run( $redis->xadd( 'st:t', '*', z => 1 ) ) =~ /\A(\d+)-/;
    ok( $ms >= 99, "later ids are above it ($ms-...)" );
    is( run( $redis->xgroup_destroy( 'st:s', 'g1' ) ), 1, 'XGROUP DESTROY' );
    is( run( $redis->xinfo_groups('st:s') ), [], 'no groups left' );
    is( run( $redis->xlen('st:nope') ), 0, 'XLEN of a missing key: 0' );
    run( $redis->set( 'st:str', 'x' ) );
    is( error_of( $redis->xlen('st:str') )->code, 'WRONGTYPE', 'XLEN of a string: WRONGTYPE' );
};

done_testing;

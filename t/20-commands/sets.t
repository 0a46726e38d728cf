# Set commands against a real redis-server, with exact replies (members sorted before comparing:
# sets have no order).
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->command('FLUSHALL') );

sub sorted { [ sort @{ $_[0] } ] }

subtest 'SADD, SMEMBERS, SCARD, SISMEMBER, SMISMEMBER' => sub {
    is( run( $redis->sadd( 'set:a', qw( x y z ) ) ), 3, 'SADD three new: 3' );
    is( run( $redis->sadd( 'set:a', qw( z w ) ) ), 1, 'SADD one existing, one new: 1' );
    is( run( $redis->sadd( 'set:a', 'x' ) ), 0, 'SADD an existing member: 0' );
    my $m = run( $redis->smembers('set:a') );
    is( ref $m, 'ARRAY', 'SMEMBERS is an array' );
    is( sorted($m), [qw( w x y z )], 'SMEMBERS' );
    is( run( $redis->smembers('set:missing') ), [], 'SMEMBERS of a missing key: []' );
    is( run( $redis->scard('set:a') ), 4, 'SCARD' );
    is( run( $redis->sismember( 'set:a', 'y' ) ), 1, 'SISMEMBER member: 1' );
    is( run( $redis->sismember( 'set:a', 'q' ) ), 0, 'SISMEMBER non-member: 0' );
    is( run( $redis->smismember( 'set:a', qw( q x w ) ) ), [ 0, 1, 1 ], 'SMISMEMBER' );
    is( [ sort $srv->cli( 'SMEMBERS', 'set:a' ) ], [qw( w x y z )], 'the server has it' );
};

subtest 'SINTER, SUNION, SDIFF and the STORE variants' => sub {
    run( $redis->sadd( 'set:b', qw( y z 1 2 ) ) );
    is( sorted( run( $redis->sinter( 'set:a', 'set:b' ) ) ), [qw( y z )], 'SINTER' );
    is( sorted( run( $redis->sunion( 'set:a', 'set:b' ) ) ), [qw( 1 2 w x y z )], 'SUNION' );
    is( sorted( run( $redis->sdiff( 'set:a', 'set:b' ) ) ), [qw( w x )], 'SDIFF' );
    is( run( $redis->sinter( 'set:a', 'set:missing' ) ), [], 'SINTER with a missing key: []' );
    is( run( $redis->sinterstore( 'set:i', 'set:a', 'set:b' ) ), 2, 'SINTERSTORE: 2' );
    is( sorted( run( $redis->smembers('set:i') ) ), [qw( y z )], 'stored intersection' );
    is( run( $redis->sunionstore( 'set:u', 'set:a', 'set:b' ) ), 6, 'SUNIONSTORE: 6' );
    is( run( $redis->sdiffstore( 'set:d', 'set:b', 'set:a' ) ), 2, 'SDIFFSTORE: 2' );
    is( sorted( run( $redis->smembers('set:d') ) ), [qw( 1 2 )], 'stored difference' );
};

subtest 'SREM, SMOVE, SPOP, SRANDMEMBER' => sub {
    is( run( $redis->srem( 'set:u', qw( 1 2 nope ) ) ), 2, 'SREM two members, one non-member: 2' );
    is( sorted( run( $redis->smembers('set:u') ) ), [qw( w x y z )], 'members after SREM' );
    is( run( $redis->smove( 'set:u', 'set:moved', 'w' ) ), 1, 'SMOVE: 1' );
    is( run( $redis->smove( 'set:u', 'set:moved', 'nope' ) ), 0, 'SMOVE of a non-member: 0' );
    is( run( $redis->smembers('set:moved') ), ['w'], 'moved' );

    my $one = run( $redis->spop('set:u') );
    ok( ( grep { $_ eq $one } qw( x y z ) ), "SPOP returns a member ($one)" );
    is( run( $redis->scard('set:u') ), 2, 'and removes it' );
    my $two = run( $redis->spop( 'set:u', 5 ) );
    is( ref $two, 'ARRAY', 'SPOP with a count is an array' );
    is( scalar @$two, 2, 'of the 2 remaining members' );
    is( run( $redis->spop('set:u') ), undef, 'SPOP of an empty set: undef' );

    run( $redis->sadd( 'set:r', 1 .. 10 ) );
    my $r = run( $redis->srandmember('set:r') );
    ok( $r >= 1 && $r <= 10, "SRANDMEMBER returns a member ($r)" );
    my $rs = run( $redis->srandmember( 'set:r', 3 ) );
    is( scalar @$rs, 3, 'SRANDMEMBER 3: three members' );
    my %u = map { $_ => 1 } @$rs;
    is( scalar keys %u, 3, 'distinct' );
    is( run( $redis->scard('set:r') ), 10, 'SRANDMEMBER removes nothing' );
};

subtest 'binary and numeric members' => sub {
    my @members = ( "a\0b", "\r\n", "\xff\xfe", '0', '', '-1.5' );
    is( run( $redis->sadd( 'set:bin', @members ) ), 6, 'SADD six unusual members' );
    is( sorted( run( $redis->smembers('set:bin') ) ), [ sort @members ], 'SMEMBERS returns them exactly' );
    is( run( $redis->sismember( 'set:bin', "a\0b" ) ), 1, 'SISMEMBER with a NUL byte' );
    is( run( $redis->sismember( 'set:bin', 'a' ) ), 0, 'not a prefix match' );
};

subtest 'WRONGTYPE' => sub {
    run( $redis->rpush( 'set:list', 'x' ) );
    my $err = error_of( $redis->sadd( 'set:list', 'x' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'SADD on a list' );
    is( $err && $err->code, 'WRONGTYPE', 'code' );
    $err = error_of( $redis->sinter( 'set:a', 'set:list' ) );
    is( $err && $err->code, 'WRONGTYPE', 'SINTER with a list' );
};

subtest 'SSCAN via command()' => sub {
    run( $redis->sadd( 'set:scan', map { "m$_" } 1 .. 300 ) );
    my ( $cursor, %seen, $calls ) = (0);
    do {
        my ( $next, $batch ) = @{ run( $redis->command( 'SSCAN', 'set:scan', $cursor, 'COUNT', 50 ) ) };
        $cursor = $next;
        $seen{$_}++ for @$batch;
        $calls++;
    } while ( $cursor ne '0' && $calls < 1000 );
    is( [ sort keys %seen ], [ sort map { "m$_" } 1 .. 300 ], 'SSCAN visits every member' );
    ok( $calls > 1, "in several calls ($calls)" );
};

done_testing;

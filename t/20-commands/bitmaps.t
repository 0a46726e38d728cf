# Bitmap commands through the generated methods, with exact replies.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->flushall );

subtest 'SETBIT, GETBIT' => sub {
    is( run( $redis->setbit( 'bm:a', 7, 1 ) ), 0, 'SETBIT returns the old bit (0)' );
    is( run( $redis->setbit( 'bm:a', 7, 1 ) ), 1, 'again: 1' );
    is( run( $redis->getbit( 'bm:a', 7 ) ), 1, 'GETBIT 7' );
    is( run( $redis->getbit( 'bm:a', 6 ) ), 0, 'GETBIT 6' );
    is( run( $redis->getbit( 'bm:a', 1000 ) ), 0, 'GETBIT past the end: 0' );
    is( run( $redis->get('bm:a') ), "\x01", 'the string is one byte 0x01' );
    is( run( $redis->setbit( 'bm:a', 7, 0 ) ), 1, 'SETBIT 0 returns 1' );
    like( error_of( $redis->setbit( 'bm:a', 0, 2 ) )->message, qr/bit is not an integer or out of range/, 'SETBIT 2 fails' );
};

subtest 'BITCOUNT, BITPOS' => sub {
    run( $redis->set( 'bm:s', 'foobar' ) );
    is( run( $redis->bitcount('bm:s') ), 26, 'BITCOUNT' );
    is( run( $redis->bitcount( 'bm:s', 0, 0 ) ), 4, 'BITCOUNT 0 0' );
    is( run( $redis->bitcount( 'bm:s', 1, 1 ) ), 6, 'BITCOUNT 1 1' );
    is( run( $redis->bitcount( 'bm:s', 5, 30, 'BIT' ) ), 17, 'BITCOUNT 5 30 BIT' );
    is( run( $redis->bitcount('bm:missing') ), 0, 'BITCOUNT of a missing key: 0' );
    run( $redis->set( 'bm:p', "\xff\xf0\x00" ) );
    is( run( $redis->bitpos( 'bm:p', 0 ) ), 12, 'BITPOS 0' );
    is( run( $redis->bitpos( 'bm:p', 1, 2 ) ), -1, 'BITPOS 1 from byte 2: -1' );
    is( run( $redis->bitpos( 'bm:p', 1, 7, 15, 'BIT' ) ), 7, 'BITPOS 1 7 15 BIT' );
};

subtest 'BITOP' => sub {
    run( $redis->set( 'bm:x', "\xf0" ) );
    run( $redis->set( 'bm:y', "\x3c" ) );
    is( run( $redis->bitop( 'AND', 'bm:and', 'bm:x', 'bm:y' ) ), 1, 'BITOP AND: length 1' );
    is( run( $redis->get('bm:and') ), "\x30", 'AND' );
    run( $redis->bitop( 'OR', 'bm:or', 'bm:x', 'bm:y' ) );
    is( run( $redis->get('bm:or') ), "\xfc", 'OR' );
    run( $redis->bitop( 'XOR', 'bm:xor', 'bm:x', 'bm:y' ) );
    is( run( $redis->get('bm:xor') ), "\xcc", 'XOR' );
    run( $redis->bitop( 'NOT', 'bm:not', 'bm:x' ) );
    is( run( $redis->get('bm:not') ), "\x0f", 'NOT' );
    like( error_of( $redis->bitop( 'NOT', 'bm:not', 'bm:x', 'bm:y' ) )->message, qr/BITOP NOT must be called with a single source key/,
        'NOT with two sources fails' );
};

subtest 'BITFIELD, BITFIELD_RO' => sub {
    is( run( $redis->bitfield( 'bm:f', 'SET', 'u8', 0, 200, 'GET', 'u8', 0 ) ), [ 0, 200 ], 'BITFIELD SET u8 ... GET u8' );
    is( run( $redis->bitfield( 'bm:f', 'INCRBY', 'u8', 0, 100 ) ), [44], 'INCRBY wraps by default' );
    is( run( $redis->bitfield( 'bm:f', 'OVERFLOW', 'SAT', 'INCRBY', 'u8', 0, 250 ) ), [255], 'OVERFLOW SAT' );
    is( run( $redis->bitfield( 'bm:f', 'OVERFLOW', 'FAIL', 'INCRBY', 'u8', 0, 1 ) ), [undef], 'OVERFLOW FAIL: nil' );
    is( run( $redis->bitfield( 'bm:f', 'SET', 'i8', '#1', -5 ) ), [0], 'SET i8 #1 (signed, positional)' );
    is( run( $redis->bitfield_ro( 'bm:f', 'GET', 'u8', 0, 'GET', 'i8', 8 ) ), [ 255, -5 ], 'BITFIELD_RO GET u8 0 GET i8 8' );
    like( error_of( $redis->bitfield_ro( 'bm:f', 'SET', 'u8', 0, 1 ) )->message, qr/BITFIELD_RO only supports the GET subcommand/,
        'BITFIELD_RO refuses SET' );
};

done_testing;

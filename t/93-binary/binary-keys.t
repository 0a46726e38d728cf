# Binary keys (design section 14: keys follow the same rules as values): NUL bytes, CR/LF, every
# byte value, checked against the server's own view of the key names.
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

subtest 'the design example: pack("C*", 0x00, 0x01, 0xFF, 0xFE) as key and value' => sub {
    my $binary = pack( 'C*', 0x00, 0x01, 0xFF, 0xFE );
    is( run( $redis->set( $binary, $binary ) ), 'OK', 'SET' );
    my $value = run( $redis->get($binary) );
    ok( $value eq $binary, 'GET with the binary key returns the binary value' );
    is( length $value, 4, 'four bytes' );
    is( run( $redis->strlen($binary) ), 4, 'STRLEN 4' );
    is( run( $redis->exists( pack( 'C*', 0x00, 0x01, 0xFF ) ) ), 0, 'a prefix of the key is another key' );
    is( run( $redis->keys('*') ), [$binary], 'KEYS * returns the key byte for byte' );
    is( run( $redis->del($binary) ), 1, 'DEL' );
};

subtest 'keys with NUL, CR, LF, spaces and RESP syntax inside' => sub {
    my @keys = (
        "a\0b", "\0", "\0\0\0", "line1\r\nline2", "\r\n", "\n", "\r", "with space", "  ",
        "*3\r\n\$3\r\nSET\r\n", "-ERR not an error", "+OK", ":1", "\$-1", "tab\there",
    );
    my $i = 0;
    run( $redis->set( $_, 'v' . $i++ ) ) for @keys;
    $i = 0;
    for my $k (@keys) {
        ( my $shown = $k ) =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
        is( run( $redis->get($k) ), 'v' . $i++, "GET \"$shown\"" );
    }
    is( [ sort @{ run( $redis->keys('*') ) } ], [ sort @keys ], 'KEYS * lists each key exactly' );
    is( run( $redis->dbsize ), scalar @keys, 'DBSIZE: no key was split or merged' );
    is( run( $redis->exists(@keys) ), scalar @keys, 'EXISTS of all of them in one command' );
    is( run( $redis->del(@keys) ), scalar @keys, 'DEL all' );
};

subtest 'all 256 single-byte keys' => sub {
    my @keys = map { chr } 0 .. 255;
    my $pipe = $redis->pipeline;
    $pipe->set( $keys[$_], $_ ) for 0 .. 255;
    is( run( $pipe->execute ), [ ('OK') x 256 ], '256 SETs' );
    is( run( $redis->dbsize ), 256, '256 distinct keys on the server' );
    is( run( $redis->mget(@keys) ), [ 0 .. 255 ], 'MGET of the 256 keys: each its own value' );
    my $listed = run( $redis->keys('*') );
    is( [ sort { $a cmp $b } @$listed ], [ sort { $a cmp $b } @keys ], 'KEYS * returns the 256 bytes' );
    ok( !( grep { utf8::is_utf8($_) } @$listed ), 'as byte strings' );
    run( $redis->command('FLUSHDB') );
};

subtest 'a key of all 256 byte values, in hashes, lists, sets and sorted sets' => sub {
    my $k = join '', map { chr } 0 .. 255;
    run( $redis->hset( $k, $k, $k ) );
    is( run( $redis->hgetall($k) ), { $k => $k }, 'hash: binary key, field and value' );
    is( run( $redis->type($k) ), 'hash', 'TYPE' );
    run( $redis->rename( $k, "$k-renamed" ) );
    is( run( $redis->hget( "$k-renamed", $k ) ), $k, 'RENAME keeps it exact' );

    run( $redis->rpush( "L$k", $k, "\0" ) );
    is( run( $redis->lrange( "L$k", 0, -1 ) ), [ $k, "\0" ], 'list' );
    run( $redis->sadd( "S$k", $k, "\0", "\xff" ) );
    is( [ sort @{ run( $redis->smembers("S$k") ) } ], [ sort $k, "\0", "\xff" ], 'set' );
    run( $redis->zadd( "Z$k", 1, $k, 2, "\r\n" ) );
    is( run( $redis->zrange( "Z$k", 0, -1, 'WITHSCORES' ) ), [ $k, '1', "\r\n", '2' ], 'sorted set' );
    is( run( $redis->zscore( "Z$k", $k ) ), '1', 'ZSCORE with a binary member' );
};

subtest 'binary keys through SCAN MATCH and in a pipeline' => sub {
    run( $redis->command('FLUSHDB') );
    my @keys = map { "bin:\0\xff:$_" } 1 .. 30;
    run( $redis->mset( map { ( $_ => 1 ) } @keys ) );
    run( $redis->set( 'other', 1 ) );
    my ( $cursor, %seen ) = (0);
    do {
        my ( $next, $batch ) = @{ run( $redis->command( 'SCAN', $cursor, 'MATCH', "bin:\0\xff:*", 'COUNT', 7 ) ) };
        $cursor = $next;
        $seen{$_}++ for @$batch;
    } while ( $cursor ne '0' );
    is( [ sort keys %seen ], [ sort @keys ], 'SCAN MATCH with a binary pattern' );

    my $pipe = $redis->pipeline;
    $pipe->get($_) for @keys;
    $pipe->exists(@keys);
    is( run( $pipe->execute ), [ ('1') x 30, 30 ], 'binary keys in a pipeline' );
};

subtest 'the server sees the same bytes (checked with redis-cli)' => sub {
    run( $redis->set( "cli\0key", 'via-nul-key' ) );
    run( $redis->set( "cli\xffkey", 'via-ff-key' ) );
    my @listed = $srv->cli( '--no-raw', 'KEYS', 'cli*' );
    my $joined = join "\n", @listed;
    like( $joined, qr/"cli\\x00key"/, 'redis-cli shows the key with a NUL byte' );
    like( $joined, qr/"cli\\xffkey"/, 'redis-cli shows the key with a 0xFF byte' );
};

done_testing;

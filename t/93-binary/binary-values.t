# Binary values (design section 14): NUL bytes, every byte value, CR/LF and RESP-looking content
# round-trip exactly; replies are byte strings.
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

my $ALL = join '', map { chr } 0 .. 255;

sub hexdump { join ' ', map { sprintf '%02x', ord } split //, substr( $_[0], 0, 32 ) }

subtest 'null bytes' => sub {
    for my $v ( "\0", "\0\0\0\0", "a\0b", "\0leading", "trailing\0", "\0" x 1000 ) {
        run( $redis->set( 'bv:nul', $v ) );
        my $got = run( $redis->get('bv:nul') );
        ok( $got eq $v, 'round-trip of ' . length($v) . ' bytes with NULs' ) or diag hexdump($got);
        is( run( $redis->strlen('bv:nul') ), length $v, 'STRLEN agrees' );
    }
};

subtest 'all 256 byte values' => sub {
    is( length $ALL, 256, 'the test string has 256 bytes' );
    run( $redis->set( 'bv:all', $ALL ) );
    my $got = run( $redis->get('bv:all') );
    is( length $got, 256, '256 bytes back' );
    ok( $got eq $ALL, 'identical, byte for byte' ) or diag hexdump($got);
    ok( !utf8::is_utf8($got), 'a byte string' );
    is( run( $redis->strlen('bv:all') ), 256, 'STRLEN 256 on the server' );
    is( run( $redis->getrange( 'bv:all', 250, 255 ) ), "\xfa\xfb\xfc\xfd\xfe\xff", 'GETRANGE of the high bytes' );
    is( run( $redis->getrange( 'bv:all', 0, 3 ) ), "\0\1\2\3", 'GETRANGE of the low bytes' );

    my $rev = reverse $ALL;
    run( $redis->set( 'bv:rev', $rev ) );
    ok( run( $redis->get('bv:rev') ) eq $rev, 'reversed order too' );

    my @singles = map { chr } 0 .. 255;
    my $pipe = $redis->pipeline;
    $pipe->set( "bv:b$_", $singles[$_] ) for 0 .. 255;
    $pipe->mget( map { "bv:b$_" } 0 .. 255 );
    my $r = run( $pipe->execute );
    is( $r->[256], \@singles, 'each single byte as its own value' );
};

subtest 'CR, LF and RESP syntax inside values' => sub {
    for my $v (
        "\r\n", "\r", "\n", "\r\n\r\n", "a\r\nb", "+OK\r\n", "-ERR fake\r\n", ":42\r\n",
        "\$5\r\nhello\r\n", "*2\r\n\$1\r\na\r\n\$1\r\nb\r\n", "\$-1\r\n", "ends with CR\r",
    ) {
        run( $redis->set( 'bv:resp', $v ) );
        ( my $shown = $v ) =~ s/\r/\\r/g;
        $shown =~ s/\n/\\n/g;
        is( run( $redis->get('bv:resp') ), $v, "round-trip of \"$shown\"" );
    }
    is( run( $redis->echo("x\r\n-ERR y\r\n") ), "x\r\n-ERR y\r\n", 'ECHO of an error-looking payload is a reply, not an error' );
};

subtest 'binary values in every data type' => sub {
    run( $redis->hset( 'bv:h', 'all', $ALL, "\0", "\0\r\n" ) );
    is( run( $redis->hgetall('bv:h') ), { all => $ALL, "\0" => "\0\r\n" }, 'hash' );
    run( $redis->rpush( 'bv:l', $ALL, "\0", '' ) );
    is( run( $redis->lrange( 'bv:l', 0, -1 ) ), [ $ALL, "\0", '' ], 'list' );
    is( run( $redis->blpop( 'bv:l', 1 ) ), [ 'bv:l', $ALL ], 'BLPOP' );
    run( $redis->sadd( 'bv:s', $ALL, "\xff" ) );
    is( run( $redis->sismember( 'bv:s', $ALL ) ), 1, 'set member' );
    run( $redis->zadd( 'bv:z', 1, $ALL ) );
    is( run( $redis->zrange( 'bv:z', 0, -1 ) ), [$ALL], 'sorted set member' );
    run( $redis->command( 'XADD', 'bv:x', '1-1', "f\0", $ALL ) );
    is( run( $redis->command( 'XRANGE', 'bv:x', '-', '+' ) ), [ [ '1-1', [ "f\0", $ALL ] ] ], 'stream entry' );
};

subtest 'APPEND and SETRANGE keep binary content' => sub {
    run( $redis->set( 'bv:app', "\0\1" ) );
    is( run( $redis->append( 'bv:app', "\xfe\xff" ) ), 4, 'APPEND' );
    is( run( $redis->get('bv:app') ), "\0\1\xfe\xff", 'value' );
    run( $redis->setrange( 'bv:app', 1, "\r\n" ) );
    is( run( $redis->get('bv:app') ), "\0\r\n\xff", 'SETRANGE' );
};

subtest 'a binary value through Lua (EVAL) and DUMP / RESTORE' => sub {
    my $got = run( $redis->eval( 'return ARGV[1]', 0, $ALL ) );
    ok( $got eq $ALL, 'EVAL returns the 256 bytes' );
    my $blob = run( $redis->dump('bv:all') );
    ok( length $blob > 256, 'DUMP is binary' );
    run( $redis->command( 'RESTORE', 'bv:restored', 0, $blob ) );
    ok( run( $redis->get('bv:restored') ) eq $ALL, 'RESTORE of the DUMP gives the value back' );
};

subtest 'numbers and numeric-looking strings are sent as their string form' => sub {
    for my $v ( 0, 1, -1, 3.25, 1e20, '007', '1e3', ' 5', '0x1F', '-0' ) {
        run( $redis->set( 'bv:num', $v ) );
        is( run( $redis->get('bv:num') ), "$v", "'$v'" );
    }
};

done_testing;

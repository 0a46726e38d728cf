# Large values round-trip exactly: 1 MB and 20 MB, binary content, several in flight at once, and
# small commands on the same connection around a large one.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Digest::MD5 qw(md5_hex);
use Time::HiRes qw(time);

my $srv   = start_server();
my $redis = client( $srv, request_timeout => 60 );
run( $redis->command('FLUSHALL') );

my $MB = 1024 * 1024;

# A value with every byte value and no short period, so that a dropped or repeated chunk shows.
sub pattern {
    my ($len) = @_;
    my $block = join '', map { pack 'N', $_ * 2654435761 % 4294967296 } 0 .. 16383;    # 64 KiB
    my $v = $block x int( $len / length $block );
    $v .= substr( $block, 0, $len - length $v );
    substr( $v, $_ * 65536, 8, pack( 'NN', $_, ~$_ & 0xffffffff ) ) for 0 .. int( $len / 65536 ) - 1;
    return $v;
}

subtest '1 MB value round-trips exactly' => sub {
    my $v = pattern($MB);
    is( length $v, $MB, 'the value is 1 MB' );
    is( run( $redis->set( 'lv:1mb', $v ) ), 'OK', 'SET 1 MB' );
    is( run( $redis->strlen('lv:1mb') ), $MB, 'STRLEN on the server' );
    my $got = run( $redis->get('lv:1mb') );
    is( length $got, $MB, 'GET returns 1 MB' );
    is( md5_hex($got), md5_hex($v), 'identical content (md5)' );
    ok( $got eq $v, 'identical content (eq)' );
    is( run( $redis->getrange( 'lv:1mb', 65536 * 7, 65536 * 7 + 7 ) ), pack( 'NN', 7, ~7 & 0xffffffff ),
        'a marker in the middle is where it should be' );
};

subtest '20 MB value round-trips exactly' => sub {
    my $v  = pattern( 20 * $MB );
    my $t0 = time;
    is( run( $redis->set( 'lv:20mb', $v ), 120 ), 'OK', 'SET 20 MB' );
    is( run( $redis->strlen('lv:20mb') ), 20 * $MB, 'STRLEN on the server: 20 MB' );
    my $got = run( $redis->get('lv:20mb'), 120 );
    is( length $got, 20 * $MB, 'GET returns 20 MB' );
    is( md5_hex($got), md5_hex($v), 'identical content (md5)' );
    ok( !utf8::is_utf8($got), 'as bytes' );
    ok( time - $t0 < 60, sprintf( 'within a generous bound (%.2f s)', time - $t0 ) );
    is( run( $redis->command( 'DEBUG', 'DIGEST-VALUE', 'lv:20mb' ) ) && 1, 1, 'the server has a digest for it' );
    run( $redis->set( 'lv:20mb:copy', $got ) );
    is( run( $redis->command( 'DEBUG', 'DIGEST-VALUE', 'lv:20mb:copy' ) ),
        run( $redis->command( 'DEBUG', 'DIGEST-VALUE', 'lv:20mb' ) ),
        'writing it back gives the same server-side digest' );
    run( $redis->del( 'lv:20mb', 'lv:20mb:copy' ) );
};

subtest 'a large value made of one repeated byte, and of NULs' => sub {
    for my $byte ( "\0", "\xff", "\r", "\n" ) {
        my $v = $byte x ( 3 * $MB );
        run( $redis->set( 'lv:rep', $v ) );
        my $got = run( $redis->get('lv:rep') );
        ok( $got eq $v, sprintf( '3 MB of 0x%02x', ord $byte ) );
    }
};

subtest 'small commands before and after a large one on the same connection' => sub {
    my $v  = pattern( 8 * $MB );
    my @f  = (
        $redis->echo('before'),
        $redis->set( 'lv:mid', $v ),
        $redis->echo('between'),
        $redis->get('lv:mid'),
        $redis->echo('after'),
    );
    my @r = run( Future->needs_all(@f), 120 );
    is( $r[0], 'before',  'small command before' );
    is( $r[1], 'OK',      'large SET' );
    is( $r[2], 'between', 'small command between' );
    ok( $r[3] eq $v, 'large GET exact' );
    is( $r[4], 'after', 'small command after' );
};

subtest 'several large values in flight at once, on two clients' => sub {
    my $other = client( $srv, request_timeout => 60 );
    my @vals  = map { pattern( 2 * $MB ) . "-tail-$_" } 1 .. 6;
    my @sets  = map { ( $_ % 2 ? $redis : $other )->set( "lv:multi:$_", $vals[$_] ) } 0 .. 5;
    is( [ run( Future->needs_all(@sets), 120 ) ], [ ('OK') x 6 ], 'six 2 MB SETs' );
    my @gets = map { ( $_ % 2 ? $other : $redis )->get("lv:multi:$_") } 0 .. 5;
    my @got  = run( Future->needs_all(@gets), 120 );
    my @bad  = grep { $got[$_] ne $vals[$_] } 0 .. 5;
    ok( !@bad, 'six 2 MB GETs exact, each its own value' ) or diag "mismatch: @bad";
    run( $other->disconnect );
};

subtest 'a large hash field, list element and MGET of large values' => sub {
    my $v = pattern( 4 * $MB );
    run( $redis->hset( 'lv:h', 'big', $v, 'small', 's' ) );
    my $h = run( $redis->hgetall('lv:h') );
    ok( $h->{big} eq $v && $h->{small} eq 's', 'HGETALL with a 4 MB field' );
    run( $redis->rpush( 'lv:l', 'a', $v, 'b' ) );
    my $l = run( $redis->lrange( 'lv:l', 0, -1 ) );
    ok( @$l == 3 && $l->[0] eq 'a' && $l->[1] eq $v && $l->[2] eq 'b', 'LRANGE with a 4 MB element' );
    run( $redis->mset( 'lv:m1', $v, 'lv:m2', scalar reverse $v ) );
    my $m = run( $redis->mget( 'lv:m1', 'lv:nope', 'lv:m2' ) );
    ok( $m->[0] eq $v && !defined $m->[1] && $m->[2] eq reverse($v), 'MGET of two 4 MB values and a missing key' );
};

subtest 'a UTF-8 character string of several MB' => sub {
    my $text = "\x{263A}\x{1F600}abc" x ( 300_000 );
    utf8::upgrade($text);
    run( $redis->set( 'lv:utf8', $text ) );
    my $want = $text;
    utf8::encode($want);
    is( run( $redis->strlen('lv:utf8') ), length $want, 'stored as its UTF-8 encoding (' . length($want) . ' bytes)' );
    ok( run( $redis->get('lv:utf8') ) eq $want, 'the same bytes come back' );
};

done_testing;

# A large bulk reply becomes a Perl string that owns the buffer it was read into (no copy out of
# it): such strings behave like any other. They can be changed, copied (the copies are
# independent), decoded, held many at once and freed; a large reply that arrives after others in
# the same read, and large elements of an array reply (copied as before), are exact too.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future;
use Digest::MD5 qw(md5_hex);

my $srv   = start_server();
my $redis = client( $srv, request_timeout => 60 );
run( $redis->command('FLUSHALL') );

# Every byte value, NULs included, no short period.
sub pattern {
    my ( $len, $seed ) = @_;
    my $block = join '', map { pack 'N', ( $_ + $seed ) * 2654435761 % 4294967296 } 0 .. 16383;
    my $v = $block x int( $len / length $block );
    return $v . substr( $block, 0, $len - length $v );
}

my $big = pattern( 1_000_000, 1 );
run( $redis->set( 'ls:big', $big ) );

subtest 'a large reply is an ordinary string: changed in place, appended to, matched' => sub {
    my $got = run( $redis->get('ls:big') );
    ok( $got eq $big, 'exact' );
    ok( !utf8::is_utf8($got), 'bytes' );
    substr( $got, 0, 4, 'HEAD' );
    is( substr( $got, 0, 8 ), 'HEAD' . substr( $big, 4, 4 ), 'substr replaces in place' );
    $got .= 'TAIL' x 1000;
    is( length $got, 1_000_000 + 4000, 'appending grows it' );
    is( substr( $got, -8 ), 'TAILTAIL', 'the appended end' );
    is( substr( $got, 4, 1_000_000 - 4 ), substr( $big, 4 ), 'the middle is untouched' );
    my $n = ( my $copy = run( $redis->get('ls:big') ) ) =~ s/\0/N/g;
    is( $n, ( $big =~ tr/\0// ), 'a substitution over every NUL' );
};

subtest 'copies of a large reply are independent of it and of each other' => sub {
    my $got = run( $redis->get('ls:big') );
    my @copies = ($got) x 3;
    my %h = ( k => $got );
    $copies[0] .= 'x';
    substr( $copies[1], 500_000, 3, 'abc' );
    $h{k} = reverse $h{k};
    ok( $got eq $big,                                  'the original is unchanged' );
    ok( $copies[2] eq $big,                            'an untouched copy is unchanged' );
    is( length $copies[0], 1_000_001,                  'an appended copy' );
    is( substr( $copies[1], 500_000, 3 ), 'abc',       'a changed copy' );
    ok( $h{k} eq scalar reverse($big),                 'a reversed copy' );
    undef $got;
    ok( $copies[2] eq $big, 'a copy outlives the original' );
};

subtest 'a large UTF-8 reply decodes' => sub {
    my $text = "\x{263A}\x{e9}abc" x 200_000;
    my $bytes = $text;
    utf8::encode($bytes);
    run( $redis->set( 'ls:utf8', $bytes ) );
    my $got = run( $redis->get('ls:utf8') );
    is( length $got, length $bytes, 'the encoded length' );
    ok( utf8::decode($got), 'decodes' );
    ok( $got eq $text, 'to the text that was stored' );
};

subtest 'large replies after small ones in the same read, and in arrays' => sub {
    my @vals = map { pattern( 300_000 + $_ * 1111, $_ ) } 1 .. 4;
    run( $redis->set( "ls:v$_", $vals[ $_ - 1 ] ) ) for 1 .. 4;
    # Pipelined: each large reply follows small ones in the read buffer.
    my @f;
    for my $i ( 1 .. 4 ) {
        push @f, $redis->set( "ls:s$i", "small$i" ), $redis->get("ls:s$i"), $redis->get("ls:v$i");
    }
    my @got = run( Future->needs_all(@f) );
    for my $i ( 1 .. 4 ) {
        is( $got[ 3 * $i - 2 ], "small$i", "small reply $i" );
        ok( $got[ 3 * $i - 1 ] eq $vals[ $i - 1 ], "large reply $i after it is exact" );
    }
    my $arr = run( $redis->mget( map {"ls:v$_"} 1 .. 4 ) );
    is( scalar @$arr, 4, 'MGET of four large values' );
    ok( $arr->[ $_ - 1 ] eq $vals[ $_ - 1 ], "array element $_ is exact" ) for 1 .. 4;
};

subtest 'many large replies held at once, then freed' => sub {
    my @held = map { run( $redis->get('ls:big') ) } 1 .. 20;
    is( scalar( grep { $_ eq $big } @held ), 20, 'twenty exact copies held at once' );
    is( md5_hex( $held[-1] ), md5_hex($big), 'the last one, by digest' );
    @held = ();
    for ( 1 .. 20 ) {
        my $v = run( $redis->get('ls:big') );
        length($v) == 1_000_000 or die 'short reply';
    }
    pass('held and freed one by one');
};

run( $redis->command('FLUSHALL') );
done_testing;

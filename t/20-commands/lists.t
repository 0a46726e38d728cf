# List commands against a real redis-server, with exact replies.
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

subtest 'LPUSH, RPUSH, LRANGE, LLEN' => sub {
    is( run( $redis->rpush( 'l:a', 'b', 'c' ) ), 2, 'RPUSH two: length 2' );
    is( run( $redis->lpush( 'l:a', 'a' ) ), 3, 'LPUSH one: length 3' );
    is( run( $redis->lpush( 'l:a', 'y', 'z' ) ), 5, 'LPUSH two: length 5 (pushed one after the other)' );
    is( run( $redis->lrange( 'l:a', 0, -1 ) ), [qw( z y a b c )], 'LRANGE 0 -1' );
    is( run( $redis->lrange( 'l:a', 1, 2 ) ), [qw( y a )], 'LRANGE 1 2' );
    is( run( $redis->lrange( 'l:a', -2, -1 ) ), [qw( b c )], 'LRANGE -2 -1' );
    is( run( $redis->lrange( 'l:a', 10, 20 ) ), [], 'LRANGE out of range: []' );
    is( run( $redis->lrange( 'l:missing', 0, -1 ) ), [], 'LRANGE of a missing key: []' );
    is( run( $redis->llen('l:a') ), 5, 'LLEN' );
    is( run( $redis->llen('l:missing') ), 0, 'LLEN of a missing key' );
    is( [ $srv->cli( 'LRANGE', 'l:a', 0, -1 ) ], [qw( z y a b c )], 'the server has it' );
    is( run( $redis->lpushx( 'l:missing', 'x' ) ), 0, 'LPUSHX on a missing key: 0' );
    is( run( $redis->rpushx( 'l:a', 'd' ) ), 6, 'RPUSHX on an existing list: 6' );
};

subtest 'LPOP, RPOP (with and without count)' => sub {
    run( $redis->rpush( 'l:pop', 1 .. 8 ) );
    is( run( $redis->lpop('l:pop') ), '1', 'LPOP: a string' );
    is( run( $redis->rpop('l:pop') ), '8', 'RPOP: a string' );
    is( run( $redis->lpop( 'l:pop', 2 ) ), [ '2', '3' ], 'LPOP with count 2: an array' );
    is( run( $redis->rpop( 'l:pop', 2 ) ), [ '7', '6' ], 'RPOP with count 2: an array, from the right' );
    is( run( $redis->lpop( 'l:pop', 10 ) ), [ '4', '5' ], 'LPOP with a count larger than the list' );
    is( run( $redis->exists('l:pop') ), 0, 'the emptied list is gone' );
    is( run( $redis->lpop('l:pop') ), undef, 'LPOP of a missing key: undef' );
    my @r = run( $redis->lpop( 'l:pop', 2 ) );
    is( \@r, [undef], 'LPOP with count of a missing key: a nil array (undef)' );
};

subtest 'LINDEX, LSET, LINSERT, LPOS' => sub {
    run( $redis->rpush( 'l:idx', qw( a b c b ) ) );
    is( run( $redis->lindex( 'l:idx', 0 ) ), 'a', 'LINDEX 0' );
    is( run( $redis->lindex( 'l:idx', -1 ) ), 'b', 'LINDEX -1' );
    is( run( $redis->lindex( 'l:idx', 99 ) ), undef, 'LINDEX out of range: undef' );
    is( run( $redis->lset( 'l:idx', 1, 'B' ) ), 'OK', 'LSET' );
    my $err = error_of( $redis->lset( 'l:idx', 99, 'x' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'LSET out of range' );
    is( $err && $err->message, 'ERR index out of range', 'message' );
    is( run( $redis->linsert( 'l:idx', 'BEFORE', 'c', 'bc' ) ), 5, 'LINSERT BEFORE: 5' );
    is( run( $redis->linsert( 'l:idx', 'AFTER', 'nope', 'x' ) ), -1, 'LINSERT with a missing pivot: -1' );
    is( run( $redis->lrange( 'l:idx', 0, -1 ) ), [qw( a B bc c b )], 'list after LSET / LINSERT' );
    is( run( $redis->lpos( 'l:idx', 'c' ) ), 3, 'LPOS' );
    is( run( $redis->lpos( 'l:idx', 'nope' ) ), undef, 'LPOS of a missing element: undef' );
    run( $redis->rpush( 'l:idx', 'c' ) );
    is( run( $redis->lpos( 'l:idx', 'c', 'COUNT', 0 ) ), [ 3, 5 ], 'LPOS COUNT 0: all positions' );
};

subtest 'LREM, LTRIM' => sub {
    run( $redis->rpush( 'l:rem', qw( x a x b x c x ) ) );
    is( run( $redis->lrem( 'l:rem', 2, 'x' ) ), 2, 'LREM 2 x: removes 2 from the head' );
    is( run( $redis->lrange( 'l:rem', 0, -1 ) ), [qw( a b x c x )], 'list' );
    is( run( $redis->lrem( 'l:rem', -1, 'x' ) ), 1, 'LREM -1 x: removes 1 from the tail' );
    is( run( $redis->lrange( 'l:rem', 0, -1 ) ), [qw( a b x c )], 'list' );
    is( run( $redis->lrem( 'l:rem', 0, 'x' ) ), 1, 'LREM 0 x: removes all the rest' );
    is( run( $redis->lrem( 'l:rem', 0, 'nope' ) ), 0, 'LREM of a missing element: 0' );
    is( run( $redis->ltrim( 'l:rem', 1, -1 ) ), 'OK', 'LTRIM' );
    is( run( $redis->lrange( 'l:rem', 0, -1 ) ), [qw( b c )], 'list after LTRIM' );
};

subtest 'RPOPLPUSH, LMOVE' => sub {
    run( $redis->rpush( 'l:src', qw( 1 2 3 ) ) );
    is( run( $redis->rpoplpush( 'l:src', 'l:dst' ) ), '3', 'RPOPLPUSH returns the element' );
    is( run( $redis->lmove( 'l:src', 'l:dst', 'LEFT', 'RIGHT' ) ), '1', 'LMOVE LEFT RIGHT' );
    is( run( $redis->lrange( 'l:src', 0, -1 ) ), ['2'], 'source' );
    is( run( $redis->lrange( 'l:dst', 0, -1 ) ), [ '3', '1' ], 'destination' );
    is( run( $redis->rpoplpush( 'l:empty', 'l:dst' ) ), undef, 'RPOPLPUSH from a missing list: undef' );
};

subtest 'WRONGTYPE' => sub {
    run( $redis->set( 'l:string', 'x' ) );
    for my $case ( [ lpush => 'l:string', 'a' ], [ lrange => 'l:string', 0, -1 ], [ llen => 'l:string' ] ) {
        my ( $m, @args ) = @$case;
        my $err = error_of( $redis->$m(@args) );
        isa_ok( $err, ['Future::IO::Redis::Error::Redis'], "$m on a string" );
        is( $err && $err->code, 'WRONGTYPE', 'code WRONGTYPE' );
    }
    is( run( $redis->get('l:string') ), 'x', 'the string is untouched' );
};

subtest 'a long list' => sub {
    my @items = map { "item-$_" } 1 .. 5000;
    is( run( $redis->rpush( 'l:long', @items ) ), 5000, 'RPUSH 5000 elements in one command' );
    is( run( $redis->lrange( 'l:long', 0, -1 ) ), \@items, 'LRANGE returns all 5000 in order' );
};

done_testing;

# Key-space commands against a real redis-server, with exact replies.
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

subtest 'DEL, UNLINK, EXISTS' => sub {
    run( $redis->mset( 'k:a', 1, 'k:b', 2, 'k:c', 3 ) );
    is( run( $redis->exists('k:a') ), 1, 'EXISTS one key: 1' );
    is( run( $redis->exists( 'k:a', 'k:b', 'k:nope' ) ), 2, 'EXISTS counts existing keys: 2' );
    is( run( $redis->exists( 'k:a', 'k:a' ) ), 2, 'EXISTS counts repeats' );
    is( run( $redis->del( 'k:a', 'k:nope' ) ), 1, 'DEL one existing, one missing: 1' );
    is( run( $redis->del('k:a') ), 0, 'DEL again: 0' );
    is( run( $redis->unlink( 'k:b', 'k:c' ) ), 2, 'UNLINK: 2' );
    is( run( $redis->exists( 'k:a', 'k:b', 'k:c' ) ), 0, 'all gone' );
    is( $srv->cli( 'EXISTS', 'k:b' ), '0', 'the server agrees' );
};

subtest 'EXPIRE, TTL, PTTL, PERSIST, PEXPIRE, EXPIREAT' => sub {
    run( $redis->set( 'k:ttl', 'v' ) );
    is( run( $redis->ttl('k:ttl') ), -1, 'TTL of a key without expiry: -1' );
    is( run( $redis->ttl('k:nope') ), -2, 'TTL of a missing key: -2' );
    is( run( $redis->pttl('k:nope') ), -2, 'PTTL of a missing key: -2' );
    is( run( $redis->expire( 'k:ttl', 100 ) ), 1, 'EXPIRE: 1' );
    my $ttl = run( $redis->ttl('k:ttl') );
    ok( $ttl > 90 && $ttl <= 100, "TTL is $ttl" );
    is( run( $redis->expire( 'k:nope', 100 ) ), 0, 'EXPIRE of a missing key: 0' );
    is( run( $redis->persist('k:ttl') ), 1, 'PERSIST: 1' );
    is( run( $redis->ttl('k:ttl') ), -1, 'no TTL any more' );
    is( run( $redis->persist('k:ttl') ), 0, 'PERSIST without a TTL: 0' );
    is( run( $redis->pexpire( 'k:ttl', 100_000 ) ), 1, 'PEXPIRE: 1' );
    my $pttl = run( $redis->pttl('k:ttl') );
    ok( $pttl > 90_000 && $pttl <= 100_000, "PTTL is $pttl" );
    is( run( $redis->expireat( 'k:ttl', time + 1000 ) ), 1, 'EXPIREAT: 1' );
    $ttl = run( $redis->ttl('k:ttl') );
    ok( $ttl > 990 && $ttl <= 1000, "TTL after EXPIREAT is $ttl" );
    is( run( $redis->expire( 'k:ttl', 100, 'GT' ) ), 0, 'EXPIRE ... GT with a smaller TTL: 0' );

    run( $redis->set( 'k:short', 'v', 'PX', 100 ) );
    ok( wait_until( sub { !run( $redis->exists('k:short') ) }, 5 ), 'a key with a 100 ms TTL expires' );
    is( run( $redis->get('k:short') ), undef, 'GET of the expired key: undef' );
};

subtest 'TYPE' => sub {
    run( $redis->set( 'k:t:string', 'v' ) );
    run( $redis->rpush( 'k:t:list', 'v' ) );
    run( $redis->sadd( 'k:t:set', 'v' ) );
    run( $redis->zadd( 'k:t:zset', 1, 'v' ) );
    run( $redis->hset( 'k:t:hash', 'f', 'v' ) );
    run( $redis->command( 'XADD', 'k:t:stream', '*', 'f', 'v' ) );
    for my $t (qw( string list set zset hash stream )) {
        is( run( $redis->type("k:t:$t") ), $t, "TYPE $t" );
    }
    is( run( $redis->type('k:nope') ), 'none', 'TYPE of a missing key: none' );
};

subtest 'RENAME, RENAMENX' => sub {
    run( $redis->set( 'k:old', 'value' ) );
    is( run( $redis->rename( 'k:old', 'k:new' ) ), 'OK', 'RENAME: OK' );
    is( run( $redis->get('k:new') ), 'value', 'the new name has the value' );
    is( run( $redis->exists('k:old') ), 0, 'the old name is gone' );
    my $err = error_of( $redis->rename( 'k:old', 'k:other' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'RENAME of a missing key' );
    is( $err->code,    'ERR',            'code' );
    is( $err->message, 'ERR no such key', 'message' );
    run( $redis->set( 'k:taken', 'x' ) );
    is( run( $redis->renamenx( 'k:new', 'k:taken' ) ), 0, 'RENAMENX onto an existing key: 0' );
    is( run( $redis->renamenx( 'k:new', 'k:free' ) ), 1, 'RENAMENX onto a free name: 1' );
    is( run( $redis->get('k:free') ), 'value', 'moved' );
};

subtest 'KEYS, SCAN via command(), RANDOMKEY' => sub {
    run( $redis->command('FLUSHDB') );
    is( run( $redis->randomkey ), undef, 'RANDOMKEY of an empty database: undef' );
    run( $redis->mset( map { ( "k:scan:$_" => $_ ) } 1 .. 200 ) );
    run( $redis->mset( 'other:1', 1, 'other:2', 2 ) );

    is( [ sort @{ run( $redis->keys('other:*') ) } ], [ 'other:1', 'other:2' ], 'KEYS other:*' );
    is( run( $redis->keys('nothing:*') ), [], 'KEYS with no match: []' );
    like( run( $redis->randomkey ), qr/\A(?:k:scan:\d+|other:\d)\z/, 'RANDOMKEY returns a key' );

    my $first = run( $redis->command( 'SCAN', 0 ) );
    is( ref $first, 'ARRAY', 'SCAN replies with an array' );
    is( scalar @$first, 2, 'of two elements' );
    like( $first->[0], qr/\A\d+\z/, 'the cursor is a string of digits' );
    is( ref $first->[1], 'ARRAY', 'the keys are an array' );

    my ( $cursor, %seen, $calls ) = (0);
    do {
        my ( $next, $keys ) = @{ run( $redis->command( 'SCAN', $cursor, 'MATCH', 'k:scan:*', 'COUNT', 25 ) ) };
        $cursor = $next;
        $seen{$_}++ for @$keys;
        $calls++;
    } while ( $cursor ne '0' && $calls < 10_000 );
    is( [ sort keys %seen ], [ sort map { "k:scan:$_" } 1 .. 200 ], 'SCAN MATCH visits every matching key' );
    ok( $calls > 1, "in several calls ($calls)" );

    my ( $c2, %typed ) = (0);
    do {
        my ( $next, $keys ) = @{ run( $redis->command( 'SCAN', $c2, 'TYPE', 'string', 'MATCH', 'other:*' ) ) };
        $c2 = $next;
        $typed{$_}++ for @$keys;
    } while ( $c2 ne '0' );
    is( [ sort keys %typed ], [ 'other:1', 'other:2' ], 'SCAN TYPE string MATCH other:*' );
};

subtest 'DUMP, and RESTORE via command()' => sub {
    run( $redis->rpush( 'k:dump', qw( a b c ) ) );
    my $blob = run( $redis->dump('k:dump') );
    ok( length $blob > 0, 'DUMP returns a (binary) serialisation' );
    is( run( $redis->dump('k:nope') ), undef, 'DUMP of a missing key: undef' );
    is( run( $redis->command( 'RESTORE', 'k:restored', 0, $blob ) ), 'OK', 'RESTORE of the binary blob' );
    is( run( $redis->lrange( 'k:restored', 0, -1 ) ), [qw( a b c )], 'restored exactly' );
    my $err = error_of( $redis->command( 'RESTORE', 'k:restored', 0, $blob ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'RESTORE onto an existing key' );
    is( $err && $err->code, 'BUSYKEY', 'code BUSYKEY' );
};

subtest 'SELECT isolates databases (on a dedicated client)' => sub {
    my $c = client($srv);
    is( run( $c->select(3) ), 'OK', 'SELECT 3' );
    run( $c->set( 'k:db', 'three' ) );
    is( run( $c->get('k:db') ), 'three', 'visible in db 3' );
    is( run( $redis->get('k:db') ), undef, 'not in db 0' );
    is( $srv->cli( '-n', 3, 'GET', 'k:db' ), 'three', 'the server has it in db 3' );
    run( $c->disconnect );
};

done_testing;

#!/usr/bin/env perl
# Caching with time-to-live: cache-aside (look in Redis, compute on a miss, store with an
# expiry), a sliding expiry with GETEX, and SET NX as a lock so that only one caller computes a
# missing value while the others wait for it.
#   perl examples/cache.pl [redis://host:port]      (default: $REDIS_URL, else redis://127.0.0.1:6379)
use v5.14;
use warnings;
use Future::AsyncAwait;
use Future::IO;
use Future::IO::Redis;

my $uri   = $ARGV[0] // $ENV{REDIS_URL} // 'redis://127.0.0.1:6379';
my $redis = Future::IO::Redis->new( uri => $uri, prefix => "fior-example:cache:$$:" );

my $computed = 0;
my $expensive = async sub {    # stands for a slow database query
    my ($id) = @_;
    await Future::IO->sleep(0.05);
    $computed++;
    return "profile of user $id";
};

# The value under $key, computed by $compute and kept for $ttl_ms milliseconds on a miss.
my $cached = async sub {
    my ( $key, $ttl_ms, $compute ) = @_;
    my $value = await $redis->get($key);
    return ( $value, 'hit' ) if defined $value;
    $value = await $compute->();
    await $redis->set( $key, $value, PX => $ttl_ms );
    return ( $value, 'miss' );
};

# Only one caller computes a missing value: the one that gets the lock; the others poll for it.
my $cached_once = async sub {
    my ( $key, $ttl_ms, $compute ) = @_;
    while (1) {
        my $value = await $redis->get($key);
        return $value if defined $value;
        if ( await $redis->set( "$key:lock", 1, NX => PX => 5000 ) ) {
            # Another caller may have stored it between our GET and our lock: look again.
            $value = await $redis->get($key);
            if ( defined $value ) {
                await $redis->del("$key:lock");
                return $value;
            }
            $value = await $compute->();
            await $redis->pipeline->set( $key, $value, PX => $ttl_ms )->del("$key:lock")->execute;
            return $value;
        }
        await Future::IO->sleep(0.01);
    }
};

my $main = async sub {
    my ( $v, $how ) = await $cached->( 'user:42', 500, sub { $expensive->(42) } );
    say "first read: $how -> $v";
    ( $v, $how ) = await $cached->( 'user:42', 500, sub { $expensive->(42) } );
    say "second read: $how -> $v";

    my $ttl = await $redis->pttl('user:42');
    say "expires in at most 500 ms: ", ( $ttl > 0 && $ttl <= 500 ? 'yes' : "no ($ttl)" );

    await Future::IO->sleep(0.7);
    ( $v, $how ) = await $cached->( 'user:42', 500, sub { $expensive->(42) } );
    say "after the TTL: $how -> $v";

    # Sliding expiry: each read pushes the expiry 10 s away again.
    await $redis->set( 'session:abc', 'alice', EX => 10 );
    await $redis->expire( 'session:abc', 2 );
    my $who = await $redis->getex( 'session:abc', EX => 10 );
    say "session read with GETEX: $who, ttl now ", await $redis->ttl('session:abc'), ' s';

    # Ten callers at once for a missing value: it is computed once.
    $computed = 0;
    my @all = await Future->needs_all( map { $cached_once->( 'report', 1000, sub { $expensive->('report') } ) } 1 .. 10 );
    say "10 concurrent readers got '", $all[0], "'; computed $computed time(s)";

    my $deleted = await $redis->del(qw( user:42 session:abc report report:lock ));
    say "cleaned up: $deleted keys deleted";
    await $redis->disconnect;
};

$main->()->get;

# EVALSHA and SCRIPT LOAD / EXISTS / FLUSH (the generated methods): a loaded script runs by SHA,
# NOSCRIPT is an Error::Redis with its code, prefixing applies to its keys.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Digest::SHA qw(sha1_hex);

my $srv   = start_server();
my $redis = client($srv);
run( $redis->command('FLUSHALL') );
run( $redis->script_flush );

my $lua = 'return {KEYS[1], ARGV[1]}';

subtest 'SCRIPT LOAD, then EVALSHA' => sub {
    my $sha = run( $redis->script_load($lua) );
    is( $sha, sha1_hex($lua), 'SCRIPT LOAD resolves to the SHA1 of the script' );
    is( run( $redis->script_exists( $sha, '0' x 40 ) ), [ 1, 0 ], 'SCRIPT EXISTS' );
    is( run( $redis->evalsha( $sha, 1, 'k', 'v' ) ), [ 'k', 'v' ], 'EVALSHA runs it' );
    is( run( $redis->evalsha_ro( $sha, 1, 'k', 'v' ) ), [ 'k', 'v' ], 'EVALSHA_RO too' );
};

subtest 'NOSCRIPT' => sub {
    run( $redis->script_flush );
    my $err = error_of( $redis->evalsha( sha1_hex($lua), 1, 'k', 'v' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'an Error::Redis' );
    is( $err->code, 'NOSCRIPT', 'code NOSCRIPT' );
    ok( !$err->is_transient, 'not retried by the client' );
};

subtest 'prefix applies to the keys' => sub {
    my $p   = client( $srv, prefix => 's:' );
    my $sha = run( $p->script_load($lua) );
    is( $sha, sha1_hex($lua), 'the script body is not prefixed' );
    is( run( $p->evalsha( $sha, 1, 'k', 'v' ) ), [ 's:k', 'v' ], 'KEYS[1] prefixed' );
};

done_testing;

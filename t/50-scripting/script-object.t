# Script objects: sha, call (keys counted from the script or given), call_with_keys, load;
# loaded on first use; surviving SCRIPT FLUSH and a server restart (kill -9, started again on
# the same port); key prefixing.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Digest::SHA qw(sha1_hex);

my $srv   = start_server();
my $redis = client( $srv, reconnect_delay => 0.02, reconnect_delay_max => 0.2 );
run( $redis->command('FLUSHALL') );
run( $redis->script_flush );

my $design = <<'LUA';
    local current = redis.call('GET', KEYS[1]) or 0
    local new = current + ARGV[1]
    redis.call('SET', KEYS[1], new)
    return new
LUA

subtest 'the design example' => sub {
    my $script = $redis->script($design);
    isa_ok( $script, ['Future::IO::Redis::Script'], 'a script object' );
    is( $script->sha, sha1_hex($design), 'its SHA1' );
    like( $script->sha, qr/\A[0-9a-f]{40}\z/, '40 hex digits' );
    is( $script->numkeys, 1, 'one key (KEYS[1])' );
    is( run( $script->call( 'counter', 10 ) ), 10, "call('counter', 10)" );
    is( run( $script->call( 'counter', 5 ) ), 15, 'again' );
    is( run( $redis->get('counter') ), '15', 'KEYS[1] was counter' );
    is( $script->lua, $design, 'lua' );
    is( $script->script, $design, 'script (the earlier name)' );
};

subtest 'loads on first use, then runs by SHA' => sub {
    run( $redis->script_flush );
    my $script = $redis->script('return ARGV[1]');
    is( run( $redis->script_exists( $script->sha ) ), [0], 'not loaded' );
    is( run( $script->call_with_keys( 0, 'first' ) ), 'first', 'first call' );
    is( run( $redis->script_exists( $script->sha ) ), [1], 'loaded by it' );
    is( run( $script->call('second') ), 'second', 'call: all arguments are ARGV (no KEYS in the script)' );
    is( run( $script->load ), $script->sha, 'load resolves to the SHA' );
};

subtest 'key counts' => sub {
    is( $redis->script('return KEYS[1] .. KEYS[3] .. ARGV[1]')->numkeys, 3, 'the highest literal index' );
    is( $redis->script('return 1')->numkeys, 0, 'no KEYS: none' );
    is( $redis->script('return #KEYS')->numkeys, undef, '#KEYS: unknown' );
    is( $redis->script('local i = 1 return KEYS[i]')->numkeys, undef, 'KEYS[i]: unknown' );
    is( $redis->script( 'return #KEYS', keys => 2 )->numkeys, 2, 'given' );
    my $count = $redis->script( 'return {#KEYS, #ARGV}', keys => 2 );
    is( run( $count->call( 'a', 'b', 'c' ) ), [ 2, 1 ], 'call with the given count' );
    is( run( $redis->script('return {#KEYS, #ARGV}')->call( 'a', 'b' ) ), [ 0, 2 ], 'unknown: no keys, as earlier implementations' );
    is( run( $count->call_with_keys( 3, 'a', 'b', 'c' ) ), [ 3, 0 ], 'call_with_keys overrides' );
    like( dies { $redis->script( 'return 1', keys => 'two' ) }, qr/keys must be a whole number or 'dynamic'/, 'bad keys option' );
    like( dies { $redis->script(undef) }, qr/script needs the Lua source/, 'no source' );
    like( dies { $redis->script( 'return 1', kyes => 1 ) }, qr/script: unknown options: kyes \(the only one is keys\) at \Q${\ __FILE__}\E/, 'unknown option' );
    like( dies { $redis->script( 'return 1', 'keys' ) }, qr/script takes the Lua source and name => value options/, 'odd options' );
    like( dies { $redis->script( 'return KEYS[2]' )->call('a') }, qr/script call: 2 keys announced but only 1/, 'too few arguments' );
    like( dies { $count->call_with_keys( -1, 'a' ) }, qr/must be a whole number \(got '-1'\)/, 'negative count' );
};

subtest 'survives SCRIPT FLUSH' => sub {
    my $script = $redis->script(q{return 'resilient ' .. ARGV[1]});
    is( run( $script->call(1) ), 'resilient 1', 'first call' );
    run( $redis->script_flush );
    is( run( $redis->script_exists( $script->sha ) ), [0], 'flushed' );
    is( run( $script->call(2) ), 'resilient 2', 'loaded again by itself' );
    is( run( $redis->script_exists( $script->sha ) ), [1], 'and cached again' );
};

subtest 'survives a server restart (kill -9, same port)' => sub {
    my $script = $redis->script($design);
    run( $redis->del('restart:n') );
    is( run( $script->call( 'restart:n', 1 ) ), 1, 'before' );
    $srv->kill9;
    $srv->restart;
    # The client notices the loss and reconnects by itself; the script cache is empty now.
    my $r = run( async sub {
        for my $try ( 1 .. 50 ) {
            my $v = eval { await $script->call( 'restart:n', 1 ) };
            return $v if defined $v;
            die $@ unless ref $@ && $@->isa('Future::IO::Redis::Error::Connection');
            await Future::IO->sleep(0.05);    # the loss was seen by this call: try again
        }
        die "no success after the restart\n";
    } );
    is( $r, 1, 'the script ran on the new server (its data is gone: 1 again)' );
    is( run( $redis->script_exists( $script->sha ) ), [1], 'loaded there' );
};

subtest 'key prefixing applies to its keys' => sub {
    my $p = client( $srv, prefix => 'pfx:' );
    my $script = $p->script(<<'LUA');
redis.call('SET', KEYS[1], ARGV[1])
return {KEYS[1], redis.call('GET', KEYS[1])}
LUA
    is( run( $script->call( 'mykey', 'myvalue' ) ), [ 'pfx:mykey', 'myvalue' ], 'KEYS[1] has the prefix' );
    is( run( $redis->get('pfx:mykey') ), 'myvalue', 'written under the prefix' );
    is( run( $script->call_with_keys( 1, 'other', 'v2' ) ), [ 'pfx:other', 'v2' ], 'call_with_keys too' );
};

subtest 'UTF-8 source: the SHA of its UTF-8 bytes' => sub {
    my $src = "return '\x{263a}t\x{e9}'";
    my $script = $redis->script($src);
    my $bytes = $src;
    utf8::encode($bytes);
    is( $script->sha, sha1_hex($bytes), 'SHA of the bytes sent' );
    my $want = "\x{263a}t\x{e9}";
    utf8::encode($want);
    is( run( $script->call ), $want, 'runs (the reply is bytes)' );
    is( run( $redis->script_exists( $script->sha ) ), [1], 'cached under that SHA' );
    is( run( $script->call ), $want, 'by SHA the second time' );
};

done_testing;

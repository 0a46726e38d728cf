# Future::IO::Redis::KeyExtractor against the server's own answer: for each command line,
# extract_key_indices picks exactly the arguments COMMAND GETKEYS names, and apply_prefix
# prefixes exactly those (what the server then stores under the prefix).
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::IO::Redis::KeyExtractor qw( extract_key_indices apply_prefix );

my $srv = start_server();
$srv->cli('FLUSHALL');
my $redis = client($srv);

my @LINES = (
    [qw( GET k )],
    [qw( SET k v EX 10 )],
    [qw( MSET a 1 b 2 c 3 )],
    [qw( MGET a b c )],
    [ 'EVAL', 'return 1', 2, 'k1', 'k2', 'arg' ],
    [ 'EVAL', 'return 1', 0, 'arg' ],
    [qw( ZUNIONSTORE dst 2 a b WEIGHTS 1 2 )],
    [qw( SORT k BY w:* LIMIT 0 10 STORE dst )],
    [qw( XREAD COUNT 1 STREAMS s1 s2 0 0 )],
    [qw( XREADGROUP GROUP g c COUNT 1 STREAMS s1 > )],
    [qw( BLMOVE src dst LEFT RIGHT 0 )],
    [qw( BLMPOP 0 2 a b LEFT )],
    [qw( LMPOP 2 a b LEFT COUNT 2 )],
    [qw( OBJECT ENCODING k )],
    [qw( XINFO STREAM s )],
    [qw( GEORADIUS g 0 0 1 km STORE dst )],
    [qw( BITOP AND dest a b )],
    [qw( RENAME a b )],
    [qw( LCS a b )],
    [ 'MIGRATE', '127.0.0.1', 1, '', 0, 1000, 'KEYS', 'a', 'b' ],
    [ 'MIGRATE', '127.0.0.1', 1, 'k', 0, 1000, 'COPY', 'AUTH2', 'u', 'p' ],
    [qw( ZRANGESTORE dst src 0 -1 )],
    [qw( SINTERCARD 2 a b LIMIT 1 )],
);

for my $line (@LINES) {
    my ( $cmd, @args ) = @$line;
    my $want = run( $redis->command( 'COMMAND', 'GETKEYS', @$line ) );
    my @i    = extract_key_indices( $cmd, @args );
    is( [ @args[@i] ], $want, "@$line: the keys COMMAND GETKEYS names" );
    my @prefixed = apply_prefix( 'p:', $cmd, @args );
    my %key = map { $_ => 1 } @i;
    is( \@prefixed, [ map { $key{$_} ? "p:$args[$_]" : $args[$_] } 0 .. $#args ], '... apply_prefix prefixes exactly those' );
    is( [ $cmd, @args ], $line, '... and leaves its arguments alone' );
}

subtest 'the command as words' => sub {
    is( [ extract_key_indices( 'XINFO STREAM', 's' ) ],       [0], "'XINFO STREAM' then the key" );
    is( [ extract_key_indices( [ 'OBJECT', 'ENCODING' ], 'k' ) ], [0], '[OBJECT, ENCODING]' );
    is( [ extract_key_indices( 'get', 'k' ) ],                [0], 'any case' );
    is( [ extract_key_indices('PING') ],                      [],  'no keys' );
    is( [ extract_key_indices( 'NOSUCHCOMMAND', 'x' ) ],      [],  'unknown command' );
    is( [ apply_prefix( undef, 'GET', 'k' ) ],                ['k'], 'no prefix' );
    like( dies { extract_key_indices() },        qr/no command given/, 'no command croaks' );
    like( dies { apply_prefix( 'p:', undef ) },  qr/no command given/, 'apply_prefix too' );
};

subtest 'what the client sends with prefix is what apply_prefix says' => sub {
    my $p = client( $srv, prefix => 'app:' );
    run( $p->command( 'MSET', 'a', 1, 'b', 2 ) );
    is( [ sort @{ run( $redis->keys('app:*') ) } ], [ 'app:a', 'app:b' ], 'the server has the prefixed keys' );
    is( [ apply_prefix( 'app:', 'MSET', 'a', 1, 'b', 2 ) ], [ 'app:a', 1, 'app:b', 2 ], 'apply_prefix agrees' );
};

done_testing;

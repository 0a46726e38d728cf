# Encoding policy (design section 14): character strings (UTF-8 flagged) are sent UTF-8 encoded,
# byte strings as they are; replies are always bytes; undef and references croak.
use v5.14;
use warnings;
use utf8;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Encode ();

my $srv   = start_server();
my $redis = client($srv);
run( $redis->command('FLUSHALL') );

subtest 'the design example: こんにちは is stored as its UTF-8 bytes' => sub {
    my $text = 'こんにちは';
    ok( utf8::is_utf8($text), 'a character string' );
    is( length $text, 5, 'of 5 characters' );
    is( run( $redis->set( 'key', $text ) ), 'OK', 'SET' );
    my $got = run( $redis->get('key') );
    ok( !utf8::is_utf8($got), 'the reply is bytes (not UTF-8 flagged)' );
    is( length $got, 15, '15 bytes' );
    ok( $got eq Encode::encode( 'UTF-8', $text ), 'equal to Encode::encode("UTF-8", ...)' );
    is( Encode::decode( 'UTF-8', $got ), $text, 'decodes back to the characters' );
    is( run( $redis->strlen('key') ), 15, 'STRLEN on the server: 15' );
    is( $srv->cli( '--raw', 'GET', 'key' ), Encode::encode( 'UTF-8', $text ), 'redis-cli reads the same bytes' );
};

subtest 'a Latin-1 byte string "caf\xe9" is sent as 4 bytes' => sub {
    my $bytes = "caf\xe9";
    ok( !utf8::is_utf8($bytes), 'not UTF-8 flagged' );
    run( $redis->set( 'latin1', $bytes ) );
    is( run( $redis->strlen('latin1') ), 4, 'STRLEN 4' );
    my $got = run( $redis->get('latin1') );
    ok( $got eq "caf\xe9", 'the same 4 bytes come back' );
    ok( !utf8::is_utf8($got), 'as bytes' );
};

subtest 'the same text as characters (with a wide char) vs upgraded Latin-1' => sub {
    my $upgraded = "caf\xe9";
    utf8::upgrade($upgraded);
    ok( utf8::is_utf8($upgraded), 'an upgraded (UTF-8 flagged) string' );
    run( $redis->set( 'upgraded', $upgraded ) );
    is( run( $redis->strlen('upgraded') ), 5, 'a character string: é sent as 2 UTF-8 bytes (5 in all)' );
    ok( run( $redis->get('upgraded') ) eq "caf\xc3\xa9", 'the UTF-8 encoding of "café"' );

    my $mixed = "€uro \x{1F600} ü";
    run( $redis->set( 'mixed', $mixed ) );
    my $want = Encode::encode( 'UTF-8', $mixed );
    is( run( $redis->strlen('mixed') ), length $want, 'emoji and accents: length of the UTF-8 encoding' );
    ok( run( $redis->get('mixed') ) eq $want, 'the UTF-8 bytes' );
};

subtest 'UTF-8 keys, hash fields and members' => sub {
    my $key = 'ключ:日本';
    run( $redis->set( $key, 'v' ) );
    my $kb = Encode::encode( 'UTF-8', $key );
    is( run( $redis->get($kb) ), 'v', 'a character key is the same key as its UTF-8 bytes' );
    is( run( $redis->get($key) ), 'v', 'and as characters' );
    is( run( $redis->keys('ключ*') ), [$kb], 'KEYS with a character pattern returns the key as bytes' );

    run( $redis->hset( 'h:utf8', 'имя', 'Ёж' ) );
    is( run( $redis->hgetall('h:utf8') ),
        { Encode::encode( 'UTF-8', 'имя' ) => Encode::encode( 'UTF-8', 'Ёж' ) }, 'hash field and value as bytes' );
    is( run( $redis->hget( 'h:utf8', Encode::encode( 'UTF-8', 'имя' ) ) ), Encode::encode( 'UTF-8', 'Ёж' ),
        'HGET with the byte form of the field' );

    run( $redis->sadd( 's:utf8', 'α', 'β', Encode::encode( 'UTF-8', 'α' ) ) );
    is( run( $redis->scard('s:utf8') ), 2, 'a character member and its UTF-8 bytes are the same member' );
};

subtest 'replies are bytes, never UTF-8 flagged' => sub {
    run( $redis->rpush( 'l:utf8', 'один', 'два' ) );
    my $r = run( $redis->lrange( 'l:utf8', 0, -1 ) );
    ok( !( grep { utf8::is_utf8($_) } @$r ), 'array elements are bytes' );
    is( [ map { Encode::decode( 'UTF-8', $_ ) } @$r ], [ 'один', 'два' ], 'decoding gives the text' );
    my $echo = run( $redis->echo('ñ') );
    is( $echo, "\xc3\xb1", 'ECHO of a character string: its UTF-8 bytes' );
    ok( !utf8::is_utf8($echo), 'as bytes' );
    my $p = run( $redis->pipeline->get('key')->echo('ü')->execute );
    ok( !( grep { utf8::is_utf8($_) } @$p ), 'pipeline replies are bytes' );
    is( $p->[1], "\xc3\xbc", 'pipeline argument encoded as UTF-8' );
    my $err = error_of( $redis->command('NÖPE') );
    ok( $err && !utf8::is_utf8( $err->message ), 'error messages are bytes too' );
    like( $err && $err->message, qr/N\xc3\x96PE/, 'with the command name as UTF-8 bytes' );
};

subtest 'undef and reference arguments croak immediately, naming the argument' => sub {
    my $f;
    my $e = dies { $f = $redis->set( 'k', undef ) };
    like( $e, qr/SET: argument 2 after the command name is undef/, 'undef value: croaks with the argument number' );
    ok( !defined $f, 'no Future was returned' );
    like( dies { $redis->set( undef, 'v' ) }, qr/SET: argument 1 after the command name is undef/, 'undef key' );
    like( dies { $redis->get(undef) }, qr/GET: argument 1 after the command name is undef/, 'GET undef' );
    like( dies { $redis->set( 'k', [ 1, 2 ] ) }, qr/SET: argument 2 after the command name is a reference/, 'array ref' );
    like( dies { $redis->set( 'k', { a => 1 } ) }, qr/SET: argument 2 after the command name is a reference/, 'hash ref' );
    like( dies { $redis->set( 'k', \'x' ) }, qr/SET: argument 2 after the command name is a reference/, 'scalar ref' );
    like( dies { $redis->set( 'k', sub { 1 } ) }, qr/SET: argument 2 after the command name is a reference/, 'code ref' );
    like( dies { $redis->hset( 'h', 'f1', 'v1', 'f2', undef ) }, qr/HSET: argument 5 after the command name is undef/, 'a later argument' );
    like( dies { $redis->command( 'SET', 'k', undef ) }, qr/SET: argument 2 after the command name is undef/, 'command() with undef' );
    like( dies { $redis->command( 'ECHO', [] ) }, qr/ECHO: argument 1 after the command name is a reference/, 'command() with a ref' );
    like( dies { $redis->command(undef) }, qr/argument 1 .*is undef|command name/, 'command() with an undef name' );
    like( dies { $redis->command() }, qr/needs a command name|no command given/, 'command() with no arguments' );
    like( dies { $redis->pipeline->set( 'k', undef ) }, qr/SET: argument 2 after the command name is undef/, 'in a pipeline' );

    # Carp semantics: the message points at the caller, not at library internals.
    my $line = __LINE__ + 1;
    my $msg = dies { $redis->set( 'k', undef ) };
    like( $msg, qr/ at \Q${\ __FILE__ }\E line $line\.?$/m, 'the croak reports the caller\'s file and line' );

    is( run( $redis->get('k') ), undef, 'nothing was sent for the refused commands' );
    is( run( $redis->ping ), 'PONG', 'the client still works' );
};

subtest 'objects with string overloading are references: croak too' => sub {
    my $obj = bless {}, 'Stringy';
    { package Stringy; use overload '""' => sub { 'str' }, fallback => 1; }
    like( dies { $redis->set( 'k', $obj ) }, qr/SET: argument 2 after the command name is a reference/, 'an overloaded object croaks' );
    is( run( $redis->set( 'k', "$obj" ) ), 'OK', 'its stringification can be sent' );
    is( run( $redis->get('k') ), 'str', 'as its string' );
};

done_testing;

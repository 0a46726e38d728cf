# Future::IO::Redis::Telemetry's formatting: every secret-bearing command form redacted (in any
# case), long values cut, binary and UTF-8 escaped, argument count capped, format_command_for_span
# with and without arguments, reply summaries. No server needed.
use v5.14;
use warnings;
use utf8;
use Test2::V0;
use Future::IO::Redis;
use Future::IO::Redis::Telemetry;
use Future::IO::Redis::Error;

my $log  = \&Future::IO::Redis::Telemetry::format_command_for_log;
my $span = \&Future::IO::Redis::Telemetry::format_command_for_span;

my $PW = 'hunter2-s3cret';

my @cases = (
    [ [ 'AUTH', $PW ],                                   'AUTH [REDACTED]' ],
    [ [ 'auth', 'app', $PW ],                            'auth app [REDACTED]' ],
    [ [ 'Auth', 'app', $PW, 'junk' ],                    'Auth app [REDACTED] [REDACTED]' ],
    [ [ 'HELLO', 3, 'AUTH', 'app', $PW ],                'HELLO 3 AUTH app [REDACTED]' ],
    [ [ 'hello', 2, 'auth', 'default', $PW, 'SETNAME', 'me' ], 'hello 2 auth default [REDACTED] SETNAME me' ],
    [ [ 'HELLO', 2, 'SETNAME', 'me', 'AUTH', 'u', $PW ], 'HELLO 2 SETNAME me AUTH u [REDACTED]' ],
    [ [ 'MIGRATE', '127.0.0.1', 6380, 'k', 0, 1000, 'AUTH', $PW ], 'MIGRATE 127.0.0.1 6380 k 0 1000 AUTH [REDACTED]' ],
    [ [ 'MIGRATE', '127.0.0.1', 6380, '', 0, 1000, 'COPY', 'REPLACE', 'AUTH2', 'u', $PW, 'KEYS', 'a', 'AUTH' ],
      'MIGRATE 127.0.0.1 6380 "" 0 1000 COPY REPLACE AUTH2 u [REDACTED] KEYS a AUTH' ],
    [ [ 'migrate', 'h', 1, 'AUTH', 0, 5, 'auth2', 'u', $PW ], 'migrate h 1 AUTH 0 5 auth2 u [REDACTED]' ],
    [ [ 'ACL', 'SETUSER', 'bob', 'on', ">$PW", '~*', '+@all' ], 'ACL SETUSER bob on >[REDACTED] ~* +@all' ],
    [ [ 'acl', 'setuser', 'bob', "<$PW", '#' . ( 'a' x 64 ), '!' . ( 'b' x 64 ), 'nopass' ],
      'acl setuser bob <[REDACTED] #[REDACTED] ![REDACTED] nopass' ],
    [ [ 'ACL', 'SETUSER', 'bob', "on >$PW" ],            'ACL SETUSER bob [REDACTED]' ],
    [ [ 'ACL', 'SETUSER', 'bob', "(~k* >$PW)" ],         'ACL SETUSER bob [REDACTED]' ],
    [ [ 'CONFIG', 'SET', 'requirepass', $PW ],           'CONFIG SET requirepass [REDACTED]' ],
    [ [ 'config', 'set', 'maxmemory', '1mb', 'MASTERAUTH', $PW, 'masteruser', 'repl' ],
      'config set maxmemory 1mb MASTERAUTH [REDACTED] masteruser [REDACTED]' ],
    [ [ 'CONFIG', 'SET', 'tls-key-file-pass', $PW, 'tls-client-key-file-pass', $PW ],
      'CONFIG SET tls-key-file-pass [REDACTED] tls-client-key-file-pass [REDACTED]' ],
    [ [ 'SENTINEL', 'SET', 'mymaster', 'auth-pass', $PW, 'quorum', 2 ], 'SENTINEL SET mymaster auth-pass [REDACTED] quorum 2' ],
    [ [ 'SENTINEL', 'CONFIG', 'SET', 'sentinel-pass', $PW ], 'SENTINEL CONFIG SET sentinel-pass [REDACTED]' ],
    [ [ 'GET', 'AUTH' ],                                 'GET AUTH' ],
    [ [ 'CONFIG', 'GET', 'requirepass' ],                'CONFIG GET requirepass' ],
);

for my $c (@cases) {
    my ( $cmd, $want ) = @$c;
    my $got = $log->(@$cmd);
    is( $got, $want, "log: $want" );
    unlike( $got, qr/\Q$PW\E/, '  no password in it' );
    is( $span->( 1, 1, @$cmd ), $want, '  span statement, redacted' );
}

is( $span->( 1, 0, 'AUTH', $PW ), "AUTH $PW", 'format_command_for_span with $redact false shows the value' );
is( $span->( 0, 1, 'SET', 'k', 'v' ), 'SET', 'without arguments: the name' );
is( $span->( 0, 1, 'config', 'set', 'requirepass', $PW ), 'CONFIG SET', 'a container command: with its subcommand' );
is( $span->( 0, 0, 'AUTH', $PW ), 'AUTH', 'no arguments, so nothing to redact' );

subtest 'values' => sub {
    is( $log->( 'SET', 'k', 'hello world' ), 'SET k "hello world"', 'spaces: quoted' );
    is( $log->( 'SET', 'k', '' ),            'SET k ""',            'empty: quoted' );
    is( $log->( 'SET', 'k', qq{a"b\\c} ),    'SET k "a\"b\\\\c"',   'quote and backslash escaped' );
    is( $log->( 'SET', 'k', "\0\x01\xff\r\n\t" ), 'SET k "\x00\x01\xff\r\n\t"', 'binary escaped' );
    is( $log->( 'SET', 'k', "é" ), 'SET k "\xc3\xa9"', 'a character string as its UTF-8 bytes' );
    is( $log->( 'SET', 'k', 42 ), 'SET k 42', 'a number' );
    is( $log->( 'SET', 'k', undef ), 'SET k undef', 'undef does not die' );
    like( $log->( 'SET', 'k', [] ), qr/\ASET k <ARRAY reference>\z/, 'nor does a reference' );
    my $long = 'x' x 1000;
    is( $log->( 'SET', 'k', $long ), 'SET k "' . ( 'x' x 64 ) . '"...(+936 bytes)', 'long value cut at 64 bytes' );
    is( $log->( 'SET', 'k', 'y' x 64 ), 'SET k ' . ( 'y' x 64 ), 'exactly 64: whole' );
    my $bin = "\xff" x 100;
    is( $log->( 'SET', 'k', $bin ), 'SET k "' . ( '\xff' x 64 ) . '"...(+36 bytes)', 'long binary: cut, then escaped' );
    my @many = map { "k$_" } 1 .. 40;
    is( $log->( 'DEL', @many ), join( ' ', 'DEL', @many[ 0 .. 31 ] ) . ' ...(+8 more arguments)', 'at most 32 arguments' );
    is( $log->( 'MSET', map { ( "k$_", "v$_" ) } 1 .. 3 ), 'MSET k1 v1 k2 v2 k3 v3', 'few arguments: all' );
    is( $log->( 'CONFIG', 'SET', ( map { ( "p$_", 1 ) } 1 .. 20 ), 'requirepass', $PW ),
        join( ' ', 'CONFIG', 'SET', ( map { ( "p$_", 1 ) } 1 .. 15 ), 'p16' ) . ' ...(+11 more arguments)',
        'a secret beyond the cap is not shown either' );
};

subtest 'reply summaries' => sub {
    my $r = \&Future::IO::Redis::Telemetry::format_reply;
    is( $r->(undef), 'nil' );
    is( $r->('OK'), 'OK' );
    is( $r->("two words"), '"two words"' );
    is( $r->( [ 1, 2, 3 ] ), '[3 items]', 'array: its size, never its contents' );
    is( $r->( [1] ), '[1 item]' );
    is( $r->( { requirepass => $PW } ), '{1 field}', 'hash: its size' );
    my $e = Future::IO::Redis::Error::Redis->new( message => "WRONGTYPE Operation against a key\r\n" );
    like( $r->($e), qr/\Aerror Redis: WRONGTYPE Operation against a key\z/, 'an error: class and message' );
};

done_testing;

# Key prefixing: the key-position table against the server's own COMMAND GETKEYS for every
# command with key specs, explicit cases, and the prefix end to end (methods, command(),
# pipelines, scripts, scan_iter).
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use JSON::PP ();

use Future::IO::Redis;
use Future::IO::Redis::Commands;

my $srv   = start_server();
my $redis = client($srv);
my $plain = client($srv);

sub positions { [ Future::IO::Redis::Commands::key_positions( \@_ ) ] }

# The server's keys for an invocation ([] for "no key arguments"), or undef and the reason when
# it refuses it.
sub getkeys {
    my @args = @_;
    my $keys = eval { run( $redis->command_getkeys(@args) ) };
    return $keys if $keys;
    my $err = $@;
    return [] if "$err" =~ /has no key arguments/;
    return ( undef, ref $err ? $err->message : $err );
}

# The keys key_positions finds, as names.
sub our_keys {
    my @args = @_;
    return [ map { $args[$_] } Future::IO::Redis::Commands::key_positions( \@args ) ];
}

# ---------------------------------------------------------------------------------------------
# Synthesising invocations from the arguments tree of share/commands.json.

my $table = JSON::PP->new->utf8->decode( do { local ( @ARGV, $/ ) = 'share/commands.json'; <> } );

# $mode: 'min' (required arguments, one of each multiple), 'two' (required, two of each
# multiple), 'full' (every optional argument too, first alternative of each one-of), 'last'
# (the same with the last alternative of each one-of).
sub synth {
    my ( $args, $mode, $st ) = @_;
    my @out;
    for my $i ( 0 .. $#$args ) {
        my $a = $args->[$i];
        my %f = map { $_ => 1 } @{ $a->{flags} || [] };
        next if $f{optional} && $mode ne 'full' && $mode ne 'last';
        my $times = $f{multiple} ? ( $mode eq 'min' ? 1 : 2 ) : 1;
        for my $n ( 1 .. $times ) {
            push @out, $a->{token} if defined $a->{token} && ( $n == 1 || $f{multiple_token} ) && $a->{type} ne 'pure-token';
            push @out, one( $a, $args, $i, $mode, $st );
        }
    }
    return @out;
}

sub one {
    my ( $a, $siblings, $i, $mode, $st ) = @_;
    my $t = $a->{type};
    return $a->{token} if $t eq 'pure-token';
    return synth( [ $a->{arguments}[ $mode eq 'last' ? -1 : 0 ] ], $mode, $st ) if $t eq 'oneof';
    return synth( $a->{arguments}, $mode, $st ) if $t eq 'block';
    return 'k' . ++$st->{key} if $t eq 'key';
    if ( $a->{name} =~ /\Anum-?keys\z/ ) {
        # The number of keys the next key argument will get.
        for my $b ( @$siblings[ $i + 1 .. $#$siblings ] ) {
            next unless $b->{type} eq 'key';
            my %f = map { $_ => 1 } @{ $b->{flags} || [] };
            return 0 if $f{optional} && $mode ne 'full' && $mode ne 'last';
            return $f{multiple} ? ( $mode eq 'min' ? 1 : 2 ) : 1;
        }
        return 1;
    }
    return '1'          if $t eq 'integer';
    return '1.5'        if $t eq 'double';
    return '1700000000' if $t eq 'unix-time';
    return 'p*'         if $t eq 'pattern';
    return '0'          if $a->{name} eq 'id';
    return 'v' . ++$st->{value};
}

# Every command and subcommand with key specs: [ NAME, [words], doc ].
my @with_keys;
for my $name ( sort keys %{ $table->{commands} } ) {
    my $c = $table->{commands}{$name};
    push @with_keys, [ uc $name, [ uc $name ], $c ] if @{ $c->{key_specs} || [] };
    for my $sub ( sort keys %{ $c->{subcommands} || {} } ) {
        my $s = $c->{subcommands}{$sub};
        push @with_keys, [ uc( $sub =~ s/\|/ /r ), [ map { uc } split /\|/, $sub ], $s ] if @{ $s->{key_specs} || [] };
    }
}

# Commands for which no valid invocation comes out of their arguments tree, and why.
my %SKIP_EXPECTED = (
);

subtest 'key_positions agrees with COMMAND GETKEYS for every command with key specs' => sub {
    my ( %skipped, $compared );
    for my $e (@with_keys) {
        my ( $name, $words, $doc ) = @$e;
        my $ok = 0;
        for my $mode (qw( min two full last )) {
            my @inv = ( @$words, synth( $doc->{arguments} || [], $mode, {} ) );
            my ( $theirs, $why ) = getkeys(@inv);
            unless ($theirs) {
                note "$mode: @inv: $why";
                next;
            }
            $ok++;
            $compared++;
            my $ours = our_keys(@inv);
            is( [ sort @$ours ], [ sort @$theirs ], "$mode: @inv" );
        }
        $skipped{$name} = 1 unless $ok;
    }
    note "compared $compared invocations of " . scalar(@with_keys) . ' commands';
    is( [ sort keys %skipped ], [ sort keys %SKIP_EXPECTED ], 'commands without a synthesised invocation' );
};

subtest 'explicit cases' => sub {
    my @cases = (
        [ [qw( SET k v EX 10 )],                              [1] ],
        [ [qw( set k v get )],                                [1] ],
        [ [qw( MSET a 1 b 2 c 3 )],                           [ 1, 3, 5 ] ],
        [ [qw( DEL a b c d e )],                              [ 1 .. 5 ] ],
        [ [ 'EVAL', 'return 1', 2, qw( a b x y ) ],           [ 3, 4 ] ],
        [ [ 'EVALSHA', 'abc', 0, qw( x y ) ],                 [] ],
        [ [ 'FCALL', 'f', 1, qw( a x ) ],                     [3] ],
        [ [qw( ZUNIONSTORE dst 2 a b WEIGHTS 1 2 )],          [ 1, 3, 4 ] ],
        [ [qw( ZINTERSTORE dst 3 a b c AGGREGATE MAX )],      [ 1, 3, 4, 5 ] ],
        [ [qw( ZDIFFSTORE dst 1 a )],                         [ 1, 3 ] ],
        [ [qw( XREAD COUNT 5 STREAMS s1 s2 0 0 )],            [ 4, 5 ] ],
        [ [qw( XREAD BLOCK 0 STREAMS s1 $ )],                 [4] ],
        [ [qw( XREADGROUP GROUP g c COUNT 1 STREAMS s1 s2 > > )], [ 7, 8 ] ],
        [ [ 'MIGRATE', 'host', 6379, '', 0, 5000, qw( COPY KEYS a b c ) ], [ 8, 9, 10 ] ],
        [ [ 'MIGRATE', 'host', 6379, 'k', 0, 5000 ],          [3] ],
        [ [ 'MIGRATE', 'host', 6379, '', 0, 5000, qw( AUTH keys KEYS a ) ], [9] ],
        [ [qw( BITOP AND dst a b c )],                        [ 2, 3, 4, 5 ] ],
        [ [qw( BITOP NOT dst a )],                            [ 2, 3 ] ],
        [ [qw( OBJECT ENCODING k )],                          [2] ],
        [ [qw( object encoding k )],                          [2] ],
        [ [qw( OBJECT HELP )],                                [] ],
        [ [ qw( SORT k BY w_* GET o_* GET ), '#', qw( LIMIT 0 10 ) ], [1] ],
        [ [qw( SORT k BY w_* STORE dst )],                    [ 1, 5 ] ],
        [ [qw( SORT k GET store STORE d1 STORE d2 )],         [ 1, 7 ] ],
        [ [qw( SORT_RO k BY w_* GET o_* )],                   [1] ],
        [ [qw( LMOVE src dst LEFT RIGHT )],                   [ 1, 2 ] ],
        [ [qw( RENAME a b )],                                 [ 1, 2 ] ],
        [ [qw( BLPOP a b 0 )],                                [ 1, 2 ] ],
        [ [qw( GEORADIUS g 0 0 1 km STORE d )],               [ 1, 7 ] ],
        [ [qw( MEMORY USAGE k )],                             [2] ],
        [ [qw( XINFO STREAM s FULL )],                        [2] ],
        [ [qw( XGROUP CREATE s g $ )],                        [2] ],
        [ [qw( PUBLISH ch msg )],                             [] ],
        [ [qw( SPUBLISH ch msg )],                            [] ],
        [ [qw( KEYS * )],                                     [] ],
        [ [qw( SCAN 0 MATCH a* )],                            [] ],
        [ [qw( GET )],                                        [] ],
        [ [qw( NOSUCHCOMMAND a b )],                          [] ],
        [ [],                                                 [] ],
    );
    for my $c (@cases) {
        my ( $args, $want ) = @$c;
        is( positions(@$args), $want, "@$args: [@$want]" );
    }
    for my $c ( @cases[ 0 .. 31 ] ) {
        my $args = $c->[0];
        my ($theirs) = getkeys(@$args);
        is( [ sort @{ our_keys(@$args) } ], [ sort @{ $theirs // ['refused'] } ], "@$args: as COMMAND GETKEYS" );
    }
    is( [ Future::IO::Redis::Commands::prefix_args( 'p:', [qw( MSET a 1 b 2 )] ) ], [qw( MSET p:a 1 p:b 2 )], 'prefix_args' );
    is( [ Future::IO::Redis::Commands::prefix_args( '', [qw( GET a )] ) ], [qw( GET a )], 'empty prefix' );
    is( [ Future::IO::Redis::Commands::prefix_args( "\x{100}:", [ 'GET', "\x{263a}" ] ) ], [ 'GET', "\xc4\x80:\xe2\x98\xba" ],
        'character strings join as UTF-8 bytes' );
    is( [ Future::IO::Redis::Commands::prefix_args( "\xe9:", [ 'GET', "\x{263a}" ] ) ], [ 'GET', "\xe9:\xe2\x98\xba" ],
        'a byte-string prefix stays bytes next to a character-string key' );
    is( [ Future::IO::Redis::Commands::prefix_args( 'p:', [ 'GET', "\xff\x00" ] ) ], [ 'GET', "p:\xff\x00" ], 'bytes stay bytes' );
    my @undef = Future::IO::Redis::Commands::prefix_args( 'p:', [ 'GET', undef ] );
    ok( !defined $undef[1], 'undef stays undef (and croaks when sent)' );
};

run( $plain->flushall );
my $app = client( $srv, prefix => 'app:' );

sub server_keys { [ sort @{ run( $plain->keys('*') ) } ] }

subtest 'methods: keys get the prefix, other arguments do not' => sub {
    is( run( $app->set( 'k', 'value', 'EX', 100 ) ), 'OK', 'SET k value EX 100' );
    is( server_keys(), ['app:k'], 'stored as app:k' );
    is( run( $plain->get('app:k') ), 'value', 'value untouched' );
    my $ttl = run( $plain->ttl('app:k') );
    ok( $ttl > 90 && $ttl <= 100, "EX seconds untouched ($ttl)" );
    is( run( $app->get('k') ), 'value', 'GET k reads app:k' );
    is( run( $app->get('app:k') ), undef, 'GET app:k reads app:app:k' );
    is( run( $app->mset( a => 1, b => 2 ) ), 'OK', 'MSET a 1 b 2' );
    is( server_keys(), [qw( app:a app:b app:k )], 'both under app:' );
    is( run( $app->mget(qw( a b nope )) ), [ 1, 2, undef ], 'MGET' );
    is( run( $app->exists(qw( a b k nope )) ), 3, 'EXISTS many' );
    is( run( $app->rename( 'a', 'c' ) ), 'OK', 'RENAME a c' );
    is( server_keys(), [qw( app:b app:c app:k )], 'renamed within app:' );
    run( $app->rpush( 'src', qw( x y ) ) );
    is( run( $app->lmove(qw( src dst LEFT RIGHT )) ), 'x', 'LMOVE' );
    is( run( $plain->lrange( 'app:dst', 0, -1 ) ), ['x'], 'destination prefixed too' );
    is( run( $app->object_encoding('c') ), 'int', 'OBJECT ENCODING (a subcommand)' );
    is( run( $app->hset( 'h', 'field', 'v' ) ), 1, 'HSET' );
    is( run( $plain->hgetall('app:h') ), { field => 'v' }, 'the field name is untouched' );
    is( run( $app->del(qw( b c k src dst h )) ), 6, 'DEL many' );
    is( server_keys(), [], 'all gone' );
};

subtest 'scripts: KEYS prefixed, the body and ARGV not' => sub {
    my $script = q{redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[2]); return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}};
    is( run( $app->eval( $script, 2, qw( s1 s2 app:x y ) ) ), [qw( app:s1 app:s2 app:x y )], 'EVAL numkeys 2' );
    is( server_keys(), [qw( app:s1 app:s2 )], 'the keys land under app:' );
    my $sha = run( $app->script_load($script) );
    like( $sha, qr/\A[0-9a-f]{40}\z/, 'SCRIPT LOAD: the body is not prefixed (same SHA as plain)' );
    is( $sha, run( $plain->script_load($script) ), 'same SHA' );
    is( run( $app->evalsha( $sha, 2, qw( s3 s4 v w ) ) ), [qw( app:s3 app:s4 v w )], 'EVALSHA numkeys 2' );
    is( run( $app->eval( 'return ARGV', 0, 'app', 'k' ) ), [qw( app k )], 'numkeys 0: nothing prefixed' );
    run( $app->del(qw( s1 s2 s3 s4 )) );
};

subtest 'other key layouts' => sub {
    run( $app->zadd( 'z1', 1, 'a', 2, 'b' ) );
    run( $app->zadd( 'z2', 3, 'b' ) );
    is( run( $app->zunionstore( 'zu', 2, 'z1', 'z2' ) ), 2, 'ZUNIONSTORE dst 2 z1 z2' );
    is( run( $plain->zrange( 'app:zu', 0, -1, 'WITHSCORES' ) ), [qw( a 1 b 5 )], 'read from app:z1, app:z2, into app:zu' );
    run( $app->xadd( 's1', '1-1', 'f', 'v' ) );
    my $r = run( $app->xread( 'STREAMS', 's1', 'nope', '0', '0' ) );
    is( $r, [ [ 'app:s1', [ [ '1-1', [qw( f v )] ] ] ] ], 'XREAD STREAMS s1 nope 0 0 (the reply names app:s1)' );
    run( $app->set( 'b1', "\xff" ) );
    run( $app->set( 'b2', "\x0f" ) );
    is( run( $app->bitop( 'AND', 'b3', 'b1', 'b2' ) ), 1, 'BITOP AND b3 b1 b2' );
    is( run( $plain->get('app:b3') ), "\x0f", 'app:b3' );
    run( $app->rpush( 'l', 3, 1, 2 ) );
    is( run( $app->sort( 'l', 'STORE', 'sorted' ) ), 3, 'SORT l STORE sorted' );
    is( run( $plain->lrange( 'app:sorted', 0, -1 ) ), [qw( 1 2 3 )], 'into app:sorted' );
    run( $app->set( 'i', 12 ) );
    is( run( $app->command( 'object', 'encoding', 'i' ) ), 'int', 'command() with a lower-case subcommand' );
    is( run( $app->command( 'GET', 'b3' ) ), "\x0f", 'command() prefixes too' );
    is( run( $app->pipeline->set( 'p', 1 )->incr('p')->command( 'GET', 'p' )->execute ), [ 'OK', 2, '2' ], 'pipeline' );
    is( run( $plain->get('app:p') ), '2', 'pipelined commands prefixed' );
    run( $plain->flushall );
};

subtest 'MIGRATE KEYS' => sub {
    my $other = start_server();
    run( $app->mset( m1 => 1, m2 => 2 ) );
    is( run( $app->migrate( '127.0.0.1', $other->port, '', 0, 5000, 'KEYS', 'm1', 'm2' ) ), 'OK', 'MIGRATE ... "" ... KEYS m1 m2' );
    is( [ sort split /\n/, $other->cli(qw( KEYS * )) ], [qw( app:m1 app:m2 )], 'moved app:m1 and app:m2 (the empty key stays empty)' );
    is( server_keys(), [], 'gone here' );
};

subtest "the caller's variables are not changed" => sub {
    my ( $k, $v, $u ) = ( 'mine', 'value', "\x{263a}" );
    run( $app->set( $k, $v ) );
    run( $app->mset( $k, $v, $u, $v ) );
    run( $app->command( 'GET', $k ) );
    run( $app->pipeline->set( $k, $v )->execute );
    run( $app->object_encoding($k) );
    is( [ $k, $v ], [ 'mine', 'value' ], 'plain strings' );
    ok( $u eq "\x{263a}" && utf8::is_utf8($u), 'a character string stays one' );
    is( server_keys(), [ 'app:mine', "app:\xe2\x98\xba" ], 'while the server got the prefixed keys' );
    run( $plain->flushall );
};

subtest 'binary and UTF-8 keys' => sub {
    my $bin = client( $srv, prefix => "b\x00:" );
    run( $bin->set( "\xff", 'v' ) );
    is( run( $plain->get("b\x00:\xff") ), 'v', 'binary prefix and key' );
    my $u = client( $srv, prefix => "\x{100}:" );
    run( $u->set( "\x{263a}", 'v' ) );
    is( run( $plain->get("\xc4\x80:\xe2\x98\xba") ), 'v', 'character strings: UTF-8 bytes' );
    is( run( $u->get("\x{263a}") ), 'v', 'and back' );
    run( $plain->flushall );
};

subtest 'a retry resends the command as it was sent (prefixed once)' => sub {
    my @attempts;
    my $r = client(
        $srv,
        prefix => 'app:',
        retry  => sub {
            my ( $attempt, $err, $name ) = @_;
            push @attempts, $name;
            return $attempt < 2 ? 0.01 : 0;
        },
    );
    run( $plain->set( 'app:n', 'not a number' ) );
    # Prefixed twice, the second attempt would create app:app:n and succeed.
    my $err = error_of( $r->incr('n') );
    like( "$err", qr/not an integer/, 'INCR n fails twice with the same error' );
    is( \@attempts, [qw( INCR INCR )], 'the policy saw two failures' );
    is( server_keys(), ['app:n'], 'no app:app:n' );
    run( $plain->flushall );
};

subtest 'constructor' => sub {
    like( dies { Future::IO::Redis->new( prefix => [] ) }, qr/prefix must be a string/, 'a reference croaks' );
    my $none = client( $srv, prefix => '' );
    run( $none->set( 'k', 1 ) );
    is( server_keys(), ['k'], 'an empty prefix is none' );
    run( $plain->flushall );
};

subtest 'scan_iter only sees the prefix, and shows keys without it' => sub {
    run( $plain->mset( map { ( "app:u$_" => 1, "other:u$_" => 1 ) } 1 .. 50 ) );
    run( $plain->mset( 'app' => 1, 'ap:u1' => 1, 'appu1' => 1, 'app:x' => 1 ) );
    my $all = run( $app->scan_iter( count => 10 )->all );
    is( [ sort @$all ], [ sort( ( map { "u$_" } 1 .. 50 ), 'x' ) ], 'every app: key, without the prefix, nothing else' );
    my $u = run( $app->scan_iter( match => 'u1*', count => 10 )->all );
    is( [ sort @$u ], [ sort map { "u$_" } 1, 10 .. 19 ], 'MATCH u1* means app:u1*' );
    my $glob = client( $srv, prefix => 'a[p]:' );
    run( $plain->set( 'a[p]:g', 1 ) );
    is( run( $glob->scan_iter->all ), ['g'], "the prefix's glob characters are escaped" );
    run( $plain->hset( 'app:h', map { ( "f$_" => $_ ) } 1 .. 20 ) );
    my %h = @{ run( $app->hscan_iter( 'h', match => 'f1*' )->all ) };
    is( \%h, { map { ( "f$_" => $_ ) } 1, 10 .. 19 }, 'hscan_iter: the key prefixed, fields not' );
    run( $plain->sadd( 'app:s', qw( m1 m2 ) ) );
    is( [ sort @{ run( $app->sscan_iter('s')->all ) } ], [qw( m1 m2 )], 'sscan_iter' );
    run( $plain->zadd( 'app:z', 1, 'm1' ) );
    is( run( $app->zscan_iter('z')->all ), [qw( m1 1 )], 'zscan_iter' );
    is( run( $app->keys('u1') ), [], 'KEYS is not prefixed (its pattern is no key)' );
    run( $plain->flushall );
};

done_testing;

# RESP2 decoding seen from Perl: a scripted fake server sends crafted replies (shapes a real
# server seldom or never produces) and the test checks the Perl values or errors they become.
#
# The fake server answers `REPLY <name> [arg]` with the reply registered under <name>; `CONN`
# answers with the number of the connection (1 for the first one the server accepted), so a
# test can tell that the client reconnected.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis;
use Test::FIORedis::FakeServer;
use Future::AsyncAwait;
use B ();
use Socket ();
use Time::HiRes qw(sleep time);

my $FIVE_MB = 5 * 1024 * 1024;

sub nested_reply {
    my ($depth) = @_;
    return ( "*1\r\n" x $depth ) . ":7\r\n";
}

my %REPLY = (
    simple       => "+hello world\r\n",
    simple_empty => "+\r\n",
    error        => "-ERR something went wrong\r\n",
    error_code   => "-MYCODE custom failure with details\r\n",
    int          => ":42\r\n",
    int_zero     => ":0\r\n",
    int_negative => ":-17\r\n",
    int_max      => ":9223372036854775807\r\n",
    int_min      => ":-9223372036854775808\r\n",
    bulk         => "\$5\r\nhello\r\n",
    bulk_empty   => "\$0\r\n\r\n",
    bulk_nil     => "\$-1\r\n",
    array_nil    => "*-1\r\n",
    array_empty  => "*0\r\n",
    array_flat   => "*4\r\n\$3\r\nfoo\r\n:-1\r\n\$-1\r\n+bar\r\n",
    # [ [ [ 1, 'x' ], 'a', [] ], 'b', [ [ undef ] ] ]
    nested3 => "*3\r\n"
      . "*3\r\n*2\r\n:1\r\n\$1\r\nx\r\n\$1\r\na\r\n*0\r\n"
      . "+b\r\n"
      . "*1\r\n*1\r\n\$-1\r\n",
    array_with_error  => "*3\r\n+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n:5\r\n",
    nested_with_error => "*2\r\n*2\r\n-NOSCRIPT No matching script\r\n:1\r\n\$1\r\nz\r\n",
    binary            => "\$10\r\na\r\nb\0c\r\n\0\xff\r\n",
    big               => "\$$FIVE_MB\r\n" . ( 'abcdefghijklmnop' x ( $FIVE_MB / 16 ) ) . "\r\n",
    deep3000          => nested_reply(3000),
    deep5000          => nested_reply(5000),
    deep20000         => nested_reply(20_000),
);

my $fake = Test::FIORedis::FakeServer->start(
    sub {
        my ( $sock, $conn_no ) = @_;
        while ( my @cmd = Test::FIORedis::FakeServer::read_command($sock) ) {
            my $name = uc $cmd[0];
            if ( $name eq 'CONN' ) {
                Test::FIORedis::FakeServer::write_all( $sock, ":$conn_no\r\n" );
            }
            elsif ( $name eq 'PING' ) {
                Test::FIORedis::FakeServer::write_all( $sock, "+PONG\r\n" );
            }
            elsif ( $name eq 'SLOW' ) {
                # the reply of REPLY <arg>, one byte at a time
                for my $byte ( split //, $REPLY{ $cmd[1] } ) {
                    Test::FIORedis::FakeServer::write_all( $sock, $byte );
                    sleep 0.002;
                }
            }
            elsif ( $name eq 'GARBAGE' ) {
                # wait until the client wrote the next command too, then answer nonsense
                my @next = Test::FIORedis::FakeServer::read_command($sock);
                Test::FIORedis::FakeServer::write_all( $sock, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" );
                sleep 0.5;
                return;
            }
            elsif ( $name eq 'CLOSEAFTER' ) {
                # read the command written after this one too, answer only this one, close
                # (TCP_CORK holds the reply back so that it leaves in one segment with the FIN)
                my @next = Test::FIORedis::FakeServer::read_command($sock);
                setsockopt( $sock, Socket::IPPROTO_TCP(), Socket::TCP_CORK(), 1 );
                Test::FIORedis::FakeServer::write_all( $sock, "+BYE\r\n" );
                return;
            }
            elsif ( $name eq 'BYE' ) {
                # like QUIT: a reply, then close, in one segment
                setsockopt( $sock, Socket::IPPROTO_TCP(), Socket::TCP_CORK(), 1 );
                Test::FIORedis::FakeServer::write_all( $sock, "+OK\r\n" );
                return;
            }
            elsif ( $name eq 'HALFCLOSE' ) {
                # half of a 100-byte bulk, then close
                Test::FIORedis::FakeServer::write_all( $sock, "\$100\r\n" . ( 'x' x 50 ) );
                sleep 0.1;
                return;
            }
            elsif ( $name eq 'REPLY' && exists $REPLY{ $cmd[1] } ) {
                Test::FIORedis::FakeServer::write_all( $sock, $REPLY{ $cmd[1] } );
            }
            else {
                Test::FIORedis::FakeServer::write_all( $sock, "-ERR fake server: unknown command '$cmd[0]'\r\n" );
            }
        }
    },
    concurrent => 1,
);

sub fake_client {
    return Future::IO::Redis->new( host => '127.0.0.1', port => $fake->port, @_ );
}

sub is_integer_sv {
    my ($v) = @_;
    return 0 unless defined $v && !ref $v;
    return B::svref_2object( \$v )->FLAGS & B::SVf_IOK() ? 1 : 0;
}

my $redis = fake_client();

subtest 'simple strings' => sub {
    my $v = run( $redis->command( 'REPLY', 'simple' ) );
    is( $v, 'hello world', 'simple string' );
    ok( !utf8::is_utf8($v), 'as bytes' );
    is( run( $redis->command( 'REPLY', 'simple_empty' ) ), '', 'empty simple string' );
};

subtest 'error replies fail the command with Error::Redis' => sub {
    my $e = error_of( $redis->command( 'REPLY', 'error' ) );
    isa_ok( $e, ['Future::IO::Redis::Error::Redis'], 'error reply' );
    is( $e->code,    'ERR',                      'code' );
    is( $e->message, 'ERR something went wrong', 'message is the line without the dash' );

    $e = error_of( $redis->command( 'REPLY', 'error_code' ) );
    isa_ok( $e, ['Future::IO::Redis::Error::Redis'], 'error reply with a custom code' );
    is( $e->code,    'MYCODE',                            'custom code' );
    is( $e->message, 'MYCODE custom failure with details', 'custom message' );

    is( run( $redis->command( 'REPLY', 'simple' ) ), 'hello world', 'the connection still works after an error reply' );
};

subtest 'integers' => sub {
    my %want = (
        int          => 42,
        int_zero     => 0,
        int_negative => -17,
        int_max      => '9223372036854775807',
        int_min      => '-9223372036854775808',
    );
    for my $name ( sort keys %want ) {
        # i64 min is a valid RESP integer (a real server sends it: SET k -9223372036854775807,
        # DECR k); it must not be a protocol error.
        my $v = eval { run( $redis->command( 'REPLY', $name ) ) };
        ok( defined $v, "$name decodes" ) or diag("error: $@");
        is( $v // 'undef', "$want{$name}", "$name: $want{$name}" );
        ok( is_integer_sv($v), "$name is a Perl integer, not a string" );
    }
    my $max = run( $redis->command( 'REPLY', 'int_max' ) );
    ok( $max == 9223372036854775807, 'i64 max compares equal numerically' );
    ok( $max - 1 == 9223372036854775806, 'and arithmetic on it is exact' );
};

subtest 'bulk strings' => sub {
    is( run( $redis->command( 'REPLY', 'bulk' ) ), 'hello', 'bulk string' );
    my $empty = run( $redis->command( 'REPLY', 'bulk_empty' ) );
    ok( defined $empty, 'empty bulk is defined' );
    is( $empty, '', 'empty bulk is the empty string' );
    my @nil = run( $redis->command( 'REPLY', 'bulk_nil' ) );
    is( \@nil, [undef], 'nil bulk is a single undef' );

    my $bin = run( $redis->command( 'REPLY', 'binary' ) );
    is( length $bin, 10, 'binary bulk has all its 10 bytes' );
    is( $bin, "a\r\nb\0c\r\n\0\xff", 'binary bulk with CRLF, NUL and 0xFF inside round-trips exactly' );
    ok( !utf8::is_utf8($bin), 'binary bulk is bytes' );
};

subtest 'arrays' => sub {
    my @nil = run( $redis->command( 'REPLY', 'array_nil' ) );
    is( \@nil, [undef], 'nil array is undef' );
    is( run( $redis->command( 'REPLY', 'array_empty' ) ), [], 'empty array is an empty array ref' );
    is( run( $redis->command( 'REPLY', 'array_flat' ) ), [ 'foo', -1, undef, 'bar' ], 'mixed flat array' );
    is(
        run( $redis->command( 'REPLY', 'nested3' ) ),
        [ [ [ 1, 'x' ], 'a', [] ], 'b', [ [undef] ] ],
        'arrays nested three deep'
    );
};

subtest 'an error inside an array is an Error::Redis object in place' => sub {
    my $v = run( $redis->command( 'REPLY', 'array_with_error' ) );
    is( ref $v, 'ARRAY', 'the command succeeds with an array' );
    is( scalar @$v, 3, 'three elements' );
    is( $v->[0], 'OK', 'first element' );
    isa_ok( $v->[1], ['Future::IO::Redis::Error::Redis'], 'second element' );
    is( $v->[1]->code, 'WRONGTYPE', 'its code' );
    is( $v->[1]->message, 'WRONGTYPE Operation against a key holding the wrong kind of value', 'its message' );
    is( $v->[2], 5, 'third element' );

    $v = run( $redis->command( 'REPLY', 'nested_with_error' ) );
    isa_ok( $v->[0][0], ['Future::IO::Redis::Error::Redis'], 'an error two levels deep' );
    is( $v->[0][0]->code, 'NOSCRIPT', 'its code' );
    is( $v->[0][1], 1,   'its sibling' );
    is( $v->[1],    'z', 'the outer sibling' );
};

subtest 'a reply delivered one byte at a time' => sub {
    is( run( $redis->command( 'SLOW', 'nested3' ) ),
        [ [ [ 1, 'x' ], 'a', [] ], 'b', [ [undef] ] ], 'nested array, byte by byte' );
    is( run( $redis->command( 'SLOW', 'binary' ) ), "a\r\nb\0c\r\n\0\xff", 'binary bulk, byte by byte' );
    is( run( $redis->command( 'SLOW', 'int_negative' ) ), -17, 'negative integer, byte by byte' );
    is( run( $redis->command( 'SLOW', 'int_max' ) ), '9223372036854775807', 'i64 max, byte by byte' );
    my $e = error_of( $redis->command( 'SLOW', 'error' ) );
    is( $e && $e->code, 'ERR', 'error reply, byte by byte' );

    # several commands in flight while replies trickle in: each gets its own
    my @f = (
        $redis->command( 'SLOW', 'simple' ),
        $redis->command( 'SLOW', 'array_with_error' ),
        $redis->command( 'SLOW', 'bulk_nil' ),
    );
    my @r = run( Future->needs_all(@f) );
    is( $r[0], 'hello world', 'first of three in flight' );
    is( $r[1][2], 5, 'second of three in flight' );
    isa_ok( $r[1][1], ['Future::IO::Redis::Error::Redis'], 'its error element' );
    is( $r[2], undef, 'third of three in flight' );
};

subtest 'a 5 MB bulk string' => sub {
    my $v = run( $redis->command( 'REPLY', 'big' ) );
    is( length $v, $FIVE_MB, '5 MB long' );
    ok( $v eq 'abcdefghijklmnop' x ( $FIVE_MB / 16 ), 'content exact' );
    is( run( $redis->command( 'REPLY', 'int' ) ), 42, 'next reply decodes normally' );
};

sub depth_of {
    my ($v) = @_;
    my $d = 0;
    while ( ref $v eq 'ARRAY' ) {
        return -1 unless @$v == 1;
        $v = $v->[0];
        $d++;
    }
    return ( defined $v && $v eq '7' ) ? $d : -1;
}

subtest 'a reply nested 3000 arrays deep decodes' => sub {
    my $c = fake_client();
    my $conn_before = run( $c->command('CONN') );
    my $v = run( $c->command( 'REPLY', 'deep3000' ) );
    is( depth_of($v), 3000, '3000 levels, with the integer at the bottom' );
    is( run( $c->command('CONN') ), $conn_before, 'still on the same connection' );
};

# The engine bounds nesting depth (MAX_REPLY_DEPTH in src/protocol/decoder.rs: 4096 when
# this test was written, being raised to 16384); a deeper reply fails with Error::Protocol, and
# the connection is reset.
subtest 'a reply nested 5000 deep: decoded exactly, or a protocol error if over the limit' => sub {
    my $c = fake_client();
    is( run( $c->command('CONN') ) > 0, T(), 'connected' );
    my $conn_before = run( $c->command('CONN') );
    my $f = $c->command( 'REPLY', 'deep5000' );
    my $err = error_of($f);
    if ($err) {
        isa_ok( $err, ['Future::IO::Redis::Error::Protocol'], '5000 levels is over the limit' );
        my $after = run( $c->command('CONN') );
        isnt( $after, $conn_before, 'a later command works, on a new connection' );
    }
    else {
        is( depth_of( $f->get ), 5000, '5000 levels decode exactly (limit above 5000)' );
        is( run( $c->command('CONN') ), $conn_before, 'on the same connection' );
    }
};

subtest 'a reply nested 20000 deep fails with Error::Protocol; the client reconnects' => sub {
    my $c = fake_client();
    my $conn_before = run( $c->command('CONN') );
    my $err = error_of( $c->command( 'REPLY', 'deep20000' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Protocol'], 'too deep' );
    like( "$err", qr/deep|depth|nest/i, 'the message says why' ) if $err;
    my $after = run( $c->command('CONN') );
    ok( $after > $conn_before, "a later command works, on a new connection ($conn_before -> $after)" );
    is( run( $c->command( 'REPLY', 'deep3000' ) ) && 1, 1, 'and deep (in-limit) replies decode there' );
};

subtest 'garbage bytes: Protocol error for the waiting command, Connection for the next' => sub {
    my $c = fake_client();
    my $conn_before = run( $c->command('CONN') );
    # both leave in the same write; the server reads both, then answers garbage
    my $f1 = $c->command('GARBAGE');
    my $f2 = $c->command( 'SET', 'k', 'v' );    # a write: never sent again after a loss
    my $e1 = error_of($f1);
    my $e2 = error_of($f2);
    isa_ok( $e1, ['Future::IO::Redis::Error::Protocol'], 'the command waiting for the reply' );
    isa_ok( $e2, ['Future::IO::Redis::Error::Connection'], 'the command written after it' );
    ok( !( $e2 && $e2->isa('Future::IO::Redis::Error::Protocol') ), 'the second is not itself a protocol error' );
    my $after = run( $c->command('CONN') );
    ok( $after > $conn_before, 'a later command works, on a new connection' );
    is( run( $c->command( 'REPLY', 'simple' ) ), 'hello world', 'and decodes normally' );
};

subtest 'the server closes mid-reply: Error::Connection' => sub {
    my $c = fake_client();
    my $conn_before = run( $c->command('CONN') );
    my $t0  = time;
    my $err = error_of( $c->command('HALFCLOSE') );
    isa_ok( $err, ['Future::IO::Redis::Error::Connection'], 'half a bulk, then close' );
    ok( time - $t0 < 4, 'reported promptly (well before request_timeout)' );
    my $after = run( $c->command('CONN') );
    ok( $after > $conn_before, 'a later command works, on a new connection' );
};

# A reply and the server's FIN arriving together: the reply is delivered, and the command
# written after it fails with Error::Connection at once, not with Error::Timeout when its
# request_timeout passes (the end of the stream must be noticed even when the read that
# returned the reply was short).
subtest 'a reply followed at once by close: the next command fails with Connection, promptly' => sub {
    my ( %kinds, @slow );
    for my $round ( 1 .. 3 ) {
        my $c = fake_client( request_timeout => 1.5 );
        run( $c->command('PING') );
        my $t0 = time;
        my $f1 = $c->command('CLOSEAFTER');
        my $f2 = $c->command( 'SET', 'k', 'v' );    # a write: never sent again after a loss
        my $r1 = eval { run($f1) } // "error: $@";
        my $e2 = error_of($f2);
        my $dt = time - $t0;
        $kinds{ $r1 eq 'BYE' ? 'reply ok' : "first: $r1" }++;
        $kinds{ ref($e2) || 'no error' }++;
        push @slow, sprintf( 'round %d: %.2f s (%s)', $round, $dt, ref $e2 ) if $dt > 1.2;
    }
    is( $kinds{'reply ok'}, 3, 'the reply before the close is delivered every time' );
    is( $kinds{'Future::IO::Redis::Error::Connection'} // 0, 3,
        'the command after it fails with Error::Connection every time' )
      or diag( join ', ', map { "$_: $kinds{$_}" } sort keys %kinds );
    is( \@slow, [], 'and promptly (no round waited for request_timeout)' );
};

subtest 'a reply followed at once by close, nothing else in flight: the client notices' => sub {
    my @reasons;
    my $c = fake_client( on_disconnect => sub { push @reasons, $_[1] } );
    my $conn_before = run( $c->command('CONN') );
    is( run( $c->command('BYE') ), 'OK', 'the reply is delivered' );
    ok( wait_until( sub { @reasons }, 3 ), 'on_disconnect fires' );
    is( \@reasons, ['server_closed'], "with reason 'server_closed'" );
    ok( !$c->is_connected || wait_until( sub { !$c->is_connected }, 1 ), 'is_connected is false' );
    my $after = eval { run( $c->command('CONN') ) };
    ok( defined $after && $after > $conn_before, 'the next command succeeds, on a new connection' )
      or diag( 'error: ' . ( ref $@ || $@ ) );
};

done_testing;

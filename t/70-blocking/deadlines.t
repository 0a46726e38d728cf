# Every blocking command the server lists gets its server-side timeout plus
# blocking_timeout_buffer as its client deadline (BLPOP BRPOP BLMOVE BRPOPLPUSH BZPOPMIN BZPOPMAX
# BLMPOP BZMPOP in seconds; XREAD / XREADGROUP BLOCK, WAIT and WAITAOF in milliseconds), and a
# server-side timeout of 0 means no client deadline at all.
#
# Deadline: against a SIGSTOPped server (the command is written, nothing answers), each command
# fails with the typed Timeout, whose timeout is exactly server timeout + buffer, and never
# before the server timeout. No deadline: with request_timeout far shorter, a command with
# timeout 0 is still pending after request_timeout has passed several times over, and is then
# served by another client (a push, or CLIENT UNBLOCK for WAIT / WAITAOF).
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $srv = start_server();
$srv->cli('FLUSHALL');

my $BUFFER = 0.3;

# Which blocking commands this server has (WAITAOF is Redis 7.2+).
my $probe = client($srv);
my %HAS = map { $_ => 1 } grep { ref( run( $probe->command( 'COMMAND', 'INFO', $_ ) )->[0] ) } qw(
  BLPOP BRPOP BLMOVE BRPOPLPUSH BZPOPMIN BZPOPMAX BLMPOP BZMPOP XREAD XREADGROUP WAIT WAITAOF
);
run( $probe->command( 'XGROUP', 'CREATE', 'dl:group-stream', 'g', '$', 'MKSTREAM' ) );

# name => [ words with the server-side timeout as %T (seconds) or %M (milliseconds) ]
my @COMMANDS = (
    [ BLPOP      => [ 'BLPOP', 'dl:l1', 'dl:l2', '%T' ] ],
    [ BRPOP      => [ 'BRPOP', 'dl:l1', '%T' ] ],
    [ BLMOVE     => [ 'BLMOVE', 'dl:l1', 'dl:dst', 'LEFT', 'RIGHT', '%T' ] ],
    [ BRPOPLPUSH => [ 'BRPOPLPUSH', 'dl:l1', 'dl:dst', '%T' ] ],
    [ BZPOPMIN   => [ 'BZPOPMIN', 'dl:z1', '%T' ] ],
    [ BZPOPMAX   => [ 'BZPOPMAX', 'dl:z1', 'dl:z2', '%T' ] ],
    [ BLMPOP     => [ 'BLMPOP', '%T', 2, 'dl:l1', 'dl:l2', 'LEFT' ] ],
    [ BZMPOP     => [ 'BZMPOP', '%T', 1, 'dl:z1', 'MIN' ] ],
    [ XREAD      => [ 'XREAD', 'COUNT', 1, 'BLOCK', '%M', 'STREAMS', 'dl:stream', '$' ] ],
    [ XREADGROUP => [ 'XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '%M', 'STREAMS', 'dl:group-stream', '>' ] ],
    [ WAIT       => [ 'WAIT', 1, '%M' ] ],
    [ WAITAOF    => [ 'WAITAOF', 0, 1, '%M' ] ],
);

sub line {
    my ( $words, $secs ) = @_;
    return map { $_ eq '%T' ? $secs : $_ eq '%M' ? int( $secs * 1000 ) : $_ } @$words;
}

# A client whose ordinary commands time out quickly (so that only the blocking rule can explain a
# longer deadline), reporting its disconnect reasons into @$reasons.
sub blocking_client {
    my ( $reasons, %more ) = @_;
    return client(
        $srv,
        blocking_timeout_buffer => $BUFFER,
        request_timeout         => 0.1,
        read_timeout            => 0.1,
        on_disconnect           => sub { push @$reasons, $_[1] },
        %more,
    );
}

for my $c (@COMMANDS) {
    my ( $name, $words ) = @$c;
    subtest "$name: server timeout + blocking_timeout_buffer is the deadline" => sub {
        skip_all "this redis-server has no $name" unless $HAS{$name};
        my @reasons;
        my $redis = blocking_client( \@reasons, reconnect_delay => 0.05 );
        run( $redis->connect );
        my $server_timeout = 0.5;
        my @line = line( $words, $server_timeout );
        $srv->pause;
        my $t0   = time;
        my $f    = $redis->command(@line);
        my $err  = error_of($f);
        my $took = time - $t0;
        $srv->resume;
        isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], "$name on a stopped server fails with a Timeout" );
        is( $err && $err->kind,         'request', '... of kind request' );
        is( $err && $err->command_name, $name,     "... naming $name" );
        is( $err && $err->command,      [ map {"$_"} @line ], '... with its words' );
        is( $err && $err->timeout,      float( $server_timeout + $BUFFER, tolerance => 1e-9 ),
            "... whose deadline is the server timeout ($server_timeout s) + the buffer ($BUFFER s)" );
        ok( $err && $err->maybe_executed, '... written, so maybe executed' );
        ok( $took >= $server_timeout, sprintf( '... not before the server timeout (after %.2f s)', $took ) );
        wait_until( sub { @reasons }, 10 );
        is( $reasons[0], 'timeout', "the connection was reset (on_disconnect 'timeout')" );
        is( run( $redis->ping, 30 ), 'PONG', 'the client reconnects once the server runs again' );
        run( $redis->disconnect );
    };
}

# How another client serves each command that blocks for ever.
my %SERVE = (
    BLPOP      => [ 'RPUSH', 'dl:l1', 'x' ],
    BRPOP      => [ 'RPUSH', 'dl:l1', 'x' ],
    BLMOVE     => [ 'RPUSH', 'dl:l1', 'x' ],
    BRPOPLPUSH => [ 'RPUSH', 'dl:l1', 'x' ],
    BZPOPMIN   => [ 'ZADD', 'dl:z1', 1, 'x' ],
    BZPOPMAX   => [ 'ZADD', 'dl:z1', 1, 'x' ],
    BLMPOP     => [ 'RPUSH', 'dl:l2', 'x' ],
    BZMPOP     => [ 'ZADD', 'dl:z1', 1, 'x' ],
    XREAD      => [ 'XADD', 'dl:stream', '*', 'f', 'x' ],
    XREADGROUP => [ 'XADD', 'dl:group-stream', '*', 'f', 'x' ],
    WAIT       => 'unblock',
    WAITAOF    => 'unblock',
);

for my $c (@COMMANDS) {
    my ( $name, $words ) = @$c;
    subtest "$name with timeout 0: no client deadline" => sub {
        skip_all "this redis-server has no $name" unless $HAS{$name};
        my @reasons;
        my $redis = blocking_client( \@reasons );
        my $other = client($srv);
        run( $redis->connect );
        my $id = run( $redis->client_id );
        my $f  = $redis->command( line( $words, 0 ) );
        # Long past request_timeout, read_timeout and the buffer: still waiting, same connection.
        wait_until( sub { $srv->cli( 'CLIENT', 'LIST', 'ID', $id ) =~ /\bflags=b\b/ }, 10 );
        run( Future::IO->sleep( 6 * 0.1 + $BUFFER ) );
        ok( !$f->is_ready, "$name 0 is still pending after request_timeout, read_timeout and the buffer passed" )
          or note $f->failure;
        like( $srv->cli( 'CLIENT', 'LIST', 'ID', $id ), qr/\bflags=b\b/, '... and blocked on the server' );
        ok( $redis->session_state->{blocking}, '... and the engine knows a blocking command waits' );

        my $serve = $SERVE{$name};
        if ( ref $serve ) { run( $other->command(@$serve) ) }
        else              { is( run( $other->client_unblock($id) ), 1, 'CLIENT UNBLOCK from another client' ) }
        my $got = run( $f, 30 );
        if ( ref $serve ) {
            ok( ref $got eq 'ARRAY' || ( defined $got && $got eq 'x' ), "then served by another client's $serve->[0]" )
              or note explain $got;
        }
        else {
            ok( defined $got, "then answered once unblocked" ) or note explain $got;
        }
        is( run( $redis->client_id ), $id, 'on the same connection: no client deadline fired' );
        is( \@reasons, [], 'no disconnect' );
        run( $redis->del( 'dl:l1', 'dl:l2', 'dl:z1', 'dl:dst' ) );
        run( Future->needs_all( $redis->disconnect, $other->disconnect ) );
    };
}

done_testing;

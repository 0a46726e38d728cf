# A server that closes the connection while commands are being written must fail those commands,
# not end the program: writing to a socket whose peer has gone raises SIGPIPE, whose default
# action kills the process. The engine writes with MSG_NOSIGNAL, so the write fails with EPIPE
# and the commands fail (or are sent again after the reconnect) with typed errors.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Time::HiRes qw(sleep);

# SIGPIPE must be at its default (deadly) disposition for this test to mean anything.
local $SIG{PIPE} = 'DEFAULT';

my $srv = start_server();

for my $case ( [ 'busy connection, large burst' => 3000 ], [ 'busy connection, one more command' => 1 ] ) {
    my ( $name, $count ) = @$case;
    subtest $name => sub {
        my $r = client( $srv, reconnect => 1, reconnect_delay => 0.01 );
        my $id = run( $r->client_id );
        # Keep the connection busy (a command in flight), so that later commands are written
        # while it is: then kill it, and give the server's FIN time to arrive.
        my $blocked = $r->blpop( 'sigpipe:nothing', 5 );
        # Killed from outside this process's event loop (redis-cli): a turn of the engine in
        # between would see the close before the next write, which this test must not allow.
        is( $srv->cli( 'CLIENT', 'KILL', 'ID', $id ), 1, 'the server closed the connection' );
        sleep 0.1;

        # No turn in between: these are written to the socket the server closed.
        my @f = map { $r->set( "sigpipe:$_", 'v' x 32 ) } 1 .. $count;
        run( Future->wait_all( $blocked, @f ), 30 );

        pass('the program is still running');
        my ( $ok, $typed, $other ) = ( 0, 0, 0 );
        for my $f ( $blocked, @f ) {
            if ( $f->is_done ) { $ok++; next }
            my $err = $f->failure;
            if   ( ref($err) =~ /\AFuture::IO::Redis::Error::(?:Connection|Disconnected)\z/ ) { $typed++ }
            else                                                                              { $other++ }
        }
        is( $other, 0, 'every failure is a typed connection error' );
        ok( $ok + $typed == $count + 1, "every command completed ($ok done, $typed failed)" );
        ok( $blocked->is_failed, 'the blocked command failed with the connection' );

        # The client carries on over a new connection.
        is( run( $r->set( 'sigpipe:after', 'yes' ) ), 'OK', 'a later command succeeds' );
        is( run( $r->get('sigpipe:after') ), 'yes', 'on a working connection' );
        $r->disconnect;
    };
}

done_testing;

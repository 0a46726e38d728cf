# request_timeout: each command's deadline. A command that misses it fails with Timeout, every
# other command written on that connection with Connection (the stream cannot be resynchronised),
# per-command overrides, 0 = no deadline, and pipelines.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $srv = start_server();

# DEBUG SLEEP blocks the whole server: wait until it answers again before the next subtest.
sub server_awake { is( $srv->cli('PING'), 'PONG', 'server answers again' ) }

subtest 'the design scenario: DEBUG SLEEP 2 then GET, request_timeout 0.5' => sub {
    my $redis = client( $srv, request_timeout => 0.5, reconnect_delay => 0.05 );
    run( $redis->connect );
    run( $redis->set( 'rt:key', 'value' ) );

    my $t0    = time;
    my $sleep = $redis->command( 'DEBUG', 'SLEEP', 2 );
    my $get   = $redis->get('rt:key');
    run( Future->wait_all( $sleep, $get ), 10 );
    my $took = time - $t0;

    my $e1 = $sleep->failure;
    my $e2 = $get->failure;
    isa_ok( $e1, ['Future::IO::Redis::Error::Timeout'], 'DEBUG SLEEP fails with Timeout' );
    is( $e1 && $e1->command_name, 'DEBUG SLEEP', "the Timeout names the command 'DEBUG SLEEP'" );
    is( $e1 && $e1->kind,    'request',     "kind 'request'" );
    is( $e1 && $e1->timeout, 0.5,           'timeout is the request_timeout (0.5)' );
    unlike( $e1 ? "$e1" : '', qr/\bSLEEP 2\b/, 'the message does not carry the arguments' );
    isa_ok( $e2, ['Future::IO::Redis::Error::Connection'], 'the GET written behind it fails with Connection' );
    ok( $took < 1.9, sprintf( 'both failed before the server woke up (%.2fs)', $took ) );

    server_awake();
    is( run( $redis->get('rt:key'), 10 ), 'value', 'the client works again after the reset' );
    run( $redis->disconnect );
};

subtest 'a per-command timeout override lets a slow command finish' => sub {
    my $redis = client(
        $srv,
        request_timeout => 0.5,
        read_timeout    => 0.3,    # does not apply while a command with its own timeout waits
        timeout         => { 'DEBUG SLEEP' => 5 },
    );
    run( $redis->connect );
    my $id = run( $redis->client_id );
    my $t0 = time;
    is( run( $redis->command( 'DEBUG', 'SLEEP', 1 ), 10 ), 'OK', 'DEBUG SLEEP 1 succeeds with request_timeout 0.5' );
    ok( time - $t0 >= 0.9, 'it really slept' );
    is( run( $redis->client_id ), $id, 'on the same connection (no reset happened)' );

    # The override is for DEBUG SLEEP only: other commands keep request_timeout.
    my $sleep = $redis->command( 'DEBUG', 'SLEEP', 0 );
    is( run($sleep), 'OK', 'DEBUG SLEEP 0 is fine' );
    run( $redis->disconnect );
};

subtest 'override names are case-insensitive' => sub {
    my $redis = client( $srv, request_timeout => 0.3, timeout => { 'debug sleep' => 5 } );
    is( run( $redis->command( 'debug', 'sleep', '0.8' ), 10 ), 'OK', 'debug sleep 0.8 succeeds with a lower-case override' );
    run( $redis->disconnect );
};

subtest 'an override can be shorter than request_timeout' => sub {
    my $redis = client( $srv, request_timeout => 10, timeout => { 'DEBUG SLEEP' => 0.3 } );
    run( $redis->connect );
    my $t0  = time;
    my $err = error_of( $redis->command( 'DEBUG', 'SLEEP', 1.5 ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'DEBUG SLEEP 1.5 times out with its 0.3 override' );
    is( $err && $err->timeout, 0.3, 'the Timeout reports the override (0.3)' );
    ok( time - $t0 < 1.4, 'before the server woke up' );
    server_awake();
    run( $redis->disconnect );
};

subtest 'request_timeout => 0 means no deadline' => sub {
    my $redis = client( $srv, request_timeout => 0 );
    run( $redis->connect );
    my $id = run( $redis->client_id );
    is( run( $redis->command( 'DEBUG', 'SLEEP', 1.2 ), 10 ), 'OK', 'DEBUG SLEEP 1.2 succeeds' );
    is( run( $redis->client_id ), $id, 'same connection' );
    run( $redis->disconnect );
};

subtest 'an override of 0 means no deadline for that command' => sub {
    my $redis = client( $srv, request_timeout => 0.3, timeout => { 'DEBUG SLEEP' => 0 } );
    is( run( $redis->command( 'DEBUG', 'SLEEP', 0.8 ), 10 ), 'OK', 'DEBUG SLEEP 0.8 succeeds with override 0' );
    run( $redis->disconnect );
};

subtest 'pipeline: DEBUG SLEEP 1 first, request_timeout 0.3' => sub {
    my $redis = client( $srv, request_timeout => 0.3 );
    run( $redis->connect );
    my $t0  = time;
    my $res = run( $redis->pipeline->command( 'DEBUG', 'SLEEP', 1 )->set( 'rt:p1', 'x' )->get('rt:p1')->execute, 10 );
    my $took = time - $t0;
    is( ref $res,     'ARRAY', 'execute resolves to an array' );
    is( scalar @$res, 3,       'with one slot per command' );
    isa_ok( $res->[0], ['Future::IO::Redis::Error::Timeout'], 'the head (DEBUG SLEEP) is a Timeout' );
    is( ref $res->[0] && $res->[0]->command_name, 'DEBUG SLEEP', 'naming DEBUG SLEEP' );
    isa_ok( $res->[1], ['Future::IO::Redis::Error::Connection'], 'SET behind it is a Connection error' );
    isa_ok( $res->[2], ['Future::IO::Redis::Error::Connection'], 'GET behind it is a Connection error' );
    ok( $took < 0.95, sprintf( 'resolved before the server woke up (%.2fs)', $took ) );
    server_awake();
    is( run( $redis->ping, 10 ), 'PONG', 'the client works again' );
    run( $redis->disconnect );
};

subtest 'pipeline: all commands share one deadline (sleep in the middle)' => sub {
    my $redis = client( $srv, request_timeout => 0.3 );
    run( $redis->connect );
    my $t0  = time;
    my $res = run(
        $redis->pipeline->set( 'rt:p2', 'a' )->command( 'DEBUG', 'SLEEP', 1 )->get('rt:p2')->incr('rt:p2n')->execute, 10 );
    my $took = time - $t0;
    is( scalar @$res, 4, 'four results' );
    my @classes = map { ref } @$res;
    ok( ( !grep { !/\AFuture::IO::Redis::Error::(?:Timeout|Connection)\z/ } @classes[ 1 .. 3 ] ),
        "the sleeping command and everything behind it failed with Timeout/Connection (@classes)" );
    is( scalar( grep { $_ eq 'Future::IO::Redis::Error::Timeout' } @classes ), 1, 'exactly one Timeout' );
    ok( $took < 0.95, sprintf( 'resolved before the server woke up (%.2fs)', $took ) );
    server_awake();
    is( $srv->cli( 'GET', 'rt:p2n' ), '1', 'the INCR written before the timeout ran once, and was not sent again' );
    run( $redis->disconnect );
};

subtest 'a pipeline that finishes in time is unaffected' => sub {
    my $redis = client( $srv, request_timeout => 2 );
    my $res = run( $redis->pipeline->set( 'rt:ok', 1 )->command( 'DEBUG', 'SLEEP', 0.2 )->incr('rt:ok')->execute, 10 );
    is( $res, [ 'OK', 'OK', 2 ], 'all replies' );
    run( $redis->disconnect );
};

done_testing;

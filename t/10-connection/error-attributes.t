# Every attribute of the error classes, set by real events: a refused connect on a loopback port
# nobody listens on (Connection host/port/reason), a lost connection, request timeouts against a
# stopped server before and after the command was written (Timeout command/timeout/
# maybe_executed, secrets redacted), a protocol error from a fake server (Protocol data), a full
# reconnect queue (Disconnected queue_size), and error replies for each Redis predicate.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Test::FIORedis::FakeServer;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $srv = start_server();
$srv->cli('FLUSHALL');

sub no_secret {
    my ( $err, $secret, $what ) = @_;
    my @seen;
    my @todo = ( {%$err} );
    while ( my $x = shift @todo ) {
        if    ( ref $x eq 'HASH' )  { push @todo, values %$x }
        elsif ( ref $x eq 'ARRAY' ) { push @todo, @$x }
        elsif ( defined $x )        { push @seen, $x }
    }
    ok( !grep( { index( $_, $secret ) >= 0 } @seen, "$err" ), $what );
}

subtest 'Connection: a refused connect names host, port and reason connect_failed' => sub {
    my $port  = Test::FIORedis::Server::free_port();
    my $redis = Future::IO::Redis->new( host => '127.0.0.1', port => $port, connect_timeout => 5 );
    my $err   = error_of( $redis->connect );
    isa_ok( $err, ['Future::IO::Redis::Error::Connection'], 'connect fails with a Connection error' );
    is( [ $err->host, $err->port, $err->path, $err->reason ], [ '127.0.0.1', $port, undef, 'connect_failed' ],
        'host, port, no path, reason connect_failed' );

    # The first command of a client that never connected: the same, for the command.
    my @errors;
    my $lazy = Future::IO::Redis->new( host => '127.0.0.1', port => $port, on_error => sub { push @errors, $_[1] } );
    $err = error_of( $lazy->get('k') );
    isa_ok( $err, ['Future::IO::Redis::Error::Connection'], 'a command that waited for that connect' );
    is( [ $err->host, $err->port, $err->reason ], [ '127.0.0.1', $port, 'connect_failed' ], '... names it too' );
    is( scalar @errors, 1, 'on_error got the error' );
    is( [ $errors[0]->host, $errors[0]->port, $errors[0]->reason ], [ '127.0.0.1', $port, 'connect_failed' ],
        '... with host, port and reason' );
};

subtest 'Connection: a unix socket that is not there names the path' => sub {
    my $path  = $srv->dir . '/nobody-listens.sock';
    my $redis = Future::IO::Redis->new( path => $path );
    my $err   = error_of( $redis->connect );
    isa_ok( $err, ['Future::IO::Redis::Error::Connection'], 'connect fails' );
    is( [ $err->path, $err->host, $err->port, $err->reason ], [ $path, undef, undef, 'connect_failed' ], 'path, reason' );
};

subtest 'Connection: a command in flight when the server closes the connection' => sub {
    my $redis = client( $srv, retry => 'none' );
    my $killer = client($srv);
    run( $redis->connect );
    my $id = run( $redis->client_id );
    my $f  = $redis->blpop( 'ea:nothing', 0 );
    wait_until( sub { $srv->cli( 'CLIENT', 'LIST', 'ID', $id ) =~ /cmd=blpop/ }, 5 );
    run( $killer->client_kill( 'ID', $id ) );
    my $err = error_of($f);
    isa_ok( $err, ['Future::IO::Redis::Error::Connection'], 'BLPOP fails with a Connection error' );
    is( [ $err->host, $err->port ], [ '127.0.0.1', $srv->port ], 'host and port' );
    like( $err->reason, qr/\A(?:server_closed|connection_lost)\z/, "reason '" . $err->reason . "'" );
    run( Future->needs_all( $redis->disconnect, $killer->disconnect ) );
};

subtest 'Timeout after the write: maybe_executed, the command words, reason timeout for the others' => sub {
    my $redis = client( $srv, request_timeout => 0.3, reconnect_delay => 0.05 );
    run( $redis->connect );
    $srv->pause;
    my $t0   = time;
    my $set  = $redis->set( 'ea:k', 'v', 'EX', 100 );
    my $get  = $redis->get('ea:k');
    my $err  = error_of($set);
    my $took = time - $t0;
    my $other = error_of($get);
    $srv->resume;
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'SET on a stopped server times out' );
    is( $err->command,      [ 'SET', 'ea:k', 'v', 'EX', '100' ], 'command: its words' );
    is( $err->command_name, 'SET',   'command_name' );
    is( $err->timeout,      0.3,     'timeout: request_timeout' );
    is( $err->kind,         'request', 'kind request' );
    is( $err->maybe_executed, 1, 'maybe_executed: it had been written' );
    ok( $took >= 0.3, sprintf( 'not before request_timeout (%.2f s)', $took ) );
    isa_ok( $other, ['Future::IO::Redis::Error::Connection'], 'the GET written behind it' );
    is( $other->reason, 'timeout', "... fails with reason 'timeout'" );
    is( [ $other->host, $other->port ], [ '127.0.0.1', $srv->port ], '... naming the server' );
    is( run( $redis->ping, 30 ), 'PONG', 'the client recovers' );
    run( $redis->disconnect );
};

subtest 'Timeout of AUTH: the words are redacted' => sub {
    my $redis = client( $srv, request_timeout => 0.3, reconnect_delay => 0.05 );
    run( $redis->connect );
    $srv->pause;
    my $err = error_of( $redis->command( 'AUTH', 'someone', 'Very-Secret-9' ) );
    $srv->resume;
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'AUTH times out' );
    is( $err->command, [ 'AUTH', 'someone', '[REDACTED]' ], 'command words with the password replaced' );
    no_secret( $err, 'Very-Secret-9', 'the password is nowhere in the error' );
    is( run( $redis->ping, 30 ), 'PONG', 'the client recovers' );
    run( $redis->disconnect );
};

subtest 'Timeout before the write: not maybe_executed' => sub {
    # pipeline_depth 1: the second command waits to be sent behind the first, which the
    # stopped server never answers; its deadline passes first.
    my $redis = client( $srv, pipeline_depth => 1, request_timeout => 5, timeout => { INCR => 0.3 } );
    run( $redis->connect );
    $srv->pause;
    my $first  = $redis->command( 'SET', 'ea:first', 1 );
    my $second = $redis->incr('ea:counter');
    my $err    = error_of($second);
    $srv->resume;
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'the INCR waiting to be sent times out' );
    is( $err->maybe_executed, 0, 'maybe_executed false: it was never written' );
    is( $err->command, [ 'INCR', 'ea:counter' ], 'its words' );
    is( $err->timeout, 0.3, 'its own timeout' );
    is( run($first), 'OK', 'the written SET completes once the server runs again' );
    is( $srv->cli( 'GET', 'ea:counter' ), '', 'and the INCR never ran' );
    run( $redis->disconnect );

    # A command waiting for a connection that never becomes ready.
    my $fresh = client( $srv, request_timeout => 0.3, connect_timeout => 10 );
    $srv->pause;
    $err = error_of( $fresh->get('ea:k') );
    $srv->resume;
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'a command waiting for the handshake times out' );
    is( $err->maybe_executed, 0, '... not maybe_executed' );
    is( $err->command, [ 'GET', 'ea:k' ], '... with its words' );
    run( $fresh->disconnect );
};

subtest 'Protocol: data holds an excerpt of what the server sent' => sub {
    my $fake = Test::FIORedis::FakeServer->start(
        sub {
            my ($sock) = @_;
            while ( my @cmd = Test::FIORedis::FakeServer::read_command($sock) ) {
                if ( $cmd[0] eq 'GET' ) {
                    Test::FIORedis::FakeServer::write_all( $sock, "HTTP/1.1 400 Bad Request\r\nServer: x\r\n\r\n" );
                    Time::HiRes::sleep(1);
                    return;
                }
                Test::FIORedis::FakeServer::write_all( $sock, "+PONG\r\n" );
            }
        },
        concurrent => 1,
    );
    my $redis = Future::IO::Redis->new( host => '127.0.0.1', port => $fake->port, reconnect => 0 );
    run( $redis->connect );
    my $err = error_of( $redis->get('k') );
    isa_ok( $err, ['Future::IO::Redis::Error::Protocol'], 'a reply that is not RESP' );
    is( $err->data, 'HTTP/1.1 400 Bad Request\x0D\x0AServer...', 'data: the first 32 bytes, escaped' );
    unlike( "$err", qr/Server: x/, 'the message does not carry the bytes' );
    run( $redis->disconnect );
    $fake->stop;
};

subtest 'Disconnected: queue_size' => sub {
    my $other = start_server();
    my $gone;
    my $redis = client( $other, queue_size => 2, reconnect_delay => 5, on_disconnect => sub { $gone++ } );
    run( $redis->connect );
    $other->kill9;
    ok( wait_until( sub { $gone }, 10 ), 'the server is gone' );
    my @f   = map { $redis->get("ea:$_") } 1 .. 3;
    my $err = error_of( $f[2] );
    isa_ok( $err, ['Future::IO::Redis::Error::Disconnected'], 'the third command beyond queue_size 2' );
    is( $err->queue_size, 2, 'queue_size: the two that wait' );
    $redis->disconnect;
    for my $i ( 0, 1 ) {
        my $e = error_of( $f[$i] );
        isa_ok( $e, ['Future::IO::Redis::Error::Disconnected'], "waiting command $i fails at disconnect" );
        is( $e->queue_size, 2, '... with queue_size 2' );
    }

    my $off = client( $srv, reconnect => 0 );
    run( $off->connect );
    $off->disconnect;
    $err = error_of( $off->ping );
    isa_ok( $err, ['Future::IO::Redis::Error::Disconnected'], 'a command after disconnect without reconnect' );
    is( $err->queue_size, 0, 'queue_size 0: nothing waits' );
};

subtest 'Redis: type and the predicates, from real error replies' => sub {
    my $redis = client( $srv, retry => 'none' );
    run( $redis->connect );
    my @pred = qw( is_wrongtype is_oom is_busy is_loading is_noscript is_readonly is_noauth is_noperm );
    my $check = sub {
        my ( $err, $code, $pred ) = @_;
        isa_ok( $err, ['Future::IO::Redis::Error::Redis'], "$code reply" );
        is( [ $err->type, $err->code ], [ $code, $code ], "... type and code $code" );
        is( { map { $_ => $err->$_ } @pred }, { map { $_ => ( $_ eq ( $pred // '' ) ? 1 : 0 ) } @pred },
            $pred ? "... $pred and no other predicate" : '... no predicate' );
    };

    run( $redis->set( 'ea:string', 'v' ) );
    $check->( error_of( $redis->lpush( 'ea:string', 'x' ) ), 'WRONGTYPE', 'is_wrongtype' );
    $check->( error_of( $redis->evalsha( 'f' x 40, 0 ) ), 'NOSCRIPT', 'is_noscript' );
    $check->( error_of( $redis->command('NOSUCHCOMMAND') ), 'ERR' );

    # NOPERM: a user that may only PING.
    run( $redis->acl_setuser( 'ea-limited', 'on', '>ea-Limited-1', '+ping' ) );
    my $limited = client( $srv, username => 'ea-limited', password => 'ea-Limited-1', retry => 'none' );
    $check->( error_of( $limited->get('ea:string') ), 'NOPERM', 'is_noperm' );
    run( $limited->disconnect );

    # OOM: no memory left to write into.
    run( $redis->config_set( 'maxmemory', 1 ) );
    $check->( error_of( $redis->set( 'ea:more', 'v' ) ), 'OOM', 'is_oom' );
    run( $redis->config_set( 'maxmemory', 0 ) );

    # BUSY: a script that runs past busy-reply-threshold.
    run( $redis->config_set( 'busy-reply-threshold', 100 ) );
    my $busy = client( $srv, retry => 'none' );
    run( $busy->connect );
    my $script = $redis->eval( 'local t = redis.call("TIME") while true do end', 0 );
    run( Future::IO->sleep(0.3) );
    $check->( error_of( $busy->get('ea:string') ), 'BUSY', 'is_busy' );
    run( $busy->script_kill );
    isa_ok( error_of($script), ['Future::IO::Redis::Error::Redis'], 'the killed script fails' );
    run( $redis->config_set( 'busy-reply-threshold', 5000 ) );

    # READONLY: a replica refuses writes.
    my $replica_srv = start_server();
    my $replica     = client( $replica_srv, retry => 'none' );
    run( $replica->replicaof( '127.0.0.1', $srv->port ) );
    $check->( error_of( $replica->set( 'ea:k', 'v' ) ), 'READONLY', 'is_readonly' );
    run( $replica->replicaof( 'NO', 'ONE' ) );

    # NOAUTH: a server with a password, a raw command before AUTH.
    my $locked = start_server( password => 'ea-Pass-2' );
    my $fake_client = Future::IO::Redis->new( host => '127.0.0.1', port => $locked->port, retry => 'none' );
    my $err = error_of( $fake_client->connect );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'connecting without the password' );
    is( $err->type, 'NOAUTH', '... NOAUTH' );
    ok( $err->is_noauth, '... is_noauth' );

    run( Future->needs_all( $redis->disconnect, $replica->disconnect ) );
};

done_testing;

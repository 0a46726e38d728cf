# Basic connection life cycle against a real redis-server: connect, commands, lazy connect,
# disconnect / connect again, many clients, several servers, refused connections, DNS names,
# and constructor validation.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $srv = start_server();

subtest 'connect resolves to the client; SET / GET / DEL' => sub {
    my $redis = client($srv);
    ok( !$redis->is_connected, 'not connected before connect' );
    my $got = run( $redis->connect );
    ref_is( $got, $redis, 'connect resolves to the client itself' );
    ok( $redis->is_connected, 'is_connected after connect' );

    is( run( $redis->set( 'basic:k', 'v1' ) ), 'OK', 'SET replies OK' );
    is( run( $redis->get('basic:k') ), 'v1', 'GET returns the value' );
    is( $srv->cli( 'GET', 'basic:k' ), 'v1', 'the value really is on the server' );
    is( run( $redis->del('basic:k') ), 1, 'DEL deleted one key' );
    is( run( $redis->get('basic:k') ), undef, 'GET of a deleted key is undef' );
    is( run( $redis->command( 'PING' ) ), 'PONG', 'command() works too' );

    run( $redis->disconnect );
};

subtest 'a command before connect connects lazily' => sub {
    my @connects;
    my $redis = client( $srv, on_connect => sub { push @connects, 1 } );
    ok( !$redis->is_connected, 'not connected yet' );
    is( run( $redis->command( 'SET', 'basic:lazy', 'yes' ) ), 'OK', 'first command succeeds without connect()' );
    is( run( $redis->get('basic:lazy') ), 'yes', 'second command too' );
    ok( $redis->is_connected, 'the client is now connected' );
    is( scalar @connects, 1, 'on_connect fired once' );
    run( $redis->disconnect );
};

subtest 'without reconnect: disconnect, then commands fail with Disconnected until connect again' => sub {
    my @reasons;
    my $redis = client( $srv, reconnect => 0, on_disconnect => sub { push @reasons, $_[1] } );
    run( $redis->connect );
    my $id = run( $redis->client_id );
    ok( $id, "connected (client id $id)" );

    my $f = $redis->disconnect;
    ok( !$redis->is_connected, 'no longer connected when disconnect returns' );
    is( \@reasons, ['client'], "on_disconnect (reason 'client') fired before it returned" );
    ok( $f->is_done, 'its Future is done already' );
    ref_is( run($f), $redis, 'and resolves to the client' );

    my $err = error_of( $redis->get('basic:k') );
    isa_ok( $err, ['Future::IO::Redis::Error::Disconnected'], 'a command after disconnect' );
    $err = error_of( $redis->command('PING') );
    isa_ok( $err, ['Future::IO::Redis::Error::Disconnected'], 'and another one' );

    # The server no longer lists our old connection.
    ok( wait_until( sub { $srv->cli( 'CLIENT', 'LIST', 'ID', $id ) !~ /id=$id\b/ }, 5 ),
        'the server saw the connection close' );

    ref_is( run( $redis->connect ), $redis, 'connect again resolves to the client' );
    ok( $redis->is_connected, 'connected again' );
    is( run( $redis->command('PING') ), 'PONG', 'commands work again' );
    isnt( run( $redis->client_id ), $id, 'on a new server connection' );
    run( $redis->disconnect );
};

subtest 'with reconnect (the default): after disconnect the next command connects again' => sub {
    my ( @reasons, $connects );
    my $redis = client( $srv, on_disconnect => sub { push @reasons, $_[1] }, on_connect => sub { $connects++ } );
    run( $redis->connect );
    my $id = run( $redis->client_id );
    my $pending = $redis->blpop( 'basic:nothing', 0 );    # written, waiting for its reply
    wait_until( sub { $srv->cli( 'CLIENT', 'LIST', 'ID', $id ) =~ /cmd=blpop/ }, 5 );
    my $f = $redis->disconnect;
    ok( !$redis->is_connected, 'not connected when disconnect returns' );
    is( \@reasons, ['client'], 'on_disconnect fired once, with reason client' );
    ok( $f->is_done, 'disconnect returned a done Future' );
    my $err = error_of($pending);
    isa_ok( $err, ['Future::IO::Redis::Error::Connection'], 'the command that was waiting' );
    is( $err && $err->reason, 'client', '... reason client' );
    is( run( $redis->command('PING') ), 'PONG', 'the next command connects again and works' );
    ok( $redis->is_connected, 'connected again' );
    is( $connects, 2, 'on_connect fired again' );
    isnt( run( $redis->client_id ), $id, 'on a new server connection' );
    is( \@reasons, ['client'], 'on_disconnect did not fire twice' );
    run( $redis->disconnect );
    is( \@reasons, [ 'client', 'client' ], 'a second disconnect, a second on_disconnect' );
};

subtest 'disconnect with no connection and twice is harmless' => sub {
    my $redis = client( $srv, reconnect => 0 );
    ok( lives { run( $redis->disconnect ) }, 'disconnect before ever connecting' ) or note $@;
    run( $redis->connect );
    run( $redis->disconnect );
    ok( lives { run( $redis->disconnect ) }, 'disconnect twice' ) or note $@;
    isa_ok( error_of( $redis->ping ), ['Future::IO::Redis::Error::Disconnected'], 'still disconnected' );
};

subtest 'ten clients at once on the same server' => sub {
    my @clients = map { client( $srv, client_name => "basic-many-$_" ) } 1 .. 10;
    run( Future->needs_all( map { $_->connect } @clients ) );
    ok( ( !grep { !$_->is_connected } @clients ), 'all ten connected' );

    my @ids = run( Future->needs_all( map { $_->client_id } @clients ) );
    is( scalar( keys %{ { map { $_ => 1 } @ids } } ), 10, 'ten distinct server connections' );

    run( Future->needs_all( map { $clients[$_]->set( "basic:many:$_", "v$_" ) } 0 .. 9 ) );
    my @got = run( Future->needs_all( map { $clients[ 9 - $_ ]->get("basic:many:$_") } 0 .. 9 ) );
    is( \@got, [ map { "v$_" } 0 .. 9 ], 'each client sees the values written by the others' );

    my @incr = run( Future->needs_all( map { my $c = $_; map { $c->incr('basic:many:counter') } 1 .. 20 } @clients ) );
    is( run( $clients[0]->get('basic:many:counter') ), 200, '200 INCRs from ten clients all counted' );
    is( [ sort { $a <=> $b } @incr ], [ 1 .. 200 ], 'each INCR got a distinct reply' );

    my @names = run( Future->needs_all( map { $_->client_getname } @clients ) );
    is( \@names, [ map { "basic-many-$_" } 1 .. 10 ], 'each connection has its own client name' );

    run( Future->needs_all( map { $_->disconnect } @clients ) );
};

subtest 'two different servers from one process' => sub {
    my $srv2 = start_server();
    my $a    = client($srv);
    my $b    = client($srv2);
    run( Future->needs_all( $a->connect, $b->connect ) );
    run( Future->needs_all( $a->set( 'basic:which', 'one' ), $b->set( 'basic:which', 'two' ) ) );
    is( run( $a->get('basic:which') ), 'one', 'first server has its value' );
    is( run( $b->get('basic:which') ), 'two', 'second server has its value' );
    is( $srv->cli( 'GET', 'basic:which' ),  'one', 'first server really holds "one"' );
    is( $srv2->cli( 'GET', 'basic:which' ), 'two', 'second server really holds "two"' );
    run( Future->needs_all( $a->disconnect, $b->disconnect ) );
    $srv2->stop;
};

subtest 'connection refused fails with Connection, quickly' => sub {
    my $port  = Test::FIORedis::Server->free_port;
    my @errors;
    my $redis = Future::IO::Redis->new( host => '127.0.0.1', port => $port, on_error => sub { push @errors, $_[1] } );
    my $t0    = time;
    my $err   = error_of( $redis->connect );
    my $took  = time - $t0;
    isa_ok( $err, ['Future::IO::Redis::Error::Connection'], 'connect to a port with nothing listening' );
    like( "$err", qr/\S/, "it has a message: $err" );
    ok( $took < 5, "failed quickly (${\ sprintf '%.2f', $took }s)" );
    ok( !$redis->is_connected, 'not connected' );
    wait_until( sub { @errors }, 2 );
    ok( scalar @errors, 'on_error reported the failed connect attempt' );
    isa_ok( $errors[0], ['Future::IO::Redis::Error'], 'with an error object' ) if @errors;

    # A command on a never-connected client to a dead port fails too (not hangs).
    my $redis2 = Future::IO::Redis->new( host => '127.0.0.1', port => $port );
    $t0 = time;
    $err = error_of( $redis2->get('x') );
    ok( $err, 'a lazy command to a refused port fails' );
    ok( $err && $err->isa('Future::IO::Redis::Error'), 'with a Future::IO::Redis::Error (' . ( ref $err || $err ) . ')' );
    ok( time - $t0 < 5, 'quickly' );
};

subtest "host name 'localhost' is resolved" => sub {
    my $redis = Future::IO::Redis->new( host => 'localhost', port => $srv->port );
    ok( lives { run( $redis->connect, 10 ) }, 'connect to localhost' ) or note $@;
    is( run( $redis->ping ), 'PONG', 'PING over a connection to localhost' );
    run( $redis->disconnect );
};

subtest 'invalid options croak' => sub {
    my %ok = ( host => '127.0.0.1', port => $srv->port );
    like( dies { Future::IO::Redis->new( %ok, no_such_option => 1 ) }, qr/unknown option 'no_such_option'/, 'unknown option' );
    like( dies { Future::IO::Redis->new( %ok, port => 0 ) },       qr/port/, 'port 0' );
    like( dies { Future::IO::Redis->new( %ok, port => 65536 ) },   qr/port/, 'port 65536' );
    like( dies { Future::IO::Redis->new( %ok, port => 'abc' ) },   qr/port/, 'port not a number' );
    like( dies { Future::IO::Redis->new( %ok, request_timeout => -1 ) }, qr/request_timeout/, 'negative request_timeout' );
    like( dies { Future::IO::Redis->new( %ok, connect_timeout => -0.5 ) }, qr/connect_timeout/, 'negative connect_timeout' );
    like( dies { Future::IO::Redis->new( %ok, read_timeout => 'soon' ) }, qr/read_timeout/, 'read_timeout not a number' );
    like( dies { Future::IO::Redis->new( %ok, on_connect => 'not code' ) }, qr/on_connect/, 'callback not a code ref' );
    like( dies { Future::IO::Redis->new( %ok, database => -1 ) }, qr/database/, 'negative database' );
    like( dies { Future::IO::Redis->new( %ok, timeout => { 'DEBUG SLEEP' => -1 } ) }, qr/timeout/, 'negative per-command timeout' );
    ok( lives { Future::IO::Redis->new( %ok, request_timeout => 0, connect_timeout => 0.25 ) }, 'valid values are accepted' ) or note $@;
};

done_testing;

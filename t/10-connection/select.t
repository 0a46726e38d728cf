# Database selection: database => N, the database in the URI (redis://[:pw@]host:port/N), an
# out-of-range database, isolation between clients on different databases, and SELECT replayed
# on reconnect.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv = start_server();

subtest 'database => 5 puts keys in db 5' => sub {
    my $redis = client( $srv, database => 5 );
    run( $redis->connect );
    is( run( $redis->set( 'sel:k', 'five' ) ), 'OK', 'SET' );
    is( $srv->cli( '-n', 5, 'GET', 'sel:k' ), 'five', 'the key is in db 5' );
    is( $srv->cli( '-n', 0, 'EXISTS', 'sel:k' ), '0', 'not in db 0' );
    like( run( $redis->command( 'CLIENT', 'INFO' ) ), qr/\bdb=5\b/, 'CLIENT INFO says db=5' );
    run( $redis->disconnect );
};

subtest 'database => 0 and the default' => sub {
    my $zero = client( $srv, database => 0 );
    run( $zero->set( 'sel:zero', 'z' ) );
    is( $srv->cli( '-n', 0, 'GET', 'sel:zero' ), 'z', 'database => 0: db 0' );
    run( $zero->disconnect );
    my $default = client($srv);
    is( run( $default->get('sel:zero') ), 'z', 'no database option: db 0' );
    run( $default->disconnect );
};

subtest 'clients on different databases are isolated' => sub {
    my @c = map { client( $srv, database => $_ ) } 1 .. 4;
    run( Future->needs_all( map { $c[$_]->set( 'sel:same', "db" . ( $_ + 1 ) ) } 0 .. 3 ) );
    is( [ run( Future->needs_all( map { $_->get('sel:same') } @c ) ) ], [qw(db1 db2 db3 db4)], 'each sees its own value' );
    is( $srv->cli( '-n', $_, 'GET', 'sel:same' ), "db$_", "db $_ on the server" ) for 1 .. 4;
    run( Future->needs_all( map { $_->disconnect } @c ) );
};

subtest 'database in the URI' => sub {
    my $port  = $srv->port;
    my $redis = Future::IO::Redis->new( uri => "redis://127.0.0.1:$port/7" );
    run( $redis->set( 'sel:uri', 'seven' ) );
    is( $srv->cli( '-n', 7, 'GET', 'sel:uri' ), 'seven', 'redis://host:port/7 selects db 7' );
    run( $redis->disconnect );
};

subtest 'password and database in the URI: redis://:pw@host:port/2' => sub {
    my $pw    = start_server( password => 'uri-Pw-55' );
    my $port  = $pw->port;
    my $redis = Future::IO::Redis->new( uri => "redis://:uri-Pw-55\@127.0.0.1:$port/2" );
    ok( lives { run( $redis->connect ) }, 'connect' ) or note $@;
    run( $redis->set( 'sel:pw', 'two' ) );
    is( $pw->cli( '-n', 2, 'GET', 'sel:pw' ), 'two', 'authenticated and in db 2' );
    is( $pw->cli( '-n', 0, 'EXISTS', 'sel:pw' ), '0', 'not db 0' );
    run( $redis->disconnect );
};

subtest 'a database out of range fails connect with a Redis error' => sub {
    my @errors;
    my $redis = client( $srv, database => 99, on_error => sub { push @errors, $_[1] } );    # 16 databases
    my $err   = error_of( $redis->connect );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'connect fails' );
    is( $err && $err->code, 'ERR', 'code ERR (DB index is out of range)' );
    like( $err ? "$err" : '', qr/out of range|invalid DB index/i, "message: $err" );
    ok( !$redis->is_connected, 'not connected' );
    wait_until( sub { @errors }, 2 );
    ok( scalar @errors, 'on_error fired' );
};

subtest 'SELECT is replayed on reconnect' => sub {
    my $connects = 0;
    my $redis = client( $srv, database => 3, reconnect_delay => 0.05, on_connect => sub { $connects++ } );
    run( $redis->connect );
    $srv->cli( 'CLIENT', 'KILL', 'ID', run( $redis->client_id ) );
    ok( wait_until( sub { $connects >= 2 }, 10 ), 'reconnected' );
    run( $redis->set( 'sel:replay', 'three' ) );
    is( $srv->cli( '-n', 3, 'GET', 'sel:replay' ), 'three', 'a key set after the reconnect lands in db 3' );
    is( $srv->cli( '-n', 0, 'EXISTS', 'sel:replay' ), '0', 'not in db 0' );

    $srv->kill9;
    my $f = $redis->set( 'sel:after-restart', 'yes' );
    $srv->restart;
    eval { run( $f, 15 ) };    # may fail with Connection if it was written to the dying connection
    is( run( $redis->set( 'sel:after-restart', 'yes' ), 15 ), 'OK', 'works after a server restart' );
    is( $srv->cli( '-n', 3, 'GET', 'sel:after-restart' ), 'yes', 'still db 3' );
    run( $redis->disconnect );
};

subtest 'invalid database values croak' => sub {
    like( dies { client( $srv, database => 'one' ) }, qr/database/, 'not a number' );
    like( dies { client( $srv, database => -2 ) },    qr/database/, 'negative' );
};

done_testing;

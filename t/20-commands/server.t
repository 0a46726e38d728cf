# Server and connection commands against a real redis-server: PING, ECHO, INFO (parsed),
# CONFIG GET (hash), TIME (pair), DBSIZE, CLIENT SETNAME / GETNAME, OBJECT ENCODING.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->command('FLUSHALL') );

subtest 'PING, ECHO' => sub {
    is( run( $redis->ping ), 'PONG', 'PING: PONG' );
    is( run( $redis->ping('hello there') ), 'hello there', 'PING with a message echoes it' );
    is( run( $redis->echo('hi') ), 'hi', 'ECHO' );
    is( run( $redis->echo('') ), '', 'ECHO of an empty string' );
    is( run( $redis->echo("a\r\nb\0c") ), "a\r\nb\0c", 'ECHO of CR, LF, NUL' );
    is( run( $redis->echo(12345) ), '12345', 'ECHO of a number comes back as a string' );
    is( run( $redis->echo(-1.5) ), '-1.5', 'ECHO of a negative float' );
};

subtest 'INFO is a hash of sections' => sub {
    my $info = run( $redis->info );
    is( ref $info, 'HASH', 'INFO resolves to a hash ref' );
    for my $section (qw( server clients memory persistence stats replication cpu keyspace )) {
        ok( exists $info->{$section}, "has section $section" );
    }
    is( ref $info->{server}, 'HASH', 'a section is a hash ref' );
    like( $info->{server}{redis_version}, qr/\A7\.0\.\d+\z/, "server.redis_version ($info->{server}{redis_version})" );
    is( $info->{server}{tcp_port}, $srv->port, 'server.tcp_port is the test server port' );
    is( $info->{server}{process_id}, $srv->pid, 'server.process_id is the test server pid' );
    is( $info->{replication}{role}, 'master', 'replication.role' );
    like( $info->{clients}{connected_clients}, qr/\A\d+\z/, 'clients.connected_clients is a number' );
    ok( !grep( { /[\r\n]/ } map { values %$_ } values %$info ), 'no value keeps a line ending' );

    my $server = run( $redis->info('server') );
    is( [ keys %$server ], ['server'], 'INFO server: only the server section' );
    is( $server->{server}{redis_version}, $info->{server}{redis_version}, 'same version' );

    run( $redis->set( 'srv:k1', 1 ) );
    run( $redis->set( 'srv:k2', 2 ) );
    my $ks = run( $redis->info('keyspace') );
    like( $ks->{keyspace}{db0}, qr/\Akeys=2,expires=0,avg_ttl=0/, 'INFO keyspace: db0 line parsed' );

    my $raw = run( $redis->command( 'INFO', 'server' ) );
    ok( !ref $raw, 'command(INFO) is the raw text' );
    like( $raw, qr/^# Server\r\n/, 'starting with the section header' );
    like( $raw, qr/^redis_version:\Q$info->{server}{redis_version}\E\r$/m, 'with the version line' );
};

subtest 'CONFIG GET is a hash; CONFIG SET' => sub {
    my $c = run( $redis->config_get('maxmemory-policy') );
    is( $c, { 'maxmemory-policy' => 'noeviction' }, 'CONFIG GET one parameter' );
    $c = run( $redis->config_get('port') );
    is( $c, { port => $srv->port }, 'CONFIG GET port' );
    $c = run( $redis->config_get('*max-*-entries*') );
    is( ref $c, 'HASH', 'CONFIG GET with a pattern' );
    ok( scalar( keys %$c ) >= 3, 'several parameters' );
    ok( exists $c->{'hash-max-listpack-entries'}, 'hash-max-listpack-entries among them' );
    is( run( $redis->config_get('no-such-parameter') ), {}, 'CONFIG GET of an unknown parameter: {}' );

    is( run( $redis->config_set( 'slowlog-max-len', 200 ) ), 'OK', 'CONFIG SET' );
    is( run( $redis->config_get('slowlog-max-len') ), { 'slowlog-max-len' => '200' }, 'read back' );
    is( $srv->cli( 'CONFIG', 'GET', 'slowlog-max-len' ), "slowlog-max-len\n200", 'the server agrees' );
    my $err = error_of( $redis->config_set( 'no-such-parameter', 1 ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'CONFIG SET of an unknown parameter' );
    is( $err && $err->code, 'ERR', 'code' );
};

subtest 'TIME is [seconds, microseconds]' => sub {
    my $t = run( $redis->time );
    is( ref $t, 'ARRAY', 'an array ref' );
    is( scalar @$t, 2, 'of two' );
    ok( abs( $t->[0] - time ) < 60, "seconds ($t->[0]) near our clock" );
    ok( $t->[1] >= 0 && $t->[1] < 1_000_000, "microseconds ($t->[1]) in range" );
    like( $t->[0], qr/\A\d+\z/, 'seconds is an integer' );
    my $t2 = run( $redis->time );
    ok( $t2->[0] * 1e6 + $t2->[1] >= $t->[0] * 1e6 + $t->[1], 'and does not go backwards' );
    my $raw = run( $redis->command('TIME') );
    is( ref $raw, 'ARRAY', 'command(TIME) is the raw two strings' );
};

subtest 'DBSIZE, FLUSHDB' => sub {
    run( $redis->flushdb );
    is( run( $redis->dbsize ), 0, 'DBSIZE of an empty database: 0' );
    run( $redis->mset( map { ( "srv:d$_" => $_ ) } 1 .. 7 ) );
    is( run( $redis->dbsize ), 7, 'DBSIZE: 7' );
    is( $srv->cli('DBSIZE'), '7', 'the server agrees' );
    is( run( $redis->flushdb ), 'OK', 'FLUSHDB' );
    is( run( $redis->dbsize ), 0, 'DBSIZE after FLUSHDB: 0' );
};

subtest 'CLIENT SETNAME / GETNAME / ID / LIST' => sub {
    my $c = client($srv);
    is( run( $c->client_getname ), undef, 'CLIENT GETNAME without a name: undef' );
    is( run( $c->client_setname('fior-server-test') ), 'OK', 'CLIENT SETNAME' );
    is( run( $c->client_getname ), 'fior-server-test', 'CLIENT GETNAME' );
    my $id = run( $c->client_id );
    like( $id, qr/\A\d+\z/, "CLIENT ID ($id)" );
    my $list = run( $c->client_list );
    like( $list, qr/^id=$id .*name=fior-server-test /m, 'CLIENT LIST shows the name' );
    like( $srv->cli( 'CLIENT', 'LIST' ), qr/name=fior-server-test /, 'the server shows it to others' );
    my $err = error_of( $c->client_setname('has space') );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'CLIENT SETNAME with a space' );
    is( run( $c->client_getname ), 'fior-server-test', 'the name is unchanged' );

    my $named = client( $srv, client_name => 'fior-opt-name' );
    is( run( $named->client_getname ), 'fior-opt-name', 'the client_name option sets the name on connect' );
    run( $_->disconnect ) for $c, $named;
};

subtest 'OBJECT ENCODING' => sub {
    run( $redis->set( 'srv:int', 12345 ) );
    run( $redis->set( 'srv:str', 'short' ) );
    run( $redis->set( 'srv:raw', 'x' x 100 ) );
    run( $redis->rpush( 'srv:list', 1, 2, 3 ) );
    run( $redis->sadd( 'srv:intset', 1, 2, 3 ) );
    run( $redis->hset( 'srv:hash', 'f', 'v' ) );
    run( $redis->zadd( 'srv:zset', 1, 'm' ) );
    is( run( $redis->object_encoding('srv:int') ),    'int',      'integer string: int' );
    is( run( $redis->object_encoding('srv:str') ),    'embstr',   'short string: embstr' );
    is( run( $redis->object_encoding('srv:raw') ),    'raw',      'long string: raw' );
    like( run( $redis->object_encoding('srv:list') ), qr/\A(?:quicklist|listpack)\z/,
        'small list: quicklist (7.0) or listpack (7.2+)' );
    is( run( $redis->object_encoding('srv:intset') ), 'intset',   'integer set: intset' );
    is( run( $redis->object_encoding('srv:hash') ),   'listpack', 'small hash: listpack' );
    is( run( $redis->object_encoding('srv:zset') ),   'listpack', 'small zset: listpack' );
    is( run( $redis->object_encoding('srv:nope') ),   undef,      'missing key: undef' );
    is( run( $redis->command( 'OBJECT', 'ENCODING', 'srv:int' ) ), 'int', 'same through command()' );
};

subtest 'COMMAND INFO, COMMAND COUNT, LASTSAVE via command()' => sub {
    my $cmd = run( $redis->command( 'COMMAND', 'INFO', 'GET' ) );
    is( ref $cmd, 'ARRAY', 'COMMAND INFO GET: an array' );
    is( $cmd->[0][0], 'get', 'whose first entry names get' );
    is( $cmd->[0][1], 2, 'arity 2' );
    is( ref $cmd->[0][2], 'ARRAY', 'flags are a nested array' );
    is( run( $redis->command( 'COMMAND', 'COUNT' ) ) > 200, T(), 'COMMAND COUNT > 200' );
    my $lastsave = run( $redis->command('LASTSAVE') );
    like( $lastsave, qr/\A\d+\z/, 'LASTSAVE: an integer' );
};

# QUIT: the server replies +OK and closes. The client must notice the close (the FIN often
# arrives together with the reply) and reconnect, so that the next command succeeds.
subtest 'QUIT, then the next command works on a new connection' => sub {
    my %outcome;
    for my $round ( 1 .. 20 ) {
        my $c  = client($srv);
        my $id = run( $c->client_id );
        is( run( $c->command('QUIT') ), 'OK', 'QUIT replies OK' ) if $round == 1;
        run( $c->command('QUIT') ) if $round > 1;
        run( Future::IO->sleep(0.05) );
        # a write: it is never sent twice, so only a client that noticed the close succeeds
        my $next = eval { run( $c->incr('srv:after-quit') ) };
        $outcome{ defined $next ? 'succeeded' : ref($@) || "$@" }++;
        isnt( run( $c->client_id ), $id, 'a new connection after QUIT' ) if $round == 1;
        run( $c->disconnect );
    }
    is( \%outcome, { succeeded => 20 }, 'in 20 rounds, the command after QUIT always succeeded' );
    is( run( $redis->get('srv:after-quit') ), '20', 'each ran once' );
};

done_testing;

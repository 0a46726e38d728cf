# CONFIG commands through the generated methods, with exact replies.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $redis = client($srv);

subtest 'CONFIG GET: a hash' => sub {
    is( run( $redis->config_get('maxmemory') ), { maxmemory => 0 }, 'CONFIG GET maxmemory' );
    is( run( $redis->config_get('port') ), { port => $srv->port }, 'CONFIG GET port' );
    my $h = run( $redis->config_get('maxmemory*') );
    ok( exists $h->{maxmemory} && exists $h->{'maxmemory-policy'}, 'a pattern: several parameters' );
    is( run( $redis->config_get( 'port', 'databases' ) ), { port => $srv->port, databases => 16 }, 'two parameters (7.0)' );
    is( run( $redis->config_get('no-such-parameter') ), {}, 'an unknown parameter: an empty hash' );
    is( run( $redis->pipeline->config_get('databases')->execute ), [ { databases => 16 } ], 'a hash in a pipeline too' );
};

subtest 'CONFIG SET' => sub {
    is( run( $redis->config_set( 'maxmemory-policy', 'allkeys-lru' ) ), 'OK', 'CONFIG SET maxmemory-policy' );
    is( run( $redis->config_get('maxmemory-policy') ), { 'maxmemory-policy' => 'allkeys-lru' }, 'read back' );
    is( run( $redis->config_set( 'maxmemory-policy', 'noeviction', 'slowlog-max-len', 200 ) ), 'OK', 'two at once' );
    is( run( $redis->config_get('slowlog-max-len') ), { 'slowlog-max-len' => 200 }, 'read back' );
    my $err = error_of( $redis->config_set( 'no-such-parameter', 1 ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'an unknown parameter' );
    like( $err->message, qr/Unknown option|unsupported CONFIG parameter/i, 'message' );
    $err = error_of( $redis->config_set( 'maxmemory-policy', 'bogus' ) );
    like( $err->message, qr/argument\(s\) must be one of the following|Invalid argument/i, 'an invalid value' );
};

subtest 'CONFIG RESETSTAT' => sub {
    run( $redis->set( 'c:k', 1 ) );
    run( $redis->get('c:k') ) for 1 .. 3;
    ok( run( $redis->info('stats') )->{stats}{total_commands_processed} > 3, 'commands counted' );
    is( run( $redis->config_resetstat ), 'OK', 'CONFIG RESETSTAT' );
    my $stats = run( $redis->info('stats') )->{stats};
    ok( $stats->{total_commands_processed} <= 2, "counters reset ($stats->{total_commands_processed})" );
    is( $stats->{keyspace_hits}, 0, 'keyspace_hits 0' );
};

subtest 'CONFIG REWRITE' => sub {
    is( run( $redis->config_rewrite ), 'OK', 'CONFIG REWRITE (the test server has a config file)' );
    like( do { local ( @ARGV, $/ ) = $srv->conffile; <> }, qr/^slowlog-max-len 200$/m, 'the file has the new value' );
};

done_testing;

# The retry policy: what is sent again (LOADING/BUSY-style replies; read-only commands after a
# lost connection), what never is (errors retrying cannot fix; written writes), and a policy
# coderef that decides for itself.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Test::FIORedis::FakeServer;
use Future::AsyncAwait;
use Time::HiRes qw(time);

subtest 'BUSY while a slow script runs: retried until the script ends' => sub {
    # lua-time-limit (busy-reply-threshold) 100 ms: after that, other clients get BUSY.
    my $srv = start_server( extra => ['lua-time-limit 100'] );
    my $runner = client( $srv, request_timeout => 10 );
    my $other  = client( $srv, request_timeout => 10 );
    my $plain  = client( $srv, request_timeout => 10, retry => 'none' );
    run( $_->connect ) for $runner, $other, $plain;
    run( $other->set( 'busy:k', 'v' ) );
    my $script = 'local t0 = redis.call("TIME") while true do local t = redis.call("TIME") '
      . 'if (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > 800000 then break end end return 1';
    my $slow = $runner->eval( $script, 0 );
    run( Future::IO->sleep(0.3) );    # past the 100 ms threshold
    my $t0 = time;
    my $retried = $other->get('busy:k');
    my $err = error_of( $plain->get('busy:k') );
    ok( $err && $err->isa('Future::IO::Redis::Error::Redis'), "with retry => 'none' the BUSY reply is the answer" );
    is( $err && $err->code, 'BUSY', 'code BUSY' );
    ok( $err && $err->is_transient, 'and it is transient' );
    is( run($retried), 'v', 'with the default policy GET was retried until the script ended' );
    is( run($slow), 1, 'the script finished' );
    cmp_ok( time - $t0, '<', 5, 'promptly after the script' );
};

subtest 'LOADING replies: retried with backoff, the user sees the real reply' => sub {
    my $fake = Test::FIORedis::FakeServer->start(
        sub {
            my ($sock) = @_;
            my $gets = 0;
            while ( my @cmd = Test::FIORedis::FakeServer::read_command($sock) ) {
                my $reply = uc $cmd[0] eq 'PING' ? "+PONG\r\n"
                  : ++$gets <= 3 ? "-LOADING Redis is loading the dataset in memory\r\n"
                  : "\$5\r\nready\r\n";
                Test::FIORedis::FakeServer::write_all( $sock, $reply );
            }
        },
        concurrent => 1,
    );
    my $redis = Future::IO::Redis->new( host => '127.0.0.1', port => $fake->port );
    is( run( $redis->get('k') ), 'ready', 'three LOADING replies, then the value' );

    my $none = Future::IO::Redis->new( host => '127.0.0.1', port => $fake->port, retry => 'none' );
    my $err = error_of( $none->get('k') );
    is( $err && $err->code, 'LOADING', "retry => 'none': LOADING is the answer" );
};

subtest 'the deadline bounds retries' => sub {
    my $fake = Test::FIORedis::FakeServer->start(
        sub {
            my ($sock) = @_;
            while ( my @cmd = Test::FIORedis::FakeServer::read_command($sock) ) {
                Test::FIORedis::FakeServer::write_all( $sock,
                    uc $cmd[0] eq 'PING' ? "+PONG\r\n" : "-LOADING Redis is loading the dataset in memory\r\n" );
            }
        }
    );
    my $redis = Future::IO::Redis->new( host => '127.0.0.1', port => $fake->port, request_timeout => 0.5 );
    my $t0  = time;
    my $err = error_of( $redis->get('k') );
    ok( $err && ( $err->isa('Future::IO::Redis::Error::Redis') || $err->isa('Future::IO::Redis::Error::Timeout') ),
        'a server loading forever ends the command by its deadline: ' . ( ref $err || 'none' ) );
    cmp_ok( time - $t0, '<', 3, 'within about request_timeout' );
};

subtest 'errors retrying cannot fix are never retried' => sub {
    my $srv = start_server( extra => ['maxmemory 1'] );
    my $redis = client($srv);
    run( $redis->connect );
    my $err = error_of( $redis->set( 'k', 'v' ) );
    is( $err && $err->code, 'OOM', 'OOM at once' );
    $srv->cli( 'CONFIG', 'SET', 'maxmemory', '0' );
    run( $redis->set( 'k', 'v' ) );
    is( error_of( $redis->incr('k') )->code,          'ERR',      'ERR at once' );
    run( $redis->hset( 'h', 'f', 1 ) );
    is( error_of( $redis->get('h') )->code,           'WRONGTYPE', 'WRONGTYPE at once' );
    is( error_of( $redis->evalsha( 'ffff' x 10, 0 ) )->code, 'NOSCRIPT', 'NOSCRIPT at once' );
};

subtest 'a policy coderef decides' => sub {
    my $srv = start_server();
    my @asked;
    my $redis = client(
        $srv,
        retry => sub {
            my ( $attempt, $error, $command ) = @_;
            push @asked, [ $attempt, ref $error, $command ];
            return 0 if $error->is_fatal && $command ne 'INCR';
            return $attempt < 3 ? 0.01 : 0;
        }
    );
    run( $redis->set( 's', 'text' ) );
    my $err = error_of( $redis->incr('s') );
    is( $err && $err->code, 'ERR', 'the last error comes out' );
    is( \@asked, [ map { [ $_, 'Future::IO::Redis::Error::Redis', 'INCR' ] } 1 .. 3 ], 'asked for attempts 1, 2, 3' );
    @asked = ();
    is( error_of( $redis->hget( 's', 'f' ) )->code, 'WRONGTYPE', 'a policy saying 0 gives up at once' );
    is( scalar @asked, 1, 'after being asked once' );
    @asked = ();
    is( run( $redis->get('s') ), 'text', 'successes do not consult the policy' );
    is( \@asked, [], 'not asked' );
};

done_testing;

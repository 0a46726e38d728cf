# Errors in pipelines: a failed command is its error object in place; execute itself does not
# fail. Also argument validation, errors nested in EXEC replies, and commands lost with the
# connection.
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

my $REDIS_ERR = 'Future::IO::Redis::Error::Redis';

subtest 'the design example: an error in the middle' => sub {
    my $f = $redis->pipeline
      ->set( 'key', 'value' )
      ->incr('key')
      ->get('key')
      ->execute;
    my $results = run($f);
    ok( $f->is_done, 'execute resolved (did not fail)' );
    is( scalar @$results, 3, 'three results' );
    is( $results->[0], 'OK', 'SET' );
    ok( $results->[1]->isa($REDIS_ERR), 'INCR of a string: an Error::Redis object in place' );
    is( $results->[1]->code, 'ERR', 'its code' );
    is( $results->[1]->message, 'ERR value is not an integer or out of range', 'its message' );
    is( "$results->[1]", 'ERR value is not an integer or out of range', 'it stringifies to the message' );
    is( $results->[2], 'value', 'GET after the error' );
};

subtest 'WRONGTYPE in place' => sub {
    run( $redis->rpush( 'e:list', 'x' ) );
    my $r = run(
        $redis->pipeline
          ->get('e:list')
          ->lpush( 'e:list', 'y' )
          ->hgetall('e:list')
          ->llen('e:list')
          ->execute
    );
    ok( $r->[0]->isa($REDIS_ERR), 'GET of a list: an error object' );
    is( $r->[0]->code, 'WRONGTYPE', 'code WRONGTYPE' );
    is( $r->[1], 2, 'LPUSH after it' );
    ok( ref $r->[2] && $r->[2]->isa($REDIS_ERR), 'HGETALL of a list: an error object, not a hash made from it' );
    is( $r->[2]->code, 'WRONGTYPE', 'code WRONGTYPE' );
    is( $r->[3], 2, 'LLEN' );
};

subtest 'every command failing' => sub {
    my $r = run(
        $redis->pipeline
          ->command('NOSUCHCOMMAND')
          ->command( 'GET', 'a', 'b', 'c' )
          ->command( 'SET', 'only-key' )
          ->execute
    );
    is( scalar @$r, 3, 'three results' );
    ok( ( !grep { !( ref $_ && $_->isa($REDIS_ERR) ) } @$r ), 'all three are error objects' );
    like( $r->[0]->message, qr/\AERR unknown command 'NOSUCHCOMMAND'/, 'unknown command' );
    is( $r->[1]->message, q{ERR wrong number of arguments for 'get' command}, 'wrong arity' );
    is( $r->[2]->message, q{ERR wrong number of arguments for 'set' command}, 'wrong arity' );
    is( run( $redis->ping ), 'PONG', 'the client works after' );
};

subtest 'errors first and last' => sub {
    my $r = run( $redis->pipeline->command('NOPE1')->echo('mid')->command('NOPE2')->execute );
    ok( $r->[0]->isa($REDIS_ERR), 'first is an error' );
    is( $r->[1], 'mid', 'middle is a reply' );
    ok( $r->[2]->isa($REDIS_ERR), 'last is an error' );
};

subtest 'errors nested in an EXEC reply are objects in place' => sub {
    run( $redis->set( 'e:tx', 'text' ) );
    my $r = run(
        $redis->pipeline
          ->multi
          ->incr('e:tx')
          ->lpush( 'e:tx', 'x' )
          ->get('e:tx')
          ->exec
          ->execute
    );
    is( [ @$r[ 0 .. 3 ] ], [ 'OK', 'QUEUED', 'QUEUED', 'QUEUED' ], 'MULTI and QUEUED' );
    my $exec = $r->[4];
    is( ref $exec, 'ARRAY', 'EXEC reply is an array' );
    ok( $exec->[0]->isa($REDIS_ERR), 'INCR error inside EXEC' );
    is( $exec->[0]->code, 'ERR', 'code' );
    ok( $exec->[1]->isa($REDIS_ERR), 'LPUSH error inside EXEC' );
    is( $exec->[1]->code, 'WRONGTYPE', 'code' );
    is( $exec->[2], 'text', 'GET inside EXEC' );

    $r = run( $redis->pipeline->multi->set( 'e:tx', 1 )->command('NOSUCH')->exec->execute );
    is( $r->[1], 'QUEUED', 'SET queued' );
    ok( $r->[2]->isa($REDIS_ERR), 'unknown command refused at queue time' );
    ok( $r->[3]->isa($REDIS_ERR), 'EXEC fails' );
    is( $r->[3]->code, 'EXECABORT', 'with EXECABORT' );
    is( run( $redis->get('e:tx') ), 'text', 'nothing ran' );
};

subtest 'undef and reference arguments croak when queued, naming the argument' => sub {
    my $pipe = $redis->pipeline->set( 'e:ok', 1 );
    like( dies { $pipe->set( 'e:k', undef ) },  qr/SET: argument 2 after the command name is undef/, 'undef value' );
    like( dies { $pipe->get(undef) },           qr/GET: argument 1 after the command name is undef/, 'undef key' );
    like( dies { $pipe->set( 'e:k', [1] ) },    qr/SET: argument 2 after the command name is a reference/, 'array ref value' );
    like( dies { $pipe->hset( 'e:h', 'f', {} ) }, qr/HSET: argument 3 after the command name is a reference/, 'hash ref value' );
    like( dies { $pipe->command( 'SET', \'x', 1 ) }, qr/SET: argument 1 after the command name is a reference/, 'scalar ref in command()' );
    like( dies { $pipe->command() }, qr/needs a command name/, 'command() with nothing' );
    is( $pipe->count, 1, 'nothing was queued by the failed calls' );
    is( run( $pipe->execute ), ['OK'], 'the pipeline still executes' );
};

subtest 'the connection closed by the server mid-pipeline' => sub {
    my $c  = client($srv);
    my $id = run( $c->client_id );
    my $f  = $c->pipeline
      ->echo('before')
      ->command( 'CLIENT', 'KILL', 'ID', $id, 'SKIPME', 'no' )
      ->incr('e:after-kill')
      ->execute;
    my $r = run($f);
    ok( $f->is_done, 'execute resolved (did not fail)' );
    is( $r->[0], 'before', 'the reply before the kill' );
    is( $r->[1], 1,        'CLIENT KILL replied 1 (killed one)' );
    # INCR is a write: it is never sent a second time, so it fails with the connection
    isa_ok( $r->[2], ['Future::IO::Redis::Error::Connection'], 'the write after it: a Connection error in place' );
    is( run( $c->exists('e:after-kill') ), 0, 'and it did not run' );
    is( run( $c->echo('again') ), 'again', 'the client reconnects for the next command' );
    isnt( run( $c->client_id ), $id, 'on a new connection' );
    run( $c->disconnect );
};

subtest 'a pipeline on a disconnected client (reconnect off): Disconnected errors in place' => sub {
    my $c = client( $srv, reconnect => 0 );
    run( $c->connect );
    run( $c->disconnect );
    my $f = $c->pipeline->ping->get('key')->execute;
    my $r = run($f);
    ok( $f->is_done, 'execute resolved (did not fail)' );
    is( scalar @$r, 2, 'two results' );
    isa_ok( $r->[0], ['Future::IO::Redis::Error::Disconnected'], 'first' );
    isa_ok( $r->[1], ['Future::IO::Redis::Error::Disconnected'], 'second' );
};

subtest 'an error reply in a pipeline does not poison the next pipeline' => sub {
    for my $round ( 1 .. 3 ) {
        my $r = run( $redis->pipeline->command('BAD')->echo("r$round")->execute );
        ok( $r->[0]->isa($REDIS_ERR), "round $round: error" );
        is( $r->[1], "r$round", "round $round: reply" );
    }
};

done_testing;

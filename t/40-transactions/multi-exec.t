# multi(async sub { ... }): commands queued on the transaction object, sent as MULTI ... EXEC in
# one batch; EXEC's results (errors in place, reply transformers applied); the callback's errors
# discard; EXECABORT names the refused command; key prefixing; MULTI/EXEC inside a pipeline.
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

subtest 'the design example' => sub {
    my $results = run( $redis->multi( async sub {
        my ($tx) = @_;
        $tx->incr('counter');
        $tx->get('counter');
        $tx->set( 'updated', 42 );
    } ) );
    is( $results, [ 1, '1', 'OK' ], 'EXEC results as an array ref' );
    is( run( $redis->get('updated') ), '42', 'the commands ran' );
    ok( !$redis->in_multi, 'not in MULTI afterwards' );
};

subtest 'chained, every generated command, reply transformers, a plain (non-async) callback' => sub {
    my $results = run( $redis->multi( sub {
        my ($tx) = @_;
        $tx->hset( 'h', a => 1, b => 2 )->hgetall('h')->command( 'ECHO', 'raw' )->client_getname;
        return 'ignored';
    } ) );
    is( $results, [ 2, { a => 1, b => 2 }, 'raw', undef ], 'hgetall gives a hash ref in its place' );
};

subtest 'an empty transaction' => sub {
    is( run( $redis->multi( async sub { } ) ), [], 'MULTI EXEC of nothing: []' );
};

subtest 'a command failing when EXEC runs it is its error object in place' => sub {
    run( $redis->set( 's', 'text' ) );
    my $results = run( $redis->multi( async sub {
        my ($tx) = @_;
        $tx->incr('n1');
        $tx->incr('s');          # not an integer: fails at EXEC time
        $tx->lpush( 's', 'x' );  # WRONGTYPE at EXEC time
        $tx->incr('n1');
    } ) );
    is( scalar @$results, 4, 'four results' );
    is( $results->[0], 1, 'first INCR ran' );
    isa_ok( $results->[1], [$REDIS_ERR], 'INCR of a string' );
    like( $results->[1]->message, qr/not an integer/, 'its message' );
    isa_ok( $results->[2], [$REDIS_ERR], 'LPUSH on a string' );
    is( $results->[2]->code, 'WRONGTYPE', 'its code' );
    is( $results->[3], 2, 'the rest ran: EXEC does not roll back' );
};

subtest 'a command refused while queueing aborts the transaction (EXECABORT, naming it)' => sub {
    run( $redis->set( 'abort:k', 0 ) );
    my $err = error_of( $redis->multi( async sub {
        my ($tx) = @_;
        $tx->incr('abort:k');
        $tx->command( 'NOSUCHCOMMAND', 'x' );
        $tx->incr('abort:k');
    } ) );
    isa_ok( $err, [$REDIS_ERR], 'fails with an Error::Redis' );
    is( $err->code, 'EXECABORT', 'code EXECABORT' );
    like( $err->message, qr/command 2, NOSUCHCOMMAND: ERR unknown command/, 'names the refused command and why' );
    is( run( $redis->get('abort:k') ), '0', 'nothing ran' );
};

subtest 'an error inside the callback discards and passes the exception on' => sub {
    run( $redis->set( 'cb:k', 'before' ) );
    my $err = error_of( $redis->multi( async sub {
        my ($tx) = @_;
        $tx->set( 'cb:k', 'after' );
        $tx->incr('cb:n');
        die "changed my mind\n";
    } ) );
    is( $err, "changed my mind\n", 'the exception, as thrown' );
    is( run( $redis->get('cb:k') ), 'before', 'the queued SET did not run' );
    is( run( $redis->exists('cb:n') ), 0, 'nor the INCR' );
    ok( !$redis->in_multi, 'the connection is not in MULTI' );
    is( run( $redis->ping ), 'PONG', 'and answers normally' );

    # An error object thrown after an await inside the callback.
    my $obj = Future::IO::Redis::Error::Redis->new( message => 'ERR mine' );
    $err = error_of( $redis->multi( async sub {
        my ($tx) = @_;
        $tx->set( 'cb:k', 'after' );
        await $redis->ping;
        die $obj;
    } ) );
    is( $err, exact_ref($obj), 'the same object' );
    is( run( $redis->get('cb:k') ), 'before', 'nothing ran' );

    # A croak inside the callback: queueing an undef argument.
    $err = error_of( $redis->multi( async sub { $_[0]->set( 'cb:k', undef ) } ) );
    like( $err, qr/argument 2 after the command name is undef/, 'a bad argument: the croak' );
};

subtest 'commands on the client inside the callback run at once, outside the transaction' => sub {
    run( $redis->del('out:k') );
    my $seen;
    my $results = run( $redis->multi( async sub {
        my ($tx) = @_;
        $tx->incr('out:k');
        $seen = await $redis->incr('out:k');
        $tx->get('out:k');
    } ) );
    is( $seen, 1, 'the client INCR ran first (the transaction was not sent yet)' );
    is( $results, [ 2, '2' ], 'then the transaction' );
};

subtest 'the whole transaction leaves in one write' => sub {
    # (The bytes themselves are checked by the engine's unit tests.) A transaction issued
    # before connecting waits whole for the connection.
    my $fresh = client($srv);
    my $f = $fresh->multi( async sub { $_[0]->incr('w:1')->incr('w:2') } );
    is( run($f), [ 1, 1 ], 'sent on the first connect, whole' );
    # Many transactions at once on one client, each atomic: interleaved, they would nest (MULTI
    # inside MULTI is refused) and their results would mix.
    my @f = map {
        my $i = $_;
        $fresh->multi( async sub { $_[0]->incr('w:many')->rpush( 'w:list', $i )->incr('w:many') } )
    } 1 .. 50;
    my @r = map { run($_) } @f;
    is( [ map { $_->[2] - $_->[0] } @r ], [ (1) x 50 ], 'each transaction saw its own two INCRs back to back' );
    is( run( $fresh->get('w:many') ), 100, 'all ran' );
};

subtest 'key prefixing applies to queued commands' => sub {
    my $p = client( $srv, prefix => 'app:' );
    my $results = run( $p->multi( async sub {
        my ($tx) = @_;
        $tx->set( 'pk', 'v' );
        $tx->mset( 'pa', 1, 'pb', 2 );
        $tx->get('pk');
    } ) );
    is( $results, [ 'OK', 'OK', 'v' ], 'results' );
    is( run( $redis->mget( 'app:pk', 'app:pa', 'app:pb', 'pk' ) ), [ 'v', 1, 2, undef ], 'keys written with the prefix' );
};

subtest 'MULTI/EXEC inside a pipeline' => sub {
    run( $redis->del('pl:n') );
    my $r = run( $redis->pipeline->multi->incr('pl:n')->incr('pl:n')->exec->get('pl:n')->execute );
    is( $r, [ 'OK', 'QUEUED', 'QUEUED', [ 1, 2 ], '2' ], 'replies of MULTI, QUEUED, EXEC and after' );
    ok( !$redis->in_multi, 'not in MULTI afterwards' );
};

subtest 'bad arguments croak' => sub {
    like( dies { $redis->multi( 'x' ) }, qr/multi takes a code reference .* at \Q${\ __FILE__}\E line/, 'multi(string)' );
    like( dies { $redis->multi( sub { }, 1 ) }, qr/multi takes a code reference/, 'two arguments' );
};

done_testing;

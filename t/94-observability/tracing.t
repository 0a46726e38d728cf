# otel_tracer: one span per command, pipeline and transaction, with the design's attributes,
# error status and exception on failure, db.statement redacted and optional, database index
# following SELECT, unix-socket peers. A recording tracer (t/lib/Test/FIORedis/Recorder.pm)
# stands in for OpenTelemetry's (same method names); the server is real.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Test::FIORedis::Recorder;

my $PW  = 'pw-trace-Kk21';
my $srv = start_server( password => $PW, unixsocket => 1 );

my $tracer = Test::FIORedis::Recorder::Tracer->new;
my $redis  = client( $srv, password => $PW, otel_tracer => $tracer, database => 2 );

subtest 'one span per command, with the attributes' => sub {
    run( $redis->set( 'k', 'v' ) );
    is( run( $redis->get('k') ), 'v' );
    my @s = $tracer->spans;
    is( scalar @s, 2, 'two commands, two spans' );
    is( $s[0]->name, 'redis.SET' );
    is( $s[1]->name, 'redis.GET' );
    is( $s[1]->kind, 3, 'kind: SPAN_KIND_CLIENT' );
    is(
        $s[1]->attributes,
        {
            'db.system'               => 'redis',
            'db.operation'            => 'GET',
            'db.statement'            => 'GET k',
            'net.peer.name'           => '127.0.0.1',
            'net.peer.port'           => $srv->port,
            'db.redis.database_index' => 2,
        },
        'attributes'
    );
    ok( ( !grep { !$_->ended } @s ), 'both ended' );
    is( [ map { $_->status } @s ], [ undef, undef ], 'no status set on success' );
};

subtest 'failure: error status and the exception' => sub {
    $tracer->clear;
    my $err = error_of( $redis->incr('k') );
    ok( $err, 'INCR on a string fails' );
    my ($s) = $tracer->spans;
    is( $s->name, 'redis.INCR' );
    ok( $s->ended, 'ended' );
    is( $s->status->[0], 2, 'status SPAN_STATUS_ERROR' );
    like( $s->status->[1], qr/\Aerror Redis: ERR value is not an integer/, 'with a description' );
    is( [ $s->exceptions ], [$err], 'the error recorded as the exception' );

    $tracer->clear;
    my $t = client( $srv, password => $PW, otel_tracer => $tracer, request_timeout => 0.2, reconnect_delay => 0.05 );
    isa_ok( error_of( $t->command( 'DEBUG', 'SLEEP', 0.5 ) ), ['Future::IO::Redis::Error::Timeout'] );
    my ($ts) = $tracer->spans;
    is( $ts->name, 'redis.DEBUG' );
    like( $ts->status->[1], qr/\Aerror Timeout: /, 'a timeout' );
    run( Future::IO->sleep(0.4) );
};

subtest 'secrets redacted; otel_include_args => 0' => sub {
    $tracer->clear;
    run( $redis->auth($PW) );
    run( $redis->config_set( 'masterauth', 'pw-m-Hh8' ) );
    my @s = $tracer->spans;
    is( $s[0]->attributes->{'db.statement'}, 'AUTH [REDACTED]' );
    is( $s[1]->attributes->{'db.statement'}, 'CONFIG SET masterauth [REDACTED]' );
    is( $s[1]->attributes->{'db.operation'}, 'CONFIG SET', 'container command: operation with its subcommand' );
    is( $s[1]->name, 'redis.CONFIG SET' );
    run( $redis->config_set( 'masterauth', '' ) );

    my $t2 = Test::FIORedis::Recorder::Tracer->new;
    my $quiet = client( $srv, password => $PW, otel_tracer => $t2, otel_include_args => 0 );
    run( $quiet->set( 'user:1:email', 'someone@example.invalid' ) );
    my ($q) = $t2->spans;
    is( $q->attributes->{'db.statement'}, 'SET', 'only the name' );
};

subtest 'SELECT and RESET move db.redis.database_index' => sub {
    $tracer->clear;
    run( $redis->select(5) );
    run( $redis->ping );
    run( $redis->command( 'SELECT', 3 ) );
    run( $redis->ping );
    my @s = $tracer->spans;
    is( [ map { $_->attributes->{'db.redis.database_index'} } @s ], [ 2, 5, 5, 3 ], 'each span has the database it ran in' );
    run( $redis->select(2) );
};

subtest 'pipeline and transaction spans' => sub {
    $tracer->clear;
    my $res = run( $redis->pipeline->set( a => 1 )->incr('a')->hgetall('a')->execute );
    my ($p) = $tracer->spans;
    is( scalar( () = $tracer->spans ), 1, 'one span for the pipeline' );
    is( $p->name, 'redis.PIPELINE' );
    is( $p->attributes->{'db.operation'}, 'PIPELINE' );
    is( $p->attributes->{'db.statement'}, "SET a 1\nINCR a\nHGETALL a" );
    is( $p->attributes->{'db.redis.pipeline_length'}, 3 );
    is( $p->status->[0], 2, 'a command failed: error status' );
    like( $p->status->[1], qr/\A1 of 3 commands failed; first: error Redis: WRONGTYPE/ );
    ok( $p->ended );

    $tracer->clear;
    run( $redis->pipeline->set( a => 1 )->get('a')->execute );
    ($p) = $tracer->spans;
    is( $p->status, undef, 'all succeeded: no status' );

    $tracer->clear;
    my $big = $redis->pipeline;
    $big->incr('n') for 1 .. 25;
    run( $big->execute );
    ($p) = $tracer->spans;
    my @l = split /\n/, $p->attributes->{'db.statement'};
    is( scalar @l, 21, '20 commands, then a count' );
    is( $l[-1], '...(+5 more commands)' );

    # A transaction submitted as one batch (MULTI ... EXEC).
    $tracer->clear;
    my $tx = $redis->pipeline->multi->incr('t')->incr('t')->exec;
    my $r = run( $tx->execute );
    is( $r->[-1], [ 1, 2 ], 'EXEC ran both' );
    ($p) = $tracer->spans;
    is( $p->name, 'redis.MULTI', 'a MULTI ... EXEC batch is a transaction span' );
    is( $p->attributes->{'db.statement'}, "MULTI\nINCR t\nINCR t\nEXEC" );
};

subtest 'observe_batch: the hook for batches sent another way' => sub {
    $tracer->clear;
    my $cmds = [ [ 'WATCH', 'w' ], ['MULTI'], [ 'INCR', 'w' ], ['EXEC'] ];
    # Submitted through the plain batch path (not the observed client's method), as other code
    # of this distribution might.
    my $f = Future::IO::Redis::Telemetry::observe_batch( $redis, $cmds, sub { Future::IO::Redis::_submit_batch( $redis, $cmds ) } );
    my $r = run($f);
    is( $r->[3], [1], 'the transaction ran' );
    my @s = $tracer->spans;
    is( scalar @s, 1, 'one span' );
    is( $s[0]->name, 'redis.MULTI', 'WATCH, MULTI ... EXEC: a transaction' );
    is( $s[0]->attributes->{'db.redis.pipeline_length'}, 4 );
    ok( $s[0]->ended );

    my $plain = client( $srv, password => $PW );
    my $pf = Future::IO::Redis::Telemetry::observe_batch( $plain, [ ['PING'] ], sub { $plain->pipeline->ping->execute } );
    is( run($pf), ['PONG'], 'a plain client: the code runs, nothing reported' );
    is( scalar( () = $tracer->spans ), 1 );
};

subtest 'unix socket peer' => sub {
    my $t3 = Test::FIORedis::Recorder::Tracer->new;
    my $u  = Future::IO::Redis->new( path => $srv->path, password => $PW, otel_tracer => $t3 );
    run( $u->ping );
    my ($s) = $t3->spans;
    is( $s->attributes->{'net.peer.name'}, $srv->path );
    ok( !exists $s->attributes->{'net.peer.port'}, 'no port' );
};

subtest 'a tracer that dies does not break commands' => sub {
    package Dying { sub new { bless {}, shift } sub create_span { die "tracer broke\n" } }
    my @w;
    local $SIG{__WARN__} = sub { push @w, @_ };
    my $d = client( $srv, password => $PW, otel_tracer => Dying->new );
    is( run( $d->echo('still') ), 'still' );
    like( $w[0], qr/create_span died: tracer broke/ );
};

subtest 'bad tracer croaks' => sub {
    like( dies { Future::IO::Redis->new( otel_tracer => {} ) }, qr/otel_tracer must be an OpenTelemetry tracer .* at \Q${\__FILE__}\E/ );
};

done_testing;

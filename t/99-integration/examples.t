# Every example in examples/ runs, as a user would run it against the module alone (blib, no
# t/lib, no examples/lib), against a redis-server started here, prints what it says it does,
# and leaves no key behind. examples/tls.pl runs against a TLS server with the certificates
# dev/make-certs writes (the ones docker-compose.yml mounts), with and without a client
# certificate.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use File::Temp qw(tempdir);

my $srv = Test::FIORedis::Server->start;
my $uri = 'redis://127.0.0.1:' . $srv->port;

# The module as built (blib) and what is installed; not the test or example libraries.
my @inc = map {"-I$_"} grep { !ref && !m{(?:^|/)(?:t|examples)/lib/?$} } @INC;

# Runs an example; returns (exit status, stdout + stderr).
sub run_example {
    my ( $script, @args ) = @_;
    my $pid = open( my $fh, '-|' ) // die "fork: $!";
    if ( !$pid ) {
        open STDERR, '>&', \*STDOUT;
        exec $^X, @inc, $script, @args;
        die "exec $^X: $!";
    }
    local $/;
    my $out = <$fh>;
    close $fh;
    return ( $? >> 8, $out );
}

sub example_ok {
    my ( $name, $script, $args, @want ) = @_;
    subtest $name => sub {
        my ( $status, $out ) = run_example( $script, @$args );
        is( $status, 0, 'exits 0' ) or diag $out;
        like( $out, $_ ) for @want;
        unlike( $out, qr/^(?:Use of uninitialized|.* at \S+ line \d+\.$)/m, 'no warning, no death' );
        is( $srv->cli('DBSIZE'), 0, 'no key left behind' );
    };
}

example_ok(
    'demo.pl' => 'examples/demo.pl', [$uri],
    qr/^connected$/m,
    qr/^GET greeting -> hello, world$/m,
    qr/^HGETALL user:1 -> \{ lang => Perl, name => Ada \}$/m,
    qr/^10,000 INCRs in flight at once: \d+ ms, last value 10000$/m,
    qr/^pipeline -> \[ OK, 2, 2, Future::IO::Redis::Error::Redis: ERR value is not an integer or out of range \]$/m,
    qr/^typed error: Future::IO::Redis::Error::Redis \(code ERR\): ERR value is not an integer/m,
    qr/^server: redis \d+\.\d+/m,
    qr/^cleaned up: 4 keys deleted$/m,
    qr/^done$/m,
);

{
    local $ENV{REDIS_URL} = $uri;
    example_ok( 'demo.pl with REDIS_URL' => 'examples/demo.pl', [], qr/^GET greeting -> hello, world$/m, qr/^done$/m );
}

example_ok(
    'job-queue.pl' => 'examples/job-queue.pl', [$uri],
    qr/^recovered 0 unfinished jobs$/m,
    qr/^queued 20 jobs for 3 workers$/m,
    qr/^worker 1 did \d+ jobs\nworker 2 did \d+ jobs\nworker 3 did \d+ jobs$/m,
    qr/^20 jobs done by 3 workers$/m,
    qr/^sum of the results: 2870$/m,    # 1^2 + ... + 20^2
    qr/^left: 0 pending, 0 processing$/m,
);

example_ok(
    'cache.pl' => 'examples/cache.pl', [$uri],
    qr/^first read: miss -> profile of user 42$/m,
    qr/^second read: hit -> profile of user 42$/m,
    qr/^expires in at most 500 ms: yes$/m,
    qr/^after the TTL: miss -> profile of user 42$/m,
    qr/^session read with GETEX: alice, ttl now (?:9|10) s$/m,
    qr/^10 concurrent readers got 'profile of user report'; computed 1 time\(s\)$/m,
    qr/^cleaned up: 3 keys deleted$/m,
);

# The SET NX lock of cache.pl: a caller that gets the lock just after another stored the value
# (between its GET and its SET NX) must not compute it again. Several runs at once make that
# interleaving likely (it computed twice in about a third of the runs under load).
subtest 'cache.pl: the value is computed once, with several copies running at once' => sub {
    my @fhs;
    for ( 1 .. 8 ) {
        my $pid = open( my $fh, '-|' ) // die "fork: $!";
        if ( !$pid ) { exec $^X, @inc, 'examples/cache.pl', $uri; die "exec $^X: $!" }
        push @fhs, $fh;
    }
    my @out = map { local $/; my $o = readline $_; close $_; $o } @fhs;
    is( [ map { /computed (\d+) time/ ? $1 : 'none' } @out ], [ (1) x 8 ], 'each run computed it once' );
    is( $srv->cli('DBSIZE'), 0, 'no key left behind' );
};

subtest 'chat.pl' => sub {
    my ( $status, $out ) = run_example( 'examples/chat.pl', $uri );
    is( $status, 0, 'exits 0' ) or diag $out;
    like( $out, qr/^posted '\Q$_\E' to 3 listeners$/m, "posted '$_'" ) for 'alice: hi all', 'bob: hello alice', 'carol: hey!', 'alice: bye', 'alice: /quit';
    my %heard;
    push @{ $heard{$1} }, $2 while $out =~ /^\[(\w+)\] (.*)$/mg;
    is( $heard{alice}, [ 'bob says: hello alice', 'carol says: hey!' ], 'alice hears the others, in order' );
    is( $heard{bob},   [ 'alice says: hi all', 'carol says: hey!', 'alice says: bye' ], 'bob too' );
    is( $heard{carol}, [ 'alice says: hi all', 'bob says: hello alice', 'alice says: bye' ], 'carol too' );
    like( $out, qr/^alice heard 2 messages\nbob heard 3 messages\ncarol heard 3 messages$/m, 'each listener stops at /quit' );
    is( $srv->cli('DBSIZE'), 0, 'no key left behind' );
};

example_ok(
    'io-async.pl' => 'examples/io-async.pl', [$uri],
    qr/^BLPOP on an empty list: nothing after its 1 s timeout$/m,
    qr/^the timer kept ticking meanwhile: yes$/m,
    qr/^10,000 INCRs in flight on IO::Async: last reply 10000$/m,
    qr/^done$/m,
);

subtest 'tls.pl, with the certificates of dev/make-certs' => sub {
    my $dir = tempdir( 'fior-example-certs-XXXXXX', TMPDIR => 1, CLEANUP => 1 );
    my $made = `dev/make-certs '$dir' 2>&1`;
    is( $? >> 8, 0, 'dev/make-certs succeeds' ) or diag $made;
    ok( -s "$dir/$_", "it wrote $_" ) for qw( ca.crt server.crt server.key client.crt client.key );

    # As docker-compose.yml's redis-tls runs: these certificates, client certificates optional.
    my $tls = Test::FIORedis::Server->start(
        tls   => 1,
        tcp   => 1,    # the helper checks readiness on the plain port
        extra => [
            "tls-cert-file $dir/server.crt", "tls-key-file $dir/server.key",
            "tls-ca-cert-file $dir/ca.crt",  'tls-auth-clients optional',
        ],
    );
    my $tls_uri = 'rediss://127.0.0.1:' . $tls->tls_port;

    my ( $status, $out ) = run_example( 'examples/tls.pl', $tls_uri, '--ca', "$dir/ca.crt" );
    is( $status, 0, 'with the CA only: exits 0' ) or diag $out;
    like( $out, qr/^connected over TLS to \Q$tls_uri\E$/m, 'connected' );
    like( $out, qr/^PING -> PONG$/m,        'PING' );
    like( $out, qr/^GET -> sent encrypted$/m, 'SET / GET' );

    ( $status, $out ) = run_example( 'examples/tls.pl', $tls_uri, '--ca', "$dir/ca.crt", '--cert', "$dir/client.crt", '--key', "$dir/client.key" );
    is( $status, 0, 'with a client certificate: exits 0' ) or diag $out;
    like( $out, qr/^connected over TLS to \Q$tls_uri\E with a client certificate$/m, 'connected with it' );
    like( $out, qr/^PING -> PONG$/m, 'PING' );

    ( $status, $out ) = run_example( 'examples/tls.pl', $tls_uri );
    isnt( $status, 0, 'without the CA the server is not trusted' );
    like( $out, qr/TLS handshake failed: invalid peer certificate: UnknownIssuer/, 'and it says why' );
    is( $tls->cli('DBSIZE'), 0, 'no key left behind' );
};

done_testing;

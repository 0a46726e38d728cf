# Blocking command timeouts: the server-side timeout elapsing gives undef (not an error), and
# the client's own deadlines (request_timeout, read_timeout) do not cut a blocking command short.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Time::HiRes qw(time);

my $srv    = start_server();
my $pusher = client($srv);
run( $pusher->command('FLUSHALL') );

subtest 'BLPOP timeout returns undef' => sub {
    my $redis = client($srv);
    run( $redis->connect );
    my $t0 = time;
    my $f  = $redis->blpop( 'to:empty', 1 );
    my @r  = run($f);
    ok( $f->is_done, 'the Future succeeded (a timeout is not an error)' );
    is( \@r, [undef], 'a single undef' );
    ok( time - $t0 < 5, sprintf( 'within a generous bound (%.2f s)', time - $t0 ) );
    is( run( $redis->ping ), 'PONG', 'the connection is fine afterwards' );
};

subtest 'BRPOP and a fractional timeout' => sub {
    my $redis = client($srv);
    is( [ run( $redis->brpop( 'to:empty', 'to:empty2', 0.25 ) ) ], [undef], 'BRPOP 0.25 on two keys: undef' );
    is( [ run( $redis->blpop( 'to:empty', 0.01 ) ) ], [undef], 'BLPOP 0.01: undef' );
};

subtest 'a blocking timeout longer than request_timeout: undef, not Error::Timeout' => sub {
    my @down;
    my $redis = client( $srv, request_timeout => 0.5, on_disconnect => sub { push @down, $_[1] } );
    run( $redis->connect );
    my $id  = run( $redis->client_id );
    my $f   = $redis->blpop( 'to:empty', 1.5 );
    my @r   = eval { run($f) };
    ok( !$@, 'BLPOP 1.5 with request_timeout 0.5 did not fail' ) or diag "error: $@";
    is( \@r, [undef], 'it timed out server-side: undef' );
    is( run( $redis->client_id ), $id, 'on the same connection (it was not reset)' );
    is( \@down, [], 'no disconnect happened' );
};

subtest 'read_timeout does not apply while a blocking command waits' => sub {
    my $redis = client( $srv, read_timeout => 0.3, request_timeout => 0.3 );
    run( $redis->connect );
    my $id = run( $redis->client_id );
    my @r  = eval { run( $redis->blpop( 'to:empty', 1 ) ) };
    ok( !$@, 'BLPOP 1 with read_timeout 0.3 did not fail' ) or diag "error: $@";
    is( \@r, [undef], 'undef' );
    is( run( $redis->client_id ), $id, 'same connection' );
};

subtest 'data arriving after request_timeout but before the blocking timeout is delivered' => sub {
    my $redis = client( $srv, request_timeout => 0.3 );
    run( $redis->connect );
    my $f = $redis->blpop( 'to:late', 5 );
    Future::IO->sleep(1)->then( sub { $pusher->rpush( 'to:late', 'finally' ) } )->retain;
    is( run($f), [ 'to:late', 'finally' ], 'BLPOP 5 got data pushed after 1 s (request_timeout 0.3)' );
};

subtest 'BLPOP 0 (forever) has no client deadline' => sub {
    my $redis = client( $srv, request_timeout => 0.3, read_timeout => 0.3 );
    run( $redis->connect );
    my $f = $redis->blpop( 'to:forever', 0 );
    Future::IO->sleep(1.2)->then( sub { $pusher->rpush( 'to:forever', 'eventually' ) } )->retain;
    is( run( $f, 20 ), [ 'to:forever', 'eventually' ], 'BLPOP 0 got data pushed after 1.2 s' );
};

subtest 'BLMOVE / BRPOPLPUSH / BZPOPMIN time out to undef' => sub {
    my $redis = client( $srv, request_timeout => 0.3 );
    is( [ run( $redis->blmove( 'to:none', 'to:dst', 'LEFT', 'RIGHT', 0.8 ) ) ], [undef], 'BLMOVE 0.8: undef' );
    is( [ run( $redis->brpoplpush( 'to:none', 'to:dst', 0.8 ) ) ], [undef], 'BRPOPLPUSH 0.8: undef' );
    is( [ run( $redis->command( 'BZPOPMIN', 'to:none', 0.8 ) ) ], [undef], 'BZPOPMIN 0.8: undef' );
    is( run( $redis->exists('to:dst') ), 0, 'nothing was moved' );
};

subtest 'a command queued behind a BLPOP on the same connection waits for it' => sub {
    my $redis = client($srv);
    run( $redis->connect );
    my $pop = $redis->blpop( 'to:behind', 0.5 );
    my $get = $redis->echo('after the blpop');
    my @r   = run( Future->needs_all( $pop, $get ) );
    is( \@r, [ undef, 'after the blpop' ], 'BLPOP timed out, then the ECHO behind it was answered' );
};

done_testing;

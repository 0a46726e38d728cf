# Empty error replies from a real server: Redis 7 answers EVAL "return {err=''}" 0 with `-\r\n`,
# and `return {{err=''},1}` with that error inside an array. Each becomes an
# Error::Redis ('the server sent an empty error reply', code ERR) like any other error reply,
# and nothing gets stuck: later commands on the same client and on another client complete.
# (Error::Redis->new used to croak on the empty message inside the XS delivery; the croak
# escaped into the running await, that Future stayed pending for ever and, under IO::Async, so
# did every later command of every client.)
# Also: if building the error object in Perl dies anyway, delivery builds it in C.
# Run on both loops: prove -b t/93-binary/empty-error.t; FIOR_LOOP=ioasync prove -b ...
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv   = start_server();
my $redis = client($srv);
my $other = client($srv);
run( $redis->connect );
run( $other->connect );
note 'loop: ' . loop_name();

my $EMPTY = 'the server sent an empty error reply';

sub still_works {
    my ($label) = @_;
    is( run( $redis->echo("same-$label"), 5 ),  "same-$label",  "$label: the next command on the same client" );
    is( run( $other->echo("other-$label"), 5 ), "other-$label", "$label: a command on another client" );
}

subtest 'top-level empty error' => sub {
    my $err = error_of( $redis->eval( "return {err=''}", 0 ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'EVAL fails with an Error::Redis' );
    is( $err && $err->message, $EMPTY, 'message' );
    is( $err && $err->code,    'ERR',  'code ERR' );
    is( $err ? "$err" : undef, $EMPTY, 'stringifies to the message' );
    ok( $err && $err->is_fatal, 'fatal (ERR)' );
    still_works('top level');
};

subtest 'empty error nested in an array' => sub {
    my $v = run( $redis->eval( "return {{err=''},1}", 0 ) );
    is( ref $v, 'ARRAY', 'an array reply' );
    isa_ok( $v->[0], ['Future::IO::Redis::Error::Redis'], 'element 0 is an Error::Redis' );
    is( $v->[0] && $v->[0]->message, $EMPTY, 'with the message for an empty reply' );
    is( $v->[0] && $v->[0]->code,    'ERR',  'code ERR' );
    is( $v->[1],                     1,      'element 1 is intact' );
    still_works('nested');
};

subtest 'several in one pipeline of commands, mixed with others' => sub {
    my @f = (
        $redis->echo('a'),
        $redis->eval( "return {err=''}", 0 ),
        $other->echo('b'),
        $redis->eval( "return {{err=''},{err='WRONGTYPE x'},'ok'}", 0 ),
        $redis->echo('c'),
    );
    run( Future->wait_all(@f), 10 );
    is( [ map { $_->is_ready ? 1 : 0 } @f ], [ 1, 1, 1, 1, 1 ], 'all completed' );
    is( [ map { $_->is_failed ? 'failed' : scalar $_->get } @f[ 0, 2, 4 ] ], [qw(a b c)], 'the others got their replies' );
    ok( $f[1]->is_failed, 'the empty error failed its command' );
    my $arr = $f[3]->get;
    is( [ map { ref $_ ? $_->code : $_ } @$arr ], [qw(ERR WRONGTYPE ok)], 'nested: empty, coded and plain elements' );
    still_works('pipeline');
};

subtest 'the message is still required elsewhere' => sub {
    like( dies { Future::IO::Redis::Error::Redis->new( message => '' ) }, qr/message/, 'Error::Redis->new croaks' );
    like( dies { Future::IO::Redis::Error->from_kind( connection => '' ) }, qr/message/, 'from_kind(connection => "") croaks' );
    my $e = Future::IO::Redis::Error->from_kind( redis => '' );
    is( [ ref $e, $e->message, $e->code ], [ 'Future::IO::Redis::Error::Redis', $EMPTY, 'ERR' ], 'from_kind(redis => "")' );
};

subtest 'if the Perl constructor dies, the error is built in C' => sub {
    run( $redis->set( 'ee:str', 'v' ) );
    no warnings 'redefine';
    local *Future::IO::Redis::Error::from_kind = sub { die "from_kind is broken\n" };

    my $err = error_of( $redis->lpush( 'ee:str', 'x' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'a WRONGTYPE reply still fails with an Error::Redis' );
    is( $err && $err->code, 'WRONGTYPE', 'code from the message' );
    like( $err ? "$err" : '', qr/\AWRONGTYPE /, 'message' );

    $err = error_of( $redis->eval( "return {err=''}", 0 ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'an empty error reply too' );
    is( [ $err && $err->message, $err && $err->code ], [ $EMPTY, 'ERR' ], 'same message and code' );

    my $v = run( $redis->eval( "return {{err='NOSCRIPT gone'},2}", 0 ) );
    is( [ ref $v->[0], $v->[0]->code, $v->[1] ], [ 'Future::IO::Redis::Error::Redis', 'NOSCRIPT', 2 ], 'nested' );

    # An engine failure (not a server reply): a request timeout.
    my $slow = client( $srv, request_timeout => 0.2 );
    $err = error_of( $slow->command( 'DEBUG', 'SLEEP', '0.5' ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Timeout'], 'a timeout is an Error::Timeout' );
    is( $err && $err->command_name, 'DEBUG SLEEP', 'with its fields' );
    like( $err ? "$err" : '', qr/timed out/, 'and its message' );
    still_works('fallback');
    run( $slow->disconnect );
};

still_works('end');
done_testing;

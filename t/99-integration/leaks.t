# No Perl value outlives a command: Test::LeakTrace counts SVs allocated inside each block
# that are still alive after it (after a warm-up run of the same block).
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::LeakTrace;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->connect );
run( $redis->set( 'leak:v', 'value' ) );
run( $redis->rpush( 'leak:l', 1 .. 5 ) );

my %cases = (
    'GET'                     => sub { run( $redis->get('leak:v') ) },
    'SET'                     => sub { run( $redis->set( 'leak:s', 'x' x 1000 ) ) },
    'nil reply'               => sub { run( $redis->get('leak:missing') ) },
    'array reply'             => sub { run( $redis->lrange( 'leak:l', 0, -1 ) ) },
    'error reply'             => sub { error_of( $redis->incr('leak:v') ) },
    'hash transform'          => sub { run( $redis->hgetall('leak:missing') ) },
    '100 in flight'           => sub { run( Future->needs_all( map { $redis->get('leak:v') } 1 .. 100 ) ) },
    'pipeline'                => sub { run( $redis->pipeline->get('leak:v')->incr('leak:v')->lrange( 'leak:l', 0, -1 )->execute ) },
    'client lifecycle'        => sub { my $c = client($srv); run( $c->connect ); run( $c->get('leak:v') ); run( $c->disconnect ) },
    'argument croak'          => sub { eval { $redis->get(undef) } },
);

for my $name ( sort keys %cases ) {
    my $code = $cases{$name};
    $code->() for 1 .. 3;    # warm-up: method caches, the pump, buffers
    no_leaks_ok { $code->() for 1 .. 5 } "$name leaks no Perl values";
}

done_testing;

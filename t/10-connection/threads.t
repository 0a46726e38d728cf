# Perl ithreads: a new thread gets copies of the parent interpreter's objects but not its engine.
# A thread that uses a client (its own, or a copy of the parent's) gets an engine and connection
# of its own; the parent's pending commands stay the parent's and complete there.
use v5.14;
use warnings;
use Config;
BEGIN {
    # threads must be loaded before Test2.
    unless ( $Config{useithreads} ) { print "1..0 # SKIP this perl was built without ithreads\n"; exit 0 }
}
use threads;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->connect );
my $parent_id = run( $redis->command( 'CLIENT', 'ID' ) );
run( $redis->del('threads:counter') );
ok( $parent_id, 'the parent is connected' );    # also completes Test2's set-up, which threads need

# Commands in flight while the threads are created: they belong to the parent.
my @inflight = map { $redis->echo("parent-$_") } 1 .. 500;

my @threads = map {
    my $n = $_;
    threads->create(
        sub {
            # The copy of the parent's client, and a client made in the thread.
            my $own = Test::FIORedis::client($srv);
            $redis->incr('threads:counter')->get for 1 .. 100;
            $own->incr('threads:counter')->get   for 1 .. 100;
            my @echo = map { $own->echo("thread-$n-$_") } 1 .. 200;
            my @got  = map { $_->get } @echo;
            my $bad  = grep { $got[$_] ne "thread-$n-" . ( $_ + 1 ) } 0 .. $#got;
            return join ',', $bad, $redis->command( 'CLIENT', 'ID' )->get;
        }
    );
} 1 .. 3;

is( [ map { run($_) } @inflight ], [ map { "parent-$_" } 1 .. 500 ], 'the parent\'s in-flight commands got their own replies' );

for my $t (@threads) {
    my $result = $t->join;
    ok( defined $result, 'thread ' . $t->tid . ' finished' ) or diag( $t->error );
    my ( $bad, $id ) = split /,/, $result // '';
    is( $bad, 0, 'every reply in the thread was its own' );
    isnt( $id, $parent_id, 'the thread\'s copy of the client used a connection of its own' );
}

is( run( $redis->get('threads:counter') ), 3 * 200, 'every INCR of every thread counted once' );
is( run( $redis->command( 'CLIENT', 'ID' ) ), $parent_id, 'the parent kept its connection' );
is( run( $redis->echo('after') ), 'after', 'the parent still works' );

done_testing;

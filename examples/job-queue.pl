#!/usr/bin/env perl
# A reliable job queue on a Redis list: workers take jobs with BLMOVE, which atomically moves a
# job from "pending" to "processing" (so a crashed worker's job is not lost: it stays in
# "processing" and is put back on start), and remove it from "processing" once it is done.
# Each worker has its own connection, since a blocked BLMOVE holds its connection.
#   perl examples/job-queue.pl [redis://host:port]  (default: $REDIS_URL, else redis://127.0.0.1:6379)
use v5.14;
use warnings;
use Future::AsyncAwait;
use Future::IO::Redis;

my $uri     = $ARGV[0] // $ENV{REDIS_URL} // 'redis://127.0.0.1:6379';
my $q       = "fior-example:jobs:$$";    # this run's keys
my $workers = 3;
my $jobs    = 20;

# The work: "square:N" -> N*N.
sub work { my ($job) = @_; my ($n) = $job =~ /^square:(\d+)$/ or die "bad job $job"; return $n * $n }

my $worker = async sub {
    my ($id) = @_;
    my $redis = Future::IO::Redis->new( uri => $uri );
    my $done  = 0;
    while (1) {
        # Wait up to 5 s for a job; undef when none came.
        my $job = await $redis->blmove( "$q:pending", "$q:processing", 'RIGHT', 'LEFT', 5 );
        last unless defined $job;
        if ( $job eq 'STOP' ) {
            await $redis->lrem( "$q:processing", 1, $job );
            last;
        }
        my $result = work($job);
        # Record the result and drop the job from "processing" in one round trip.
        await $redis->pipeline->hset( "$q:results", $job, $result )->lrem( "$q:processing", 1, $job )->execute;
        $done++;
    }
    await $redis->disconnect;
    return ( $id, $done );
};

my $main = async sub {
    my $redis = Future::IO::Redis->new( uri => $uri );

    # Jobs a crashed worker left in "processing" go back to the queue first.
    my $recovered = 0;
    $recovered++ while defined await $redis->lmove( "$q:processing", "$q:pending", 'RIGHT', 'LEFT' );
    say "recovered $recovered unfinished jobs";

    my @running = map { $worker->($_) } 1 .. $workers;

    # Producer: LPUSH, and the workers take from the right: first in, first out. One STOP per
    # worker after the jobs.
    await $redis->lpush( "$q:pending", map {"square:$_"} 1 .. $jobs );
    say "queued $jobs jobs for $workers workers";
    await $redis->lpush( "$q:pending", ('STOP') x $workers );

    my @per_worker = await Future->needs_all(@running);
    my %by         = @per_worker;
    my $total      = 0;
    $total += $_ for values %by;
    say "worker $_ did $by{$_} jobs" for sort keys %by;
    say "$total jobs done by $workers workers";

    my $results = await $redis->hgetall("$q:results");
    my $sum     = 0;
    $sum += $_ for values %$results;
    say "sum of the results: $sum";

    my ( $pending, $processing ) = @{ await $redis->pipeline->llen("$q:pending")->llen("$q:processing")->execute };
    say "left: $pending pending, $processing processing";

    await $redis->del( "$q:pending", "$q:processing", "$q:results" );
    await $redis->disconnect;
    say "done";
};

$main->()->get;

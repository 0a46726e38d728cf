# scan_iter: batches of keys, the cursor kept inside, undef at the end.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->flushall );

subtest 'an empty database' => sub {
    my $iter = $redis->scan_iter;
    isa_ok( $iter, ['Future::IO::Redis::Iterator'], 'scan_iter' );
    is( $iter->cursor, '0', 'cursor 0 before the first call' );
    is( run( $iter->next ), undef, 'next: undef at once' );
    ok( $iter->finished, 'finished' );
    is( run( $iter->next ), undef, 'and stays undef' );
};

subtest 'every key, in batches' => sub {
    run( $redis->mset( map { ( "s:$_" => $_ ) } 1 .. 300 ) );
    my $iter = $redis->scan_iter( count => 20 );
    my ( @keys, $batches );
    while ( my $batch = run( $iter->next ) ) {
        is( ref $batch, 'ARRAY', 'a batch is an array' ) unless $batches;
        ok( scalar @$batch, 'batches are never empty' ) or last;
        push @keys, @$batch;
        $batches++;
    }
    ok( $batches > 1, "more than one batch ($batches)" );
    is( [ sort @keys ], [ sort map { "s:$_" } 1 .. 300 ], 'every key exactly once' );
    ok( $iter->finished, 'finished' );
    is( $iter->cursor, '0', 'cursor back at 0' );
    is( run( $iter->next ), undef, 'next after the end: undef' );
};

subtest 'all' => sub {
    my $all = run( $redis->scan_iter( count => 50 )->all );
    is( scalar @$all, 300, 'all: 300 keys' );
    my $iter = $redis->scan_iter( count => 50 );
    my $first = run( $iter->next );
    my $rest = run( $iter->all );
    is( [ sort @$first, @$rest ], [ sort @$all ], 'all after next: the rest' );
};

subtest 'TYPE' => sub {
    run( $redis->rpush( 'l:1', 'x' ) );
    run( $redis->hset( 'h:1', f => 1 ) );
    is( run( $redis->scan_iter( type => 'list' )->all ), ['l:1'], 'type => list' );
    is( run( $redis->scan_iter( type => 'hash' )->all ), ['h:1'], 'type => hash' );
    is( scalar @{ run( $redis->scan_iter( type => 'string', count => 100 )->all ) }, 300, 'type => string' );
    is( run( $redis->scan_iter( type => 'stream' )->all ), [], 'no streams: an empty list' );
};

subtest 'calls made before the previous batch came back' => sub {
    my $iter = $redis->scan_iter( count => 10 );
    my @f = map { $iter->next } 1 .. 60;
    my @batches = map { run($_) } @f;
    my @keys = map { @$_ } grep { defined } @batches;
    is( scalar @keys, 302, 'each key once: no batch returned twice' );
    my %seen;
    is( [ grep { $seen{$_}++ } @keys ], [], 'no duplicates' );
    my ($end) = grep { !defined $batches[$_] } 0 .. $#batches;
    ok( defined $end, 'some call saw the end' );
    is( [ grep { defined } @batches[ $end .. $#batches ] ], [], 'and every call after it' );
};

subtest 'options' => sub {
    like( dies { $redis->scan_iter( bogus => 1 ) }, qr/scan_iter: unknown option 'bogus'/, 'unknown option' );
    like( dies { $redis->scan_iter( count => 'many' ) }, qr/count must be a positive integer/, 'count not a number' );
    like( dies { $redis->scan_iter( count => 0 ) }, qr/count must be a positive integer/, 'count 0' );
    like( dies { $redis->scan_iter('match') }, qr/name => value/, 'odd options' );
    like( dies { $redis->scan_iter( match => undef ) }, qr/match must be a string/, 'undef match' );
    like( dies { $redis->scan_iter( bogus => 1 ) }, qr/ at \Q${\ __FILE__ }\E line/, 'croaks at the caller' );
};

subtest 'failures' => sub {
    is( run( $redis->scan_iter( type => 'no-such-type' )->next ), undef, 'an unknown TYPE matches nothing (Redis 7.0)' );
    my $down = client( $srv, reconnect => 0 );
    run( $down->ping );
    my $iter = $down->scan_iter( count => 10 );
    run( $iter->next );
    run( $down->disconnect );
    my $err = error_of( $iter->next );
    isa_ok( $err, ['Future::IO::Redis::Error'], 'a lost connection fails next' );
};

done_testing;

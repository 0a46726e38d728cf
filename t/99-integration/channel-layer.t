# The channel layer of examples/ (examples/lib/ChannelLayer.pm) against a real redis-server: 40
# consumers served by two layer objects (two pattern subscriptions, one pool of max 5), in groups
# that overlap, four senders sending concurrently (group sends and direct sends, a few hundred in
# all): every message reaches every member exactly once, in each sender's order, and nothing is
# left pending. Then group_discard, the inbox capacity, and the example script itself.
#   prove -b t/99-integration/channel-layer.t;  FIOR_LOOP=ioasync prove -b t/99-integration/channel-layer.t
use v5.14;
use warnings;
use lib 't/lib', 'examples/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Future::IO::Redis::Pool;
use ChannelLayer;

my @warnings;
$SIG{__WARN__} = sub { push @warnings, $_[0]; warn $_[0] };

my $srv    = start_server();
my %addr   = ( host => '127.0.0.1', port => $srv->port );
my $pool   = Future::IO::Redis::Pool->new( %addr, min => 2, max => 5 );
my $prefix = 'chl-test:';
my @layers = map { ChannelLayer->new( pool => $pool, subscriber => client($srv), prefix => $prefix, capacity => 1000, batch => 16 ) } 1 .. 2;
run( Future->needs_all( map { $_->start } @layers ) );

note 'loop: ', loop_name();
ok( !$INC{'IO/Async/Loop.pm'}, 'IO::Async is not loaded' ) if loop_name() eq 'default';

# 40 consumers, c00..c39; c$i is served by layer $i % 2, member of g($i % 4), and of 'evens' when
# $i is even, and of 'tens' when $i < 10.
my @consumers = map { sprintf 'c%02d', $_ } 0 .. 39;
my %members;
for my $i ( 0 .. $#consumers ) {
    my $c = $consumers[$i];
    push @{ $members{ 'g' . $i % 4 } }, $c;
    push @{ $members{evens} }, $c if $i % 2 == 0;
    push @{ $members{tens} },  $c if $i < 10;
}
my @groups = sort keys %members;

my %got;    # consumer => [ messages in arrival order ]
my $delivered = 0;
my ( $target, $all );
for my $i ( 0 .. $#consumers ) {
    $layers[ $i % 2 ]->consume( $consumers[$i], sub {
        my ( $msg, $c ) = @_;
        push @{ $got{$c} }, $msg;
        $all->done if ++$delivered == $target && !$all->is_ready;
    } );
}

run( async sub {
    for my $g (@groups) {
        await Future->needs_all( map { $layers[0]->group_add( $g, $_ ) } @{ $members{$g} } );
    }
} );
is( $srv->cli( 'SCARD', "${prefix}group:evens" ), 20, 'groups are sets' );

# Four senders; each sends 80 messages (every fifth to one consumer, the others to a group),
# awaiting each send before its next, all four at once.
my %want;    # consumer => [ messages it must get, in each sender's order ]
my @plans;
for my $s ( 1 .. 4 ) {
    for my $seq ( 1 .. 80 ) {
        my $msg = "s$s:$seq";
        if ( $seq % 5 == 0 ) {
            my $c = $consumers[ ( $s * 7 + $seq ) % @consumers ];
            push @{ $plans[$s] }, [ send => $c, $msg ];
            push @{ $want{$c} }, $msg;
        }
        else {
            my $g = $groups[ ( $s + $seq ) % @groups ];
            push @{ $plans[$s] }, [ group_send => $g, $msg ];
            push @{ $want{$_} }, $msg for @{ $members{$g} };
        }
    }
}
$target = 0;
$target += @$_ for values %want;
$all = Future->new;
ok( $target > 2000, "$target deliveries expected" );

my $t0    = Time::HiRes::time();
my @sent  = run( Future->needs_all( map {
    my $plan = $plans[$_];
    ( async sub {
        my $n = 0;
        for my $step (@$plan) {
            my ( $how, $to, $msg ) = @$step;
            $n += await $layers[ $n % 2 ]->$how( $to, $msg );
        }
        return $n;
    } )->();
} 1 .. 4 ), 60 );
my $inboxes = 0;
$inboxes += $_ for @sent;
is( $inboxes, $target, 'the script put each message into every member\'s inbox' );
run( $all, 60 );
note sprintf '%d deliveries in %.2fs, %d wake-ups, %d LPOP round trips', $delivered, Time::HiRes::time() - $t0,
  $layers[0]->wakeups + $layers[1]->wakeups, $layers[0]->drains + $layers[1]->drains;
run( Future->needs_all( map { $_->idle } @layers ) );
run( Future::IO->sleep(0.3) );    # anything extra (a duplicate) would arrive meanwhile
run( Future->needs_all( map { $_->idle } @layers ) );

my @bad;
for my $c (@consumers) {
    my ( $g, $w ) = ( $got{$c} // [], $want{$c} // [] );
    push @bad, "$c: got " . scalar(@$g) . ', want ' . scalar(@$w) if @$g != @$w;
    for my $s ( 1 .. 4 ) {    # per sender, exactly the list it sent this consumer, in order
        my @gs = grep { /^s$s:/ } @$g;
        my @ws = grep { /^s$s:/ } @$w;
        push @bad, "$c from s$s: got [@gs], want [@ws]" unless "@gs" eq "@ws";
    }
}
is( \@bad, [], 'all 40 consumers got every message meant for them exactly once, in each sender\'s order' );
is( $delivered, $target, 'no extra deliveries' );
is( [ grep { $srv->cli( 'EXISTS', $_ ) } map { "${prefix}inbox:$_" } @consumers ], [], 'every inbox is empty (nothing left pending)' );
is( [ map { $_->{sub}->pending + $_->{sub}->dropped } @layers ], [ 0, 0 ], 'no wake-up queued or dropped' );
is( { map { $_ => $pool->stats->{$_} } qw( active waiting ) }, { active => 0, waiting => 0 }, 'the pool is idle' );
ok( $pool->stats->{total} <= 5, 'at most max connections' );
is( $pool->stats->{destroyed}, 0, 'no connection was dirty' );

subtest 'group_discard: a member that left gets nothing more' => sub {
    my %before = map { $_ => scalar @{ $got{$_} } } @consumers;
    run( $layers[1]->group_discard( 'tens', 'c03' ) );
    ( $target, $all ) = ( $delivered + 9, Future->new );
    is( run( $layers[1]->group_send( 'tens', 'after c03 left' ) ), 9, 'nine members left' );
    run( $all, 20 );
    run( Future::IO->sleep(0.1) );
    is( scalar @{ $got{c03} }, $before{c03}, q{c03 got nothing} );
    is( [ map { $got{$_}[-1] } grep { $_ ne 'c03' } @consumers[ 0 .. 9 ] ], [ ('after c03 left') x 9 ], 'the others did' );
};

subtest 'capacity: a full inbox keeps the newest messages; a late consumer drains it' => sub {
    my $small = ChannelLayer->new( pool => $pool, subscriber => client($srv), prefix => 'chl-cap:', capacity => 3, expiry => 30 );
    run( $small->start );
    run( async sub { for my $i ( 1 .. 5 ) { await $small->send( 'late', "m$i" ) } } );
    is( $srv->cli( 'LLEN', 'chl-cap:inbox:late' ), 3, 'trimmed to the capacity' );
    ok( $srv->cli( 'TTL', 'chl-cap:inbox:late' ) > 0, 'the inbox expires' );
    my @got;
    my $done = Future->new;
    $small->consume( late => sub { push @got, $_[0]; $done->done if @got == 3 } );
    run( $done, 10 );
    is( \@got, [qw( m3 m4 m5 )], 'the newest three, in order' );
    run( $small->stop );
};

run( Future->needs_all( map { $_->stop } @layers ) );
$pool->shutdown;

subtest 'the example runs' => sub {
    my $out = `$^X -Mblib examples/channel-layer.pl 2>&1`;
    is( $?, 0, 'exit status 0' ) or diag $out;
    like( $out, qr/^delivered: alice 3, bob 2, carol 4, dave 2$/m, 'every delivery' );
    like( $out, qr/^done$/m, 'done' );
};

is( \@warnings, [], 'no warnings' );

done_testing;

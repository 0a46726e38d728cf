# Connection events, complete: on_connect, on_disconnect (with reason), on_error, and
# on_reconnect_attempt (numbered from 1 after each loss, one per scheduled attempt), on plain
# and observed clients; the same events as debug lines and metrics; an observed client is still
# a Future::IO::Redis (methods, croaks, subscriptions) and a plain one is untouched.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Test::FIORedis::Recorder;

my $srv = start_server();

subtest 'server down, attempts fail, server back: the whole sequence' => sub {
    for my $observed ( 0, 1 ) {
        my ( @ev, @lines );
        my $meter = Test::FIORedis::Recorder::Meter->new;
        my $redis = client(
            $srv,
            reconnect_delay      => 0.05,
            reconnect_delay_max  => 0.1,
            on_connect           => sub { push @ev, 'connect' },
            on_disconnect        => sub { push @ev, "disconnect:$_[1]" },
            on_error             => sub { push @ev, 'error:' . ref $_[1] },
            on_reconnect_attempt => sub { push @ev, "attempt:$_[1]" },
            ( $observed ? ( debug => sub { push @lines, $_[1] if $_[0] eq 'event' }, otel_meter => $meter ) : () ),
        );
        my $label = $observed ? 'observed' : 'plain';
        is( ref($redis) eq 'Future::IO::Redis', !$observed, "$label client class" );
        run( $redis->connect );
        $srv->kill9;
        ok( wait_until( sub { grep { /\Aattempt:3\z/ } @ev }, 10 ), "$label: three attempts while the server is down" );
        $srv->restart;
        ok( wait_until( sub { $ev[-1] eq 'connect' && @ev > 1 }, 10 ), "$label: reconnected" );
        is( run( $redis->ping ), 'PONG' );

        # connect, disconnect:REASON, attempt:1, (error, attempt:N)..., connect
        is( $ev[0], 'connect' );
        like( $ev[1], qr/\Adisconnect:(?:server_closed|connection_lost)\z/, "$label: $ev[1]" );
        is( $ev[2], 'attempt:1', 'attempt 1 when the connection is lost' );
        my @mid = @ev[ 3 .. $#ev - 1 ];
        my $n = @mid / 2;
        is( \@mid, [ map { ( 'error:Future::IO::Redis::Error::Connection', 'attempt:' . ( $_ + 1 ) ) } 1 .. $n ], "$label: each failed attempt, then the next one numbered" );
        is( $ev[-1], 'connect', 'then connect' );

        if ($observed) {
            my $peer = '127.0.0.1:' . $srv->port;
            is( $lines[0], "connected $peer" );
            like( $lines[1], qr/\Adisconnected \Q$peer\E \((?:server_closed|connection_lost)\)/ );
            is( $lines[2], "reconnect attempt 1 $peer" );
            like( $lines[3], qr/\Aconnect failed \Q$peer\E: error Connection: / );
            is( $lines[4], "reconnect attempt 2 $peer" );
            is( $lines[-1], "connected $peer" );
            is( $meter->instrument('redis.reconnects.total')->sum, $n + 1, 'metric: every attempt' );
            is( $meter->instrument('redis.errors.total')->sum( { 'error.type' => 'Connection' } ), $n, 'metric: failed attempts are Connection errors' );
            is( $meter->instrument('redis.connections.total')->sum, 2 );
            is( $meter->instrument('redis.connections.active')->sum, 1 );
        }
        # A new loss starts again at 1.
        @ev = ();
        $srv->cli( 'CLIENT', 'KILL', 'ID', run( $redis->client_id ) );
        ok( wait_until( sub { grep { $_ eq 'connect' } @ev }, 10 ) );
        is( $ev[1], 'attempt:1', "$label: a later loss counts from 1 again" );
        run( $redis->disconnect );
    }
};

subtest 'a failed first connect is not a reconnect attempt' => sub {
    my @ev;
    my $port = Test::FIORedis::Server->free_port;
    my $redis = Future::IO::Redis->new(
        host                 => '127.0.0.1',
        port                 => $port,
        on_error             => sub { push @ev, 'error' },
        on_reconnect_attempt => sub { push @ev, 'attempt' },
        debug                => sub { push @ev, "debug:$_[1]" if $_[0] eq 'event' },
    );
    isa_ok( error_of( $redis->connect ), ['Future::IO::Redis::Error::Connection'] );
    is( \@ev, [ 'error', "debug:connect failed 127.0.0.1:$port: " . ( $ev[1] =~ s/.*?: //r ) ], 'on_error and the debug line, no attempt' );
    like( $ev[1], qr/\Adebug:connect failed 127\.0\.0\.1:\d+: error Connection: / );
};

subtest 'disconnect() is reason client, and no attempt follows' => sub {
    my @ev;
    my $redis = client( $srv, on_disconnect => sub { push @ev, $_[1] }, on_reconnect_attempt => sub { push @ev, 'attempt' }, debug => sub { } );
    run( $redis->connect );
    run( $redis->disconnect );
    ok( wait_until( sub { @ev }, 5 ) );
    run( Future::IO->sleep(0.2) );
    is( \@ev, ['client'] );
};

subtest 'bad callback croaks' => sub {
    like( dies { Future::IO::Redis->new( on_reconnect_attempt => 'x' ) }, qr/on_reconnect_attempt must be a code reference at \Q${\__FILE__}\E/ );
};

subtest 'an observed client is still a Future::IO::Redis' => sub {
    my @lines;
    my $redis = client( $srv, reconnect_delay => 0.05, debug => sub { push @lines, $_[1] } );
    isa_ok( $redis, ['Future::IO::Redis'] );
    like( ref $redis, qr/\AFuture::IO::Redis::Telemetry::Observed::/, 'of a generated subclass' );
    like( dies { $redis->set( 'k', undef ) }, qr/\ASET: argument 2|argument 2 after the command name is undef.* at \Q${\__FILE__}\E line \d+/, 'croaks name the caller' );
    like( dies { $redis->command( 'GET', {} ) }, qr/at \Q${\__FILE__}\E line \d+/ );
    is( run( $redis->hgetall('nope') ), {}, 'transformed replies' );
    like( dies { $redis->monitor }, qr/MONITOR puts the connection into monitor mode/, 'unsupported methods still croak' );
    my $info = run( $redis->info('server') );
    ok( $info->{server}{redis_version}, 'info parsed' );

    # pub/sub on an observed client
    my $sub = run( $redis->subscribe('obs-chan') );
    my $pub = client($srv);
    run( $pub->publish( 'obs-chan', 'hi' ) );
    my $m = run( $sub->next );
    is( [ $m->{channel}, $m->{data} ], [ 'obs-chan', 'hi' ], 'subscribe works: the message arrives' );
    is( [ grep { /SUBSCRIBE/ } @lines ], [ match(qr/\A#\d+ SUBSCRIBE obs-chan\z/), match(qr/\A#\d+ SUBSCRIBE -> \S+ \(/) ], 'SUBSCRIBE logged once, with its reply' );
    run( $redis->command( 'SUBSCRIBE', 'obs-chan2' ) );
    is( scalar( grep { /SUBSCRIBE obs-chan2/ } @lines ), 1, 'through command(): logged once too' );

    # The server kills the subscribed connection: reconnect, subscribe again, logged.
    my $n = @lines;
    $srv->cli( 'CLIENT', 'KILL', 'TYPE', 'pubsub' );
    ok( wait_until( sub { grep { /\Aresubscribed / } @lines[ $n .. $#lines ] }, 10 ), 'resubscribed after a kill' );
    run( $pub->publish( 'obs-chan', 'again' ) );
    is( run( $sub->next )->{data}, 'again', 'messages flow again' );

    # The same method on a plain client runs the plain sender.
    my $plain = client($srv);
    run( $plain->set( 'k', 1 ) );
    is( ref $plain, 'Future::IO::Redis' );
    ok( Future::IO::Redis->can('set') != ref($redis)->can('set'), 'different methods' );
};

done_testing;

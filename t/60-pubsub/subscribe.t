# Pub/Sub against a real redis-server: subscribe / psubscribe / ssubscribe, next, unsubscribe,
# a 20,000-message burst in order, the modal client, PING, the buffer limit, reconnect after
# CLIENT KILL and after a server restart, keyspace notifications.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv = start_server();
my $pub = client($srv);

sub version_at_least {
    my ($want) = @_;
    my ($v) = run( $pub->command( 'INFO', 'server' ) ) =~ /redis_version:(\d+)/;
    return $v >= $want;
}

subtest 'subscribe, publish, next' => sub {
    my $r   = client($srv);
    my $sub = run( $r->subscribe( 'ps:a', 'ps:b' ) );
    isa_ok( $sub, 'Future::IO::Redis::Subscription' );
    is( [ $sub->channels ], [ 'ps:a', 'ps:b' ], 'channels' );
    is( run( $pub->publish( 'ps:a', 'hello' ) ), 1, 'one receiver' );
    run( $pub->publish( 'ps:b', "bin\0ary" ) );
    is( run( $sub->next ), { type => 'message', channel => 'ps:a', data => 'hello' }, 'first message' );
    is( run( $sub->next ), { type => 'message', channel => 'ps:b', data => "bin\0ary" }, 'second, binary safe' );
    run( $sub->unsubscribe );
};

subtest 'psubscribe gives the pattern' => sub {
    my $r   = client($srv);
    my $sub = run( $r->psubscribe('pp:*') );
    run( $pub->publish( 'pp:x', 'm' ) );
    is( run( $sub->next ), { type => 'pmessage', pattern => 'pp:*', channel => 'pp:x', data => 'm' } );
};

subtest 'ssubscribe (Redis 7)' => sub {
    skip_all 'needs Redis 7' unless version_at_least(7);
    my $r   = client($srv);
    my $sub = run( $r->ssubscribe('sh:a') );
    is( run( $pub->spublish( 'sh:a', 'x' ) ), 1 );
    is( run( $sub->next ), { type => 'smessage', channel => 'sh:a', data => 'x' } );
};

subtest 'unsubscribe partial and total' => sub {
    my $r   = client($srv);
    my $sub = run( $r->subscribe( 'u:a', 'u:b' ) );
    run( $sub->unsubscribe('u:a') );
    is( [ $sub->channels ], ['u:b'], 'one left' );
    run( $pub->publish( 'u:a', 'gone' ) );
    run( $pub->publish( 'u:b', 'kept' ) );
    is( run( $sub->next )->{data}, 'kept', 'only the remaining channel delivers' );
    my $waiting = $sub->next;
    run( $sub->unsubscribe );
    is( run($waiting), undef, 'a waiting next gives undef' );
    is( run( $sub->next ), undef, 'and later ones too' );
    is( run( $r->set( 'u:k', 1 ) ), 'OK', 'the client takes commands again' );
};

subtest 'a subscribe given up on (cancelled) before its confirmation' => sub {
    my $r = client($srv);
    my $f = $r->subscribe('cs:a');
    $f->cancel;
    ok( wait_until( sub { $r->is_dirty eq '' } ), 'the client does not stay in subscribe mode' ) or diag $r->is_dirty;
    is( run( $pub->publish( 'cs:a', 'nobody' ) ), 0, 'nothing receives the channel' );
    is( run( $r->get('cs:k') ), undef, 'the client takes commands' );

    # With a subscription the program holds: the server's confirmation counts.
    my $sub = run( $r->subscribe('cs:b') );
    $r->subscribe('cs:c')->cancel;
    ok( wait_until( sub { grep { $_ eq 'cs:c' } $sub->channels } ), 'the channel is recorded' );
    run( $pub->publish( 'cs:c', 'here' ) );
    is( run( $sub->next )->{data}, 'here', 'and delivers to the subscription' );
    run( $r->unsubscribe );
    ok( $sub->is_closed, 'unsubscribe ends both' );
    is( run( $r->get('cs:k') ), undef, 'the client takes commands again' );
};

subtest 'an unsubscribe given up on (cancelled) still ends what the server ended' => sub {
    my $r   = client($srv);
    my $sub = run( $r->subscribe( 'cu2:a', 'cu2:b' ) );
    my $waiting = $sub->next;
    $sub->unsubscribe('cu2:a')->cancel;
    $sub->unsubscribe->cancel;
    is( run( Future->wait_any( $waiting, Future::IO->sleep(5)->then_done('still waiting') ) ), undef,
        'the waiting next gives undef' );
    ok( $sub->is_closed, 'the subscription ended' );
    is( $r->is_dirty, '', 'the client left subscribe mode' );
    is( run( $r->get('cu2:k') ), undef, 'and takes commands' );
};

subtest 'unsubscribe in void context still ends the subscription' => sub {
    my $r   = client($srv);
    my $sub = run( $r->subscribe( 'vu:a', 'vu:b' ) );
    my $waiting = $sub->next;
    my @warnings;
    {
        local $SIG{__WARN__} = sub { push @warnings, @_ };
        $sub->unsubscribe('vu:a');
        $sub->unsubscribe;
    }
    is( run( Future->wait_any( $waiting, Future::IO->sleep(5)->then_done('still waiting') ) ), undef,
        'the waiting next gives undef' );
    ok( $sub->is_closed, 'the subscription ended' );
    is( [ $sub->channels ], [], 'no channel left' );
    is( \@warnings, [], 'no warning' );
    is( run( $r->get('vu:k') ), undef, 'the client takes commands again' );
};

subtest "the client's unsubscribe family ends one kind of subscription" => sub {
    my $r   = client($srv);
    my $sub = run( $r->subscribe( 'cu:a', 'cu:b' ) );
    run( $r->psubscribe('cu:p*') );
    is( run( $r->unsubscribe('cu:a') ), exact_ref($sub), 'unsubscribe resolves to the subscription' );
    is( [ $sub->channels ], ['cu:b'], 'one channel left' );
    is( run( $r->punsubscribe('cu:none*') ), exact_ref($sub), 'a pattern not subscribed to: nothing sent, nothing changed' );
    is( [ $sub->patterns ], ['cu:p*'], 'the pattern stays' );
    run( $r->unsubscribe );
    is( [ $sub->channels ], [], 'unsubscribe without names: every channel' );
    is( [ $sub->patterns ], ['cu:p*'], 'the patterns stay' );
    ok( !$sub->is_closed, 'the subscription goes on' );
    run( $pub->publish( 'cu:b',  'gone' ) );
    run( $pub->publish( 'cu:p1', 'kept' ) );
    is( run( $sub->next ), { type => 'pmessage', pattern => 'cu:p*', channel => 'cu:p1', data => 'kept' }, 'patterns still deliver' );
    run( $r->punsubscribe );
    ok( $sub->is_closed, 'nothing left: the subscription ends' );
    is( run( $sub->next ), undef, 'next gives undef' );
    is( run( $r->get('cu:k') ), undef, 'the client takes commands again' );
};

subtest 'an unsubscribe issued right after a subscribe, before its confirmation, ends it' => sub {
    my $r  = client($srv);
    my $sf = $r->subscribe('uq:a');
    my $uf = $r->unsubscribe;
    my $sub = run($sf);
    run($uf);
    is( [ $sub->channels ], [], 'no channel left' );
    ok( $sub->is_closed, 'the subscription ended' );
    is( $r->is_dirty, '', 'the connection left subscribe mode' );
    is( run( $r->get('uq:k') ), undef, 'the client takes commands again' );

    # By name, and through the subscription, with another subscribe still on its way after it.
    $sub = run( $r->subscribe('uq:b') );
    my $pf = $r->psubscribe('uq:p*');
    my $u2 = $sub->unsubscribe('uq:p*');
    my $cf = $r->subscribe('uq:c');
    run($_) for $pf, $u2, $cf;
    is( [ $sub->patterns ], [], 'the pattern named before its confirmation is gone' );
    is( [ $sub->channels ], [ 'uq:b', 'uq:c' ], 'the channels stay' );
    my $u3 = $sub->unsubscribe;
    my $df = $r->subscribe('uq:d');
    run($_) for $u3, $df;
    ok( !$sub->is_closed, 'a subscribe sent after a total unsubscribe keeps the subscription open' );
    is( [ $sub->channels ], ['uq:d'], 'with the new channel' );
    run( $pub->publish( 'uq:d', 'still here' ) );
    is( run( $sub->next )->{data}, 'still here', 'which delivers' );
    run( $sub->unsubscribe );
    ok( $sub->is_closed, 'ended' );
};

subtest 'a subscription the program lets go of ends' => sub {
    my $r = client($srv);
    { my $sub = run( $r->subscribe('drop:a') ); run( $r->psubscribe('drop:p*') ) }
    ok( wait_until( sub { $r->is_dirty eq '' } ), 'the client leaves subscribe mode' ) or diag $r->is_dirty;
    is( run( $r->get('drop:k') ), undef, 'and takes commands again' );
    is( run( $pub->publish( 'drop:a', 'nobody' ) ), 0, 'nothing receives the channel any more' );
    is( run( $pub->publish( 'drop:px', 'nobody' ) ), 0, 'nor the pattern' );
    my $sub = run( $r->subscribe('drop:b') );
    is( [ $sub->channels ], ['drop:b'], 'a new subscription' );
    run( $pub->publish( 'drop:b', 'new' ) );
    is( run( $sub->next )->{data}, 'new', 'receives' );
    run( $sub->unsubscribe );
};

subtest 'an on_message subscription works without the program keeping it' => sub {
    my $r = client($srv);
    my @got;
    my $weak;
    run( ( async sub {
        my $sub = await $r->subscribe( 'keep:a', { on_message => sub { push @got, $_[0]{data} } } );
        $weak = $sub;
        Scalar::Util::weaken($weak);
        return;
    } )->() );
    run( $pub->publish( 'keep:a', "m$_" ) ) for 1 .. 3;
    ok( wait_until( sub { @got == 3 } ), 'the callback receives every message' );
    is( \@got, [qw( m1 m2 m3 )], 'in order' );
    ok( $weak, 'the client keeps the subscription' );
    run( $r->unsubscribe('keep:a') );
    ok( !$weak, 'until it ends' );
    is( run( $r->get('keep:k') ), undef, 'the client takes commands again' );

    # Taking the callback away gives the subscription back to the program.
    my $sub = run( $r->subscribe( 'keep:b', { on_message => sub { } } ) );
    $sub->on_message(undef);
    $weak = $sub;
    Scalar::Util::weaken($weak);
    undef $sub;
    ok( !$weak, 'without on_message the program holds it' );
    ok( wait_until( sub { $r->is_dirty eq '' } ), 'and letting it go ends it' );
};

subtest 'command() with a subscribe-family name goes through the Subscription API' => sub {
    my $r   = client($srv);
    my $sub = run( $r->command( 'subscribe', 'cc:a' ) );
    isa_ok( $sub, 'Future::IO::Redis::Subscription' );
    run( $pub->publish( 'cc:a', 'through command' ) );
    is( run( $sub->next )->{data}, 'through command', 'the message reaches the subscription' );
    run( $r->command( 'UNSUBSCRIBE', 'cc:a' ) );
    ok( $sub->is_closed, 'UNSUBSCRIBE through command() ends it' );
    is( run( $r->command( 'SET', 'cc:k', 1 ) ), 'OK', 'ordinary commands again' );
};

subtest 'RESET ends the subscriptions; QUIT closes for good; on_message takes over from a waiting next' => sub {
    my $r   = client($srv);
    my $sub = run( $r->subscribe( 'rs:a', 'rs:b' ) );
    my $waiting = $sub->next;
    is( run( $r->reset ), 'RESET', 'RESET answers' );
    is( run($waiting), undef, 'a waiting next ends (undef)' );
    is( [ $sub->channels ], [], 'no channels left' );
    ok( $sub->is_closed, 'the subscription ended' );
    is( run( $r->set( 'rs:k', 1 ) ), 'OK', 'ordinary commands again' );

    my $sub2 = run( $r->command( 'SUBSCRIBE', 'rs:c' ) );
    my $w2   = $sub2->next;
    run( $r->command('RESET') );
    is( run($w2), undef, 'command("RESET") does the same' );

    my $connects = 0;
    my $q   = client( $srv, on_connect => sub { $connects++ } );
    my $qs  = run( $q->subscribe('rs:q') );
    is( run( $q->quit ), 'OK', 'QUIT answers' );
    ok( !$q->is_connected, 'not connected afterwards' );
    run( Future::IO->sleep(0.3) );
    is( $connects, 1, 'and not reconnected behind the caller\'s back' );

    my $r3   = client($srv);
    my $sub3 = run( $r3->subscribe('rs:m') );
    my $w3   = $sub3->next;
    my @got;
    $sub3->on_message( sub { push @got, $_[0]{data} } );
    my $err = error_of($w3);
    isa_ok( $err, 'Future::IO::Redis::Error::PubSub' );
    like( "$err", qr/on_message was set while this next waited/, 'the waiting next fails, saying why' );
    run( $pub->publish( 'rs:m', 'to the callback' ) );
    wait_until( sub { @got } );
    is( \@got, ['to the callback'], 'the message went to the callback' );
    run( $sub3->unsubscribe );
};

subtest '20,000 messages arrive whole and in order' => sub {
    my $r   = client($srv);
    my $sub = run( $r->subscribe('burst') );
    my $n   = 20_000;
    my @f   = map { $pub->publish( 'burst', "m$_" ) } 1 .. $n;
    my $bad;
    run( ( async sub {
        for my $i ( 1 .. $n ) {
            my $m = await $sub->next;
            if ( $m->{data} ne "m$i" ) { $bad = "message $i is $m->{data}"; last }
        }
    } )->(), 60 );
    run( Future->needs_all(@f) );
    is( $bad, undef, 'every message, in order' );
    is( $sub->dropped, 0, 'none dropped' );
};

subtest 'commands are refused on the subscribed client; messages keep flowing; PING works' => sub {
    my $r   = client($srv);
    my $sub = run( $r->subscribe('mode') );
    run( $pub->publish( 'mode', 'before' ) );
    my $err = error_of( $r->get('k') );
    isa_ok( $err, 'Future::IO::Redis::Error::PubSub' );
    like( "$err", qr/GET cannot be sent on a subscribed connection/ );
    is( run( $r->ping ),          'PONG',  'PING answers in subscribe mode as it does elsewhere' );
    is( run( $r->ping('hello') ), 'hello', 'PING with an argument gives the argument back' );
    run( $pub->publish( 'mode', 'after' ) );
    is( run( $sub->next )->{data}, 'before' );
    is( run( $sub->next )->{data}, 'after', 'the stream is undisturbed' );
};

subtest 'on_message callback and the max_pending limit' => sub {
    my $r = client($srv);
    my @got;
    my $sub = run( $r->subscribe( 'cb', { on_message => sub { push @got, $_[0]{data} } } ) );
    run( $pub->publish( 'cb', $_ ) ) for 1 .. 5;
    ok( wait_until( sub { @got == 5 }, 5 ), 'callback got all' );
    is( \@got, [ 1 .. 5 ], 'in order' );

    my $r2   = client($srv);
    my $sub2 = run( $r2->subscribe( 'lim', { max_pending => 3 } ) );
    run( $pub->publish( 'lim', $_ ) ) for 1 .. 5;
    ok( wait_until( sub { $sub2->dropped == 2 }, 5 ), 'two dropped' );
    is( [ map { run( $sub2->next )->{data} } 1 .. 3 ], [ 3, 4, 5 ], 'the oldest were dropped' );
};

subtest 'CLIENT KILL TYPE pubsub: subscriptions come back' => sub {
    my $r = client( $srv, reconnect_delay => 0.05 );
    my $re = 0;
    my $sub = run( $r->subscribe( 'kill:a', { on_reconnect => sub { $re++ } } ) );
    run( $r->psubscribe('killp:*') );
    run( $pub->client_kill( 'TYPE', 'pubsub' ) );
    ok( wait_until( sub { $re }, 5 ), 'on_reconnect called' );
    run( $pub->publish( 'kill:a', 'back' ) );
    run( $pub->publish( 'killp:x', 'pback' ) );
    is( run( $sub->next )->{data}, 'back', 'channel replayed' );
    is( run( $sub->next )->{pattern}, 'killp:*', 'pattern replayed' );
};

subtest 'keyspace notifications' => sub {
    run( $pub->config_set( 'notify-keyspace-events', 'KEA' ) );
    my $r   = client($srv);
    my $sub = run( $r->psubscribe('__keyspace@0__:ks:*') );
    run( $pub->set( 'ks:k', 1 ) );
    is( run( $sub->next ), { type => 'pmessage', pattern => '__keyspace@0__:ks:*', channel => '__keyspace@0__:ks:k', data => 'set' } );
    run( $pub->config_set( 'notify-keyspace-events', '' ) );
};

subtest 'no reconnect: a waiting next fails instead of waiting for ever' => sub {
    my $r = client( $srv, reconnect => 0 );
    my $sub = run( $r->subscribe('gone:a') );
    my $waiting = $sub->next;
    run( $pub->client_kill( 'TYPE', 'pubsub' ) );
    isa_ok( error_of($waiting), ['Future::IO::Redis::Error::Connection'], 'the waiting next fails with a Connection error' );
    is( run( $sub->next ), undef, 'and later next calls give undef' );

    my $d = client($srv);
    my $dsub = run( $d->subscribe('gone:b') );
    my $dwait = $dsub->next;
    run( $d->disconnect );
    isa_ok( error_of($dwait), ['Future::IO::Redis::Error::Connection'], 'disconnect ends a waiting next too' );
};

subtest 'the engine lost to an internal error: a waiting next fails instead of waiting for ever' => sub {
    my $r   = client($srv);
    my $sub = run( $r->subscribe('el:a') );
    my $waiting = $sub->next;
    # What the engine does when a turn reports an internal error (no server can cause one).
    Future::IO::Redis::Engine::_engine_failed('simulated internal error');
    my $err = error_of( Future->wait_any( $waiting, Future::IO->sleep(5)->then_fail('still waiting') ) );
    isa_ok( $err, ['Future::IO::Redis::Error::Connection'], 'the waiting next fails' );
    ok( $sub->is_closed, 'the subscription ended' );
    is( run( $sub->next ), undef, 'later next calls give undef' );
    is( run( $r->get('el:k') ), undef, 'the client works again, on a new engine' );
    my $again = run( $r->subscribe('el:a') );
    run( $pub->publish( 'el:a', 'back' ) );
    is( run( $again->next )->{data}, 'back', 'and can subscribe again' );
    run( $again->unsubscribe );
};

subtest 'in a fork child, next on the parent\'s subscription fails instead of waiting for ever' => sub {
    my $r   = client($srv);
    my $sub = run( $r->subscribe('fk:a') );
    my $pid = in_child {
        my $err = error_of( Future->wait_any( $sub->next, Future::IO->sleep(5)->then_fail("still waiting\n") ) );
        die "next in the child: " . ( $err // 'a message' ) . "\n"
          unless Scalar::Util::blessed($err) && $err->isa('Future::IO::Redis::Error::Connection');
        die "the subscription did not end in the child\n" unless $sub->is_closed;
        my $again = run( $r->subscribe('fk:b') );    # the child's own connection
        run( client($srv)->publish( 'fk:b', 'child' ) );
        die "the child's own subscription does not receive\n" unless run( $again->next )->{data} eq 'child';
    };
    waitpid $pid, 0;
    is( $? >> 8, 0, 'the child: next failed with a Connection error, and subscribing again works' );
    run( $pub->publish( 'fk:a', 'parent' ) );
    is( run( $sub->next )->{data}, 'parent', 'the parent\'s subscription is untouched' );
    run( $sub->unsubscribe );
};

subtest 'a subscribed connection is dirty (a pool would not hand it out)' => sub {
    my $r = client($srv);
    run( $r->ping );
    is( $r->is_dirty, '', 'clean before' );
    my $sub = run( $r->subscribe('dirty:a') );
    like( $r->is_dirty, qr/\bsubscribed\b/, 'subscribed after SUBSCRIBE' );
    run( $sub->unsubscribe );
    is( $r->is_dirty, '', 'clean again once every subscription ended' );
};

subtest 'server restart: subscriptions come back, next keeps working' => sub {
    my $r = client( $srv, reconnect_delay => 0.05, reconnect_delay_max => 0.25 );
    my $sub = run( $r->subscribe('rs:a') );
    my $waiting = $sub->next;
    $srv->kill9;
    $srv->restart;
    ok( wait_until( sub { $sub->reconnects }, 10 ), 'resubscribed after the restart' );
    my $p = client($srv);
    run( $p->publish( 'rs:a', 'after restart' ) );
    is( run($waiting)->{data}, 'after restart', 'the next issued before the crash gets it' );
};

done_testing;

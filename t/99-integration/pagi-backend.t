# This client as the Redis backend of a channel layer, driven the way PAGI-Channels' Redis backend
# (PAGI::Middleware::Channels::Backend::Redis) drives the client it is given: per-channel queues
# in lists, send = LLEN, RPUSH, EXPIRE, then PUBLISH of a wake-up on <prefix>notify:<channel>;
# next_message = LPOP, else wait: one PSUBSCRIBE <prefix>notify:* on a second connection (made
# with sibling, or from the client's top-level settings as that backend's default does), a
# background `while (my $msg = await $sub->next)` listener that LPOPs for the waiters of the
# channel woken; flush and cleanup cancel waiters. The small backend below is this test's own.
#   prove -b t/99-integration/pagi-backend.t;  FIOR_LOOP=ioasync prove -b t/99-integration/pagi-backend.t
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Scalar::Util ();

package TestChannels {
    use Future;
    use Future::AsyncAwait;

    sub new {
        my ( $class, %a ) = @_;
        my $redis = $a{redis};
        return bless {
            redis    => $redis,
            capacity => $a{capacity} // 100,
            expiry   => 60,
            factory  => $a{subscriber_factory} // sub { $redis->sibling->connect },
            waiters  => {},    # channel => [ Future, ... ] (what next_message waits on)
            active   => {},    # channel => [ Future, ... ] (what next_message returned)
            woken    => 0,     # wake-ups the listener handled
        }, $class;
    }

    sub prefix { $_[0]{redis}->prefix // '' }
    sub qkey   {"q:$_[1]"}

    async sub send {
        my ( $self, $ch, $msg ) = @_;
        my $r = $self->{redis};
        die "ChannelFull\n" if await( $r->llen( $self->qkey($ch) ) ) >= $self->{capacity};
        await $r->rpush( $self->qkey($ch), $msg );
        await $r->expire( $self->qkey($ch), $self->{expiry} );
        await $r->publish( $self->prefix . "notify:$ch", '1' );    # channels get no key prefix
        return 1;
    }

    async sub poll {
        my ( $self, $ch ) = @_;
        return await $self->{redis}->lpop( $self->qkey($ch) );
    }

    # One subscriber, however many next_message calls ask for it at once.
    sub ensure_subscriber {
        my ($self) = @_;
        return $self->{ready} //= ( async sub {
            my $client = await $self->{factory}->();
            $self->{subscriber} = $client;
            $self->{subscription} = await $client->psubscribe( $self->prefix . 'notify:*' );
            $self->{listener} = $self->listen;
        } )->();
    }

    async sub listen {
        my ($self) = @_;
        my $sub = $self->{subscription};
        my $re  = qr/\A\Q${\ $self->prefix }notify:\E(.+)\z/s;
        while ( my $msg = await $sub->next ) {
            my ($ch) = $msg->{channel} =~ $re or next;
            $self->{woken}++;
            my $waiting = delete $self->{waiters}{$ch} or next;
            for my $w (@$waiting) {
                next if $w->is_ready;
                my $got = await $self->poll($ch);
                if ( defined $got ) { $w->done($got) unless $w->is_ready }
                elsif ( !$w->is_ready ) { push @{ $self->{waiters}{$ch} }, $w }
            }
        }
    }

    sub next_message {
        my ( $self, $ch ) = @_;
        my $outer = ( async sub {
            my $msg = await $self->poll($ch)->without_cancel;
            return $msg if defined $msg;
            my $ready = $self->ensure_subscriber;
            my $first = !$ready->is_ready;
            await $ready->without_cancel;
            if ($first) {    # a wake-up sent before the subscription existed is not lost
                $msg = await $self->poll($ch)->without_cancel;
                return $msg if defined $msg;
            }
            my $signal = Future->new;
            push @{ $self->{waiters}{$ch} }, $signal;
            $signal->on_cancel( sub {
                my $list = $self->{waiters}{$ch} or return;
                @$list = grep { !$_->is_cancelled } @$list;
                delete $self->{waiters}{$ch} unless @$list;
            } );
            return await $signal;
        } )->();
        push @{ $self->{active}{$ch} }, $outer;
        $outer->on_ready( sub {
            my $list = $self->{active}{$ch} or return;
            @$list = grep { !$_->is_ready } @$list;
            delete $self->{active}{$ch} unless @$list;
        } );
        return $outer;
    }

    sub waiting { my ( $self, $ch ) = @_; scalar @{ $self->{waiters}{$ch} || [] } }

    sub _cancel_all {
        my ( $self, $ch ) = @_;
        for my $set (qw( active waiters )) {
            my @lists = defined $ch ? ( delete $self->{$set}{$ch} // [] ) : values %{ $self->{$set} };
            $self->{$set} = {} unless defined $ch;
            $_->cancel for grep { !$_->is_ready } map {@$_} @lists;
        }
    }

    async sub cleanup {
        my ( $self, $ch ) = @_;
        await $self->{redis}->del( $self->qkey($ch) );
        $self->_cancel_all($ch);
        return 1;
    }

    async sub flush {
        my ($self) = @_;
        my $prefix = $self->prefix;
        my $keys   = await $self->{redis}->keys("$prefix*");
        $self->_cancel_all;
        if ( my $l = delete $self->{listener} ) { $l->cancel unless $l->is_ready }
        delete @{$self}{qw( ready subscription subscriber )};
        await $self->{redis}->del( map { substr $_, length $prefix } @$keys ) if @$keys;
        return 1;
    }
}

my @warnings;
$SIG{__WARN__} = sub { push @warnings, $_[0]; warn $_[0] };
note 'loop: ', loop_name();

my $srv = start_server();
my $pub = client($srv);

sub backend { TestChannels->new( redis => client( $srv, prefix => $_[0] ), @_[ 1 .. $#_ ] ) }

subtest 'a queued message comes at once; send is LLEN, RPUSH, EXPIRE, PUBLISH' => sub {
    my $b = backend('pg1:');
    run( $b->flush );
    my $watch = run( client($srv)->psubscribe('pg1:notify:*') );
    run( $b->send( 'ch1', 'hello' ) );
    is( run( $watch->next ), { type => 'pmessage', pattern => 'pg1:notify:*', channel => 'pg1:notify:ch1', data => '1' },
        'the wake-up, on the prefixed channel' );
    cmp_ok( run( $pub->ttl('pg1:q:ch1') ), '>', 0, 'the queue expires' );
    is( run( $b->next_message('ch1') ), 'hello', 'next_message gives the queued message' );
    is( run( $pub->llen('pg1:q:ch1') ), 0, 'and took it from the list' );
    ok( !$b->{subscription}, 'no subscriber was needed' );
};

subtest 'next_message waits, then send wakes it' => sub {
    my $b = backend('pg2:');
    run( $b->flush );
    my $f = $b->next_message('ch1');
    ok( wait_until( sub { $b->waiting('ch1') } ), 'the waiter is registered' );
    ok( !$f->is_ready, 'and waits' );
    is( [ $b->{subscription}->patterns ], ['pg2:notify:*'], 'one pattern subscription' );
    like( run( $pub->client_list ), qr/\bpsub=1\b/, 'the server sees it' );
    run( $b->send( 'ch1', 'woken' ) );
    is( run($f), 'woken', 'resolved with the message' );
    is( $b->waiting('ch1'), 0, 'no waiter left' );
    is( run( $pub->llen('pg2:q:ch1') ), 0, 'queue empty' );
    my $g = $b->next_message('ch1');
    ok( wait_until( sub { $b->waiting('ch1') } ), 'a second wait' );
    run( $b->send( 'ch1', 'again' ) );
    is( run($g), 'again', 'the same subscription wakes it' );
};

subtest 'many waiters on different channels, each gets exactly its messages' => sub {
    my $b = backend('pg3:');
    run( $b->flush );
    my @chs = map {"room.$_"} 1 .. 60;
    my %first = map { $_ => $b->next_message($_) } @chs;
    ok( wait_until( sub { !grep { !$b->waiting($_) } @chs } ), 'all 60 waiters registered' );
    # Three messages per channel, one from each of three senders sending at once.
    my @senders = map { backend('pg3:') } 1 .. 3;
    my @sends;
    for my $n ( 1 .. 3 ) {
        for my $i ( 0 .. $#chs ) {
            my $ch = $chs[ ( $i * 7 + $n ) % @chs ];
            push @sends, $senders[ $n - 1 ]->send( $ch, "$ch#$n" );
        }
    }
    run( Future->needs_all(@sends) );
    # The senders race each other at the server: which one comes first in a channel is theirs
    # to decide; each channel gets each of the three exactly once.
    my %first_got = map { $_ => run( $first{$_} ) } @chs;
    is( [ grep { $first_got{$_} !~ /\A\Q$_\E#[123]\z/ } @chs ], [], 'each waiter woke with a message of its own channel' );
    my %all = map { my $ch = $_; $ch => [ sort $first_got{$ch}, map { run( $b->next_message($ch) ) } 1 .. 2 ] } @chs;
    is( \%all, { map { $_ => [ "$_#1", "$_#2", "$_#3" ] } @chs }, 'and the next two: every message once, none other' );
    is( [ grep { run( $pub->llen("pg3:q:$_") ) } @chs ], [], 'every queue empty' );
    is( { %{ $b->{waiters} } }, {}, 'no waiter left' );
    is( $b->{subscription}->pending, 0, 'no wake-up left unread' );
};

subtest 'cleanup cancels the waiters of its channel only' => sub {
    my $b = backend('pg4:');
    run( $b->flush );
    my @a = map { $b->next_message('a') } 1 .. 2;
    my $other = $b->next_message('b');
    ok( wait_until( sub { $b->waiting('a') == 2 && $b->waiting('b') == 1 } ), 'three waiters' );
    run( $b->cleanup('a') );
    ok( ( !grep { !$_->is_cancelled } @a ), 'both waiters of a cancelled' );
    ok( !$other->is_ready, 'the waiter of b still waits' );
    run( $b->send( 'b', 'for-b' ) );
    is( run($other), 'for-b', 'and is woken' );
    run( $b->send( 'a', 'after-cleanup' ) );
    is( run( $b->next_message('a') ), 'after-cleanup', 'a works again' );
};

subtest 'flush cancels every waiter; the next wait subscribes again' => sub {
    my $b = backend('pg5:');
    run( $b->flush );
    my @w = map { $b->next_message("f$_") } 1 .. 5;
    ok( wait_until( sub { !grep { !$b->waiting("f$_") } 1 .. 5 } ), 'five waiters' );
    my $old = Scalar::Util::refaddr( $b->{subscription} );    # not the object: it would stay alive
    my $psubs = sub { scalar grep {/\bpsub=1\b/} split /\n/, run( $pub->client_list ) };
    my $before = $psubs->();
    run( $b->send( 'f9', 'queued' ) );
    run( $b->flush );
    ok( ( !grep { !$_->is_cancelled } @w ), 'all cancelled' );
    ok( !$b->{subscription}, 'the subscriber is gone' );
    is( run( $pub->llen('pg5:q:f9') ), 0, 'flush deleted the queues' );
    my $f = $b->next_message('f1');
    ok( wait_until( sub { $b->waiting('f1') } ), 'a new waiter' );
    isnt( Scalar::Util::refaddr( $b->{subscription} ), $old, 'on a new subscription' );
    run( $b->send( 'f1', 'after-flush' ) );
    is( run($f), 'after-flush', 'woken' );
    ok( wait_until( sub { $psubs->() == $before } ), 'the old subscriber connection was closed' );
};

subtest 'a waiter cancelled while its wake-up is in flight loses nothing' => sub {
    my $b = backend('pg6:');
    run( $b->flush );
    my $f = $b->next_message('x');
    ok( wait_until( sub { $b->waiting('x') } ), 'waiting' );
    my $woken = $b->{woken};
    my $send  = $b->send( 'x', 'in-flight' );
    $f->cancel;    # the RPUSH and PUBLISH are on their way
    run($send);
    ok( wait_until( sub { $b->{woken} > $woken } ), 'the listener saw the wake-up' );
    ok( $f->is_cancelled, 'the waiter stayed cancelled' );
    is( run( $pub->llen('pg6:q:x') ), 1, 'the message is still queued' );
    is( run( $b->next_message('x') ), 'in-flight', 'the next next_message gets it' );
    is( run( $pub->llen('pg6:q:x') ), 0, 'once' );
};

subtest 'Subscription: a cancelled next leaves the subscription working' => sub {
    my $sub = run( client($srv)->psubscribe('sc:*') );
    # Cancelled before anything arrives.
    my @gone = map { $sub->next } 1 .. 50;
    $_->cancel for @gone;
    is( scalar @{ $sub->{waiters} }, 0, 'cancelled nexts do not pile up' );
    run( $pub->publish( 'sc:a', 'm1' ) );
    is( run( $sub->next )->{data}, 'm1', 'the next message goes to the next next' );
    # Cancelled while the message is on its way: the publisher's reply and the message arrive in
    # the same turn or the message first; the next is cancelled as the reply is delivered.
    for my $i ( 1 .. 20 ) {
        my $n = $sub->next;
        run( $pub->publish( 'sc:b', "flight$i" )->on_done( sub { $n->cancel } ) );
        ok( $n->is_cancelled || $n->is_done, "round $i: the next is cancelled (or already had it)" );
        my $got = $n->is_done ? $n->get : run( $sub->next );
        is( $got->{data}, "flight$i", "round $i: the message is not lost" );
    }
    run( $pub->publish( 'sc:c', $_ ) ) for qw( x y );
    is( [ map { run( $sub->next )->{data} } 1 .. 2 ], [qw( x y )], 'later messages in order' );
    is( $sub->pending, 0, 'nothing left over' );
};

subtest 'the subscriber made from the top-level settings (the backend default)' => sub {
    my $r = client( $srv, prefix => 'pg7:', database => 0 );
    # What the backend does when no subscriber_factory is given.
    my $factory = sub {
        my $sub = Future::IO::Redis->new(
            host      => $r->{host},
            port      => $r->{port},
            path      => $r->{path},
            password  => $r->{password},
            username  => $r->{username},
            database  => $r->{database},
            tls       => $r->{tls},
            reconnect => $r->{reconnect} // 0,
        );
        return $sub->connect->then( sub { Future->done($sub) } );
    };
    my $b = TestChannels->new( redis => $r, subscriber_factory => $factory );
    run( $b->flush );
    my $f = $b->next_message('d');
    ok( wait_until( sub { $b->waiting('d') } ), 'waiting' );
    is( $b->{subscriber}->reconnect, 1, 'the subscriber reconnects (reconnect is on by default)' );
    run( $b->send( 'd', 'default-factory' ) );
    is( run($f), 'default-factory', 'woken' );

    # The subscriber's connection is killed: it reconnects, subscribes again, and wakes waiters.
    my $sub = $b->{subscription};
    run( $pub->command( 'CLIENT', 'KILL', 'TYPE', 'pubsub' ) );
    ok( wait_until( sub { $sub->reconnects >= 1 } ), 'the subscription came back' );
    my $g = $b->next_message('d');
    ok( wait_until( sub { $b->waiting('d') } ), 'waiting again' );
    run( $b->send( 'd', 'after-reconnect' ) );
    is( run($g), 'after-reconnect', 'woken after the reconnect' );
};

subtest 'password-protected server, ACL user, database: the sibling subscriber' => sub {
    my $pw   = 'Pagi-Secret-83k';
    my $psrv = start_server( password => $pw, acl_users => ["chan on >$pw ~* &* +\@all"] );
    for my $who ( [ password => $pw ], [ username => 'chan', password => $pw ] ) {
        my $r = Future::IO::Redis->new( host => '127.0.0.1', port => $psrv->port, @$who, database => 4, prefix => 'pw:' );
        my $b = TestChannels->new( redis => $r );
        run( $b->flush );
        my $f = $b->next_message('p');
        ok( wait_until( sub { $b->waiting('p') } ), "@$who[0]: the sibling subscribed" );
        run( $b->send( 'p', 'secret-ok' ) );
        is( run($f), 'secret-ok', 'woken' );
        is( $psrv->cli( '-n', 4, 'EXISTS', 'pw:q:p' ), 0, 'in database 4, consumed' );
        # Copying the top-level keys does not carry the password (use sibling or a
        # subscriber_factory): the copy is refused, by the server or at once for an ACL user.
        my %copy = map { $_ => $r->{$_} } qw( host port username password database );
        if ( defined $copy{username} ) {
            like( dies { Future::IO::Redis->new(%copy) }, qr/username needs a password/, 'a copy without the password croaks' );
        }
        else {
            isa_ok( error_of( Future::IO::Redis->new(%copy)->ping ), ['Future::IO::Redis::Error::Redis'],
                'a copy without the password is refused by the server' );
        }
    }
};

is( \@warnings, [], 'no warnings' );

done_testing;

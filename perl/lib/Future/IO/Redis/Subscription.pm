package Future::IO::Redis::Subscription 0.001;
use v5.14;
use warnings;

use Carp ();
use Future;
use Scalar::Util ();

our @CARP_NOT = qw( Future::IO::Redis );

# The default bound of undelivered messages (see "Buffering" in the POD).
our $MAX_PENDING = 10_000;

my %FAMILY_OF = (
    SUBSCRIBE  => 'channels',
    PSUBSCRIBE => 'patterns',
    SSUBSCRIBE => 'shard_channels',
);
my %UNSUBSCRIBE = (
    channels       => 'UNSUBSCRIBE',
    patterns       => 'PUNSUBSCRIBE',
    shard_channels => 'SUNSUBSCRIBE',
);

# Made by Future::IO::Redis->subscribe and friends.
sub _new {
    my ( $class, $redis, %opts ) = @_;
    my $self = bless {
        redis          => $redis,
        queue          => [],
        waiters        => [],
        channels       => {},
        patterns       => {},
        shard_channels => {},
        asked          => {},    # family => { name => subscribe commands on their way }
        dropped        => 0,
        reconnects     => 0,
        max_pending    => $MAX_PENDING,
    }, $class;
    $self->_options(%opts);
    return $self;
}

sub _options {
    my ( $self, %opts ) = @_;
    for my $k ( sort keys %opts ) {
        Carp::croak("Future::IO::Redis: unknown subscription option '$k'")
          unless $k eq 'on_message' || $k eq 'on_reconnect' || $k eq 'max_pending';
        if ( $k eq 'max_pending' ) {
            Carp::croak('Future::IO::Redis: max_pending must be a whole number (0: no limit)')
              unless defined $opts{$k} && $opts{$k} =~ /\A[0-9]+\z/;
        }
        elsif ( defined $opts{$k} && ref $opts{$k} ne 'CODE' ) {
            Carp::croak("Future::IO::Redis: $k must be a code reference");
        }
        $self->{$k} = $opts{$k};
    }
    $self->_hold;
}

# With on_message, the client keeps its subscription (the program need not: the callback is what
# receives, as with `await $redis->subscribe( $channel, { on_message => ... } )` whose result is
# not kept) until the subscription ends or the callback is taken away. Without, the program
# holds it (to call next), and the client holds it weakly.
sub _hold {
    my ($self) = @_;
    my $redis = $self->{redis} or return;
    if ( $self->{on_message} && !$self->{closed} ) {
        $redis->{subscription_held} = $self;
    }
    elsif ( $redis->{subscription_held} && $redis->{subscription_held} == $self ) {
        delete $redis->{subscription_held};
    }
}

# What the engine delivers this subscription's messages to (Engine::set_message_handler). With
# on_message, a code ref called with each message. Otherwise a pair [ \@queue, \&after_turn ]:
# the engine's XS pushes each message (the hash `next` gives) onto the queue itself, with no Perl
# call per message, and after_turn runs once the turn's completions are all delivered.
sub _handler {
    my ($self) = @_;
    my $weak = $self;
    Scalar::Util::weaken($weak);
    return [ $self->{queue}, sub { $weak->_after_turn if $weak } ] unless $self->{on_message};
    return sub {
        my $self = $weak or return;
        my $cb   = $self->{on_message} or return;
        local $@;
        eval { $cb->( $_[0], $self ); 1 } or warn "Future::IO::Redis: on_message callback died: $@";
    };
}

# Register (again) with the engine: at each subscribe, and when on_message changes.
sub _install {
    my ($self) = @_;
    my $redis = $self->{redis};
    Future::IO::Redis::Engine::set_message_handler( $redis->{conn}, $redis->{gen}, $self->_handler );
}

# A turn delivered messages. They were all queued before any waiting `next` is served, so that a
# consumer resumed by the first finds the rest already queued (its next `next` is done at once)
# instead of suspending once per message. Then the max_pending limit: what the consumers did not
# take is cut to the newest max_pending, the oldest dropped.
sub _after_turn {
    my ($self) = @_;
    $self->_serve_waiters if @{ $self->{waiters} };
    my ( $q, $max ) = @{$self}{qw( queue max_pending )};
    if ( $max && @$q > $max ) {
        my $n = @$q - $max;
        splice @$q, 0, $n;
        $self->{dropped} += $n;
    }
}

# Hand queued messages to the `next` calls that wait, oldest first.
sub _serve_waiters {
    my ($self) = @_;
    my ( $waiters, $q ) = @{$self}{qw( waiters queue )};
    while ( @$waiters && @$q ) {
        my $w = shift @$waiters;
        next if $w->is_ready;    # cancelled
        $w->done( shift @$q );
    }
}

# The connection came back and subscribed again to everything.
sub _resubscribed {
    my ($self) = @_;
    $self->{reconnects}++;
    if ( my $cb = $self->{on_reconnect} ) {
        local $@;
        eval { $cb->($self); 1 } or warn "Future::IO::Redis: on_reconnect callback died: $@";
    }
}

# A subscribe command for these names is on its way; _answered when its reply (or failure) came.
# Until then an unsubscribe counts them as subscribed: `subscribe('a'); unsubscribe` issued
# together ends 'a' rather than find nothing to end.
sub _asking {
    my ( $self, $command, @names ) = @_;
    $self->{asked}{ $FAMILY_OF{$command} }{$_}++ for @names;
}

sub _answered {
    my ( $self, $command, @names ) = @_;
    my $asked = $self->{asked}{ $FAMILY_OF{$command} } or return;
    for (@names) { delete $asked->{$_} unless --$asked->{$_} > 0 }
}

# Names of $family subscribed to or asked for.
sub _has {
    my ( $self, $family, $name ) = @_;
    return $self->{$family}{$name} || $self->{asked}{$family}{$name};
}

sub _any {
    my ( $self, $family ) = @_;
    return ( %{ $self->{$family} } || %{ $self->{asked}{$family} // {} } ) ? 1 : 0;
}

# The server confirmed these names.
sub _added {
    my ( $self, $command, @names ) = @_;
    my $set = $self->{ $FAMILY_OF{$command} };
    $set->{$_} = 1 for @names;
    delete $self->{closed};
    $self->_hold;
}

sub next {
    my ($self) = @_;
    # A message is taken at once unless `next` calls wait before this one (a turn's messages are
    # queued before they are served: see _after_turn).
    my $q = $self->{queue};
    return Future->done( shift @$q ) if @$q && !@{ $self->{waiters} };
    my $w = $self->{waiters};
    shift @$w while @$w && $w->[0]->is_ready;    # cancelled
    return Future->done( shift @$q ) if @$q && !@$w;
    return Future->done(undef) if $self->{closed};
    # In a fork child the subscribed connection is the parent's: nothing would ever arrive here.
    unless ( Future::IO::Redis::Engine::is_current( $self->{redis}{gen} ) ) {
        my $err = Future::IO::Redis::Error::Connection->new(
            message => 'the subscribed connection belongs to the process this one forked from (subscribe again here)',
            reason  => 'fork',
        );
        $self->_lost($err);
        return Future->fail($err);
    }
    my $f = Future::IO::Redis::Engine::new_future();
    push @{ $self->{waiters} }, $f;
    # A cancelled `next` leaves the queue of waiters at once: the next message goes to the next
    # `next`, and a consumer that cancels its waits over and over does not pile them up.
    my ( $weak, $wf ) = ( $self, $f );
    Scalar::Util::weaken($_) for $weak, $wf;
    $f->on_cancel( sub { $weak->{waiters} = [ grep { $_ != $wf } @{ $weak->{waiters} } ] if $weak && $wf } );
    Future::IO::Redis::Engine::arm();
    return $f;
}

sub subscribe  { my $self = shift; $self->{redis}->subscribe(@_) }
sub psubscribe { my $self = shift; $self->{redis}->psubscribe(@_) }
sub ssubscribe { my $self = shift; $self->{redis}->ssubscribe(@_) }

sub unsubscribe {
    my ( $self, @names ) = @_;
    my @sends;
    if (@names) {
        for my $family (qw( channels patterns shard_channels )) {
            my @mine = grep { $self->_has( $family, $_ ) } @names;
            push @sends, [ $family, @mine ] if @mine;
        }
        return Future->done($self) unless @sends;
    }
    else {
        @sends = map { [$_] } grep { $self->_any($_) } qw( channels patterns shard_channels );
    }
    return $self->_send_unsubscribes( \@sends, scalar @names );
}

# The earlier clients of this design unsubscribe patterns and shard channels on their own.
sub punsubscribe { my $self = shift; $self->_unsubscribe_family( patterns       => @_ ) }
sub sunsubscribe { my $self = shift; $self->_unsubscribe_family( shard_channels => @_ ) }

# The client's unsubscribe, punsubscribe and sunsubscribe: end @names of one family (all of the
# family without names).
sub _unsubscribe_family {
    my ( $self, $family, @names ) = @_;
    if (@names) {
        @names = grep { $self->_has( $family, $_ ) } @names;
        return Future->done($self) unless @names;
    }
    elsif ( !$self->_any($family) ) {
        return Future->done($self);
    }
    return $self->_send_unsubscribes( [ [ $family, @names ] ], 1 );
}

# Send one unsubscribe command per [ $family, @names ]; the subscription ends when nothing is
# left (or when everything was asked for: $partial false).
sub _send_unsubscribes {
    my ( $self, $sends, $partial ) = @_;
    my $redis = $self->{redis};
    # The server unsubscribes whether or not the caller still waits: the commands are not
    # cancelled with the Future returned (a caller that gives up, or a timeout around it), and
    # their answers are recorded in any case.
    my ( $left, $failed ) = ( scalar @$sends, 0 );
    my @fs = map {
        my ( $family, @these ) = @$_;
        my $sent = $redis->_command_once( $UNSUBSCRIBE{$family}, @these );
        $sent->on_ready( sub {
            if ( $_[0]->is_done ) {
                if (@these) { delete @{ $self->{$family} }{@these} }
                else        { %{ $self->{$family} } = () }
            }
            else { $failed++ }
            # Every answer in: the subscription ends when nothing is left (not while a subscribe
            # sent after this unsubscribe is still on its way).
            $self->_close
              if !--$left && !$failed
              && !grep { $partial ? $self->_any($_) : %{ $self->{asked}{$_} // {} } } qw( channels patterns shard_channels );
        } );
        $sent->without_cancel;
    } @$sends;
    my $f = Future->needs_all(@fs)->then( sub { Future->done($self) } );
    # `$sub->unsubscribe;` in void context: the work goes on, nothing returned.
    return Future::IO::Redis::_in_context($f);
}

# The subscribed connection is gone for good (lost with reconnect off, or closed by the client):
# what waits in `next` fails with $error; later `next` calls give undef, as after a total
# unsubscribe. Messages already queued stay readable.
sub _lost {
    my ( $self, $error ) = @_;
    $self->{closed} = 1;
    %{ $self->{$_} } = () for grep { ref $self->{$_} eq 'HASH' } qw( channels patterns shard_channels );
    my $waiters = $self->{waiters};
    while ( my $w = shift @$waiters ) {
        $w->fail($error) unless $w->is_ready;
    }
    $self->_hold;
}

# Every subscription ended: `next` gives undef from now on.
sub _close {
    my ($self) = @_;
    $self->{closed} = 1;
    my $waiters = $self->{waiters};
    while ( my $w = shift @$waiters ) {
        $w->done(undef) unless $w->is_ready;
    }
    $self->_hold;
}

# The program let go of the subscription (the client holds it weakly) while its client is still
# subscribed: nobody can read its messages or unsubscribe it any more, and its queue, which the
# engine fills, would grow without bound. Its subscriptions end: the engine drops what arrives
# until the unsubscribes are answered, and the client takes ordinary commands again.
sub DESTROY {
    my ($self) = @_;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    my $redis = $self->{redis} or return;
    return if !$redis->{conn} || !Future::IO::Redis::Engine::is_current( $redis->{gen} );
    return if $redis->{subscription} && $redis->{subscription} != $self;
    Future::IO::Redis::Engine::set_message_handler( $redis->{conn}, $redis->{gen}, undef );
    for my $family ( grep { %{ $self->{$_} } } qw( channels patterns shard_channels ) ) {
        local $@;
        eval { $redis->_command_once( $UNSUBSCRIBE{$family} ); 1 };    # the engine keeps the Future
    }
}

sub channels       { sort keys %{ $_[0]{channels} } }
sub patterns       { sort keys %{ $_[0]{patterns} } }
sub shard_channels { sort keys %{ $_[0]{shard_channels} } }
sub sharded_channels { $_[0]->shard_channels }
sub channel_count  { scalar( keys %{ $_[0]{channels} } ) + scalar( keys %{ $_[0]{patterns} } ) + scalar( keys %{ $_[0]{shard_channels} } ) }

# The message shape of the earlier clients of this design: the payload under `message`.
sub next_message {
    my ($self) = @_;
    return $self->next->transform(
        done => sub {
            my ($m) = @_;
            return undef unless $m;
            return { type => $m->{type}, channel => $m->{channel}, pattern => $m->{pattern}, message => $m->{data} };
        }
    );
}
sub pending        { scalar @{ $_[0]{queue} } }
sub dropped        { $_[0]{dropped} }
sub reconnects     { $_[0]{reconnects} }
sub is_closed      { $_[0]{closed} ? 1 : 0 }
sub redis          { $_[0]{redis} }

sub on_message {
    my ( $self, $cb ) = @_;
    $self->_options( on_message => $cb );
    # Messages that waited go to the callback now, in order.
    $self->_install;
    if ($cb) {
        my @q       = splice @{ $self->{queue} };
        my $deliver = $self->_handler;
        $deliver->($_) for @q;
        # `next` calls still waiting will get no message: the callback takes them all.
        my $waiters = $self->{waiters};
        while ( my $w = shift @$waiters ) {
            next if $w->is_ready;
            $w->fail( Future::IO::Redis::Error::PubSub->new(
                message => 'Future::IO::Redis: on_message was set while this next waited; the callback gets the messages now' ) );
        }
    }
    return $self;
}

# The client sent RESET: the server ended every subscription of the connection.
sub _reset {
    my ($self) = @_;
    %{ $self->{$_} } = () for qw( channels patterns shard_channels );
    $self->_close;
}

1;

__END__

=head1 NAME

Future::IO::Redis::Subscription - messages of channels, patterns and shard channels

=head1 SYNOPSIS

    my $sub = await $redis->subscribe( 'news', 'alerts' );
    while ( my $msg = await $sub->next ) {
        say "$msg->{channel}: $msg->{data}";
    }

    my $psub = await $redis->psubscribe('news:*');
    my $msg  = await $psub->next;    # { type => 'pmessage', pattern => 'news:*', channel => ..., data => ... }

    # Callback form
    my $sub = await $redis->subscribe( 'news', { on_message => sub { my ($msg) = @_; ... } } );

    # Keyspace notifications (the server must emit them)
    await $other->config_set( 'notify-keyspace-events', 'KEA' );
    my $ks = await $redis->psubscribe('__keyspace@0__:*');
    my $ev = await $ks->next;    # { channel => '__keyspace@0__:mykey', data => 'set', ... }

    await $sub->unsubscribe('news');    # partial
    await $sub->unsubscribe;            # all: next gives undef from now on

=head1 DESCRIPTION

C<subscribe>, C<psubscribe> and C<ssubscribe> (Redis 7, sharded) of L<Future::IO::Redis> put
the client into subscribe mode and resolve to its subscription (one per client: subscribing
again adds to it). While subscribed, the client only sends the subscribe family, C<reset> (which
ends every subscription), C<quit> and C<ping> (which answers C<PONG>, or its argument, as on a
normal connection, although the server answers it differently in subscribe mode);
every other command fails at once with L<Future::IO::Redis::Error::PubSub>, without reaching
the server or disturbing the messages. Use another client for commands (C<publish> and
C<spublish> work on any normal client).

If the connection is lost and reconnect is on, the engine connects again and subscribes again
to every channel, pattern and shard channel the server had confirmed; C<next> keeps working.
Messages published while the connection was down are lost: C<on_reconnect> is called (and
C<reconnects> counts up) once the subscriptions are back.

Messages arrive in the order the server sent them.

=head2 Buffering

Messages that arrive while nobody awaits C<next> wait in a queue of at most C<max_pending>
messages (default 10,000, C<$Future::IO::Redis::Subscription::MAX_PENDING>; 0 for no limit).
The limit is applied after each turn of the engine (one turn reads at most 1 MiB from a
connection): the messages of the turn are all queued, the C<next> calls that wait are served
(oldest first; a consumer resumed by the first message finds the rest of the turn already
queued and takes them without waiting again), and then, if more than C<max_pending> messages
are still waiting, the B<oldest> are dropped and C<dropped> counts them. So a consumer slower
than the publisher loses the oldest messages instead of growing memory without bound, and one
that keeps up loses none. With C<on_message> nothing is queued.

=head2 Lifetime

The program holds the subscription to read it (C<next>); the client holds it weakly. A
subscription the program lets go of ends: its channels, patterns and shard channels are
unsubscribed, and the client takes ordinary commands again. A subscription with C<on_message>
is kept by its client instead (the callback receives; the program need not keep the object)
until it ends (C<unsubscribe> of everything, the client's C<unsubscribe> family, C<disconnect>)
or C<< on_message(undef) >> takes the callback away.

A C<next> that is cancelled (C<< ->cancel >>, or a C<wait_any> that another Future won) gives
its place up: the message it would have had goes to the next C<next>.

=head1 METHODS

=head2 next

    my $msg = await $sub->next;

The next message: C<< { type => 'message' | 'pmessage' | 'smessage', channel => $channel,
data => $payload, pattern => $pattern } >> (C<pattern> for pmessage only). Gives undef once
the subscription ended (C<unsubscribe> without names, or of every name). Fails with a
L<Future::IO::Redis::Error::Connection> when the subscribed connection is gone for good: lost
with C<< reconnect => 0 >>, closed by C<disconnect>, lost with the engine after an internal
error, or, in a fork child, the parent's (C<reason> C<fork>; subscribe again in the child).

A C<next> may be cancelled (C<< $f->cancel >>, or a C<wait_any> or timeout around it that gives
up): the subscription goes on, and nothing is lost: a message that arrives afterwards, even one
that was already on its way in the same turn, waits for the next C<next>.

=head2 unsubscribe

    await $sub->unsubscribe(@names);
    await $sub->unsubscribe;

Ends the subscriptions named (channels, patterns and shard channels alike), or all of them.
When none is left, the subscription ends: waiting and later C<next> calls give undef, and the
client takes ordinary commands again.

=head2 punsubscribe, sunsubscribe

    await $sub->punsubscribe('news:*');    # these patterns
    await $sub->sunsubscribe;              # every shard channel

Like L</unsubscribe>, for one family only: patterns (C<PUNSUBSCRIBE>) or shard channels
(C<SUNSUBSCRIBE>); without names, everything of that family. The subscription ends (C<next>
gives undef) once nothing of any family is left. The names earlier Perl clients of this design
use.

=head2 next_message

    while ( my $msg = await $sub->next_message ) {
        print "$msg->{channel}: $msg->{message}\n";
    }

L</next> with the message shape of earlier Perl clients of this design: the payload under
C<message> instead of C<data> (C<type>, C<channel> and C<pattern> as in C<next>).

=head2 sharded_channels, channel_count

    my $n = $sub->channel_count;

C<sharded_channels> is C<shard_channels> (see L</channels, patterns, shard_channels>) by its older name; C<channel_count> is how many
channels, patterns and shard channels the subscription holds.

=head2 subscribe, psubscribe, ssubscribe

Add channels, patterns or shard channels (as the client's methods of the same names).

=head2 on_message

    $sub->on_message( sub { my ( $msg, $sub ) = @_; ... } );

Deliver every message to the code instead of C<next> (messages already queued first; C<next>
calls still waiting fail with L<Future::IO::Redis::Error::PubSub>, as no message will come to
them; C<< on_message(undef) >> goes back to C<next>). Also an
option: C<< $redis->subscribe( @channels, { on_message => sub { ... } } ) >>. Options given
that way: C<on_message>, C<on_reconnect> (called with the subscription after a reconnect
subscribed again), C<max_pending>.

=head2 channels, patterns, shard_channels

The names subscribed to, sorted.

=head2 pending, dropped, reconnects, is_closed, redis

Messages waiting for C<next>; messages dropped at the C<max_pending> limit; reconnects that
subscribed again; whether the subscription ended; the client.

=cut

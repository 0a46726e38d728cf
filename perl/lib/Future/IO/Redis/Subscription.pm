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

# The server confirmed these names.
sub _added {
    my ( $self, $command, @names ) = @_;
    my $set = $self->{ $FAMILY_OF{$command} };
    $set->{$_} = 1 for @names;
    delete $self->{closed};
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
            my @mine = grep { $self->{$family}{$_} } @names;
            push @sends, [ $family, @mine ] if @mine;
        }
        return Future->done($self) unless @sends;
    }
    else {
        @sends = map { [$_] } grep { %{ $self->{$_} } } qw( channels patterns shard_channels );
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
        @names = grep { $self->{$family}{$_} } @names;
        return Future->done($self) unless @names;
    }
    elsif ( !%{ $self->{$family} } ) {
        return Future->done($self);
    }
    return $self->_send_unsubscribes( [ [ $family, @names ] ], 1 );
}

# Send one unsubscribe command per [ $family, @names ]; the subscription ends when nothing is
# left (or when everything was asked for: $partial false).
sub _send_unsubscribes {
    my ( $self, $sends, $partial ) = @_;
    my $redis = $self->{redis};
    my @fs = map {
        my ( $family, @these ) = @$_;
        $redis->_command_once( $UNSUBSCRIBE{$family}, @these )->on_done(
            sub {
                if (@these) { delete @{ $self->{$family} }{@these} }
                else        { %{ $self->{$family} } = () }
            }
        );
    } @$sends;
    return Future->needs_all(@fs)->then(
        sub {
            $self->_close unless $partial && grep { %{ $self->{$_} } } qw( channels patterns shard_channels );
            Future->done($self);
        }
    );
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
}

# Every subscription ended: `next` gives undef from now on.
sub _close {
    my ($self) = @_;
    $self->{closed} = 1;
    my $waiters = $self->{waiters};
    while ( my $w = shift @$waiters ) {
        $w->done(undef) unless $w->is_ready;
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
    }
    return $self;
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
again adds to it). While subscribed, the client only sends the subscribe family and C<ping>
(which answers C<PONG>, or its argument, as on a normal connection, although the server answers
it differently in subscribe mode);
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

A C<next> that is cancelled (C<< ->cancel >>, or a C<wait_any> that another Future won) gives
its place up: the message it would have had goes to the next C<next>.

=head1 METHODS

=head2 next

    my $msg = await $sub->next;

The next message: C<< { type => 'message' | 'pmessage' | 'smessage', channel => $channel,
data => $payload, pattern => $pattern } >> (C<pattern> for pmessage only). Gives undef once
the subscription ended (C<unsubscribe> without names, or of every name).

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

Deliver every message to the code instead of C<next> (messages already queued first). Also an
option: C<< $redis->subscribe( @channels, { on_message => sub { ... } } ) >>. Options given
that way: C<on_message>, C<on_reconnect> (called with the subscription after a reconnect
subscribed again), C<max_pending>.

=head2 channels, patterns, shard_channels

The names subscribed to, sorted.

=head2 pending, dropped, reconnects, is_closed, redis

Messages waiting for C<next>; messages dropped at the C<max_pending> limit; reconnects that
subscribed again; whether the subscription ended; the client.

=cut

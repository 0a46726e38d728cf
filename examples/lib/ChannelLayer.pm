package ChannelLayer;

# A small channel layer on Future::IO::Redis: the example of examples/channel-layer.pl and the
# subject of t/99-integration/channel-layer.t. Not installed; not a supported API.
#
#   my $layer = ChannelLayer->new( pool => $pool, subscriber => $client, prefix => 'app:' );
#   await $layer->start;                                    # one PSUBSCRIBE app:wake:*
#   $layer->consume( 'alice', sub { my ( $msg, $consumer ) = @_; ... } );
#   await $layer->group_add( 'room:1', 'alice' );
#   await $layer->group_send( 'room:1', 'hello' );          # to every member
#   await $layer->send( 'alice', 'just you' );              # to one consumer
#   await $layer->group_discard( 'room:1', 'alice' );
#   await $layer->stop;
#
# Keys (every one under the prefix):
#   <prefix>group:<group>     a set of consumer names (expires group_expiry after the last add)
#   <prefix>inbox:<consumer>  the consumer's capped list of pending messages (RPUSH; oldest first;
#                             LTRIM to the newest `capacity`; expires `expiry` seconds after the
#                             last message was added)
#   <prefix>wake:<consumer>   the channel its wake-up is PUBLISHed on
#
# Sending runs one Lua script (EVALSHA, EVAL on NOSCRIPT) that appends the message to each
# recipient's inbox, trims and re-arms its expiry, and PUBLISHes a wake-up only when the inbox was
# empty before (a consumer with a non-empty inbox is already draining or already woken). The
# script names the inboxes it builds from the set, not in KEYS: fine on one server, not on a
# cluster (which would need every key of a group in one hash slot).
#
# Consumers are woken through ONE pattern subscription per layer object (<prefix>wake:*), whatever
# their number; a wake-up for a consumer this layer does not serve is ignored (another process
# serves it). A woken consumer drains its inbox through the pool, `batch` messages per LPOP, until
# a pop comes back short; a wake-up that arrives meanwhile makes it drain once more. Delivery is
# in inbox order: per sender, the order of its sends (when it awaits each send before the next,
# or sends them all over one connection).
#
# After the subscriber reconnected (a Redis restart, CLIENT KILL), wake-ups may have been missed:
# every local consumer drains once.

use v5.14;
use warnings;

use Carp ();
use Digest::SHA ();
use Future;
use Future::AsyncAwait;
use Scalar::Util ();

# KEYS: the group's set, or none.  ARGV: prefix, capacity, expiry, message, then the consumers
# (direct sends). Returns the number of inboxes the message went to.
my $SEND_LUA = <<'LUA';
local prefix, cap, ttl, msg = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local to
if #KEYS > 0 then
    to = redis.call('SMEMBERS', KEYS[1])
else
    to = {}
    for i = 5, #ARGV do to[#to + 1] = ARGV[i] end
end
for _, c in ipairs(to) do
    local inbox = prefix .. 'inbox:' .. c
    local n = redis.call('RPUSH', inbox, msg)
    if n > cap then redis.call('LTRIM', inbox, -cap, -1) end
    redis.call('EXPIRE', inbox, ttl)
    if n == 1 then redis.call('PUBLISH', prefix .. 'wake:' .. c, '1') end
end
return #to
LUA
my $SEND_SHA = Digest::SHA::sha1_hex($SEND_LUA);

sub new {
    my ( $class, %o ) = @_;
    my $self = bless {
        pool         => delete $o{pool}       // Carp::croak('ChannelLayer->new: pool is required'),
        subscriber   => delete $o{subscriber} // Carp::croak('ChannelLayer->new: subscriber (a client of its own) is required'),
        prefix       => delete $o{prefix}       // 'chl:',
        capacity     => delete $o{capacity}     // 100,
        expiry       => delete $o{expiry}       // 60,
        group_expiry => delete $o{group_expiry} // 86400,
        batch        => delete $o{batch}        // 100,
        consumers    => {},    # name => { handler, draining (a Future), again }
        wakeups      => 0,
        drains       => 0,
    }, $class;
    Carp::croak( 'ChannelLayer->new: unknown option(s) ' . join ', ', sort keys %o ) if %o;
    return $self;
}

sub prefix  { $_[0]{prefix} }
sub wakeups { $_[0]{wakeups} }    # wake-ups received for local consumers
sub drains  { $_[0]{drains} }     # LPOP round trips made

# Subscribe to every consumer's wake-up channel with one pattern.
async sub start {
    my ($self) = @_;
    my $weak = $self;
    Scalar::Util::weaken($weak);
    my $wake = $self->{prefix} . 'wake:';
    ( my $pattern = $wake ) =~ s/([*?\[\]\\])/\\$1/g;
    my $cut = length $wake;
    $self->{sub} = await $self->{subscriber}->psubscribe(
        $pattern . '*',
        {
            on_message => sub {
                my ($msg) = @_;
                return unless $weak;
                my $c = substr $msg->{channel}, $cut;
                return unless $weak->{consumers}{$c};
                $weak->{wakeups}++;
                $weak->_wake($c);
            },
            on_reconnect => sub { $weak->_wake($_) for $weak ? keys %{ $weak->{consumers} } : () },
        }
    );
    return $self;
}

async sub stop {
    my ($self) = @_;
    %{ $self->{consumers} } = ();
    await $self->{sub}->unsubscribe if $self->{sub} && !$self->{sub}->is_closed;
    delete $self->{sub};
    return;
}

# Serve $consumer in this process: $handler->($msg, $consumer) for every message, in order. Its
# inbox is drained once now (messages may have waited for it).
sub consume {
    my ( $self, $consumer, $handler ) = @_;
    Carp::croak('ChannelLayer->consume: needs a consumer name and a code reference') unless defined $consumer && ref $handler eq 'CODE';
    $self->{consumers}{$consumer} = { handler => $handler };
    $self->_wake($consumer);
    return $self;
}

# Stop serving $consumer here (its inbox keeps what arrives, until it expires).
sub forget {
    my ( $self, $consumer ) = @_;
    delete $self->{consumers}{$consumer};
    return $self;
}

# A Future that is done when no local consumer is draining.
sub idle {
    my ($self) = @_;
    my @d = grep { $_ } map { $_->{draining} } values %{ $self->{consumers} };
    return @d ? Future->wait_all(@d)->then( sub { $self->idle } ) : Future->done;
}

sub group_add {
    my ( $self, $group, $consumer ) = @_;
    my $key = $self->{prefix} . "group:$group";
    return $self->{pool}->with( async sub {
        my ($r) = @_;
        my $p = $r->pipeline->sadd( $key, $consumer )->expire( $key, $self->{group_expiry} );
        my $res = await $p->execute;
        ref $_ and die $_ for @$res;
        return $res->[0];
    } );
}

sub group_discard {
    my ( $self, $group, $consumer ) = @_;
    my $key = $self->{prefix} . "group:$group";
    return $self->{pool}->with( async sub { await $_[0]->srem( $key, $consumer ) } );
}

# The number of inboxes the message went to.
sub send {
    my ( $self, $consumer, $msg ) = @_;
    return $self->_run_send( [], $msg, $consumer );
}

sub group_send {
    my ( $self, $group, $msg ) = @_;
    return $self->_run_send( [ $self->{prefix} . "group:$group" ], $msg );
}

sub _run_send {
    my ( $self, $keys, $msg, @to ) = @_;
    my @args = ( scalar @$keys, @$keys, @{$self}{qw( prefix capacity expiry )}, $msg, @to );
    return $self->{pool}->with( async sub {
        my ($r) = @_;
        my $n = eval { await $r->evalsha( $SEND_SHA, @args ) };
        return $n if defined $n;
        my $e = $@;
        die $e unless ref $e && $e->isa('Future::IO::Redis::Error::Redis') && $e->code eq 'NOSCRIPT';
        return await $r->eval( $SEND_LUA, @args );    # loads it: EVALSHA works from now on
    } );
}

sub _wake {
    my ( $self, $consumer ) = @_;
    my $c = $self->{consumers}{$consumer} or return;
    if ( $c->{draining} ) { $c->{again} = 1; return }
    my $f = $self->_drain( $consumer, $c );
    return if $f->is_ready;
    $c->{draining} = $f;
    $f->on_ready( sub { delete $c->{draining} } );
    return;
}

async sub _drain {
    my ( $self, $consumer, $c ) = @_;
    my $inbox = $self->{prefix} . "inbox:$consumer";
    my $n     = $self->{batch};
    do {
        $c->{again} = 0;
        while (1) {
            my $batch = eval { await $self->{pool}->with( async sub { await $_[0]->lpop( $inbox, $n ) } ) };
            if ( my $e = $@ ) { warn "ChannelLayer: draining $consumer failed: $e"; return }
            $self->{drains}++;
            for my $msg ( @{ $batch // [] } ) {
                last unless $self->{consumers}{$consumer};    # forgotten meanwhile
                eval { $c->{handler}->( $msg, $consumer ); 1 } or warn "ChannelLayer: handler of $consumer died: $@";
            }
            last if !$batch || @$batch < $n;
        }
    } while ( $c->{again} && $self->{consumers}{$consumer} );
    return;
}

1;

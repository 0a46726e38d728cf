package Future::IO::Redis::Pool 0.001;
use v5.14;
use warnings;

use Carp ();
use Future;
use Future::IO;
use Scalar::Util ();
use Time::HiRes ();

use Future::IO::Redis;
use Future::IO::Redis::Engine;
use Future::IO::Redis::Error;

# The pool's own options and their defaults (the design's); everything else is a connection
# option, passed to Future::IO::Redis->new for every connection.
my %DEFAULT = (
    min               => 2,
    max               => 10,
    acquire_timeout   => 5,
    idle_timeout      => 60,
    on_dirty          => 'destroy',
    cleanup_timeout   => 5,
    health_check_idle => 1,
);

# How long a health check's PING may take.
my $PING_TIMEOUT = 1;

sub new {
    my ( $class, %args ) = @_;
    my %opt = map { $_ => exists $args{$_} ? delete $args{$_} : $DEFAULT{$_} } keys %DEFAULT;
    for my $k (qw( min max )) {
        Carp::croak("$class->new: $k must be a whole number")
          unless defined $opt{$k} && $opt{$k} =~ /\A[0-9]+\z/;
    }
    Carp::croak("$class->new: max must be at least 1") if $opt{max} < 1;
    Carp::croak("$class->new: min ($opt{min}) must not be above max ($opt{max})") if $opt{min} > $opt{max};
    for my $k (qw( acquire_timeout idle_timeout cleanup_timeout health_check_idle )) {
        next unless defined $opt{$k};    # undef: no such timeout (wait forever, keep forever, never check)
        Carp::croak("$class->new: $k must be a non-negative number of seconds")
          unless Scalar::Util::looks_like_number( $opt{$k} ) && $opt{$k} >= 0;
    }
    Carp::croak("$class->new: on_dirty must be 'destroy' or 'cleanup'")
      unless defined $opt{on_dirty} && $opt{on_dirty} =~ /\A(?:destroy|cleanup)\z/;

    my $user_on_disconnect = delete $args{on_disconnect};
    Carp::croak("$class->new: on_disconnect must be a code reference")
      if defined $user_on_disconnect && ref $user_on_disconnect ne 'CODE';

    # The connection options are checked here, once, with the client's own words (new opens
    # nothing; this client is thrown away).
    eval { Future::IO::Redis->new(%args); 1 } or do {
        my $why = $@;
        $why =~ s/ at \S+ line \d+\.?\n\z//;
        Carp::croak($why);
    };

    # The pool's own metric (acquire wait) goes where its connections' metrics go.
    my $telemetry;
    if ( $args{otel_meter} || $args{metrics} ) {
        require Future::IO::Redis::Telemetry;
        $telemetry = Future::IO::Redis::Telemetry->new( "$class->new", { map { $_ => $args{$_} } grep { exists $args{$_} } qw( otel_meter metrics ) }, \%args );
    }

    return bless {
        %opt,
        conn_opts     => \%args,
        telemetry     => $telemetry,
        acquires      => 0,
        acquire_wait_total => 0,
        acquire_wait_max   => 0,
        on_disconnect => $user_on_disconnect,
        idle          => [],    # [ { redis, since } ], most recently released last
        active        => {},    # refaddr => client handed out
        lost          => {},    # refaddr => 1: reported a disconnect while handed out
        waiters       => [],    # pending acquire Futures, first come first
        work          => {},    # refaddr => Future of a connect, health check or cleanup under way
        opening       => 0,
        checking      => 0,
        cleaning      => 0,
        destroyed     => 0,
        cleaned       => 0,
        closed        => 0,
    }, $class;
}

# ----- handing out and taking back -----------------------------------------------------------

# An idle connection handed out at once (no waiter, no timer) when nobody waits before this
# call, unless it idled long enough to be checked first; else undef.
sub _take_idle {
    my ($self) = @_;
    return undef if @{ $self->{waiters} } || $self->{closed} || !@{ $self->{idle} };
    my $limit = $self->{health_check_idle};
    return undef if defined $limit && Time::HiRes::time() - $self->{idle}[-1]{since} >= $limit;
    my $redis = ( pop @{ $self->{idle} } )->{redis};
    $self->{active}{ Scalar::Util::refaddr($redis) } = $redis;
    $self->_acquired(0);
    return $redis;
}

sub acquire {
    my ($self) = @_;
    if ( my $redis = $self->_take_idle ) { return Future->done($redis) }
    my $f = Future::IO::Redis::Engine::new_future();
    if ( $self->{closed} ) {
        return $f->fail( Future::IO::Redis::Error::Connection->new( message => 'the pool was shut down' ) );
    }
    push @{ $self->{waiters} }, $f;
    my $weak = $self;
    Scalar::Util::weaken($weak);
    if ( defined( my $t = $self->{acquire_timeout} ) ) {
        my $timer = Future::IO->sleep($t)->on_done( sub {
            return if $f->is_ready;
            $f->fail( Future::IO::Redis::Error::Timeout->new(
                message => "no connection of the pool came free in ${t}s (max $weak->{max}, all in use)",
                kind    => 'acquire',
                timeout => $t,
            ) );
        } );
        $f->on_ready( sub { $timer->cancel unless $timer->is_ready } );
    }
    # Done, failed (timed out) or cancelled: its place in the queue is given up.
    my $t0 = Time::HiRes::time();
    $f->on_ready( sub {
        return unless $weak;
        $weak->_acquired( Time::HiRes::time() - $t0 ) if $f->is_done;
        @{ $weak->{waiters} } = grep { $_ != $f } @{ $weak->{waiters} };
        $weak->_dispatch unless $f->is_done;
    } );
    $self->_dispatch;
    return $f;
}

# An acquire got its connection after $waited seconds.
sub _acquired {
    my ( $self, $waited ) = @_;
    $self->{acquires}++;
    $self->{acquire_wait_total} += $waited;
    $self->{acquire_wait_max} = $waited if $waited > $self->{acquire_wait_max};
    $self->{telemetry}->acquired($waited) if $self->{telemetry};
}

sub release {
    my ( $self, $redis ) = @_;
    my $key = Scalar::Util::refaddr($redis) // Carp::croak('Future::IO::Redis::Pool->release: no connection given');
    delete $self->{active}{$key} // Carp::croak('Future::IO::Redis::Pool->release: not a connection this pool handed out (or released twice)');
    if ( delete $self->{lost}{$key} || $self->{closed} ) {
        $self->_destroy( $redis, !$self->{closed} );
    }
    else {
        my $state = $redis->session_state;
        if ( $state->{not_connected} ) {
            $self->_destroy( $redis, 1 );
        }
        elsif ( Future::IO::Redis::dirty_reasons($state) ) {
            if   ( $self->{on_dirty} eq 'cleanup' ) { $self->_cleanup($redis) }
            else                                    { $self->_destroy( $redis, 1 ) }
        }
        else {
            $self->_offer( $redis, $state );
        }
    }
    $self->_dispatch if @{ $self->{waiters} };
    return;
}

sub with {
    my ( $self, $code ) = @_;
    Carp::croak('Future::IO::Redis::Pool->with: needs a code reference') unless ref $code eq 'CODE';
    if ( my $redis = $self->_take_idle ) { return $self->_with( $redis, $code ) }
    return $self->acquire->then( sub { $self->_with( $_[0], $code ) } );
}

# Run with()'s code on $redis, and release it as soon as the code's Future is ready: done,
# failed, or cancelled from outside (the code's work is abandoned; a command still in flight
# makes the connection dirty, so release destroys it). The release runs before whatever awaits
# the result is resumed. The result is the code's own Future (one made of its value when it
# returned something else).
sub _with {
    my ( $self, $redis, $code ) = @_;
    my $f = eval {
        my @r = $code->($redis);
        @r == 1 && Scalar::Util::blessed( $r[0] ) && $r[0]->isa('Future') ? $r[0] : Future->done(@r);
    } // Future->fail($@);
    return $f->on_ready( sub { $self->release($redis) } ) unless $f->is_ready;
    $self->release($redis);
    return $f;
}

# The configured sizes (accessors earlier clients of this design have).
sub min { $_[0]{min} }
sub max { $_[0]{max} }

sub stats {
    my ($self) = @_;
    my $active = keys %{ $self->{active} };
    my $idle   = @{ $self->{idle} };
    return {
        active    => $active,
        idle      => $idle,
        waiting   => scalar @{ $self->{waiters} },
        total     => $active + $idle,
        destroyed => $self->{destroyed},
        cleaned   => $self->{cleaned},
        opening   => $self->{opening},
        checking  => $self->{checking} + $self->{cleaning},
        acquires           => $self->{acquires},
        acquire_wait_total => $self->{acquire_wait_total},
        acquire_wait_max   => $self->{acquire_wait_max},
    };
}

sub shutdown {
    my ($self) = @_;
    $self->{closed} = 1;
    my $err = Future::IO::Redis::Error::Connection->new( message => 'the pool was shut down' );
    $_->fail($err) for grep { !$_->is_ready } @{ $self->{waiters} };
    $self->_close( $_->{redis} ) for splice @{ $self->{idle} };
    $self->{reaper}->cancel if $self->{reaper} && !$self->{reaper}->is_ready;
    delete $self->{reaper};
    return;
}

# ----- internals ------------------------------------------------------------------------------

# Connections that count towards max: handed out, idle, and on their way (connecting, being
# checked or cleaned).
sub _total {
    my ($self) = @_;
    return keys( %{ $self->{active} } ) + @{ $self->{idle} } + $self->{opening} + $self->{checking} + $self->{cleaning};
}

# Give waiters what there is: idle connections (checked first when they idled long), then new
# connections while under max.
sub _dispatch {
    my ($self) = @_;
    return if $self->{dispatching};
    local $self->{dispatching} = 1;
    # The first demand warms the pool up to min (connected in the background; the first of
    # them serves the waiter).
    if ( !$self->{warm} && @{ $self->{waiters} } ) {
        $self->{warm} = 1;
        $self->_open while !$self->{closed} && $self->_total < $self->{min};
    }
    while ( !$self->{closed} ) {
        my $need = @{ $self->{waiters} } - $self->{opening} - $self->{checking};
        last if $need <= 0;
        if ( my $e = pop @{ $self->{idle} } ) {
            my $limit = $self->{health_check_idle};
            if ( defined $limit && Time::HiRes::time() - $e->{since} >= $limit ) {
                $self->_check( $e->{redis} );
            }
            else {
                $self->_hand_out( $e->{redis} );
            }
            next;
        }
        last if $self->_total >= $self->{max};
        $self->_open;
    }
    $self->_schedule_reap;
}

# A usable connection: to the first waiter, else idle. $state: its session_state, when the
# caller just asked.
sub _offer {
    my ( $self, $redis, $state ) = @_;
    return $self->_close($redis) if $self->{closed};
    $state //= $redis->session_state;
    if ( $state->{not_connected} || $self->{lost}{ Scalar::Util::refaddr($redis) } ) {
        delete $self->{lost}{ Scalar::Util::refaddr($redis) };
        return $self->_destroy( $redis, 1 );
    }
    if ( @{ $self->{waiters} } ) {
        return $self->_hand_out($redis);
    }
    push @{ $self->{idle} }, { redis => $redis, since => Time::HiRes::time() };
    $self->_schedule_reap;
}

sub _hand_out {
    my ( $self, $redis ) = @_;
    my $w = shift @{ $self->{waiters} };
    $self->{active}{ Scalar::Util::refaddr($redis) } = $redis;
    $w->done($redis);    # runs the waiter's code, which may release or acquire again
}

sub _new_client {
    my ($self) = @_;
    my $weak = $self;
    Scalar::Util::weaken($weak);
    my $user = $self->{on_disconnect};
    return Future::IO::Redis->new(
        %{ $self->{conn_opts} },
        on_disconnect => sub {
            my ( $redis, @rest ) = @_;
            $weak->_lost($redis) if $weak;
            $user->( $redis, @rest ) if $user;
        },
    );
}

sub _open {
    my ($self) = @_;
    my $redis = $self->_new_client;
    my $key   = Scalar::Util::refaddr($redis);
    $self->{opening}++;
    my $weak = $self;
    Scalar::Util::weaken($weak);
    $self->{work}{$key} = $redis->connect->on_ready( sub {
        my ($f) = @_;
        return unless $weak;
        $weak->{opening}--;
        delete $weak->{work}{$key};
        if ( $f->is_done ) {
            $weak->_offer($redis);
        }
        else {
            # The server cannot be reached: the first waiter learns why now, rather than at its
            # acquire_timeout (and the next one starts its own attempt).
            $redis->disconnect;
            if ( my $w = shift @{ $weak->{waiters} } ) {
                $w->fail( $f->failure );
            }
        }
        $weak->_dispatch;
    } );
}

# PING a connection that idled longer than health_check_idle before handing it out.
sub _check {
    my ( $self, $redis ) = @_;
    my $ping = $redis->command('PING');
    $self->_settle( $redis, checking => $ping, $PING_TIMEOUT, 'health check timed out',
        sub { ( $_[0]->get )[0] eq 'PONG' } );
}

# on_dirty => 'cleanup': wait for what is in flight (a PING behind it), then DISCARD and
# UNWATCH as the engine says they are needed; destroy the connection if that does not leave it
# clean within cleanup_timeout.
sub _cleanup {
    my ( $self, $redis ) = @_;
    my $steps = $redis->command('PING')->then( sub {
        my $state = $redis->session_state;
        my @f;
        push @f, $redis->command('DISCARD') if $state->{in_multi};
        push @f, $redis->command('UNWATCH') if $state->{watching};
        return @f ? Future->needs_all(@f) : Future->done;
    } );
    my $key = Scalar::Util::refaddr($redis);
    $self->_settle( $redis, cleaning => $steps, $self->{cleanup_timeout}, 'cleanup timed out',
        sub { !$redis->is_dirty && !$_[1]{lost}{$key} && ++$_[1]{cleaned} } );
}

# Work on $redis before it may be handed out again (a health check, a cleanup), counted in
# $self->{$counter} while it runs, failing with $why after $limit seconds (undef: no limit).
# Then the connection is offered if the work succeeded and $good->($future, $pool) agrees, and
# destroyed otherwise.
sub _settle {
    my ( $self, $redis, $counter, $work, $limit, $why, $good ) = @_;
    my $key = Scalar::Util::refaddr($redis);
    $self->{$counter}++;
    my $weak = $self;
    Scalar::Util::weaken($weak);
    my $f = defined $limit
      ? Future->wait_any( $work, Future::IO->sleep($limit)->then( sub { Future->fail($why) } ) )
      : $work;
    $self->{work}{$key} = $f->on_ready( sub {
        my ($f) = @_;
        return unless $weak;
        $weak->{$counter}--;
        delete $weak->{work}{$key};
        if ( $f->is_done && $good->( $f, $weak ) ) {
            $weak->_offer($redis);
        }
        else {
            delete $weak->{lost}{$key};
            $weak->_destroy( $redis, 1 );
        }
        $weak->_dispatch;
    } );
}

# A connection reported a disconnect: an idle one goes at once; one handed out goes at release.
sub _lost {
    my ( $self, $redis ) = @_;
    my $key = Scalar::Util::refaddr($redis);
    my $before = @{ $self->{idle} };
    @{ $self->{idle} } = grep { Scalar::Util::refaddr( $_->{redis} ) != $key } @{ $self->{idle} };
    if ( @{ $self->{idle} } < $before ) {
        $self->_destroy( $redis, 1 );
    }
    elsif ( $self->{active}{$key} || $self->{work}{$key} ) {
        $self->{lost}{$key} = 1;
    }
}

# Close a connection for good; $counted: it was destroyed (dirty, dead, failed its check), not
# merely surplus. Replaced at once when the pool is below min.
sub _destroy {
    my ( $self, $redis, $counted ) = @_;
    $self->{destroyed}++ if $counted;
    $self->_close($redis);
    if ( !$self->{closed} && $self->_total < $self->{min} && !@{ $self->{waiters} } ) {
        # A replacement, for the warm set; connected without waiting for anyone.
        $self->_open;
    }
}

sub _close {
    my ( $self, $redis ) = @_;
    delete $self->{lost}{ Scalar::Util::refaddr($redis) };
    $redis->disconnect;    # void context: closes now; commands still in flight fail
}

# Close idle connections above min once they idled idle_timeout.
sub _schedule_reap {
    my ($self) = @_;
    my $limit = $self->{idle_timeout};
    return if !defined $limit || $self->{reaper} || $self->{closed} || @{ $self->{idle} } <= $self->{min};
    my $weak = $self;
    Scalar::Util::weaken($weak);
    my $oldest = $self->{idle}[0]{since};
    my $wait   = $oldest + $limit - Time::HiRes::time();
    $self->{reaper} = Future::IO->sleep( $wait > 0 ? $wait : 0 )->on_done( sub {
        return unless $weak;
        delete $weak->{reaper};
        my $now = Time::HiRes::time();
        while ( @{ $weak->{idle} } > $weak->{min} && $weak->{idle}[0]{since} + $limit <= $now ) {
            my $e = shift @{ $weak->{idle} };
            $weak->_close( $e->{redis} );
        }
        $weak->_schedule_reap;
    } );
}

sub DESTROY {
    my ($self) = @_;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    $self->{reaper}->cancel if $self->{reaper} && !$self->{reaper}->is_ready;
}

1;

__END__

=head1 NAME

Future::IO::Redis::Pool - a pool of Future::IO::Redis connections that never hands out a dirty one

=head1 SYNOPSIS

    use Future::AsyncAwait;
    use Future::IO::Redis::Pool;

    my $pool = Future::IO::Redis::Pool->new(
        host => 'localhost', port => 6379,   # any Future::IO::Redis->new option
        min  => 2,  max => 10,
        acquire_timeout => 5,  idle_timeout => 60,
        on_dirty => 'destroy',               # or 'cleanup'
    );

    # Scoped (recommended): released even when the code dies.
    my $n = await $pool->with( async sub {
        my ($redis) = @_;
        await $redis->incr('counter');
    } );

    # By hand.
    my $redis = await $pool->acquire;
    await $redis->set( foo => 'bar' );
    $pool->release($redis);

    my $stats = $pool->stats;   # { active, idle, waiting, total, destroyed, ... }

=head1 DESCRIPTION

Hands out L<Future::IO::Redis> connections, at most C<max> at a time, and takes them back. A
connection comes back into the pool only when it is clean: the engine, which sees every
command and reply, reports its state (L<Future::IO::Redis/session_state>), and a connection
released inside MULTI, with keys WATCHed, with commands still in flight (a blocking one
included) or not connected is not handed to the next user as it is. By default it is closed and
replaced (C<< on_dirty => 'destroy' >>); with C<< on_dirty => 'cleanup' >> the pool waits for
what is in flight, sends DISCARD and UNWATCH as needed, and keeps it if that leaves it clean
within C<cleanup_timeout>. (Subscribed connections will count as dirty too; pub/sub belongs on
a dedicated client, not on a pooled one.)

Waiters are served first come, first served. Connections are opened on demand up to C<max>
(the first demand opens C<min> of them); idle connections above C<min> are closed after
C<idle_timeout>. A connection that reports a disconnect (a server restart, C<CLIENT KILL>) is
dropped from the pool at once when idle, or destroyed when released; an idle connection is
PINGed before it is handed out when it idled C<health_check_idle> seconds or more.

Every pooled connection has an C<on_disconnect> handler (the pool's, which calls yours), so the
event loop keeps watching the engine's descriptor while the pool holds connections.

=head1 CONSTRUCTOR

=head2 new

    my $pool = Future::IO::Redis::Pool->new( %connection_options, %pool_options );

Pool options (the rest go to L<Future::IO::Redis/new> for every connection; a bad one croaks
here, with the client's words):

=over

=item min (2) - connections kept open while idle; the first demand opens this many.

=item max (10) - connections at most, in use and idle together.

=item acquire_timeout (5) - seconds an C<acquire> waits for a connection before it fails with a
L<Future::IO::Redis::Error::Timeout> of C<kind> C<acquire>; undef waits for ever.

=item idle_timeout (60) - seconds after which an idle connection above C<min> is closed; undef
keeps them.

=item on_dirty ('destroy') - what C<release> does with a dirty connection: C<'destroy'> closes
it (commands still in flight on it fail), C<'cleanup'> cleans it as described above.

=item cleanup_timeout (5) - seconds a cleanup may take before the connection is destroyed
instead (a BLPOP left waiting never drains).

=item health_check_idle (1) - an idle connection is PINGed (1 second allowed) before it is
handed out when it idled at least this long; 0 checks every time, undef never. A connection
that fails its check is destroyed and the next one tried.

=back

=head1 METHODS

=head2 acquire

    my $redis = await $pool->acquire;

Resolves to a connected client for your use alone, until you C<release> it. Fails with a
L<Future::IO::Redis::Error::Timeout> (C<< kind => 'acquire' >>) when none came free within
C<acquire_timeout>, or with the connection error when a new connection could not be made.
Cancelling the Future gives its place in the queue up.

=head2 release

    $pool->release($redis);

Gives a connection back: clean, it serves the next waiter or idles; dirty or lost, it is
destroyed (or cleaned, see C<on_dirty>). Croaks for a client this pool did not hand out, or one
released twice. Do not use C<$redis> afterwards.

=head2 with

    my $result = await $pool->with( async sub { my ($redis) = @_; ...; return $result } );

Acquires a connection, runs the code with it and releases it however the code ends; resolves
to what the code returned, or fails with what it died with. Cancelling the returned Future
releases the connection (a command still in flight makes it dirty). The connection is released
before the code that awaits the result resumes, so that code may acquire again at once. When a
connection is idle, it is handed to the code at once (no waiting Future, no timer): the pool's
own work per call is a fraction of one round trip to the server.

=head2 stats

    my $s = $pool->stats;

A hash ref: C<active> (handed out), C<idle>, C<waiting> (acquires queued), C<total> (active +
idle), C<destroyed> (closed because dirty, lost or unhealthy; not counting idle shrinking),
C<cleaned>, C<opening> and C<checking> (connections on their way: connecting, being
health-checked or cleaned), C<acquires> (acquires that got a connection), C<acquire_wait_total>
and C<acquire_wait_max> (seconds those acquires waited, summed and the longest). With the
connection options C<otel_meter> or C<metrics> (see L<Future::IO::Redis::Telemetry>), each
acquire's wait is also recorded in the histogram C<redis.pool.acquire.duration>; the connections
report their own metrics, spans and debug lines as single clients do.

=head2 min, max

    printf "between %d and %d connections\n", $pool->min, $pool->max;

The C<min> and C<max> the pool was made with.

=head2 shutdown

    $pool->shutdown;

Fails every waiting C<acquire>, closes the idle connections, and closes the others as they are
released. Later C<acquire>s fail.

=head1 FORK

A pool built before a fork (a prefork server) can be used in the parent and in every child. In
a child, each connection it hands out opens a server connection of the child's own on first
use; the parent's connections are never read, written or closed by a child, so the parent's
pool keeps them (C<t/90-pool/fork.t>).

=cut

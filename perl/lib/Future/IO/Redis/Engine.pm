package Future::IO::Redis::Engine 0.001;
use v5.14;
use warnings;

# The Perl half of this interpreter's engine: the XS object of this class wraps a Rust engine
# (a mio Poll over every connection's socket, a timer and a wake-up source). Its Poll fd is the
# one descriptor the event loop watches, through one pending Future::IO wait (the pump); when it
# is readable, one XS call (deliver) runs an engine turn and hands every completion to what
# waits for it. Internal to Future::IO::Redis.
#
# XS methods (perl/Redis.xs): new, DESTROY, CLONE_SKIP, fd, pid, is_running, busy,
# external_timeout, wait_readable, guard_fd, unguard_fd, outstanding, open, connect, close,
# release, submit, submit_batch, deliver, fail_orphans.

use Carp ();
use Future;
use Future::IO;
use Scalar::Util ();
use Future::IO::Redis::Error;

require Future::IO::Redis;

our $ENGINE;         # the XS engine of this interpreter
our $PID = -1;       # process that owns $ENGINE
our $GENERATION = 0; # bumped whenever a new engine starts (after a fork or a crash)
our $FH;             # our duplicate of the engine's fd (the Poll fd), which the pump waits on
our $PUMP;           # the pending wait on $FH, if any (see arm)
our $PROTO;          # a Future of the class the running Future::IO makes (see new_future)
our %CLIENTS;        # conn id => client (weak), for connection events
our $WATCHERS = 0;   # clients that want events even when no command is pending

# The engine of this process, started on first use and restarted in a fork child.
sub engine {
    return $ENGINE if $ENGINE && $PID == $$;
    return _start();
}

sub _start {
    if ( $ENGINE && $PID != $$ ) {
        # A fork child. At the fork, the engine's descriptors were closed in the child and our
        # copy of the engine's fd was pointed at a pipe nobody writes, so nothing here can
        # touch the parent's connections or see its readiness. The requests that were waiting
        # belong to the parent: fail them here, and forget its engine (whose DESTROY leaks it
        # rather than touch the parent's epoll set).
        _fail_everything( Future::IO::Redis::Error::Connection->new(
            message => 'the process forked while this command waited; its reply belongs to the parent',
            reason  => 'fork',
        ) );
        %CLIENTS  = ();
        $WATCHERS = 0;
        _close_fh();
        undef $ENGINE;
    }
    _close_fh();
    $ENGINE = Future::IO::Redis::Engine->new;
    $PID    = $$;
    $GENERATION++;
    my $fd = $ENGINE->fd;
    open( my $fh, '<&', $fd ) or Carp::croak("Future::IO::Redis: cannot dup the engine's fd ($fd): $!");
    $ENGINE->guard_fd( fileno $fh );
    $FH = $fh;
    return $ENGINE;
}

# A new Perl thread (ithreads) starts with copies of this interpreter's state, but the engine is
# not copied (CLONE_SKIP: the copy is an empty placeholder) and the copied Futures belong to the
# parent. Forget them all; the new thread's first command starts an engine of its own, and its
# copies of existing clients reconnect on it, as in a fork child. Called from the XS CLONE.
#
# The copied wait on the parent's fd is cancelled only under Future::IO's default
# implementation, whose state is plain Perl data (its one reader slot must be freed). Other event
# loops may share kernel objects with the parent (an epoll descriptor is per process, not per
# thread), so their copies are left alone: a thread runs its own loop.
sub _cloned {
    $PUMP->cancel if $PUMP && !$PUMP->is_ready && ( $Future::IO::IMPL // '' ) eq 'Future::IO::_DefaultImpl';
    %CLIENTS  = ();
    $WATCHERS = 0;
    undef $PUMP;
    undef $PROTO;
    undef $FH;
    undef $ENGINE;
    $PID = -1;
    $GENERATION++;
    return;
}

# Stop waiting on the engine's fd and let go of our copy of it. The pending wait is cancelled
# first: Future::IO's default implementation keeps its one reader until then (and refuses a
# second one). The handle is not closed explicitly: an event loop may still hold it (IO::Async
# keeps its watched handles), and closing a descriptor under it would leave it watching a number
# that gets reused; the last reference closes it.
sub _close_fh {
    _stop_pump();
    return unless $FH;
    $ENGINE->unguard_fd( fileno $FH ) if $ENGINE && $PID == $$;
    undef $FH;
}

sub _stop_pump {
    my $pump = $PUMP;
    undef $PUMP;
    undef $PROTO;
    $pump->cancel if $pump && !$pump->is_ready;
}

# A new pending Future of the class Future::IO's implementation uses (so that `->get` and
# `await` drive the event loop).
sub new_future {
    return ( $PROTO // arm() )->new;
}

# Make sure something waits on the engine's fd; returns the pump future.
#
# The wait uses the readiness primitive the running Future::IO offers, chosen each time the
# implementation changes (it may be loaded after this module):
#   - Future::IO->poll($fh, POLLIN), in Future::IO versions that have it;
#   - the implementation's ready_for_read($fh), which Future::IO::ImplBase documents as the
#     method every implementation provides (Future::IO 0.13, as Debian 12 ships it).
# The engine's fd is an epoll descriptor: it has nothing to read, so Future::IO->sysread cannot
# wait on it.
#
# Future::IO's default implementation reports its one pending reader ready without asking the
# kernel when nothing else (a timer, a writer) waits, expecting the read that follows to block.
# Under it the pump blocks in poll(2) on the fd before the turn, as that read would have.
#
# Where the engine's timer cannot make its fd readable (no timerfd: systems other than Linux),
# the pump also wakes after external_timeout seconds (the next deadline, at most 0.1 s).
my ( $WAIT_IMPL, $WAIT, $BLOCK_FIRST );    # the implementation the wait was chosen for, the wait

sub _choose_wait {
    # Future::IO itself falls back to its default implementation when none was set (without
    # setting one here, so that an event loop loaded later can still install its own).
    my $impl = $Future::IO::IMPL // 'Future::IO::_DefaultImpl';
    if ( Future::IO->can('poll') ) {
        require IO::Poll;
        my $pollin = IO::Poll::POLLIN();
        $WAIT = sub { Future::IO->poll( $_[0], $pollin ) };
    }
    elsif ( defined $impl && $impl->can('ready_for_read') ) {
        $WAIT = sub { $impl->ready_for_read( $_[0] ) };
    }
    else {
        Carp::croak( "Future::IO::Redis: the Future::IO implementation $impl"
              . ' offers neither poll nor ready_for_read, which the engine needs to wait on its descriptor' );
    }
    $BLOCK_FIRST = $impl eq 'Future::IO::_DefaultImpl';
    $WAIT_IMPL = $Future::IO::IMPL;
    undef $PROTO;
}

sub arm {
    return $PUMP if $PUMP;
    engine() unless $FH;
    _choose_wait() unless $WAIT && ( $WAIT_IMPL // '' ) eq ( $Future::IO::IMPL // '' );
    my $f = $WAIT->($FH);
    my $tick = $ENGINE->external_timeout;
    $f = Future->wait_any( $f, Future::IO->sleep($tick) ) if $tick >= 0;
    $PUMP = $PROTO = $f;
    $f->on_ready( \&_on_ready );
    return $f;
}

sub _on_ready {
    my ( $f ) = @_;
    return if $f->is_cancelled;    # _stop_pump
    # Only the current wait counts: a stale one (a new thread's copy of its parent's wait, left
    # to the copied event loop by _cloned) must not turn this interpreter's engine.
    return unless $PUMP && $PUMP == $f;
    undef $PUMP;
    return unless $ENGINE;
    if ( $f->is_failed ) {
        my ( $why ) = $f->failure;
        _engine_failed("waiting on the engine's fd failed: $why");
        return;
    }
    $ENGINE->wait_readable( $ENGINE->external_timeout ) if $BLOCK_FIRST;
    dispatch();
    arm() if !$PUMP && $ENGINE && ( $WATCHERS || $ENGINE->busy );
}

# Run an engine turn and hand every completion to its Future (a pipeline's batch completes as
# one, with all its replies), or to its client for connection events: see deliver in
# perl/Redis.xs.
sub dispatch {
    _engine_failed('the engine stopped after an internal error') if $ENGINE->deliver( \%CLIENTS ) < 0;
}

# Fail every Future that waits on the engine (single commands and pipeline batches).
sub _fail_everything {
    my ($err) = @_;
    $ENGINE->fail_orphans($err) if $ENGINE;
}

# The engine is unusable (an internal error poisoned it): fail everything that waits and start
# afresh on next use.
sub _engine_failed {
    my ( $why ) = @_;
    my @clients = grep { defined } values %CLIENTS;
    %CLIENTS = ();
    # Deliver what the engine completed before it stopped, then fail the rest.
    eval { $ENGINE->deliver( {} ) } if $ENGINE;
    _fail_everything( Future::IO::Redis::Error::Connection->new( message => "Future::IO::Redis: $why" ) );
    _close_fh();
    undef $ENGINE;
    $PID = -1;
    $GENERATION++;    # every client's connection id is stale now
    $_->_engine_lost for @clients;
}

sub register_client {
    my ( $conn, $client ) = @_;
    $CLIENTS{$conn} = $client;
    Scalar::Util::weaken( $CLIENTS{$conn} );
}

sub unregister_client {
    my ( $conn ) = @_;
    delete $CLIENTS{$conn};
}

# Keep the pump armed while clients want events delivered promptly.
sub watch   { $WATCHERS++; arm() }
sub unwatch { $WATCHERS-- if $WATCHERS > 0 }

1;

__END__

=head1 NAME

Future::IO::Redis::Engine - the engine behind Future::IO::Redis, turned by the event loop (internal)

=head1 DESCRIPTION

Every L<Future::IO::Redis> client of an interpreter shares one engine: a Rust engine that owns
all sockets and deadlines, with one descriptor (its epoll fd) for the event loop to watch. There
is no IO thread. While anything is outstanding (commands, connects, reconnect back-off, or a
client with connection callbacks), exactly one wait on that descriptor is pending through L<Future::IO> (the "pump");
when it fires, one XS call runs an engine turn (read, decode, write, expire deadlines, without
waiting) and delivers every completion to the Future waiting for it. A command for an idle
connection is written by the call that submits it. Because there is only ever one pending
filehandle, this works under Future::IO's default implementation (which cannot wait on two) as
well as under IO::Async, UV, AnyEvent and the others.

On Linux a timerfd makes the descriptor readable at the earliest deadline. Elsewhere the pump
also wakes after the next deadline, at most 0.1 s apart while the engine is busy.

After a C<fork>, the child starts a fresh engine the first time it uses a client; commands
that were waiting in the parent fail in the child with a C<Connection> error.

This module has no public API.

=cut

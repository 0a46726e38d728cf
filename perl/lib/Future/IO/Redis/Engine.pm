package Future::IO::Redis::Engine 0.001;
use v5.14;
use warnings;

# The Perl half of this interpreter's engine: the XS object of this class wraps a Rust engine
# (a mio Poll over every connection's socket, a timer and a wake-up source). Its Poll fd is the
# one descriptor the event loop watches, through one pending Future::IO wait (the pump); when it
# is readable, one XS call (deliver) runs an engine turn and hands every completion to what
# waits for it. Internal to Future::IO::Redis.
#
# Clients use the functions below and nothing else of this package: open_connection,
# is_current, command, batch, connect_connection, close_connection, release_connection,
# session_state, inflight_count, new_future.
# A connection is named by its id and the engine generation it was opened on; a function given
# a connection that is not open on the current engine (first use, a fork child, a new engine)
# returns undef, and the client opens it again. The engine reaches a client only through the
# event handler the client registered (a code reference), never by a method name.
#
# XS methods (perl/Redis.xs): new, DESTROY, CLONE_SKIP, fd, pid, is_running, busy,
# external_timeout, guard_fd, unguard_fd, open, connect, close,
# release, conn_state, conn_pending, submit, submit_batch, deliver, fail_orphans.

use Carp ();
use Future;
use Future::IO;
use Scalar::Util ();
use Future::IO::Redis::Error;

require Future::IO::Redis;

# A croak for a caller's mistake (an undef or reference argument, refused by submit) names the
# caller's line, not a line of the client or of this module.
our @CARP_NOT = qw( Future::IO::Redis Future::IO::Redis::Pipeline Future::IO::Redis::Iterator Future::IO::Redis::Commands );

our $ENGINE;         # the XS engine of this interpreter
our $PID = -1;       # process that owns $ENGINE
our $GENERATION = 0; # bumped whenever a new engine starts (after a fork or a crash)
our $FH;             # our duplicate of the engine's fd (the Poll fd), which the pump waits on
our $PUMP;           # the pending wait on $FH, if any (see arm)
our ( $IOA_LOOP, $IOA_FH, $IOA_WAIT );    # IO::Async: the loop, the handle it watches, the wait (see _ioasync_wait)
our $IOA_PUMP;       # IO::Async: the pump while the watch turns the engine itself (see arm)
our $PROTO;          # a Future of the class the running Future::IO makes (see new_future)
our %HANDLERS;       # conn id => the client's event handler (a code reference)
our %MESSAGES;       # conn id => its subscription's message handler (subscribe mode)
our %WATCHING;       # conn ids whose client wants events even when no command is pending
our $WATCHERS = 0;   # how many (keeps the pump armed)
our @AFTER_DELIVERY; # code to run once the current delivery is over (after_delivery)
our $TICKING;        # the engine's timer cannot wake its fd (no timerfd): the pump also sleeps

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
        %HANDLERS = ();
        %WATCHING = ();
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
    $FH      = $fh;
    $TICKING = $ENGINE->external_timeout >= 0;
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
    # Forget the copied engine and wait first: cancelling runs the wait's callbacks.
    my $pump = $PUMP;
    undef $PUMP;
    undef $ENGINE;
    $pump->cancel if $pump && !$pump->is_ready && ( $Future::IO::IMPL // '' ) eq 'Future::IO::_DefaultImpl';
    %HANDLERS = ();
    %MESSAGES = ();
    %WATCHING = ();
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
    if ( $IOA_FH && $IOA_LOOP ) {
        $IOA_LOOP->unwatch_io( handle => $IOA_FH, on_read_ready => 1 );
        undef $IOA_FH;
    }
    return unless $FH;
    $ENGINE->unguard_fd( fileno $FH ) if $ENGINE && $PID == $$;
    undef $FH;
}

sub _stop_pump {
    my $pump = $PUMP;
    undef $PUMP;
    undef $PROTO;
    # IO::Async's standing pump is never completed nor cancelled: forgetting it is enough (the
    # watch goes the next time it fires).
    $pump->cancel if $pump && !$pump->is_ready && !( $IOA_PUMP && $pump == $IOA_PUMP );
}

# ----- the functions clients use ------------------------------------------------------------

# Open a connection on this interpreter's engine (starting the engine if needed). $on_event
# receives each connection event as a hash ref ({ event => 'connected' | 'disconnected' |
# 'error' | 'engine_lost', ... }); with $wants_events the events are delivered even while no
# command waits. Returns the connection id and the engine generation. Croaks if the options are
# refused (the message says which).
sub open_connection {
    my ( $opts, $on_event, $wants_events ) = @_;
    my $engine = engine();
    my ( $conn, $rc ) = $engine->open($opts);
    Carp::croak("Future::IO::Redis: the engine refused a new connection (status $rc)") unless $conn;
    $HANDLERS{$conn} = $on_event if $on_event;
    if ($wants_events) {
        $WATCHING{$conn} = 1;
        $WATCHERS++;
        arm();
    }
    return ( $conn, $GENERATION );
}

# Messages of connection $conn (subscribe mode) go to $code->(\%message), the hash of
# Future::IO::Redis::Subscription's `next` (undef: dropped). Keeps the pump armed: messages come unasked.
sub set_message_handler {
    my ( $conn, $gen, $code ) = @_;
    return unless is_current($gen);
    if ($code) { $MESSAGES{$conn} = $code }
    else       { delete $MESSAGES{$conn} }
    arm();
}

# Whether a connection opened on engine generation $gen is open on this process's engine.
sub is_current {
    return $_[0] == $GENERATION && $PID == $$ && $ENGINE ? 1 : 0;
}

# Send one command (its words as arguments) on connection $conn of generation $gen: a Future of
# its reply, or undef when the connection is not open on the current engine. The hot path of
# every command method.
sub command {
    my $conn = shift;
    # A fork child's copy of the engine refuses the submission (no need to ask for the pid on
    # this path: that is a system call).
    return undef unless shift == $GENERATION && $ENGINE;
    my $f = ( $PROTO // arm() )->new;
    if ( my $rc = $ENGINE->submit( $conn, $f, -1, @_ ) ) {
        return _refused($rc);
    }
    $PUMP // arm();
    return $f;
}

# Send a pipeline's commands ([ @words ], ...) together: one Future of the array of their
# results in order (an error object in the place of a command that failed), or undef when the
# connection is not open on the current engine.
sub batch {
    my ( $conn, $gen, $commands ) = @_;
    return undef unless $gen == $GENERATION && $ENGINE;
    my $f = new_future();
    if ( my $rc = $ENGINE->submit_batch( $conn, $f, $commands ) ) {
        return _refused($rc);
    }
    $PUMP // arm();
    return $f;
}

# Connect (a Future that completes when the connection is ready); undef when the connection is
# not open on the current engine.
sub connect_connection { _control( 'connect', @_ ) }

# Close now: the engine closes the socket in this call; what waited on the connection fails at
# the next turn. True, or undef when the connection is not open on the current engine.
sub close_connection {
    my ( $conn, $gen ) = @_;
    return undef unless is_current($gen);
    if ( my $rc = $ENGINE->close( $conn, undef ) ) {
        return _refused($rc);
    }
    arm();
    return 1;
}

sub _control {
    my ( $what, $conn, $gen ) = @_;
    return undef unless is_current($gen);
    my $f = new_future();
    if ( my $rc = $ENGINE->$what( $conn, $f ) ) {
        return _refused($rc);
    }
    arm();
    return $f;
}

# The client let go of its connection: commands already sent still complete, then it closes.
sub release_connection {
    my ( $conn, $gen ) = @_;
    return unless is_current($gen);
    delete $HANDLERS{$conn};
    delete $MESSAGES{$conn};
    $WATCHERS-- if delete $WATCHING{$conn} && $WATCHERS > 0;
    $ENGINE->release($conn);
}

# What of connection $conn's state its next user would not expect, as the engine tracks it: a
# hash ref of booleans (in_multi, watching, subscribed, pending, blocking, not_connected), or
# undef when the connection is not open on the current engine.
sub session_state {
    my ( $conn, $gen ) = @_;
    return undef unless $conn && is_current($gen);
    return $ENGINE->conn_state($conn);
}

# How many of connection $conn's commands have no reply yet: written ones plus those not written
# yet (waiting for the connection, for room under pipeline_depth, or out a retry delay); undef
# when the connection is not open on the current engine.
sub inflight_count {
    my ( $conn, $gen ) = @_;
    return undef unless $conn && is_current($gen);
    my ( $sent, $waiting ) = $ENGINE->conn_pending($conn);
    return defined $sent ? $sent + $waiting : undef;
}

# The engine refused a submission: in a fork child the engine is the parent's (the caller opens
# the connection again, on a new engine); in this process only an internal error does that
# (the engine is replaced, and the caller opens the connection again on the new one).
sub _refused {
    my ($rc) = @_;
    _engine_failed("the engine refused work (status $rc)") if $PID == $$;
    return undef;
}

# ----- the pump and delivery ----------------------------------------------------------------

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
# The implementation the wait was chosen for; the wait: $WAIT->($WAIT_SELF, $fh) (a method of
# the implementation where it has one, so that arming calls it directly); whether the pump
# blocks before the turn; whether the pump is IO::Async's standing one (see arm).
my ( $WAIT_IMPL, $WAIT, $WAIT_SELF, $BLOCK_FIRST, $STANDING );

sub _choose_wait {
    # Future::IO itself falls back to its default implementation when none was set (without
    # setting one here, so that an event loop loaded later can still install its own).
    my $impl = $Future::IO::IMPL // 'Future::IO::_DefaultImpl';
    $WAIT_SELF = $impl;
    $STANDING  = 0;
    if ( Future::IO->can('poll') ) {
        require IO::Poll;
        my $pollin = IO::Poll::POLLIN();
        $WAIT = sub { Future::IO->poll( $_[1], $pollin ) };
    }
    elsif ( $impl eq 'Future::IO::Impl::IOAsync' ) {
        $WAIT     = \&_ioasync_wait;
        $STANDING = !$TICKING;
    }
    elsif ( defined $impl && ( $WAIT = $impl->can('ready_for_read') ) ) {
        # called as $impl->ready_for_read($fh)
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
    if ($STANDING) {
        # Under IO::Async the engine's own watch runs the turn when the fd is readable and a
        # pump is armed (_ioasync_ready): the pump is a standing pending Future of the loop,
        # which only marks "armed" and makes the commands' Futures (no Future per wake-up).
        _ioasync_watch($FH);
        $IOA_PUMP = $IOA_LOOP->new_future if !$IOA_PUMP || $IOA_PUMP->is_ready;
        return $PUMP = $PROTO = $IOA_PUMP;
    }
    my $f = $WAIT->( $WAIT_SELF, $FH );
    $f = Future->wait_any( $f, Future::IO->sleep( $ENGINE->external_timeout ) ) if $TICKING;
    $PUMP = $PROTO = $f;
    $f->on_ready( \&_turn );
    return $f;
}

# Under IO::Async the pump waits through a watch of its own on the loop, not through
# Future::IO::Impl::IOAsync's ready_for_read, which completes its waiter before it forgets it: a
# loop run nested in that completion (code of the delivery that waits synchronously, ->get) finds
# the fd readable, completes the same waiter again and dies ("already done"). Here the wait is
# forgotten before it is completed, so a nested loop completes the next one; and the watch stays
# on the loop from one turn to the next (no watch and unwatch per turn). It goes when it fires
# with nothing waiting (the engine was idle), or when the handle changes.
#
# Where the engine's fd has no timer (no timerfd), the wait is a Future (completed by the watch)
# that arm combines with a sleep; with a timerfd there is no Future per wait (see arm).
sub _ioasync_wait {
    my ( undef, $fh ) = @_;
    _ioasync_watch($fh);
    my $f = $IOA_WAIT //= $IOA_LOOP->new_future;
    $f->on_cancel( sub { undef $IOA_WAIT if $IOA_WAIT && $IOA_WAIT == $f } );
    return $f;
}

sub _ioasync_watch {
    my ($fh) = @_;
    $IOA_LOOP //= IO::Async::Loop->new;
    return if $IOA_FH && $IOA_FH == $fh;
    $IOA_LOOP->unwatch_io( handle => $IOA_FH, on_read_ready => 1 ) if $IOA_FH;
    $IOA_FH = $fh;
    $IOA_LOOP->watch_io( handle => $fh, on_read_ready => \&_ioasync_ready );
}

sub _ioasync_ready {
    return _turn($PUMP) if $PUMP && $IOA_PUMP && $PUMP == $IOA_PUMP;
    my $f = $IOA_WAIT;
    undef $IOA_WAIT;
    if ( !$f ) {    # nothing waits: stop watching until the next wait
        $IOA_LOOP->unwatch_io( handle => $IOA_FH, on_read_ready => 1 ) if $IOA_FH;
        undef $IOA_FH;
        return;
    }
    $f->done;
}

# The pump's wait is over: run a turn.
sub _turn {
    my ( $f ) = @_;
    # Only the current wait counts: not one cancelled by _stop_pump (which forgets it first),
    # nor a stale one (a new thread's copy of its parent's wait, left to the copied event loop
    # by _cloned), which must not turn this interpreter's engine.
    return unless $PUMP && $PUMP == $f && $ENGINE;
    undef $PUMP;
    if ( $f->is_failed ) {
        my ( $why ) = $f->failure;
        _engine_failed("waiting on the engine's fd failed: $why");
        return;
    }
    _engine_failed('the engine stopped after an internal error')
      if $ENGINE->deliver( \%HANDLERS, \%MESSAGES, $BLOCK_FIRST ? ( $TICKING ? $ENGINE->external_timeout : -1 ) : -2 ) < 0;
    _after_delivery() if @AFTER_DELIVERY;
    arm() if !$PUMP && $ENGINE && ( $WATCHERS || $ENGINE->busy );
}

# Code to run once the current delivery is over: lets a consumer of many completions of one
# turn be woken once, after all of them arrived (see Subscription's next).
sub after_delivery { push @AFTER_DELIVERY, $_[0]; return }

sub _after_delivery {
    while ( my @run = splice @AFTER_DELIVERY ) {
        for my $cb (@run) {
            local $@;
            eval { $cb->(); 1 } or warn "Future::IO::Redis: code run after delivering replies died: $@";
        }
    }
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
    my @handlers = values %HANDLERS;
    %HANDLERS = ();
    %MESSAGES = ();
    %WATCHING = ();
    $WATCHERS = 0;
    # Deliver what the engine completed before it stopped, then fail the rest.
    eval { $ENGINE->deliver( {}, {} ) } if $ENGINE;
    _after_delivery();
    _fail_everything( Future::IO::Redis::Error::Connection->new( message => "Future::IO::Redis: $why" ) );
    _close_fh();
    undef $ENGINE;
    $PID = -1;
    $GENERATION++;    # every client's connection id is stale now
    for my $h (@handlers) {
        eval { $h->( { event => 'engine_lost' } ); 1 } or warn "Future::IO::Redis: an event handler died: $@";
    }
}

1;

__END__

=head1 NAME

Future::IO::Redis::Engine - the engine behind Future::IO::Redis, turned by the event loop (internal)

=head1 DESCRIPTION

Every L<Future::IO::Redis> client of an interpreter shares one engine: a Rust engine that owns
all sockets and deadlines, with one descriptor (its epoll fd) for the event loop to watch. There
is no IO thread. While anything is outstanding (commands, connects, reconnect back-off, or a
client with connection callbacks), exactly one wait on that descriptor is pending through L<Future::IO> (the "pump";
under IO::Async, a watch of the engine's own on the loop, which stays between turns);
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

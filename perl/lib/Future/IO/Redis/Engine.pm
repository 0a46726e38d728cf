package Future::IO::Redis::Engine 0.001;
use v5.14;
use warnings;

# The Perl half of the process-wide engine: one IO thread (the XS object of this class wraps
# it), one notify pipe, and one pump that waits on it through Future::IO and dispatches every
# completion to the Future waiting for it. Internal to Future::IO::Redis.

use Carp ();
use Future;
use Future::IO;
use Scalar::Util ();
use Future::IO::Redis::Error;

# XS methods (perl/Redis.xs): new, DESTROY, CLONE_SKIP, notify_fd, pid, is_running, open,
# connect, close, release, submit, submit_many, drain.
require Future::IO::Redis;

our $ENGINE;       # the XS engine of this process
our $PID = -1;     # process that owns $ENGINE
our $GENERATION = 0; # bumped whenever a new engine starts (after a fork or a crash)
our $NOTIFY_FH;    # dup of the notify pipe's read end
our $PUMP;         # the pending Future::IO->sysread on $NOTIFY_FH, if any
our $TOKEN = 0;    # last token handed out
our %PENDING;      # token => Future
our %CLIENTS;      # conn id => client (weak), for connection events
our $WATCHERS = 0; # clients that want events even when no command is pending

# Status codes of drain().
use constant { ST_OK => 0, ST_FAILED => 1, ST_EVENT => 2, ST_DONE => 3 };

# The engine of this process, started on first use and restarted in a fork child.
sub engine {
    return $ENGINE if $PID == $$ && $ENGINE;
    return _start();
}

sub _start {
    if ( $ENGINE && $PID != $$ ) {
        # A fork child: the parent's requests are not ours to wait for, and its engine's file
        # descriptors were closed at fork time. Forget all of it (the XS DESTROY leaks the
        # parent's engine rather than touch its thread).
        my @orphans = values %PENDING;
        %PENDING = ();
        %CLIENTS = ();
        $WATCHERS = 0;
        undef $PUMP;
        close $NOTIFY_FH if $NOTIFY_FH;
        undef $NOTIFY_FH;
        undef $ENGINE;
        my $err = Future::IO::Redis::Error::Connection->new(
            message => 'the process forked while this command waited; its reply belongs to the parent',
            reason  => 'fork',
        );
        $_->fail($err) for grep { !$_->is_ready } @orphans;
    }
    $ENGINE = Future::IO::Redis::Engine->new;
    $PID = $$;
    $GENERATION++;
    my $fd = $ENGINE->notify_fd;
    open( my $fh, '<&', $fd ) or Carp::croak("Future::IO::Redis: cannot dup the notify pipe (fd $fd): $!");
    binmode $fh;
    $NOTIFY_FH = $fh;
    return $ENGINE;
}

sub next_token { return ++$TOKEN }

# A new pending Future for $token, of the class Future::IO's implementation uses (so that
# `->get` and `await` drive the event loop).
sub pending_future {
    my ( $token ) = @_;
    my $f = ( $PUMP // arm() )->new;
    $PENDING{$token} = $f;
    return $f;
}

# Make sure a sysread waits on the notify pipe; returns the pump future.
sub arm {
    return $PUMP if $PUMP;
    engine() unless $NOTIFY_FH && $PID == $$;
    my $f = Future::IO->sysread( $NOTIFY_FH, 4096 );
    $PUMP = $f;
    $f->on_ready( \&_on_notify );
    return $f;
}

sub _on_notify {
    my ( $f ) = @_;
    undef $PUMP if $PUMP && $PUMP == $f;
    return unless $PID == $$ && $ENGINE;
    if ( $f->is_failed ) {
        my ( $why ) = $f->failure;
        _engine_failed("reading the engine's notify pipe failed: $why");
        return;
    }
    dispatch();
    arm() if !$PUMP && ( %PENDING || $WATCHERS );
}

# Hand every waiting completion to its Future (or client, for connection events).
sub dispatch {
    my @c = $ENGINE->drain;
    for ( my $i = 0 ; $i < @c ; $i += 4 ) {
        my $status = $c[ $i + 2 ];
        if ( $status == ST_EVENT ) {
            my $client = $CLIENTS{ $c[$i] } or next;
            $client->_on_event( $c[ $i + 3 ] );
            next;
        }
        my $f = delete $PENDING{ $c[ $i + 1 ] } or next;
        next if $f->is_ready;    # cancelled by its owner
        if ( $status == ST_FAILED ) {
            $f->fail( $c[ $i + 3 ] );
        }
        else {
            $f->done( $c[ $i + 3 ] );
        }
    }
    _engine_failed('the engine stopped') unless $ENGINE->is_running;
}

# The IO thread is gone: fail everything that waits and start afresh on next use.
sub _engine_failed {
    my ( $why ) = @_;
    my @waiting = values %PENDING;
    %PENDING = ();
    undef $PUMP;
    undef $ENGINE;
    $PID = -1;
    my $err = Future::IO::Redis::Error::Connection->new( message => "Future::IO::Redis: $why" );
    $_->fail($err) for grep { !$_->is_ready } @waiting;
    $_->_engine_lost for grep { defined } values %CLIENTS;
    %CLIENTS = ();
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

Future::IO::Redis::Engine - the process-wide IO engine behind Future::IO::Redis (internal)

=head1 DESCRIPTION

Every L<Future::IO::Redis> client of a process shares one engine: a Rust IO thread that owns
all sockets and timers, and one notify pipe. While anything is outstanding, exactly one
C<< Future::IO->sysread >> waits on that pipe (the "pump"); when it fires, every completion is
drained in one XS call and handed to the Future waiting for it. Because there is only ever one
pending filehandle, this works under Future::IO's default implementation (which cannot wait on
two) as well as under IO::Async, UV, AnyEvent and the others.

After a C<fork>, the child starts a fresh engine the first time it uses a client; commands
that were waiting in the parent fail in the child with a C<Connection> error.

This module has no public API.

=cut

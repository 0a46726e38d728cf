package Test::FIORedis;

# Helpers shared by the test suite: the event loop under test, servers, clients.
#
#   use Test::FIORedis;                  # loads Test2::V0-compatible helpers, not Test2 itself
#   my $srv   = start_server();          # a private redis-server (Test::FIORedis::Server)
#   my $redis = client($srv, %opts);     # a Future::IO::Redis connected to it (not yet connected)
#   my $v     = run(async sub { ... });  # runs a Future to completion on the loop under test
#
# The loop under test is Future::IO's default implementation, unless FIOR_LOOP=ioasync, which
# loads Future::IO::Impl::IOAsync first. t/92-concurrency/event-loops.t runs selected test files
# under both.

use strict;
use warnings;

use Exporter 'import';
use Future;
use Time::HiRes ();
use Test::FIORedis::Server;

our @EXPORT = qw( start_server client run loop_name error_of wait_until later first_mismatch in_child );

my $LOOP;

BEGIN {
    my $want = $ENV{FIOR_LOOP} // 'default';
    if ( $want eq 'ioasync' ) {
        require IO::Async::Loop;
        require Future::IO::Impl::IOAsync;
        $LOOP = IO::Async::Loop->new;
    }
    elsif ( $want ne 'default' ) {
        die "FIOR_LOOP must be 'default' or 'ioasync', not '$want'\n";
    }
}

use Future::IO::Redis;

sub loop_name { $LOOP ? 'ioasync' : 'default' }

sub start_server { Test::FIORedis::Server->start(@_) }

sub client {
    my ( $srv, %opts ) = @_;
    my %addr = $srv->path && !$srv->port ? ( path => $srv->path ) : ( host => '127.0.0.1', port => $srv->port );
    return Future::IO::Redis->new( %addr, %opts );
}

# Run a Future (or an async sub) to completion on the loop under test, with a safety timeout so
# that a bug fails the test instead of hanging it. Returns the result (dies on failure).
sub run {
    my ( $what, $timeout ) = @_;
    my $f = ref $what eq 'CODE' ? $what->() : $what;
    $timeout //= 60;
    my $guard = Future::IO->sleep($timeout)->then( sub { Future->fail("test timed out after ${timeout}s\n") } );
    my $both = Future->wait_any( $f, $guard );
    my @r = $LOOP ? $LOOP->await($both)->get : $both->get;
    return wantarray ? @r : $r[0];
}

# The failure of a Future (run to completion), or undef when it succeeded.
sub error_of {
    my ($f) = @_;
    my $err;
    eval { run($f); 1 } or $err = $@;
    return $err;
}

# Poll (on the loop) until $cond->() is true or $timeout passes; returns the last value.
sub wait_until {
    my ( $cond, $timeout ) = @_;
    $timeout //= 10;
    my $end = Time::HiRes::time() + $timeout;
    while (1) {
        my $v = $cond->();
        return $v if $v || Time::HiRes::time() > $end;
        run( Future::IO->sleep(0.01) );
    }
}


# After $delay seconds, run $code (which returns a Future) on the loop.
sub later {
    my ( $delay, $code ) = @_;
    return Future::IO->sleep($delay)->then($code);
}

# Fork; the child runs $code and exits 0 if it returned, 1 (with a warning) if it died. Returns
# the child's pid. Children report through their exit status only: Test2 output from a child
# would confuse the parent's plan.
sub in_child (&) {
    my ($code) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    my $ok = eval { $code->(); 1 };
    warn "child $$ failed: $@" unless $ok;
    require POSIX;
    POSIX::_exit( $ok ? 0 : 1 );
}

# Compare long result lists without drowning the output in diagnostics: undef when $got (an
# array ref) holds exactly the strings of @$want, else where it first differs.
sub first_mismatch {
    my ( $got, $want ) = @_;
    return 'not an array' unless ref $got eq 'ARRAY';
    return "got " . scalar(@$got) . " results, want " . scalar(@$want) if @$got != @$want;
    for my $i ( 0 .. $#$want ) {
        my $g = $got->[$i];
        return "result $i: got " . ( defined $g ? "'$g'" : 'undef' ) . ", want '$want->[$i]'"
          unless defined $g && !ref $g && $g eq $want->[$i];
    }
    return undef;
}

1;

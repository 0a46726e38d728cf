package Test::FIORedis::FakeServer;

use strict;
use warnings;

use Carp qw(croak);
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Scalar::Util qw(weaken);
use Time::HiRes qw(sleep time);

our $VERSION = '0.01';

my %LIVE;

# start($handler, %opts)
#   $handler->($client_sock, $conn_no) runs in the child for every accepted
#   connection (conn_no counts from 1). The socket is closed after it returns.
#   opts: concurrent => 1   fork a grandchild per connection instead of
#                           serving connections one after another.
sub start {
    my ($class, $handler, %opt) = @_;
    croak "handler coderef required" unless ref $handler eq 'CODE';

    my $listen = IO::Socket::IP->new(
        LocalHost => '127.0.0.1',
        LocalPort => $opt{port} // 0,
        Proto     => 'tcp',
        Listen    => 128,
        ReuseAddr => 1,
    ) or croak "FakeServer: cannot listen on 127.0.0.1: $@";
    my $port = $listen->sockport;

    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if (!$pid) {
        # child: never return into the test script, never run its END blocks
        $SIG{PIPE} = 'IGNORE';
        $SIG{TERM} = $SIG{INT} = 'DEFAULT';
        $SIG{CHLD} = 'DEFAULT';
        setpgrp(0, 0);    # own process group: stop() kills handler grandchildren too
        my $n = 0;
        while (1) {
            my $c = $listen->accept or do { sleep 0.01; next };
            $n++;
            $c->autoflush(1);
            if ($opt{concurrent}) {
                my $k = fork;
                if (defined $k && !$k) {
                    close $listen;
                    _run_handler($handler, $c, $n);
                    POSIX::_exit(0);
                }
                close $c;
                1 while waitpid(-1, WNOHANG) > 0;
                next;
            }
            _run_handler($handler, $c, $n);
        }
        POSIX::_exit(0);
    }
    close $listen;

    my $self = bless {
        owner => $$,
        pid   => $pid,
        port  => $port,
        host  => '127.0.0.1',
    }, $class;
    $LIVE{"$self"} = $self;
    weaken $LIVE{"$self"};
    return $self;
}

sub _run_handler {
    my ($handler, $c, $n) = @_;
    my $ok = eval { $handler->($c, $n); 1 };
    warn "FakeServer handler died: $@" unless $ok;
    close $c;
}

sub port { $_[0]{port} }
sub host { $_[0]{host} }
sub pid  { $_[0]{pid} }
sub uri  { "redis://127.0.0.1:$_[0]{port}" }

sub is_running {
    my ($self) = @_;
    my $pid = $self->{pid} or return 0;
    my $r = waitpid $pid, WNOHANG;
    if ($r == $pid || $r == -1) { $self->{pid} = undef; return 0 }
    return 1;
}

sub stop {
    my ($self) = @_;
    return unless $self->{owner} == $$;
    my $pid = delete $self->{pid} or return;
    kill 'TERM', -$pid;
    kill 'TERM', $pid;
    my $deadline = time + 2;
    while (time < $deadline) {
        my $r = waitpid $pid, WNOHANG;
        return 1 if $r == $pid || $r == -1;
        sleep 0.01;
    }
    kill 'KILL', -$pid;
    kill 'KILL', $pid;
    waitpid $pid, 0;
    return 1;
}

sub DESTROY {
    my ($self) = @_;
    return unless $self->{owner} && $self->{owner} == $$;
    local ($?, $!, $@);
    delete $LIVE{"$self"};
    $self->stop;
}

END {
    local ($?, $!, $@);
    for my $k (keys %LIVE) {
        my $s = $LIVE{$k} or next;
        next unless $s->{owner} == $$;
        eval { $s->stop };
    }
}

# ---------------------------------------------------------------------------
# helpers for handlers (blocking IO, unbuffered so sysread/syswrite mix freely)

# Reads one line terminated by CRLF (or LF); returns it without the terminator,
# or undef on EOF.
sub read_line {
    my ($sock) = @_;
    my $line = '';
    while (1) {
        my $n = sysread $sock, my $ch, 1;
        return undef unless $n;    # EOF or error
        $line .= $ch;
        last if $ch eq "\n";
    }
    $line =~ s/\r?\n\z//;
    return $line;
}

sub read_exact {
    my ($sock, $len) = @_;
    my $buf = '';
    while (length $buf < $len) {
        my $n = sysread $sock, $buf, $len - length $buf, length $buf;
        return undef unless $n;
    }
    return $buf;
}

# Reads one command (RESP array of bulk strings, or an inline command) and
# returns its arguments as a list; returns undef / empty list on EOF.
sub read_command {
    my ($sock) = @_;
    my $line;
    do {
        $line = read_line($sock);
        return unless defined $line;
    } while ($line eq '');
    if ($line =~ /\A\*(-?\d+)\z/) {
        my $count = $1;
        my @args;
        for (1 .. $count) {
            my $hdr = read_line($sock);
            return unless defined $hdr;
            croak "FakeServer: expected bulk string header, got '$hdr'" unless $hdr =~ /\A\$(\d+)\z/;
            my $data = read_exact($sock, $1 + 2);
            return unless defined $data;
            push @args, substr($data, 0, -2);
        }
        return @args;
    }
    return split ' ', $line;    # inline command
}

sub write_all {
    my ($sock, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite $sock, $data, length($data) - $off, $off;
        return 0 unless defined $n && $n > 0;
        $off += $n;
    }
    return 1;
}

# Encodes a list of strings as a RESP array of bulk strings.
sub resp_array {
    return '*' . scalar(@_) . "\r\n" . join('', map { '$' . length($_) . "\r\n$_\r\n" } @_);
}

sub resp_bulk {
    my ($s) = @_;
    return "\$-1\r\n" unless defined $s;
    return '$' . length($s) . "\r\n$s\r\n";
}

1;

__END__

=head1 NAME

Test::FIORedis::FakeServer - scripted fake Redis server for protocol tests

=head1 SYNOPSIS

    use Test::FIORedis::FakeServer;

    my $fake = Test::FIORedis::FakeServer->start(sub {
        my ($sock, $conn_no) = @_;
        while (my @cmd = Test::FIORedis::FakeServer::read_command($sock)) {
            Test::FIORedis::FakeServer::write_all($sock, "+garbage\r\n\$9999\r\nshort");
            sleep 1;
            last;
        }
    });
    connect_to($fake->host, $fake->port);
    $fake->stop;

=head1 DESCRIPTION

C<start($handler, %opts)> listens on a free 127.0.0.1 port (chosen before the
fork, so the port is connectable as soon as C<start> returns), then forks a
child that accepts connections forever and calls
C<< $handler->($sock, $conn_no) >> for each (one at a time; with
C<< concurrent => 1 >> each connection gets its own grandchild). The socket
is closed when the handler returns; exceptions are warned and ignored. The
child leaves via C<POSIX::_exit>, so no END blocks or test output happen
there.

Accessors: C<port>, C<host>, C<pid>, C<uri>, C<is_running>. C<stop> kills the
child (TERM, then KILL). Destruction and an END block stop it, in the parent
only.

Helpers (plain functions, unbuffered blocking IO): C<read_command($sock)>
returns the argument list of one RESP (or inline) command, empty/undef on
EOF; C<read_line($sock)>, C<read_exact($sock, $len)>,
C<write_all($sock, $bytes)>, C<resp_array(@strings)>, C<resp_bulk($str)>.

=cut

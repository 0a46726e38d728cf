package Test::FIORedis::Proxy;

# A TCP proxy in a forked child, between the client under test and a real redis-server, that
# cuts connections: `cut_every => [min, max]` seconds (random in between) closes every open
# connection pair. For fault tests no real server can stage by itself.
#
#   my $proxy = Test::FIORedis::Proxy->start( to => $srv->port, cut_every => [0.05, 0.2] );
#   my $redis = Future::IO::Redis->new( host => '127.0.0.1', port => $proxy->port );
#   ... $proxy->cuts (connections cut so far, read from a counter file) ... $proxy->stop;

use strict;
use warnings;
use IO::Select;
use IO::Socket::IP;
use POSIX ();
use Time::HiRes qw(time);
use File::Temp qw(tempfile);

sub start {
    my ( $class, %o ) = @_;
    my $listen = IO::Socket::IP->new( LocalHost => '127.0.0.1', LocalPort => 0, Listen => 128, ReuseAddr => 1 )
      or die "proxy: listen: $@";
    my ( undef, $counter ) = tempfile( UNLINK => 1 );
    my $port = $listen->sockport;
    my $pid = fork // die "proxy: fork: $!";
    if ( !$pid ) {
        $SIG{PIPE} = 'IGNORE';
        _serve( $listen, $o{to}, $o{cut_every} // [ 0.05, 0.2 ], $counter );
        POSIX::_exit(0);
    }
    close $listen;
    return bless { pid => $pid, port => $port, counter => $counter, owner => $$ }, $class;
}

sub port { $_[0]{port} }

sub cuts {
    my ($self) = @_;
    open my $fh, '<', $self->{counter} or return 0;
    my $n = <$fh>;
    return $n // 0;
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    kill 'KILL', $self->{pid};
    waitpid $self->{pid}, 0;
    unlink "$self->{counter}.new";    # if the kill came between its write and its rename
    delete $self->{pid};
}

sub DESTROY { my ($self) = @_; $self->stop if $self->{owner} == $$ }

sub _serve {
    my ( $listen, $to, $every, $counter ) = @_;
    my $sel   = IO::Select->new($listen);
    my %peer;    # fileno => peer socket
    my $cuts  = 0;
    my $next  = time + $every->[0] + rand( $every->[1] - $every->[0] );
    while (1) {
        my $wait = $next - time;
        $wait = 0 if $wait < 0;
        for my $fh ( $sel->can_read($wait) ) {
            if ( $fh == $listen ) {
                my $c = $listen->accept or next;
                my $s = IO::Socket::IP->new( PeerHost => '127.0.0.1', PeerPort => $to ) or do { close $c; next };
                $peer{ fileno $c } = $s;
                $peer{ fileno $s } = $c;
                $sel->add( $c, $s );
                next;
            }
            my $other = $peer{ fileno $fh } or next;
            my $n = sysread $fh, my $buf, 65536;
            if ( !$n ) {
                _drop( $sel, \%peer, $fh );
                next;
            }
            my $off = 0;
            while ( $off < length $buf ) {
                my $w = syswrite $other, $buf, length($buf) - $off, $off;
                last unless defined $w;
                $off += $w;
            }
        }
        if ( time >= $next ) {
            my %seen;
            for my $fno ( keys %peer ) {
                my $s = $peer{$fno} or next;
                next if $seen{ fileno $s }++;
                _drop( $sel, \%peer, $s );
                $cuts++;
            }
            # Replace the file whole (rename is atomic): a reader never sees it truncated.
            if ( open my $fh, '>', "$counter.new" ) { print {$fh} $cuts; close $fh; rename "$counter.new", $counter }
            $next = time + $every->[0] + rand( $every->[1] - $every->[0] );
        }
    }
}

sub _drop {
    my ( $sel, $peer, $fh ) = @_;
    my $other = delete $peer->{ fileno $fh };
    delete $peer->{ fileno $other } if $other;
    for my $s ( grep { defined } $fh, $other ) {
        $sel->remove($s);
        close $s;
    }
}

1;

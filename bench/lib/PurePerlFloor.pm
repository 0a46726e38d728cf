package PurePerlFloor 0.001;
# The least a pure-Perl Future::IO Redis client can do for one command at a time: a reference
# row for bench/compare.pl, not a client. One TCP socket; each command is encoded as RESP,
# written with a non-blocking send (Future::IO->syswrite only if that would block), and its
# reply awaited through Future::IO and parsed with a regex. Only simple replies (+, -, :, $)
# are understood, which is all SET and GET need.
#
# The wait is chosen the way Future::IO::Redis::Engine chooses its own, so that both pay the
# same price per wake-up: Future::IO->poll where it exists, else the implementation's
# ready_for_read (Future::IO 0.13, Debian 12), else Future::IO->sysread. After a readiness
# wake-up the socket is read with a plain sysread: the socket stays blocking, so under
# Future::IO's default implementation (which reports its single reader ready at once) the read
# waits in the kernel instead of spinning, as the engine's own read of its notify pipe does.
use v5.14;
use warnings;
use Carp qw(croak);
use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use Future::AsyncAwait;
use Future::IO;
use IO::Socket::IP;
use Socket qw(IPPROTO_TCP TCP_NODELAY MSG_DONTWAIT);

sub new {
    my ( $class, %args ) = @_;
    my $fh = IO::Socket::IP->new( PeerHost => $args{host} // '127.0.0.1', PeerPort => $args{port}, Proto => 'tcp' )
      or croak "PurePerlFloor: cannot connect: $@";
    setsockopt( $fh, IPPROTO_TCP, TCP_NODELAY, 1 );
    binmode $fh;
    return bless { fh => $fh, buf => '' }, $class;
}

# A name for the wait the running Future::IO implementation gets (for the report).
sub wait_kind {
    return 'Future::IO->poll' if Future::IO->can('poll');
    my $impl = $Future::IO::IMPL // 'Future::IO::_DefaultImpl';
    return "$impl->ready_for_read" if $impl->can('ready_for_read');
    return 'Future::IO->sysread';
}

# A Future that is done when $fh may be read; true when the caller still has to read.
sub _wait {
    my ($fh) = @_;
    if ( Future::IO->can('poll') ) {
        require IO::Poll;
        return ( Future::IO->poll( $fh, IO::Poll::POLLIN() ), 1 );
    }
    my $impl = $Future::IO::IMPL // 'Future::IO::_DefaultImpl';
    return ( $impl->ready_for_read($fh), 1 ) if $impl->can('ready_for_read');
    return ( Future::IO->sysread( $fh, 65536 ), 0 );
}

# $reply = await $floor->command(@words);
async sub command {
    my ( $self, @words ) = @_;
    my $fh  = $self->{fh};
    my $cmd = '*' . @words . "\r\n";
    $cmd .= '$' . length($_) . "\r\n$_\r\n" for @words;
    my $n = send( $fh, $cmd, MSG_DONTWAIT );
    if ( !defined $n ) {
        croak "PurePerlFloor: send: $!" unless $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
        $n = 0;
    }
    while ( $n < length $cmd ) {
        $n += await Future::IO->syswrite( $fh, substr( $cmd, $n ) );
    }
    my $buf = \$self->{buf};
    while (1) {
        if ( $$buf =~ /\A([+:\-])(.*?)\r\n/ ) {
            my ( $type, $text ) = ( $1, $2 );
            substr( $$buf, 0, $+[0], '' );
            die "PurePerlFloor: $text\n" if $type eq '-';
            return $text;
        }
        if ( $$buf =~ /\A\$(-?\d+)\r\n/ ) {
            my ( $len, $head ) = ( $1, $+[0] );
            if ( $len < 0 ) { substr( $$buf, 0, $head, '' ); return undef }
            if ( length($$buf) >= $head + $len + 2 ) {
                my $value = substr( $$buf, $head, $len );
                substr( $$buf, 0, $head + $len + 2, '' );
                return $value;
            }
        }
        my ( $f, $must_read ) = _wait($fh);
        my $got = await $f;
        if ($must_read) {
            my $r = sysread( $fh, $$buf, 65536, length $$buf );
            croak "PurePerlFloor: sysread: " . ( defined $r ? 'EOF' : $! ) unless $r || ( !defined $r && $! == EAGAIN );
        }
        else {
            croak "PurePerlFloor: EOF" unless defined $got;
            $$buf .= $got;
        }
    }
}

sub set { my $self = shift; $self->command( 'SET', @_ ) }
sub get { my $self = shift; $self->command( 'GET', @_ ) }

1;

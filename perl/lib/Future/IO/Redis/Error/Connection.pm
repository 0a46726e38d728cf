package Future::IO::Redis::Error::Connection 0.001;
use v5.14;
use warnings;

use Future::IO::Redis::Error ();
our @ISA = ('Future::IO::Redis::Error');

sub _init {
    my ( $self, $args ) = @_;
    for my $k (qw( reason host port path )) {
        $self->{$k} = $args->{$k} if defined $args->{$k};
    }
    return;
}

sub category     { 'connection' }
sub reason       { $_[0]{reason} }
sub host         { $_[0]{host} }
sub port         { $_[0]{port} }
sub path         { $_[0]{path} }
sub is_transient { 1 }

1;

__END__

=head1 NAME

Future::IO::Redis::Error::Connection - connecting failed or the connection was lost

=head1 SYNOPSIS

    use Syntax::Keyword::Try;

    try {
        await $redis->set( key => 'value' );
    }
    catch ($e) {
        if ( ref $e && $e->isa('Future::IO::Redis::Error::Connection') ) {
            warn "connection problem (", $e->reason // 'unknown', "): $e";
        }
    }

    Future::IO::Redis::Error::Connection->throw(
        message => 'Connection lost',
        reason  => 'connection_lost',
    );

=head1 DESCRIPTION

Raised when a connection cannot be established or is lost while commands are
in flight (all in-flight commands fail with this error). Subclass of
L<Future::IO::Redis::Error>; category C<connection>.

=head1 METHODS

All methods of L<Future::IO::Redis::Error> are available. In addition:

=head2 new

    my $err = Future::IO::Redis::Error::Connection->new(
        message => $message,
        reason  => 'connect_failed',    # optional
        host    => 'localhost',         # optional
        port    => 6379,                # optional
        path    => undef,               # optional: unix socket
    );

=head2 reason

    my $reason = $err->reason;

Optional machine-readable reason, or C<undef>. The client gives:

=over 4

=item C<connect_failed> - connecting failed (refused, unreachable, name resolution, TLS, the
server closed the connection during the handshake); also for commands that waited for that
connection;

=item C<connection_lost> - reading or writing failed on an established connection;

=item C<server_closed> - the server closed the connection;

=item C<timeout> - the connection was reset because another command on it timed out;

=item C<protocol_error> - the connection was reset because the server sent something that is
not RESP;

=item C<client> - the application called C<disconnect> while the command waited for its reply;

=item C<fork> - the process forked while the command waited (in the child).

=back

=head2 host, port, path

    warn sprintf "lost %s:%s\n", $err->host, $err->port;

The server the error is about: C<host> and C<port> for TCP (and TLS), C<path> for a unix
socket; C<undef> when not known (errors raised outside a connection). Example, with nothing
listening on the port:

    use Future::IO::Redis;
    my $redis = Future::IO::Redis->new( host => '127.0.0.1', port => 1 );
    my $f = $redis->connect;
    $f->await;
    my $err = $f->failure;
    printf "%s %s:%s\n", $err->reason, $err->host, $err->port;    # connect_failed 127.0.0.1:1


=head2 category

Returns C<connection>.

=head2 is_transient

Returns true: the operation may succeed once a connection is (re)established.

=head2 is_fatal

Returns false.

=cut

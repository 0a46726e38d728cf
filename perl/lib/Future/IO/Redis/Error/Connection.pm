package Future::IO::Redis::Error::Connection 0.001;
use v5.14;
use warnings;

use Future::IO::Redis::Error ();
our @ISA = ('Future::IO::Redis::Error');

sub _init {
    my ( $self, $args ) = @_;
    $self->{reason} = $args->{reason} if defined $args->{reason};
    return;
}

sub category     { 'connection' }
sub reason       { $_[0]{reason} }
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
    );

=head2 reason

    my $reason = $err->reason;

Optional machine-readable reason, or C<undef>. Values used by the client
include C<connect_failed>, C<connection_lost>, C<server_closed> and
C<timeout> (connection reset because a request timed out).

=head2 category

Returns C<connection>.

=head2 is_transient

Returns true: the operation may succeed once a connection is (re)established.

=head2 is_fatal

Returns false.

=cut

package Future::IO::Redis::Error::Protocol 0.001;
use v5.14;
use warnings;

use Future::IO::Redis::Error ();
our @ISA = ('Future::IO::Redis::Error');

sub _init {
    my ( $self, $args ) = @_;
    $self->{data} = "$args->{data}" if defined $args->{data};
    return;
}

sub category { 'protocol' }
sub data     { $_[0]{data} }
sub is_fatal { 1 }

1;

__END__

=head1 NAME

Future::IO::Redis::Error::Protocol - malformed RESP or an unexpected response

=head1 SYNOPSIS

    use Syntax::Keyword::Try;

    try {
        await $redis->ping;
    }
    catch ($e) {
        if ( ref $e && $e->isa('Future::IO::Redis::Error::Protocol') ) {
            warn "protocol error, connection was reset: $e";
        }
    }

    Future::IO::Redis::Error::Protocol->throw(
        message => 'Unexpected reply type',
    );

=head1 DESCRIPTION

Raised when the server sends something that is not valid RESP2, when a reply
does not match the command that was sent, or when a command is not allowed in
the connection's current mode (e.g. C<GET> on a connection in subscribe
mode). Once the reply stream is out of sync the connection is reset.

Subclass of L<Future::IO::Redis::Error>; category C<protocol>.

=head1 METHODS

All methods of L<Future::IO::Redis::Error> are available. In addition:

=head2 new

    my $err = Future::IO::Redis::Error::Protocol->new( message => $message, data => '+OK' );

C<data> is optional.

=head2 data

    warn "the server sent: ", $err->data // '(nothing shown)';

A short excerpt of the bytes that could not be read, or C<undef>. From the client: at most the
first 32 bytes of the line the decoder stopped at (followed by C<...> when there was more),
printable ASCII as it is and every other byte as C<\xNN> (C<HTTP/1.1 200 OK\x0D\x0A...>), so
that it can be logged safely; no more of a reply is kept.

=head2 category

Returns C<protocol>.

=head2 is_fatal

Returns true: retrying the same operation will not help.

=head2 is_transient

Returns false.

=cut

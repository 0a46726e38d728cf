package Future::IO::Redis::Error::Disconnected 0.001;
use v5.14;
use warnings;

use Future::IO::Redis::Error ();
our @ISA = ('Future::IO::Redis::Error');

sub _init {
    my ( $self, $args ) = @_;
    $self->{queue_size} = $args->{queue_size} if defined $args->{queue_size};
    return;
}

sub category     { 'disconnected' }
sub queue_size   { $_[0]{queue_size} }
sub is_transient { 1 }

1;

__END__

=head1 NAME

Future::IO::Redis::Error::Disconnected - command issued while disconnected

=head1 SYNOPSIS

    use Syntax::Keyword::Try;

    try {
        await $redis->get('key');
    }
    catch ($e) {
        if ( ref $e && $e->isa('Future::IO::Redis::Error::Disconnected') ) {
            warn "not connected (command queue full?): $e";
        }
    }

    Future::IO::Redis::Error::Disconnected->throw(
        message => 'Not connected and the command queue is full',
    );

=head1 DESCRIPTION

Raised when a command is issued while the client is not connected and it
cannot be queued for sending after reconnect (reconnect disabled, or the
queue is full). The command was never sent to the server.

Subclass of L<Future::IO::Redis::Error>; category C<disconnected>.

=head1 METHODS

All methods of L<Future::IO::Redis::Error> are available. In addition:

=head2 new

    my $err = Future::IO::Redis::Error::Disconnected->new( message => 'queue full', queue_size => 1000 );

C<queue_size> is optional.

=head2 queue_size

    warn "refused with ", $err->queue_size, " commands waiting\n";

How many commands were waiting for the connection when this one was refused (equal to the
client's C<queue_size> option when the queue was full), or C<undef> when not known. For the
commands that a C<disconnect> (or a lost connection with reconnect off) failed before they were
sent: how many were waiting then.

=head2 category

Returns C<disconnected>.

=head2 is_transient

Returns true: the command may succeed once the client has reconnected.

=head2 is_fatal

Returns false.

=cut

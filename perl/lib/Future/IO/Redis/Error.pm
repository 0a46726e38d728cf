package Future::IO::Redis::Error 0.001;
use v5.14;
use warnings;

use Carp ();
use Future::Exception ();

our @ISA = ('Future::Exception');

use overload
    '""'     => sub { $_[0]->message },
    'bool'   => sub { 1 },
    fallback => 1;

# kind string (as used by the XS layer) => class
my %KIND_CLASS = (
    connection   => 'Future::IO::Redis::Error::Connection',
    timeout      => 'Future::IO::Redis::Error::Timeout',
    protocol     => 'Future::IO::Redis::Error::Protocol',
    redis        => 'Future::IO::Redis::Error::Redis',
    disconnected => 'Future::IO::Redis::Error::Disconnected',
    pubsub       => 'Future::IO::Redis::Error::PubSub',
);

sub new {
    my $class = shift;
    $class = ref $class if ref $class;
    Carp::croak("$class->new: expected key/value pairs (message => \$msg, ...)")
        if @_ % 2;
    my %args = @_;

    my $message = delete $args{message};
    Carp::croak("$class->new: 'message' is required and must be non-empty")
        unless defined $message && length $message;

    my $self = bless { message => "$message" }, $class;

    if ( exists $args{details} ) {
        my $details = delete $args{details};
        if ( defined $details ) {
            Carp::croak("$class->new: 'details' must be an ARRAY reference")
                unless ref $details eq 'ARRAY';
            $self->{details} = [@$details];
        }
    }

    $self->_init( \%args );
    return $self;
}

# Subclasses pick the fields they understand out of %$args. Unknown fields
# are ignored (never stored, never stringified).
sub _init { }

sub message  { $_[0]{message} }
sub category { 'redis_client' }

sub details {
    my ($self) = @_;
    return $self->{details} ? @{ $self->{details} } : ();
}

sub is_fatal     { 0 }
sub is_transient { 0 }

sub throw {
    my $self = shift;
    $self = $self->new(@_) unless ref $self;
    die $self;
}

sub as_future {
    my ($self) = @_;
    require Future;
    return Future->fail($self);
}

sub from_kind {
    my ( $class, $kind, $message, %fields ) = @_;
    my $target = defined $kind ? $KIND_CLASS{$kind} : undef;
    Carp::croak(
        "Future::IO::Redis::Error->from_kind: unknown error kind '"
          . ( defined $kind ? $kind : 'undef' )
          . "' (expected one of: "
          . join( ', ', sort keys %KIND_CLASS ) . ')' )
        unless $target;
    # A server may send an empty error line (`-\r\n`: Redis 7 does for a Lua script that
    # returns {err=''}). It is still an error reply, so it becomes one like any other.
    if ( $target eq 'Future::IO::Redis::Error::Redis' && !( defined $message && length $message ) ) {
        $message = Future::IO::Redis::Error::Redis::EMPTY_REPLY_MESSAGE();
        $fields{code} = 'ERR' unless defined $fields{code} && length $fields{code};
    }
    return $target->new( %fields, message => $message );
}

# Loading the base class loads every subclass.
require Future::IO::Redis::Error::Connection;
require Future::IO::Redis::Error::Timeout;
require Future::IO::Redis::Error::Protocol;
require Future::IO::Redis::Error::Redis;
require Future::IO::Redis::Error::Disconnected;
require Future::IO::Redis::Error::PubSub;

1;

__END__

=head1 NAME

Future::IO::Redis::Error - base class for Future::IO::Redis exceptions

=head1 SYNOPSIS

    use Future::IO::Redis::Error;
    use Syntax::Keyword::Try;

    try {
        my $value = await $redis->get('key');
    }
    catch ($e) {
        die $e unless ref $e && $e->isa('Future::IO::Redis::Error');

        if ( $e->isa('Future::IO::Redis::Error::Timeout') ) {
            warn "timed out after ", $e->timeout, "s running ", $e->command_name;
        }
        elsif ( $e->isa('Future::IO::Redis::Error::Redis') ) {
            warn "server said ", $e->code, ": $e";
        }
        retry() if $e->is_transient;
    }

    # Raising one yourself
    Future::IO::Redis::Error::Protocol->throw( message => 'unexpected reply' );

    # Building one from a kind string (used by the XS layer)
    my $err = Future::IO::Redis::Error->from_kind(
        timeout => 'Request timed out after 5s',
        command => 'GET', timeout => 5, kind => 'request',
    );

=head1 DESCRIPTION

Every failure reported by L<Future::IO::Redis> is an instance of a subclass of
this class. The hierarchy is:

    Future::IO::Redis::Error (base)           category 'redis_client'
    |-- ::Connection    connect failed, connection lost     'connection'
    |-- ::Timeout       connect/read/write/request timeout  'timeout'
    |-- ::Protocol      malformed RESP, unexpected response 'protocol'
    |-- ::Redis         error reply from the server         'redis'
    `-- ::Disconnected  command issued while disconnected   'disconnected'

What each class carries besides its message (all optional constructor arguments too):

    ::Connection    host, port, path, reason (connect_failed, connection_lost,
                    server_closed, timeout, protocol_error, client, fork)
    ::Timeout       command (the words, secrets redacted), command_name, timeout,
                    kind, maybe_executed
    ::Protocol      data (a short escaped excerpt of the offending bytes)
    ::Redis         code / type, is_wrongtype is_oom is_busy is_loading is_noscript
                    is_readonly is_noauth is_noperm; from_message($text)
    ::Disconnected  queue_size

The base class inherits from L<Future::Exception>, so generic code that
checks C<< $e->isa('Future::Exception') >> and calls C<message>/C<category>/
C<details> keeps working. Unlike L<Future::Exception> (which is array based),
these objects are blessed HASHes and override all three accessors.

Objects stringify to their message and are always true in boolean context,
so they can be used directly as a L<Future> failure:

    $future->fail($err);           # fail with the object alone ...
    my $same = $future->failure;   # ... and get the very same object back
    await $future;                 # dies with the very same object

Pass the object as the I<only> argument to C<fail>; if extra category/details
arguments are given, L<Future> wraps everything in a plain
L<Future::Exception> when the result is requested.

Loading this module loads all of the subclasses.

=head2 Secrets

Constructors never stringify anything except the C<message> they are given;
other fields are stored as-is and never included in the message. Callers
B<must never put passwords or other credentials into a message> (for example
never include the arguments of C<AUTH>, C<HELLO ... AUTH> or
C<CONFIG SET requirepass>). Use L<Future::IO::Redis::URI/redacted> when a
URI has to be quoted.

=head1 CONSTRUCTORS

=head2 new

    my $err = Future::IO::Redis::Error::Connection->new(
        message => 'Connection refused',
        reason  => 'connect_failed',
        details => [ host => 'localhost', port => 6379 ],   # optional
    );

Takes key/value pairs. C<message> is required and must be a non-empty string;
C<new> croaks otherwise. C<details>, if given, must be an ARRAY reference.
Each subclass accepts additional optional fields (see the subclass
documentation); unknown fields are ignored.

=head2 from_kind

    my $err = Future::IO::Redis::Error->from_kind( $kind, $message, %fields );

Class method used by the XS layer. C<$kind> is one of C<connection>,
C<timeout>, C<protocol>, C<redis> or C<disconnected> and selects the subclass
(L<Future::IO::Redis::Error::Connection> etc.); C<$message> and C<%fields> are
passed to that subclass's C<new>. Croaks on an unknown kind. An empty (or undef)
message of kind C<redis> is an empty error reply from the server: it gives an
L<Future::IO::Redis::Error::Redis> with the message C<the server sent an empty error reply> and
code C<ERR>; every other empty message croaks, as C<new> does.

=head1 METHODS

=head2 message

    my $text = $err->message;

The human-readable error message. The object also stringifies to it.

=head2 category

    my $category = $err->category;

A short string naming the class of failure: C<redis_client> for the base
class, C<connection>, C<timeout>, C<protocol>, C<redis> or C<disconnected>
for the subclasses.

=head2 details

    my @details = $err->details;

The list given as C<< details => [...] >> to the constructor, or the empty
list.

=head2 is_fatal

    if ( $err->is_fatal ) { ... }

True if retrying the same operation cannot succeed (e.g. a protocol error or
a C<WRONGTYPE> reply). False for the base class.

=head2 is_transient

    retry() if $err->is_transient;

True if the same operation may succeed if retried later (connection problems,
timeouts, C<LOADING> replies, ...). False for the base class. An error may be
neither fatal nor transient (e.g. C<MOVED>).

=head2 throw

    Future::IO::Redis::Error::Protocol->throw( message => 'bad reply' );
    $err->throw;

As a class method, builds a new object from the arguments (exactly like
L</new>) and C<die>s with it. As an instance method, C<die>s with the
instance itself. Nothing is appended to the message.

=head2 as_future

    my $f = $err->as_future;

Returns a new L<Future> that has failed with this object as its only failure
value (overrides L<Future::Exception/as_future>, which would discard the
object).

=cut

package Future::IO::Redis::Error::Timeout 0.001;
use v5.14;
use warnings;

use Carp ();
use Scalar::Util ();
use Future::IO::Redis::Error ();
our @ISA = ('Future::IO::Redis::Error');

my %KINDS = map { $_ => 1 } qw( request connect read write acquire );

# Commands whose second word is a subcommand that belongs to the name: the containers of the
# server's command table (generated into Future::IO::Redis::Commands), and DEBUG, whose
# subcommands the table does not list (the engine names DEBUG SLEEP the same way).
sub _is_container {
    my ($name) = @_;
    require Future::IO::Redis::Commands;
    return $Future::IO::Redis::Commands::CONTAINER{$name} || $name eq 'DEBUG';
}

# Reduce whatever we were given to the command NAME: never keep arguments.
sub _command_name {
    my ($command) = @_;
    my @words = ref $command eq 'ARRAY' ? @$command : split ' ', "$command";
    my $name = $words[0];
    return undef unless defined $name && length $name;
    $name = uc $name;
    my $sub = $words[1];
    if ( defined $sub && _is_container($name) && $sub =~ /\A[A-Za-z][A-Za-z0-9_-]*\z/ ) {
        $name .= ' ' . uc $sub;
    }
    return $name;
}

sub _init {
    my ( $self, $args ) = @_;
    my $class = ref $self;

    if ( defined $args->{command} ) {
        my $name = _command_name( $args->{command} );
        $self->{command} = $name if defined $name;
    }
    if ( defined $args->{timeout} ) {
        my $t = $args->{timeout};
        Carp::croak("$class->new: 'timeout' must be a non-negative number of seconds")
            unless Scalar::Util::looks_like_number($t) && $t >= 0;
        $self->{timeout} = $t;
    }
    if ( defined $args->{kind} ) {
        my $k = $args->{kind};
        Carp::croak( "$class->new: 'kind' must be one of: " . join( ', ', sort keys %KINDS ) )
            unless $KINDS{$k};
        $self->{kind} = $k;
    }
    return;
}

sub category     { 'timeout' }
sub command      { $_[0]{command} }
sub timeout      { $_[0]{timeout} }
sub kind         { $_[0]{kind} }
sub is_transient { 1 }

1;

__END__

=head1 NAME

Future::IO::Redis::Error::Timeout - a connect, read, write or request timeout

=head1 SYNOPSIS

    use Syntax::Keyword::Try;

    try {
        my $value = await $redis->get('key');
    }
    catch ($e) {
        if ( ref $e && $e->isa('Future::IO::Redis::Error::Timeout') ) {
            warn sprintf "%s timed out (%s, %ss)\n",
                $e->command // '?', $e->kind // '?', $e->timeout // '?';
        }
    }

    my $err = Future::IO::Redis::Error::Timeout->new(
        message => 'Request timed out after 5s',
        command => 'GET',
        timeout => 5,
        kind    => 'request',
    );

=head1 DESCRIPTION

Raised when a deadline expires: establishing the connection
(C<connect_timeout>), the socket staying silent or unwritable
(C<read_timeout>/C<write_timeout>) or a single request exceeding its deadline
(C<request_timeout>). In RESP2 any timeout resets the connection; the request
that timed out fails with this error, other in-flight requests fail with
L<Future::IO::Redis::Error::Connection>.

Subclass of L<Future::IO::Redis::Error>; category C<timeout>.

=head1 METHODS

All methods of L<Future::IO::Redis::Error> are available. In addition:

=head2 new

    my $err = Future::IO::Redis::Error::Timeout->new(
        message => $message,
        command => 'DEBUG SLEEP',   # optional: command name only
        timeout => 120,             # optional: seconds
        kind    => 'request',       # optional: request|connect|read|write|acquire
    );

Croaks if C<timeout> is not a non-negative number or C<kind> is not one of the
five values.

=head2 command

    my $name = $err->command;    # 'GET', 'DEBUG SLEEP', ... or undef

The name of the command that timed out, upper-cased, B<never its arguments>.
C<command> may be given as a name (C<'GET'>, C<'debug sleep'>) or as the full
command array (C<['SET', $key, $value]>); either way only the first word is
kept, plus the second word for commands that have subcommands (C<ACL>,
C<CLIENT>, C<CLUSTER>, C<COMMAND>, C<CONFIG>, C<DEBUG>, C<FUNCTION>,
C<LATENCY>, C<MEMORY>, C<MODULE>, C<OBJECT>, C<PUBSUB>, C<SCRIPT>,
C<SLOWLOG>, C<XGROUP>, C<XINFO>). So C<['AUTH', $password]> is recorded as
C<AUTH> and C<['CONFIG', 'SET', 'requirepass', $pw]> as C<CONFIG SET>.

=head2 timeout

    my $seconds = $err->timeout;

The timeout that expired, in seconds, or C<undef>.

=head2 kind

    my $kind = $err->kind;

Which timeout fired: C<request>, C<connect>, C<read> or C<write>, C<acquire> (no connection
of a L<Future::IO::Redis::Pool> came free in its C<acquire_timeout>), or C<undef>.

=head2 category

Returns C<timeout>.

=head2 is_transient

Returns true.

=head2 is_fatal

Returns false.

=cut

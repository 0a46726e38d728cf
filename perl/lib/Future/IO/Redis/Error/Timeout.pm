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

# Reduce whatever we were given to the command NAME (first word, plus the subcommand of a
# container): what command_name returns.
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

# The words of a command with the secrets among them replaced (see redact_command in the POD):
# the rules are the debug log's (Future::IO::Redis::Telemetry::redact_words), one home for both.
# Works on a copy; never modifies the caller's array.
sub redact_command {
    shift if @_ > 1 && !ref $_[0];    # also callable as a class method
    my ($command) = @_;
    my @w = map { defined $_ ? "$_" : undef } ( ref $command eq 'ARRAY' ? @$command : split ' ', "$command" );
    return \@w unless @w && defined $w[0];
    require Future::IO::Redis::Telemetry;
    return [ Future::IO::Redis::Telemetry::redact_words(@w) ];
}

sub _init {
    my ( $self, $args ) = @_;
    my $class = ref $self;

    if ( defined $args->{command} ) {
        my $words = redact_command( $args->{command} );
        if (@$words) {
            $self->{command}      = $words;
            $self->{command_name} = _command_name($words);
        }
    }
    if ( defined $args->{command_name} && length $args->{command_name} ) {
        $self->{command_name} = _command_name( $args->{command_name} );
        $self->{command} //= [ split ' ', $self->{command_name} ];
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
    $self->{maybe_executed} = $args->{maybe_executed} ? 1 : 0;
    return;
}

sub category       { 'timeout' }
sub command        { $_[0]{command} }
sub command_name   { $_[0]{command_name} }
sub timeout        { $_[0]{timeout} }
sub kind           { $_[0]{kind} }
sub maybe_executed { $_[0]{maybe_executed} }
sub is_transient   { 1 }

1;

__END__

=head1 NAME

Future::IO::Redis::Error::Timeout - a connect, read, write or request timeout

=head1 SYNOPSIS

    use Future::AsyncAwait;
    use Syntax::Keyword::Try;
    use Future::IO::Redis;

    my $redis = Future::IO::Redis->new( request_timeout => 0.5 );
    try {
        await $redis->command( 'DEBUG', 'SLEEP', 2 );
    }
    catch ($e) {
        if ( ref $e && $e->isa('Future::IO::Redis::Error::Timeout') ) {
            warn sprintf "%s timed out (%s, %ss)%s\n",
                $e->command_name, $e->kind, $e->timeout,
                $e->maybe_executed ? ' after it was sent: it may have run' : '';
            warn "the command was: @{ $e->command }\n";    # DEBUG SLEEP 2
        }
    }

    my $err = Future::IO::Redis::Error::Timeout->new(
        message        => 'Request timed out after 5s',
        command        => [ 'GET', 'user:1' ],
        timeout        => 5,
        kind           => 'request',
        maybe_executed => 1,
    );

=head1 DESCRIPTION

Raised when a deadline expires: establishing the connection
(C<connect_timeout>), the socket staying silent or unwritable
(C<read_timeout>/C<write_timeout>) or a single request exceeding its deadline
(C<request_timeout>, or a blocking command's server-side timeout plus
C<blocking_timeout_buffer>). In RESP2 any timeout of a command that was sent resets the
connection; the request that timed out fails with this error, other in-flight requests fail
with L<Future::IO::Redis::Error::Connection>.

Subclass of L<Future::IO::Redis::Error>; category C<timeout>.

=head1 METHODS

All methods of L<Future::IO::Redis::Error> are available. In addition:

=head2 new

    my $err = Future::IO::Redis::Error::Timeout->new(
        message        => $message,
        command        => [ 'DEBUG', 'SLEEP', 120 ],  # optional: words (or one string)
        timeout        => 120,                        # optional: seconds
        kind           => 'request',                  # optional: request|connect|read|write|acquire
        maybe_executed => 1,                          # optional: boolean, default false
        command_name   => 'DEBUG SLEEP',              # optional: derived from command
    );

Croaks if C<timeout> is not a non-negative number or C<kind> is not one of the
five values. C<command> may be an array reference of the command's words or a string (split
on white space); either way it is stored redacted (see L</redact_command>).

=head2 command

    my $words = $err->command;    # [ 'GET', 'user:1' ], or undef

The words of the command that timed out, as an array reference, with secrets replaced by
C<[REDACTED]> (C<[ 'AUTH', '[REDACTED]' ]>; see L</redact_command>). Errors made by the client carry at most
the first 16 words, each cut to 64 bytes (a cut word ends in C<...>); a longer command ends
with a word C<...(N more)>. C<undef> when no command timed out (a connect timeout).

=head2 command_name

    my $name = $err->command_name;    # 'GET', 'DEBUG SLEEP', ... or undef

The command's name only: upper-cased, plus the subcommand for commands that have subcommands
(C<CLIENT SETNAME>, C<CONFIG SET>, C<DEBUG SLEEP>, ...).

=head2 timeout

    my $seconds = $err->timeout;

The timeout that expired, in seconds, or C<undef>.

=head2 kind

    my $kind = $err->kind;

Which timeout fired: C<request>, C<connect>, C<read> or C<write>, C<acquire> (no connection
of a L<Future::IO::Redis::Pool> came free in its C<acquire_timeout>), or C<undef>.

=head2 maybe_executed

    retry_later() unless $err->maybe_executed;

True when the whole command had been written to the socket before its deadline passed: the
server may have run it (and a reply may have been on its way), so retrying a command that
changes data may apply it twice. False when it never fully left the client (it waited for the
connection, for room under C<pipeline_depth>, for a retry, or its write was incomplete): the
server did not run it.

=head2 redact_command

    my $safe = Future::IO::Redis::Error::Timeout->redact_command( [ 'AUTH', 'app', 's3cret' ] );
    # [ 'AUTH', 'app', '[REDACTED]' ]

A copy of a command's words with the secrets replaced by C<[REDACTED]>, by the rules the debug
log follows (L<Future::IO::Redis::Telemetry/redact_words>): the password of C<AUTH> and of
C<HELLO ... AUTH>; the passwords after C<AUTH> / C<AUTH2 user> of C<MIGRATE>; the password rules
of C<ACL SETUSER> (as C<< >[REDACTED] >>); the values of secret settings (C<requirepass>,
C<masterauth>, C<auth-pass>, ...) of C<CONFIG SET>, C<SENTINEL SET> and C<SENTINEL CONFIG SET>.
Other words are copied as they are. L</new> stores C<command> through it.

=head2 category

Returns C<timeout>.

=head2 is_transient

Returns true.

=head2 is_fatal

Returns false.

=cut

package Future::IO::Redis::KeyExtractor 0.001;
use v5.14;
use warnings;

use Carp ();
use Exporter 'import';
use Future::IO::Redis::Commands ();

our @EXPORT_OK = qw( extract_key_indices apply_prefix );

# The command's words (a name, 'NAME SUB', or [ words ]) and the full argument list they make
# with @args. Croaks on no command.
sub _words {
    my ( $what, $command ) = @_;
    my @words = ref $command eq 'ARRAY' ? @$command : defined $command && !ref $command ? split( ' ', $command ) : ();
    Carp::croak("Future::IO::Redis::KeyExtractor::$what: no command given") unless @words && defined $words[0];
    return @words;
}

sub extract_key_indices {
    my ( $command, @args ) = @_;
    my @words = _words( extract_key_indices => $command );
    my $n = @words;
    return map { $_ - $n } grep { $_ >= $n } Future::IO::Redis::Commands::key_positions( [ @words, @args ] );
}

sub apply_prefix {
    my ( $prefix, $command, @args ) = @_;
    my @words = _words( apply_prefix => $command );
    my @all = Future::IO::Redis::Commands::prefix_args( $prefix, [ @words, @args ] );
    return @all[ @words .. $#all ];
}

1;

__END__

=head1 NAME

Future::IO::Redis::KeyExtractor - where a command's keys are, and prefixing them

=head1 SYNOPSIS

    use Future::IO::Redis::KeyExtractor qw( extract_key_indices apply_prefix );

    my @i = extract_key_indices( 'MSET', 'a', 1, 'b', 2 );            # ( 0, 2 )
    my @j = extract_key_indices( 'EVAL', $lua, 2, 'k1', 'k2', 'arg' ); # ( 2, 3 )
    my @k = extract_key_indices( 'XINFO', 'STREAM', 'events' );       # ( 1 )

    my @args = apply_prefix( 'app:', 'MSET', 'a', 1, 'b', 2 );       # ( 'app:a', 1, 'app:b', 2 )
    my @cmd  = ( 'MSET', apply_prefix( 'app:', 'MSET', @pairs ) );

=head1 DESCRIPTION

The key positions of every command come from Redis' own key specs, generated into
L<Future::IO::Redis::Commands> (see L<Future::IO::Redis::Commands/key_positions>): these two
functions are that table seen from the arguments after a command's name, the way the design's
file structure and the earlier pure-Perl client of this design name them. The client's
C<prefix> option uses the same table (methods, C<command>, pipelines), so that what these
functions say is what the client sends.

Nothing here talks to a server. Both are plain functions (exported on request), not methods.

=head1 FUNCTIONS

=head2 extract_key_indices

    my @indices = extract_key_indices( $command, @args );

The 0-based indices into C<@args> of the arguments that are keys, in increasing order.
C<$command> is the command's name (C<'GET'>, any case), or its words (C<'CLIENT KILL'> or
C<['CLIENT', 'KILL']>) with C<@args> the arguments after them; for a command with subcommands
(C<XINFO>, C<OBJECT>, ...) the subcommand may also be the first of C<@args>. Commands without
keys, commands the table does not know (a module's) and key counts that are not numbers give
the empty list. Croaks when no command is given.

    my @i = extract_key_indices( 'SET', 'user:1', 'v', 'EX', 60 );    # ( 0 )
    my @j = extract_key_indices( 'PING' );                            # ()

=head2 apply_prefix

    my @new_args = apply_prefix( $prefix, $command, @args );

A copy of C<@args> in which every key argument (as L</extract_key_indices> finds them) has
C<$prefix> in front; nothing else changes, and C<@args> itself is left as it is. Character
strings are joined as UTF-8 bytes (as they would be sent); undef and references are left
alone. An undef or empty prefix gives the arguments unchanged. Croaks when no command is given.

    use Future::IO::Redis::KeyExtractor qw( apply_prefix );
    my @args = apply_prefix( 'app:', 'BLMOVE', 'src', 'dst', 'LEFT', 'RIGHT', 5 );
    # ( 'app:src', 'app:dst', 'LEFT', 'RIGHT', 5 )

=head1 SEE ALSO

L<Future::IO::Redis/prefix>, L<Future::IO::Redis::Commands/key_positions>,
L<Future::IO::Redis::Commands/prefix_args>.

=cut

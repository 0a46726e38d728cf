package Future::IO::Redis::Pipeline 0.001;
use v5.14;
use warnings;

use Carp ();
use Future;

use parent -norequire, 'Future::IO::Redis::Commands';
require Future::IO::Redis::Commands;

sub new {
    my ( $class, $redis, %opts ) = @_;
    my $max = delete $opts{max_depth};
    Carp::croak( "Future::IO::Redis::Pipeline: unknown option '" . ( sort keys %opts )[0] . "' (options: max_depth)" ) if %opts;
    Carp::croak( "Future::IO::Redis::Pipeline: max_depth must be a non-negative integer, not '" . ( $max // 'undef' ) . "'" )
      if defined $max && ( ref $max || $max !~ /\A[0-9]+\z/ );
    # transforms: index of a queued command => its reply transformer (most have none).
    return bless { redis => $redis, commands => [], transforms => {}, max_depth => $max || 0 }, $class;
}

# The code that queues a command: its words (none for `command`) and the caller's arguments, in
# an array the pipeline owns, checked as they are queued (so that a bad argument croaks at the
# caller's line, not at execute), with the client's key prefix; and its reply transformer.
# Compiled once per command, its words inlined; an executed pipeline has no command array.
sub _queuer {
    my ( $words, $transform ) = @_;
    my $w    = join '', map { my $q = $_; $q =~ s/([\\'])/\\$1/g; "'$q', " } @$words;
    my $code = <<"PERL";
sub {
    my \$self     = shift;
    my \$commands = \$self->{commands} // _executed();
    _depth_exceeded(\$self) if \$self->{max_depth} && \@\$commands >= \$self->{max_depth};
    for (\@_) { _bad_arguments( [ ${w}\@_ ] ) if !defined || ref }
    push \@\$commands, defined \$self->{redis}{prefix}
      ? [ Future::IO::Redis::Commands::prefix_args( \$self->{redis}{prefix}, [ ${w}\@_ ] ) ]
      : [ ${w}\@_ ];
    @{[ $transform ? '$self->{transforms}{$#$commands} = $transform;' : '' ]}
    return \$self;
}
PERL
    return eval $code || die "Future::IO::Redis::Pipeline: cannot compile a queuing method: $@";
}

sub _executed { Carp::croak("Future::IO::Redis::Pipeline: this pipeline was already executed") }

sub _depth_exceeded {
    my ($self) = @_;
    Carp::croak("Pipeline depth limit ($self->{max_depth}) exceeded");
}

my $queue_command = _queuer( [] );

sub command {
    Carp::croak("Future::IO::Redis::Pipeline: command() needs a command name") unless @_ > 1;
    goto &$queue_command;
}

sub _bad_arguments {
    my ($args) = @_;
    for my $i ( 0 .. $#$args ) {
        next if defined $args->[$i] && !ref $args->[$i];
        my $what = defined $args->[$i] ? 'a reference' : 'undef';
        Carp::croak("Future::IO::Redis::Pipeline: the command name is $what") if $i == 0;
        Carp::croak("Future::IO::Redis::Pipeline: $args->[0]: argument $i after the command name is $what; commands take strings and numbers");
    }
}

# The command methods (Future::IO::Redis::Commands asks for them on first use): each queues its
# command in one call, its words inlined.
my %SENDER;

sub _command_sender {
    my ( undef, $method ) = @_;
    return Future::IO::Redis::Commands::installed_sender( __PACKAGE__, $method, \%SENDER, \&_queuer );
}

# The earlier clients of this design name it add.
sub add { shift->command(@_) }

sub count     { scalar @{ $_[0]{commands} // [] } }
sub max_depth { $_[0]{max_depth} }

# Scripts in a pipeline: EVAL (nothing can branch on a reply here; see Future::IO::Redis::Script).
sub evalsha_or_eval {
    my ( $self, $sha, @rest ) = @_;
    return $self->command( Future::IO::Redis::Script::_queued_eval( 'evalsha_or_eval', @rest ) );
}

sub run_script {
    my ( $self, @args ) = @_;
    return $self->command( Future::IO::Redis::Script::_queued_defined( $self->{redis}, @args ) );
}

sub execute {
    my ($self) = @_;
    my $commands = delete $self->{commands} // _executed();
    my $transforms = delete $self->{transforms};
    return Future->done( [] ) unless @$commands;
    return $self->{redis}->_submit_batch( $commands, %$transforms ? $transforms : undef );
}

1;

__END__

=head1 NAME

Future::IO::Redis::Pipeline - send many commands in one write

=head1 SYNOPSIS

    my $pipe = $redis->pipeline;
    $pipe->set( key1 => 'value1' );
    $pipe->incr('counter');
    my $results = await $pipe->execute;     # ['OK', 1]

    my $results = await $redis->pipeline->set( a => 1 )->get('a')->execute;

=head1 DESCRIPTION

Command methods (the same as the client's, see L<Future::IO::Redis::Commands>) queue a command
and return the pipeline, so calls chain. Nothing is sent until L</execute>.

=head1 METHODS

=head2 command

    $pipe->command( 'SET', $key, $value );

Queues any command; returns the pipeline. Croaks on undef or reference arguments. With the
client's C<prefix> option, the command's key arguments get the prefix (as on the client).

=head2 add

    $pipe->add( 'SET', $key, $value )->add( 'INCR', 'n' );

The same as L</command> (the name earlier Perl clients of this design use).

=head2 evalsha_or_eval

    $pipe->evalsha_or_eval( $sha, $lua, $numkeys, @keys, @args );

Queues C<EVAL $lua ...>: a pipeline cannot fall back from C<NOSCRIPT> (see
L<Future::IO::Redis::Script/IN PIPELINES AND TRANSACTIONS>). Returns the pipeline.

=head2 run_script

    $pipe->run_script( $name, @args );

Queues a command defined on the client with L<Future::IO::Redis/define_command>. Returns the
pipeline.

=head2 count

    my $n = $pipe->count;

Number of queued commands.

=head2 max_depth

    my $limit = $pipe->max_depth;    # 0: no limit

The most commands this pipeline takes: C<< $redis->pipeline( max_depth => N ) >>, else the
client's C<pipeline_max_depth> option (0, no limit, by default). Queuing one more croaks with
C<Pipeline depth limit (N) exceeded>; the commands already queued stay queued and can still be
executed. Not to be confused with the client's C<pipeline_depth>, which limits the commands in
flight on the connection (a pipeline's commands count one by one) and never croaks.

    use Future::IO::Redis;
    my $redis = Future::IO::Redis->new;
    my $pipe  = $redis->pipeline( max_depth => 2 );
    $pipe->incr('a')->incr('b');
    eval { $pipe->incr('c') };
    print $@;                                     # Pipeline depth limit (2) exceeded at ...
    my $results = $pipe->execute->get;            # [ 1, 1 ]: the two queued ones

=head2 execute

    my $results = await $pipe->execute;

Sends every queued command in one write and resolves to an array reference with one element
per command, in order: its reply, or, for a command that failed, its error object (a
L<Future::IO::Redis::Error::Redis> for an error reply; a C<::Timeout>, C<::Connection> or
C<::Disconnected> for a command lost with its connection). The Future itself does not fail.
All commands of a pipeline share one deadline (C<request_timeout> from the moment of
C<execute>). A pipeline executes once; executing it again croaks.

=cut

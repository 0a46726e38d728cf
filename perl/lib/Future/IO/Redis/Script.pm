package Future::IO::Redis::Script 0.001;
use v5.14;
use warnings;

use Carp ();
use Digest::SHA ();
use Future;
use Scalar::Util ();

require Future::IO::Redis::Error;

# Croaks name the caller's line.
our @CARP_NOT = qw( Future::IO::Redis Future::IO::Redis::Pipeline Future::IO::Redis::Transaction Future::IO::Redis::Library );

# ----- helpers shared by the client, pipelines and transactions -----------------------------

# The SHA1 Redis names a script by: of its bytes (a character string is sent as UTF-8).
sub sha_of {
    my ($lua) = @_;
    utf8::encode( $lua = "$lua" ) if utf8::is_utf8($lua);
    return Digest::SHA::sha1_hex($lua);
}

# Check a script call's arguments: a script body, a key count that is a whole number no larger
# than the keys and arguments given.
sub _check_call {
    my ( $what, $lua, $numkeys, $rest ) = @_;
    Carp::croak("Future::IO::Redis: $what: the script must be a string") if !defined $lua || ref $lua;
    _check_numkeys( $what, $numkeys, $rest );
}

sub _check_numkeys {
    my ( $what, $numkeys, $rest ) = @_;
    Carp::croak( "Future::IO::Redis: $what: the number of keys must be a whole number (got "
          . ( defined $numkeys ? "'$numkeys'" : 'undef' ) . ')' )
      unless defined $numkeys && !ref $numkeys && $numkeys =~ /\A[0-9]+\z/;
    Carp::croak( "Future::IO::Redis: $what: $numkeys keys announced but only " . scalar(@$rest) . ' keys and arguments given' )
      if $numkeys > @$rest;
}

sub _is_error { Scalar::Util::blessed( $_[0] ) && $_[0]->isa('Future::IO::Redis::Error::Redis') }

sub _noscript { _is_error( $_[0] ) && $_[0]->code eq 'NOSCRIPT' }

# $redis->evalsha_or_eval($sha, $lua, $numkeys, @keys_and_args).
sub evalsha_or_eval {
    my ( $redis, $sha, $lua, $numkeys, @rest ) = @_;
    _check_call( 'evalsha_or_eval', $lua, $numkeys, \@rest );
    $sha = sha_of($lua) unless defined $sha && length $sha;
    # Each command method applies the client's prefix to the keys itself (from the original
    # arguments, so never twice).
    return $redis->evalsha( $sha, $numkeys, @rest )->else(
        sub {
            return Future->fail(@_) unless _noscript( $_[0] );
            # EVAL runs the script and puts it in the server's script cache.
            return $redis->eval( $lua, $numkeys, @rest );
        }
    );
}

# The command words a pipeline or transaction queues for evalsha_or_eval: EVAL (nothing can
# branch on a reply there).
sub _queued_eval {
    my ( $what, $lua, $numkeys, @rest ) = @_;
    _check_call( $what, $lua, $numkeys, \@rest );
    return ( 'EVAL', $lua, $numkeys, @rest );
}

# The command words a pipeline or transaction queues for a defined command.
sub _queued_defined {
    my ( $redis, $name, @args ) = @_;
    my $def = _definition( $redis, $name );
    my ( $numkeys, @rest ) = $def->_split( $name, @args );
    return $def->{function}
      ? ( ( $def->{read_only} ? 'FCALL_RO' : 'FCALL' ), $def->{function}, $numkeys, @rest )
      : ( 'EVAL', $def->{lua}, $numkeys, @rest );
}

# ----- script objects -----------------------------------------------------------------------

sub new {
    my ( $class, %args ) = @_;
    my @unknown = grep { !/\A(?:redis|lua|keys)\z/ } sort keys %args;
    Carp::croak( 'Future::IO::Redis: script: unknown options: ' . join( ', ', @unknown ) . ' (the only one is keys)' ) if @unknown;
    my $lua = $args{lua};
    Carp::croak('Future::IO::Redis: script needs the Lua source as a string') if !defined $lua || ref $lua;
    my $keys = $args{keys};
    if ( defined $keys ) {
        Carp::croak("Future::IO::Redis: script: keys must be a whole number or 'dynamic' (got '$keys')")
          unless $keys =~ /\A(?:[0-9]+|dynamic)\z/;
        undef $keys if $keys eq 'dynamic';
    }
    else {
        $keys = _literal_keys($lua);
    }
    return bless { redis => $args{redis}, lua => $lua, sha => sha_of($lua), keys => $keys }, $class;
}

# The number of keys a script takes when it reads KEYS only at literal indexes (KEYS[1],
# KEYS[2]): the highest; 0 when it does not read KEYS at all; undef otherwise (#KEYS, KEYS[i],
# unpack(KEYS): the caller says).
sub _literal_keys {
    my ($lua) = @_;
    my $max = 0;
    while ( $lua =~ /\bKEYS\b(\s*\[\s*([0-9]+)\s*\])?/g ) {
        return undef unless defined $2;
        $max = $2 if $2 > $max;
    }
    return $max;
}

sub sha  { $_[0]{sha} }
sub lua  { $_[0]{lua} }
sub numkeys { $_[0]{keys} }

# Compatibility with the earlier implementation, whose accessor had this name.
sub script { $_[0]{lua} }

sub call {
    my ( $self, @args ) = @_;
    my $redis = $self->{redis} or Carp::croak('Future::IO::Redis::Script: this script belongs to no client');
    my $n = $self->{keys} // 0;
    _check_numkeys( 'script call', $n, \@args );
    return evalsha_or_eval( $redis, $self->{sha}, $self->{lua}, $n, @args );
}

sub call_with_keys {
    my ( $self, $numkeys, @args ) = @_;
    my $redis = $self->{redis} or Carp::croak('Future::IO::Redis::Script: this script belongs to no client');
    _check_numkeys( 'call_with_keys', $numkeys, \@args );
    return evalsha_or_eval( $redis, $self->{sha}, $self->{lua}, $numkeys, @args );
}

sub load {
    my ($self) = @_;
    my $redis = $self->{redis} or Carp::croak('Future::IO::Redis::Script: this script belongs to no client');
    return $redis->script_load( $self->{lua} );
}

# A defined command's arguments: the key count and the keys and arguments after it.
sub _split {
    my ( $self, $name, @args ) = @_;
    my $n = $self->{keys};
    if ( !defined $n ) {
        $n = shift @args;
        _check_numkeys( "$name (keys => 'dynamic': the number of keys comes first)", $n, \@args );
    }
    else {
        _check_numkeys( $name, $n, \@args );
    }
    return ( $n, @args );
}

# ----- commands defined per client ----------------------------------------------------------

# Classes made for clients with defined commands: one per base class and set of names, so that
# clients that define the same commands (a pool's) share one.
my %CLASS;
my $CLASSES = 0;

sub define_command {
    my ( $redis, $name, $spec ) = @_;
    Carp::croak('Future::IO::Redis: define_command takes a name and a hash reference (keys => N, lua => ...)')
      unless defined $name && !ref $name && ref $spec eq 'HASH';
    Carp::croak("Future::IO::Redis: define_command: '$name' is not a method name (letters, digits and _, not first a digit)")
      unless $name =~ /\A[A-Za-z_][A-Za-z0-9_]*\z/;
    my %spec = %$spec;
    my ( $lua, $function, $library, $ro ) = delete @spec{qw( lua function library read_only )};
    my $keys = delete $spec{keys} // 'dynamic';
    Carp::croak( "Future::IO::Redis: define_command $name: unknown options: " . join( ', ', sort keys %spec ) ) if %spec;
    Carp::croak("Future::IO::Redis: define_command $name: give either lua => ... or function => ... (with library => ...)")
      unless defined $lua xor defined $function;
    my $def;
    if ( defined $lua ) {
        Carp::croak("Future::IO::Redis: define_command $name: library and read_only go with function, not lua")
          if defined $library || defined $ro;
        $def = __PACKAGE__->new( lua => $lua, keys => $keys );
    }
    else {
        Carp::croak("Future::IO::Redis: define_command $name: function must be a function name") if ref $function;
        $def = __PACKAGE__->new( lua => '', keys => $keys );
        require Future::IO::Redis::Library;
        @$def{qw( function read_only library )} =
          ( "$function", $ro ? 1 : 0, defined $library ? Future::IO::Redis::Library->new( code => $library ) : undef );
    }
    my $defined = $redis->{defined_commands} //= {};
    if ( !$defined->{$name} && $redis->can($name) ) {
        Carp::croak("Future::IO::Redis: define_command: $name is already a method of " . ref($redis) . '; choose another name');
    }
    $defined->{$name} = $def;
    # A class of its own for this client's set of names, below its class (see the POD).
    my $base = $redis->{defined_base} //= ref $redis;
    my @names = sort keys %$defined;
    my $key   = join "\0", $base, @names;
    my $class = $CLASS{$key} //= do {
        my $pkg = 'Future::IO::Redis::Defined::C' . ++$CLASSES;
        no strict 'refs';
        @{"${pkg}::ISA"} = ($base);
        for my $n (@names) {
            *{"${pkg}::$n"} = sub { shift->run_script( $n, @_ ) };
        }
        $pkg;
    };
    bless $redis, $class;
    return $redis;
}

sub _definition {
    my ( $redis, $name ) = @_;
    my $def = defined $name && $redis->{defined_commands} ? $redis->{defined_commands}{$name} : undef;
    Carp::croak( "Future::IO::Redis: run_script: no command '" . ( $name // 'undef' ) . "' was defined on this client (define_command)" )
      unless $def;
    return $def;
}

# The registry of defined commands, by the names the earlier clients of this design use.
sub get_script {
    my ( $redis, $name ) = @_;
    return defined $name && $redis->{defined_commands} ? $redis->{defined_commands}{$name} : undef;
}

sub list_scripts { sort keys %{ $_[0]{defined_commands} || {} } }

# Load every defined command's script (SCRIPT LOAD) or function library (FUNCTION LOAD
# REPLACE) now, e.g. before a pipeline that runs them: a Future of how many were defined.
sub preload_scripts {
    my ($redis) = @_;
    my @defs = map { $redis->{defined_commands}{$_} } list_scripts($redis);
    my @loads = map {
          !$_->{function} ? $redis->script_load( $_->{lua} )
        : $_->{library}   ? Future::IO::Redis::Library::_load( $redis, $_->{library} )
        :                   ()
    } @defs;
    return Future->needs_all(@loads)->then( sub { Future->done( scalar @defs ) } );
}

# $redis->run_script($name, @args).
sub run_script {
    my ( $redis, $name, @args ) = @_;
    my $def = _definition( $redis, $name );
    my ( $numkeys, @rest ) = $def->_split( $name, @args );
    return evalsha_or_eval( $redis, $def->{sha}, $def->{lua}, $numkeys, @rest ) unless $def->{function};
    return Future::IO::Redis::Library::fcall_or_load( $redis, $def->{library}, $def->{read_only}, $def->{function}, $numkeys, @rest );
}

1;

__END__

=head1 NAME

Future::IO::Redis::Script - Lua scripts run by SHA, loaded when the server lacks them

=head1 SYNOPSIS

    use Future::AsyncAwait;

    my $script = $redis->script(<<'LUA');
        local current = redis.call('GET', KEYS[1]) or 0
        local new = current + ARGV[1]
        redis.call('SET', KEYS[1], new)
        return new
    LUA

    my $n = await $script->call( 'counter', 10 );              # KEYS[1] = counter, ARGV[1] = 10
    my $m = await $script->call_with_keys( 1, 'counter', 5 );  # the key count given

    # Or without an object:
    my $v = await $redis->evalsha_or_eval( $script->sha, $script->lua, 1, 'counter', 1 );

    # A named command on this client only:
    $redis->define_command( incr_by_max => {
        keys => 1,
        lua  => q{
            local v = redis.call('INCRBY', KEYS[1], ARGV[1])
            if v > tonumber(ARGV[2]) then redis.call('SET', KEYS[1], ARGV[2]); return tonumber(ARGV[2]) end
            return v
        },
    });
    my $capped = await $redis->incr_by_max( 'hits', 5, 100 );

=head1 DESCRIPTION

A script object is made by L<Future::IO::Redis/script>. It runs its script with C<EVALSHA>, which
sends only the script's SHA1; when the server answers C<NOSCRIPT> (the first use, after
C<SCRIPT FLUSH>, after a server restart or a failover), it runs it with C<EVAL>, which also puts
it in the server's script cache, so the next call is an C<EVALSHA> again. The client's C<prefix>
applies to the keys (the first I<numkeys> arguments), never to the other arguments.

=head1 METHODS

=head2 sha

    my $sha = $script->sha;     # 40 hex digits

The SHA1 of the script (of its UTF-8 bytes, for a character string), as Redis names it.

=head2 lua

    my $source = $script->lua;

The script's source (C<script> is the same, for code written for earlier implementations).

=head2 numkeys

    my $n = $script->numkeys;

How many of C<call>'s arguments are keys: the C<keys> option of
L<Future::IO::Redis/script>, else worked out from the source. A script that reads C<KEYS> only
as C<KEYS[1]>, C<KEYS[2]>, ... takes as many keys as the highest index; one that does not read
C<KEYS> takes none; one that reads it any other way (C<#KEYS>, C<KEYS[i]>, C<unpack(KEYS)>) is
undef: C<call> then passes no keys (as earlier implementations did), so give C<keys> or use
C<call_with_keys>.

=head2 call

    my $result = await $script->call( @keys, @args );

Runs the script with the first L</numkeys> arguments as C<KEYS> and the rest as C<ARGV>, and
resolves to its result. Fails with L<Future::IO::Redis::Error::Redis> when the script fails (a
Lua error, a command error it passed on) and like any command otherwise. Croaks when fewer
arguments than keys are given.

    my $script = $redis->script(q{ return redis.call('INCRBY', KEYS[1], ARGV[1]) });
    my $n = await $script->call( 'visits', 2 );

=head2 call_with_keys

    my $result = await $script->call_with_keys( $numkeys, @keys, @args );

The same with the number of keys given. Croaks unless C<$numkeys> is a whole number no larger
than the number of arguments after it.

    my $sum = await $redis->script(q{ return #KEYS + #ARGV })->call_with_keys( 2, 'a', 'b', 'x' );   # 3

=head2 load

    my $sha = await $script->load;

Loads the script now (C<SCRIPT LOAD>) and resolves to its SHA1. Never needed: a call loads it
when the server lacks it.

=head1 IN PIPELINES AND TRANSACTIONS

A pipeline or a transaction cannot look at one reply before sending the next command, so it
cannot fall back from C<NOSCRIPT>. There, C<evalsha_or_eval> queues C<EVAL> with the script's
source: always correct, and it caches the script on the server for later calls outside them
(C<EVALSHA> there might find the script gone, after a flush or a restart, with nothing to do
about it). Scripts of defined commands (L<Future::IO::Redis/define_command>) are queued the
same way by C<run_script>:

    my $results = await $redis->pipeline
        ->evalsha_or_eval( $script->sha, $script->lua, 1, 'counter', 1 )
        ->run_script( incr_by_max => 'hits', 1, 100 )
        ->execute;

=head1 DEFINED COMMANDS

L<Future::IO::Redis/define_command> gives one client a method that runs a script (or a Redis 7
function). The method exists on that client only: the client is re-blessed into a class made
for its set of defined names, a subclass of its own class (clients that define the same names
share one such class, so a pool of clients makes one, not one per client). Nothing is added to
Future::IO::Redis itself, so other clients, and other code using the module in the same
process, see no new methods. The same commands are reachable by name, on the client, pipelines
and transactions, with C<run_script>. C<< ref $redis >> names the made class;
C<< $redis->isa('Future::IO::Redis') >> stays true.

=head1 FUNCTIONS

Redis 7 functions are handled by L<Future::IO::Redis::Library>, with the same conveniences:
loaded on first use and again after C<FUNCTION FLUSH> or a restart.

=cut

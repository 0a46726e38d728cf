package Future::IO::Redis::Library 0.001;
use v5.14;
use warnings;

use Carp ();
use Future;
use Scalar::Util ();

require Future::IO::Redis::Error;

our @CARP_NOT = qw( Future::IO::Redis Future::IO::Redis::Script );

sub new {
    my ( $class, %args ) = @_;
    my $code = $args{code};
    Carp::croak('Future::IO::Redis: function_library needs the library source as a string') if !defined $code || ref $code;
    my ($name) = $code =~ /\A\s*#!\s*lua\b[^\n]*?\bname=([^\s]+)/;
    Carp::croak('Future::IO::Redis: function_library: the library must start with a shebang naming it, e.g. "#!lua name=mylib"')
      unless defined $name;
    return bless { redis => $args{redis}, code => $code, name => $name }, $class;
}

sub name { $_[0]{name} }
sub code { $_[0]{code} }

sub _redis { $_[0]{redis} or Carp::croak('Future::IO::Redis::Library: this library belongs to no client') }

sub load {
    my ($self) = @_;
    return _load( $self->_redis, $self );
}

sub call {
    my ( $self, $function, $numkeys, @args ) = @_;
    return fcall_or_load( $self->_redis, $self, 0, $function, $numkeys, @args );
}

sub call_ro {
    my ( $self, $function, $numkeys, @args ) = @_;
    return fcall_or_load( $self->_redis, $self, 1, $function, $numkeys, @args );
}

sub _load {
    my ( $redis, $lib ) = @_;
    return $redis->function_load( 'REPLACE', $lib->{code} );
}

sub _not_found {
    my ($err) = @_;
    return Scalar::Util::blessed($err) && $err->isa('Future::IO::Redis::Error::Redis') && $err->message =~ /\AERR Function not found/;
}

# FCALL (or FCALL_RO) $function; when the server does not know it and a library is given, load
# the library (FUNCTION LOAD REPLACE) and call once more.
sub fcall_or_load {
    my ( $redis, $lib, $ro, $function, $numkeys, @args ) = @_;
    Carp::croak('Future::IO::Redis: fcall: the function name must be a string') if !defined $function || ref $function;
    require Future::IO::Redis::Script;
    Future::IO::Redis::Script::_check_numkeys( "fcall $function", $numkeys, \@args );
    my $call = $ro ? 'fcall_ro' : 'fcall';
    my $f = $redis->$call( $function, $numkeys, @args );
    return $f unless $lib;
    return $f->else(
        sub {
            return Future->fail(@_) unless _not_found( $_[0] );
            # Calls that find the function missing at the same time share one load.
            my $load = $lib->{loading};
            if ( !$load ) {
                $load = $lib->{loading} = _load( $redis, $lib );
                $load->on_ready( sub { delete $lib->{loading} } );
            }
            return $load->then( sub { $redis->$call( $function, $numkeys, @args ) } );
        }
    );
}

1;

__END__

=head1 NAME

Future::IO::Redis::Library - a Redis 7 function library, loaded when the server lacks it

=head1 SYNOPSIS

    use Future::AsyncAwait;

    my $lib = $redis->function_library(<<'LUA');
    #!lua name=counters
    redis.register_function('bump', function(keys, args)
        return redis.call('INCRBY', keys[1], args[1])
    end)
    redis.register_function{ function_name = 'peek', flags = { 'no-writes' },
        callback = function(keys, args) return redis.call('GET', keys[1]) end }
    LUA

    my $n = await $lib->call( bump => 1, 'hits', 5 );     # FCALL bump 1 hits 5
    my $v = await $lib->call_ro( peek => 1, 'hits' );     # FCALL_RO peek 1 hits

    # Or as a method of this client:
    $redis->define_command( bump => { function => 'bump', library => $lib->code, keys => 1 } );
    my $m = await $redis->bump( 'hits', 1 );

=head1 DESCRIPTION

Functions (Redis 7.0 and later) live in libraries that the server keeps (and persists and
replicates), unlike cached scripts; they are still gone after C<FUNCTION FLUSH>, or a restart of
a server without persistence. A library object made by L<Future::IO::Redis/function_library>
calls its functions with C<FCALL> / C<FCALL_RO>; when the server answers
C<ERR Function not found>, it loads the library (C<FUNCTION LOAD REPLACE>; once for all the calls
that found it missing meanwhile) and calls again. The client's C<prefix> applies to the keys.

In pipelines and transactions nothing can wait for a reply before the next command: a defined
command backed by a function is queued as a plain C<FCALL> there, so load the library first
(C<< await $lib->load >>).

=head1 METHODS

=head2 name

    my $name = $lib->name;      # 'counters'

The library name, from its C<#!lua name=...> first line (which C<FUNCTION LOAD> requires:
C<function_library> croaks without it).

=head2 code

The library's source.

=head2 load

    my $name = await $lib->load;

C<FUNCTION LOAD REPLACE>: loads the library now (replacing a loaded one of that name) and
resolves to its name. Fails with L<Future::IO::Redis::Error::Redis> when the server refuses it
(a Lua error, a function that another library registered).

=head2 call

    my $result = await $lib->call( $function, $numkeys, @keys, @args );

C<FCALL>, loading the library first when the server does not know the function. Croaks unless
C<$numkeys> is a whole number no larger than the number of arguments after it.

    my $lib = $redis->function_library("#!lua name=hello\nredis.register_function('hello', function() return 'hi' end)");
    say await $lib->call( hello => 0 );     # hi

=head2 call_ro

    my $result = await $lib->call_ro( $function, $numkeys, @keys, @args );

The same with C<FCALL_RO>, for functions registered with the C<no-writes> flag (allowed on
read-only replicas).

=cut

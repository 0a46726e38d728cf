package Future::IO::Redis::Error::Redis 0.001;
use v5.14;
use warnings;

use Future::IO::Redis::Error ();
our @ISA = ('Future::IO::Redis::Error');

# The message of an error reply that had none (`-\r\n`); see from_kind in Error.pm.
use constant EMPTY_REPLY_MESSAGE => 'the server sent an empty error reply';

my %TRANSIENT = map { $_ => 1 } qw(
    LOADING BUSY TRYAGAIN CLUSTERDOWN MASTERDOWN READONLY NOREPLICAS
);

my %FATAL = map { $_ => 1 } qw(
    ERR WRONGTYPE OOM NOSCRIPT NOAUTH WRONGPASS NOPERM EXECABORT
);

sub _init {
    my ( $self, $args ) = @_;
    my $code = $args->{code} // $args->{type};
    unless ( defined $code && length $code ) {
        my ($word) = $self->{message} =~ /\A(\S+)/;
        $code = ( defined $word && $word =~ /\A[A-Z][A-Z0-9_-]*\z/ ) ? $word : 'ERR';
    }
    $self->{code} = "$code";
    return;
}

sub category     { 'redis' }
sub code         { $_[0]{code} }
sub type         { $_[0]{code} }

sub from_message {
    my ( $class, $message ) = @_;
    $class = ref $class if ref $class;
    return $class->new( message => $message );
}

sub is_wrongtype { $_[0]{code} eq 'WRONGTYPE' ? 1 : 0 }
sub is_oom       { $_[0]{code} eq 'OOM'       ? 1 : 0 }
sub is_busy      { $_[0]{code} eq 'BUSY'      ? 1 : 0 }
sub is_loading   { $_[0]{code} eq 'LOADING'   ? 1 : 0 }
sub is_noscript  { $_[0]{code} eq 'NOSCRIPT'  ? 1 : 0 }
sub is_readonly  { $_[0]{code} eq 'READONLY'  ? 1 : 0 }
sub is_noauth    { $_[0]{code} eq 'NOAUTH'    ? 1 : 0 }
sub is_noperm    { $_[0]{code} eq 'NOPERM'    ? 1 : 0 }
sub is_transient { $TRANSIENT{ $_[0]{code} } ? 1 : 0 }
sub is_fatal     { $FATAL{ $_[0]{code} }     ? 1 : 0 }

1;

__END__

=head1 NAME

Future::IO::Redis::Error::Redis - an error reply from the Redis server

=head1 SYNOPSIS

    use Syntax::Keyword::Try;

    try {
        await $redis->lpush( 'a-string-key', 'x' );
    }
    catch ($e) {
        if ( ref $e && $e->isa('Future::IO::Redis::Error::Redis') ) {
            warn "wrong type" if $e->code eq 'WRONGTYPE';
        }
    }

    my $err = Future::IO::Redis::Error::Redis->new(
        message => 'WRONGTYPE Operation against a key holding the wrong kind of value',
    );
    say $err->code;        # WRONGTYPE
    say $err->is_fatal;    # 1

=head1 DESCRIPTION

Represents an error reply (RESP C<-...> line) from the server. The message is
the server's error line without the leading C<->. Inside pipelines and
transactions these objects are returned in the result list instead of failing
the whole pipeline.

Subclass of L<Future::IO::Redis::Error>; category C<redis>.

B<Empty error replies.> A server may send an error reply with no text at all
(C<-\r\n>): Redis 7 does when a Lua script returns C<{err=''}>, at the top level or nested in an
array. Such a reply is an error like any other: its message is C<the server sent an empty error
reply> and its code C<ERR> (so C<is_fatal> is true). Only replies from the server are treated
this way: C<new> still requires a non-empty message.

=head1 METHODS

All methods of L<Future::IO::Redis::Error> are available. In addition:

=head2 new

    my $err = Future::IO::Redis::Error::Redis->new(
        message => $error_line,
        code    => 'MOVED',         # optional; normally derived from message
    );

=head2 code

    my $code = $err->code;

The error code: the first whitespace-delimited word of the message if it
consists only of upper-case letters, digits, C<_> and C<-> (starting with a
letter), otherwise C<ERR>. An explicit C<< code => ... >> given to C<new>
takes precedence. Examples: C<WRONGTYPE>, C<ERR>, C<NOSCRIPT>, C<LOADING>,
C<BUSY>, C<MOVED>, C<ASK>, C<TRYAGAIN>, C<CLUSTERDOWN>, C<READONLY>,
C<MASTERDOWN>, C<NOAUTH>, C<WRONGPASS>, C<NOPERM>, C<OOM>, C<EXECABORT>,
C<NOREPLICAS>, C<BUSYKEY>, C<UNBLOCKED>.

=head2 type

    my $code = $err->type;

The same as L</code> (the name earlier Perl clients of this design use). C<new> accepts
C<< type => ... >> as well as C<< code => ... >> (C<code> wins when both are given).

=head2 from_message

    my $err = Future::IO::Redis::Error::Redis->from_message('WRONGTYPE Operation against a key');
    say $err->type;    # WRONGTYPE

Builds the error for an error reply's text (without the leading C<->), as the client does for
the server's error replies: the code is its first word when that looks like one, else C<ERR>.
Croaks on an empty message, as C<new> does.

=head2 is_wrongtype, is_oom, is_busy, is_loading, is_noscript, is_readonly, is_noauth, is_noperm

    if ( $err->is_wrongtype ) { ... }

1 when L</code> is C<WRONGTYPE>, C<OOM>, C<BUSY>, C<LOADING>, C<NOSCRIPT>, C<READONLY>,
C<NOAUTH> or C<NOPERM> respectively, else 0. For example, against a key holding a string:

    use Future::IO::Redis;
    my $redis = Future::IO::Redis->new;
    $redis->set( k => 'v' )->get;
    my $f = $redis->lpush( k => 'x' );
    $f->await;
    print $f->failure->is_wrongtype;    # 1

=head2 is_transient

    retry() if $err->is_transient;

True if the server may accept the same command later (see the table below).

=head2 is_fatal

    give_up() if $err->is_fatal;

True if retrying the same command cannot help. Both are derived from
L</code>:

    code         is_transient  is_fatal  meaning
    -----------  ------------  --------  ----------------------------------
    LOADING           1           0      server loading dataset into memory
    BUSY              1           0      script/function running
    TRYAGAIN          1           0      multi-key op during resharding
    CLUSTERDOWN       1           0      cluster is down
    MASTERDOWN        1           0      replica lost link to master
    READONLY          1           0      wrote to a replica (failover?)
    NOREPLICAS        1           0      not enough good replicas
    ERR               0           1      generic: syntax, wrong # of args...
    WRONGTYPE         0           1      wrong kind of value for command
    OOM               0           1      maxmemory reached
    NOSCRIPT          0           1      unknown script SHA (use EVAL)
    NOAUTH            0           1      authentication required
    WRONGPASS         0           1      invalid username/password
    NOPERM            0           1      ACL denies the command/key
    EXECABORT         0           1      transaction discarded
    MOVED, ASK        0           0      cluster redirection
    anything else     0           0      (BUSYKEY, UNBLOCKED, module codes)

C<ERR> covers generic errors such as syntax errors and wrong numbers of
arguments: retrying the same command cannot help.

=head2 category

Returns C<redis>.

=cut

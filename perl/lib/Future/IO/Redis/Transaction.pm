package Future::IO::Redis::Transaction 0.001;
use v5.14;
use warnings;

use Carp ();
use Future;
use Future::IO;
use Scalar::Util ();

use parent -norequire, 'Future::IO::Redis::Commands';
require Future::IO::Redis::Commands;
require Future::IO::Redis::Error;

# Croaks name the caller's line.
our @CARP_NOT = qw( Future::IO::Redis Future::IO::Redis::Commands Future::IO::Redis::Script );

# Commands that open, end or watch around a transaction: inside one they would nest it or end it
# half way (the server refuses MULTI and WATCH inside MULTI; EXEC and DISCARD belong to multi).
my %NOT_INSIDE = map { $_ => 1 } qw( MULTI EXEC DISCARD WATCH UNWATCH );

# Clients (by address) whose multi callback is running right now (its code before its first
# await): a multi called from there would nest.
my %BUILDING;

# ----- the object the callback queues commands on ---------------------------------------------

sub _new {
    my ( $class, $redis ) = @_;
    return bless { redis => $redis, commands => [], transforms => [], open => 1 }, $class;
}

sub command {
    my ( $self, @args ) = @_;
    Carp::croak('Future::IO::Redis::Transaction: this transaction was already sent (queue commands inside the callback, before it returns)')
      unless $self->{open};
    Carp::croak('Future::IO::Redis::Transaction: command() needs a command name') unless @args;
    for my $i ( 0 .. $#args ) {
        next if defined $args[$i] && !ref $args[$i];
        my $what = defined $args[$i] ? 'a reference' : 'undef';
        Carp::croak("Future::IO::Redis::Transaction: the command name is $what") if $i == 0;
        Carp::croak("Future::IO::Redis::Transaction: $args[0]: argument $i after the command name is $what; commands take strings and numbers");
    }
    my $name = uc $args[0];
    if ( $NOT_INSIDE{$name} ) {
        Carp::croak('Future::IO::Redis::Transaction: MULTI cannot be nested: this callback already builds a transaction')
          if $name eq 'MULTI';
        Carp::croak("Future::IO::Redis::Transaction: $name cannot be queued inside a transaction: "
              . ( $name =~ /WATCH/ ? 'watch keys with watch_multi([keys], ...) or before MULTI' : 'multi sends EXEC itself, and discards when the callback dies' ) );
    }
    my $prefix = $self->{redis}{prefix};
    @args = Future::IO::Redis::Commands::prefix_args( $prefix, \@args ) if defined $prefix;
    push @{ $self->{commands} },   \@args;
    push @{ $self->{transforms} }, undef;
    return $self;
}

sub _transform {
    my ( $self, $tx, $code ) = @_;
    $self->{transforms}[-1] = $code;
    return $self;
}

sub count { scalar @{ $_[0]{commands} } }

# EVAL: inside a transaction there is no reply to branch on (see the POD).
sub evalsha_or_eval {
    my ( $self, $sha, $lua, $numkeys, @rest ) = @_;
    require Future::IO::Redis::Script;
    return $self->command( Future::IO::Redis::Script::_queued_eval( 'evalsha_or_eval', $lua, $numkeys, @rest ) );
}

sub run_script {
    my ( $self, $name, @args ) = @_;
    require Future::IO::Redis::Script;
    return $self->command( Future::IO::Redis::Script::_queued_defined( $self->{redis}, $name, @args ) );
}

# ----- running transactions (called by Future::IO::Redis) ------------------------------------

# A Future of the engine's class that is done (so that everything chained on it is too: `get`
# and `await` then drive the event loop).
sub _ready {
    my $f = Future::IO::Redis::Engine::new_future();
    return $f->done(@_);
}

# Whether the client's connection is in a transaction (the engine's view) or a callback of it is
# building one right now: a new one would nest.
sub _check_not_nested {
    my ( $redis, $what ) = @_;
    my $state = $redis->session_state;
    Carp::croak("Future::IO::Redis: $what: MULTI cannot be nested: this connection is already in a transaction (EXEC or DISCARD it first)")
      if $state->{in_multi} || $state->{multi_open};
    Carp::croak("Future::IO::Redis: $what: MULTI cannot be nested: called from the callback of another multi on this client")
      if $BUILDING{ Scalar::Util::refaddr($redis) };
}

# One after another per client: a transaction with watched keys holds its client from WATCH to
# EXEC, since any EXEC, DISCARD or UNWATCH in between (another transaction's) would drop its
# watches. $code->() gives a Future; the Future returned completes as it does.
#
# A transaction started from inside a watch_multi callback (after its first await) would wait for
# that callback, which waits for it: the wait is bounded by the client's request_timeout (5 s by
# default), after which it fails instead of waiting for ever.
sub _exclusive {
    my ( $redis, $exclusive, $code ) = @_;
    my $tail = $redis->{tx_tail};
    my $prev;
    if ( $tail && !$tail->is_ready ) {
        # A Future of our own, done when the tail is: cancelling this transaction (or its timing
        # out) must not cancel the one it waits for.
        my $free = $prev = Future::IO::Redis::Engine::new_future();
        $tail->on_ready( sub { $free->done unless $free->is_ready } );
        my $limit = exists $redis->{opts}{request_timeout} ? $redis->{opts}{request_timeout} : 5;
        if ($limit) {
            my $timer = Future::IO->sleep($limit)->then(
                sub {
                    Future->fail( Future::IO::Redis::Error::Timeout->new(
                        message => "a transaction on this client waited ${limit}s for a watch_multi of the same client to send its EXEC"
                          . ' (was it started from inside that watch_multi\'s callback? MULTI cannot be nested)',
                    ) );
                }
            );
            $prev = Future->wait_any( $prev, $timer );
        }
    }
    my $f = $prev ? $prev->then( sub { $code->() } ) : $code->();
    return $f unless $exclusive;
    my $mine = $f->followed_by( sub { Future->done } );
    $redis->{tx_tail} = $mine;
    $mine->on_ready( sub { delete $redis->{tx_tail} if $redis->{tx_tail} && $redis->{tx_tail} == $mine } );
    return $f;
}

# $redis->multi($code): the callback queues commands on a transaction object; they are sent as
# MULTI ... EXEC in one batch.
sub run {
    my ( $class, $redis, $code ) = @_;
    _check_not_nested( $redis, 'multi' );
    return _exclusive( $redis, 0, sub { _build_and_send( $redis, $code ) } );
}

# $redis->watch_multi([keys], $code).
sub run_watched {
    my ( $class, $redis, $keys, $code ) = @_;
    Carp::croak('Future::IO::Redis: watch_multi takes an array reference of keys and a code reference')
      unless ref $keys eq 'ARRAY' && ref $code eq 'CODE';
    Carp::croak('Future::IO::Redis: watch_multi needs at least one key to watch') unless @$keys;
    for my $k (@$keys) {
        Carp::croak('Future::IO::Redis: watch_multi: the keys must be strings (got ' . ( defined $k ? 'a reference' : 'undef' ) . ')')
          if !defined $k || ref $k;
    }
    _check_not_nested( $redis, 'watch_multi' );
    my @keys = @$keys;
    return _exclusive(
        $redis, 1,
        sub {
            # WATCH and the watched values in one round trip.
            my @cmds = map { [ Future::IO::Redis::Commands::prefix_args( $redis->{prefix}, $_ ) ] } [ 'WATCH', @keys ], [ 'MGET', @keys ];
            return $redis->_submit_batch( \@cmds )->then(
                sub {
                    my ($r) = @_;
                    my ($err) = grep { _is_error($_) } @$r;
                    if ($err) {
                        return Future->fail($err) if _is_error( $r->[0] );
                        return _unwatch_then( $redis, Future->fail($err) );
                    }
                    my %watched;
                    @watched{@keys} = @{ $r->[1] };
                    return _build_and_send( $redis, $code, \%watched );
                }
            );
        }
    );
}

sub _is_error { Scalar::Util::blessed( $_[0] ) && $_[0]->isa('Future::IO::Redis::Error') }

# UNWATCH (its outcome does not matter: a lost connection unwatched too), then $then's outcome.
sub _unwatch_then {
    my ( $redis, $then ) = @_;
    return $redis->command('UNWATCH')->followed_by( sub { $then } );
}

sub _build_and_send {
    my ( $redis, $code, $watched ) = @_;
    my $tx = __PACKAGE__->_new($redis);
    my $addr = Scalar::Util::refaddr($redis);
    my $built = do {
        local $BUILDING{$addr} = 1;
        my $r;
        if ( !eval { $r = $code->( $tx, $watched ? $watched : () ); 1 } ) { Future->fail($@) }
        elsif ( Scalar::Util::blessed($r) && $r->isa('Future') ) { $r }
        else { Future->done }
    };
    # From a Future of the engine's class, whatever class the callback's is.
    return _ready()->then( sub { $built } )->followed_by(
        sub {
            my ($f) = @_;
            $tx->{open} = 0;
            my @failure = $f->is_cancelled ? ('Future::IO::Redis: the multi callback was cancelled') : $f->failure;
            if (@failure) {
                # Nothing was sent: the transaction is discarded as it stands.
                my $fail = Future->fail(@failure);
                return $watched ? _unwatch_then( $redis, $fail ) : $fail;
            }
            my @batch = ( ['MULTI'], @{ $tx->{commands} }, ['EXEC'] );
            return $redis->_submit_batch( \@batch )->then( sub { _exec_result( $_[0], $tx ) } );
        }
    );
}

# The replies of MULTI, each queued command and EXEC: EXEC's array (each command's reply, or its
# error object in place, transformed like the client's), undef when EXEC was aborted by a
# watched key, or the failure that kept the transaction from running.
sub _exec_result {
    my ( $results, $tx ) = @_;
    my $exec  = $results->[-1];
    my @queue = @{$results}[ 1 .. $#$results - 1 ];
    # Lost with the connection, timed out: the first such failure says what happened.
    my ($lost) = grep { _is_error($_) && !$_->isa('Future::IO::Redis::Error::Redis') } @$results;
    return Future->fail($lost) if $lost;
    return Future->fail( $results->[0] ) if _is_error( $results->[0] );    # MULTI refused
    if ( _is_error($exec) ) {
        # EXECABORT: say which command the server refused while queueing.
        for my $i ( 0 .. $#queue ) {
            next unless _is_error( $queue[$i] );
            my $name = uc $tx->{commands}[$i][0];
            return Future->fail( Future::IO::Redis::Error::Redis->new(
                code    => $exec->code,
                message => $exec->message . " (command " . ( $i + 1 ) . ", $name: " . $queue[$i]->message . ')',
            ) );
        }
        return Future->fail($exec);
    }
    return Future->done(undef) unless defined $exec;
    if ( ref $exec eq 'ARRAY' ) {
        my $t = $tx->{transforms};
        for my $i ( 0 .. $#$exec ) {
            my $code = $t->[$i] or next;
            next if _is_error( $exec->[$i] );
            ( $exec->[$i] ) = $code->( $exec->[$i] );
        }
    }
    return Future->done($exec);
}

1;

__END__

=head1 NAME

Future::IO::Redis::Transaction - MULTI/EXEC transactions, sent in one write

=head1 SYNOPSIS

    use Future::AsyncAwait;

    my $results = await $redis->multi( async sub {
        my ($tx) = @_;
        $tx->incr('counter');
        $tx->get('counter');
        $tx->set( updated => time );
    });
    # [ 1, '1', 'OK' ]

    # Optimistic locking: undef when a watched key changed before EXEC.
    my $results = await $redis->watch_multi( ['balance'], async sub {
        my ( $tx, $watched ) = @_;
        $tx->decrby( balance => 100 ) if $watched->{balance} >= 100;
    });

=head1 DESCRIPTION

L<Future::IO::Redis/multi> and L<Future::IO::Redis/watch_multi> call your code with a
transaction object. Its command methods (every command method of L<Future::IO::Redis::Commands>,
and L</command>) queue a command and return the object, so calls chain; nothing is sent while
the code runs. When the code is done (an C<async sub>'s Future completed), C<MULTI>, the queued
commands and C<EXEC> are handed to the engine as one batch: they leave in one write, with nothing
of the same client between them, so the transaction is atomic on the wire as well as on the
server.

=head2 How it fails

=over 4

=item the callback dies (or its Future fails)

Nothing was sent, so nothing runs: the transaction is discarded as it stands and the exception
is passed on (C<await> throws it). Under C<watch_multi> the keys are unwatched first.

=item a command fails when EXEC runs it

Its place in the result holds its L<Future::IO::Redis::Error::Redis> object, the others their
replies, as in pipelines. The Future does not fail.

=item the server refuses a command while queueing it

(An unknown command, a wrong number of arguments.) The server aborts the transaction; the Future
fails with its C<EXECABORT> error, whose message names the refused command and why.

=item a watched key changed

C<EXEC> answers nil and nothing ran: the Future resolves to C<undef>.

=item timeouts and lost connections

The commands of a transaction share the deadline of one pipeline (C<request_timeout> from the
moment they are sent). When it passes, the Future fails with C<Error::Timeout> and the
connection is reset, as for any command (L<Future::IO::Redis/request_timeout>): the server
discards a transaction whose EXEC it did not get. A transaction is never sent again, in part or
whole, on another connection once any of it was written (the server drops a transaction with its
connection, and a command of it sent alone would run outside it): the Future fails with
C<Error::Connection> (or C<Error::Disconnected> when nothing had been written). A transaction
issued while the connection is down waits for the reconnect, whole.

=back

=head2 Nesting

C<MULTI> cannot be nested. C<< $tx->multi >>, C<exec>, C<discard>, C<watch> and C<unwatch>
croak. C<< $redis->multi >> and C<watch_multi> croak while the connection is in a transaction
(a bare C<< $redis->multi >> without its C<exec> or C<discard> yet), and when called from a
multi callback before its first C<await>. Commands sent on the client itself (C<< $redis->get >>,
not C<< $tx->get >>) inside the callback run at once, outside the transaction.

=head2 Concurrency

Several transactions may be built at once on one client: each is sent as one batch. A
C<watch_multi> holds its client from C<WATCH> to C<EXEC>: transactions (C<multi> and
C<watch_multi>) started on the same client meanwhile wait for it, since their C<EXEC> would end
its watches. Plain commands are not held back. A transaction started from inside a
C<watch_multi> callback (after its first C<await>: before it, it croaks) would wait for that
very callback; it fails with C<Error::Timeout> after the client's C<request_timeout> instead.

=head1 METHODS

=head2 command

    $tx->command( 'HSET', $key, $field, $value );

Queues any command and returns the transaction; with the client's C<prefix>, its key arguments
get the prefix. Croaks on undef or reference arguments, on C<MULTI>, C<EXEC>, C<DISCARD>,
C<WATCH> and C<UNWATCH>, and once the transaction was sent.

=head2 Command methods

    $tx->incr('counter')->expire( counter => 60 );

Every command method of L<Future::IO::Redis::Commands> queues its command. Reply transformers
apply to EXEC's results (C<hgetall> gives a hash reference in its place).

=head2 evalsha_or_eval

    $tx->evalsha_or_eval( $sha, $lua, 1, $key, @args );

Queues C<EVAL $lua ...>: inside a transaction the reply cannot be looked at before the next
command is sent, so there is no falling back from a C<NOSCRIPT>. C<EVAL> also puts the script
in the server's script cache, so later C<evalsha_or_eval> calls on the client find it.

=head2 run_script

    $tx->run_script( $name, @keys_and_args );

Queues a command defined with L<Future::IO::Redis/define_command> (C<EVAL> of its script, or
C<FCALL>/C<FCALL_RO> of its function, whose library must be loaded: see
L<Future::IO::Redis::Script/FUNCTIONS>).

=head2 count

    my $n = $tx->count;

The number of commands queued so far.

=cut

package Future::IO::Redis 0.001;
use v5.14;
use warnings;

use Carp ();
use Future;
use Future::IO;
use Scalar::Util ();

require XSLoader;
XSLoader::load( __PACKAGE__, $Future::IO::Redis::VERSION );

use Future::IO::Redis::Error;
use Future::IO::Redis::URI;
use Future::IO::Redis::Compat;
use Future::IO::Redis::Engine;
use Future::IO::Redis::Pipeline;
use Future::IO::Redis::Iterator;
use Future::IO::Redis::Subscription;
use Future::IO::Redis::Transaction;
use Future::IO::Redis::Script;
use Future::IO::Redis::Library;

use parent 'Future::IO::Redis::Commands';

# Croaks name the caller's line, not a line of these modules.
our @CARP_NOT = qw( Future::IO::Redis::Pipeline Future::IO::Redis::Iterator Future::IO::Redis::Commands
  Future::IO::Redis::Transaction Future::IO::Redis::Script Future::IO::Redis::Library );

# Options that are this module's own policy (the connection's options -- address, timeouts,
# reconnect, TLS, buffers, ... -- are the engine's: their defaults and rules live in Rust,
# src/conn/options.rs, and a bad one croaks here at new with the engine's words).
my %CALLBACK = map { $_ => 1 } qw( on_connect on_disconnect on_error on_reconnect_attempt );

# Observability options (debug, tracing, metrics): Future::IO::Redis::Telemetry.
my @TELEMETRY = qw( debug otel_tracer otel_meter otel_include_args metrics );

# `command` with a subscribe-family name goes to the client's methods of that name (Pub/Sub), so
# that messages are never received with nobody to take them.
# RESET and QUIT too: they end subscriptions, and QUIT the connection (see reset and quit).
my %PUBSUB_METHOD = map { uc($_) => $_ } qw( subscribe psubscribe ssubscribe unsubscribe punsubscribe sunsubscribe reset quit );

sub new {
    my ( $class, %args ) = @_;
    # An option whose value is undef is not given (its default applies, and it does not hide
    # what a URI says): code that copies settings from elsewhere can pass them all.
    delete @args{ grep { !defined $args{$_} } keys %args };
    # An empty uri is none, as Future::IO::Redis::URI->parse('') is.
    delete $args{uri} if defined $args{uri} && !ref $args{uri} && !length $args{uri};
    %args = Future::IO::Redis::Compat::translate(%args);    # other clients' spellings, REDIS_URL
    if ( my $parsed = Future::IO::Redis::URI->parse( delete $args{uri} ) ) {
        # The URI decides where to connect (host, port or path); credentials, database and TLS
        # come from it unless given as options (a tls hash refines rediss://).
        my %u = $parsed->to_options;
        delete @args{qw( host port path )};
        delete $u{tls} if ref $args{tls};
        %args = ( %u, %args, map { $_ => $u{$_} } grep { exists $u{$_} } qw( host port path ) );
    }
    delete $args{uri};
    delete $args{auto_pipeline};    # always on: commands issued together leave together

    my %callbacks = map { $_ => delete $args{$_} } grep { exists $args{$_} } keys %CALLBACK;
    my %telemetry = map { $_ => delete $args{$_} } grep { exists $args{$_} } @TELEMETRY;
    for my $k ( sort keys %callbacks ) {
        Carp::croak("Future::IO::Redis->new: $k must be a code reference")
          if defined $callbacks{$k} && ref $callbacks{$k} ne 'CODE';
    }

    # prefix: kept as the bytes it is sent as; an empty prefix is none.
    my $prefix = delete $args{prefix};
    if ( defined $prefix ) {
        Carp::croak("Future::IO::Redis->new: prefix must be a string") if ref $prefix;
        $prefix = "$prefix";
        utf8::encode($prefix) if utf8::is_utf8($prefix);
        undef $prefix unless length $prefix;
    }

    # pipeline_max_depth: the most commands an explicit pipeline takes (0: no limit).
    my $max_depth = delete $args{pipeline_max_depth};
    Carp::croak( "Future::IO::Redis->new: pipeline_max_depth must be a non-negative integer, not '" . ( $max_depth // 'undef' ) . "'" )
      if defined $max_depth && ( ref $max_depth || $max_depth !~ /\A[0-9]+\z/ );

    # retry: 'exponential' (default: the engine retries), 0 / 'none', or a policy coderef (the
    # engine does not retry; each failure goes to the coderef).
    my $retry_cb;
    if ( ref $args{retry} eq 'CODE' ) {
        $retry_cb = delete $args{retry};
        $args{retry} = 'none';
    }

    if ( defined( my $why = Future::IO::Redis::Engine::check_options( \%args ) ) ) {
        Carp::croak("Future::IO::Redis->new: $why");
    }

    # The password lives in a closure, not in the object, so that dumping the client (Data::Dumper,
    # a debugger, an error report that serialises it) never shows it.
    my $password = delete $args{password};
    my $self = bless {
        opts      => \%args,
        secret    => sub { $password },
        retry_cb  => $retry_cb,
        prefix    => $prefix,
        pipeline_max_depth => $max_depth || 0,
        conn      => 0,
        gen       => -1,    # no engine generation yet: the first use opens the connection
        connected => 0,
        ( map { $_ => $callbacks{$_} } grep { defined $callbacks{$_} } keys %callbacks ),
        _settings( \%args ),
    }, $class;
    # With debug, tracing or metrics, the client gets observed command methods (a subclass);
    # without, nothing of that runs.
    if (%telemetry) {
        require Future::IO::Redis::Telemetry;
        if ( my $t = Future::IO::Redis::Telemetry->new( 'Future::IO::Redis->new', \%telemetry, \%args ) ) {
            $self->{telemetry} = $t;
            # What sibling gives a new client of the same settings.
            @{$self}{qw( telemetry_opts plain_class )} = ( \%telemetry, $class );
            bless $self, Future::IO::Redis::Telemetry::observed_class($class);
        }
    }
    return $self;
}

# The connection settings as top-level keys (host port path username database tls reconnect;
# prefix is one already), for code written against clients that keep them there. Read-only: the
# connection is made from {opts}. Never the password. Where an option was not given the value
# is the default it gets: the engine's (src/conn/options.rs: localhost, 6379, reconnect on).
sub _settings {
    my ($o) = @_;
    my $unix = defined $o->{path};
    return (
        host      => $unix ? undef : $o->{host} // 'localhost',
        port      => $unix ? undef : 0 + ( $o->{port} // 6379 ),
        path      => $o->{path},
        username  => $o->{username},
        database  => 0 + ( $o->{database} // 0 ),
        tls       => ref $o->{tls} ? { %{ $o->{tls} } } : $o->{tls} ? 1 : 0,
        reconnect => !defined $o->{reconnect} ? 1 : !ref $o->{reconnect} && $o->{reconnect} ? 1 : 0,
    );
}

sub host      { $_[0]{host} }
sub port      { $_[0]{port} }
sub path      { $_[0]{path} }
sub username  { $_[0]{username} }
sub database  { $_[0]{database} }
sub tls       { my $t = $_[0]{tls}; ref $t ? {%$t} : $t }
sub reconnect { $_[0]{reconnect} }
sub prefix    { $_[0]{prefix} }

# Another client with this one's settings (password included, taken from its closure) and its
# callbacks and retry policy, changed by %overrides (undef: back to the default; a uri replaces
# the address, credentials, database and TLS). Nothing of this client's connection or session
# goes over.
sub sibling {
    my ( $self, @over ) = @_;
    Carp::croak('Future::IO::Redis: sibling takes name => value options') if @over % 2;
    # Other clients' spellings (auth, name, server, sock, ...) mean what they mean to new; the
    # environment's address is not looked at (the overrides are not a whole client's options).
    my %over = do { delete local @ENV{qw( REDIS_URL REDIS_SERVER )}; Future::IO::Redis::Compat::translate(@over) };
    my %args = %{ $self->{opts} };
    my $password = $self->{secret}->();
    $args{password} = $password if defined $password;
    $args{prefix}   = $self->{prefix} if defined $self->{prefix};
    $args{retry}    = $self->{retry_cb} if $self->{retry_cb};
    $args{$_}       = $self->{$_} for grep { $self->{$_} } keys %CALLBACK;
    %args = ( %args, %{ $self->{telemetry_opts} } ) if $self->{telemetry_opts};    # debug, tracing, metrics
    delete @args{qw( host port path username password database tls )} if defined $over{uri};
    delete @args{qw( host port )} if defined $over{path};
    delete $args{path} if defined $over{host} || defined $over{port};
    return ( $self->{plain_class} // $self->{defined_base} // ref $self )->new( %args, %over );
}

# The engine connection of this client ($self->{conn}, on engine generation $self->{gen}),
# opening it (again, after a fork or on a new engine) when needed. Connection events reach the
# client through a handler that holds it weakly; with callbacks, they are delivered even while
# no command waits.
sub _conn {
    my ($self) = @_;
    return $self->{conn} if $self->{conn} && Future::IO::Redis::Engine::is_current( $self->{gen} );
    my $password = $self->{secret}->();
    my $weak     = $self;
    Scalar::Util::weaken($weak);
    ( $self->{conn}, $self->{gen} ) = Future::IO::Redis::Engine::open_connection(
        defined $password ? { %{ $self->{opts} }, password => $password } : $self->{opts},
        sub { $weak->_on_event(@_) if $weak },
        ( scalar grep { $self->{$_} } keys %CALLBACK ) || $self->{telemetry},
    );
    $self->{connected} = 0;
    return $self->{conn};
}

# The send path, compiled once per command method with the command's words inlined: the
# method *is* the whole hot path (one Perl call, one engine call, one Future), which matters with
# the pure-Perl Future. `command` itself is the same code with no words. The engine gives back
# undef when this client's connection is not open on the current engine (first use, a fork, a
# new engine): then the connection is (re)opened and the command sent once more.
#
# With a key prefix, the key arguments get it first, at the cost of one hash lookup when there is
# none (and none at all for a method whose command has no keys). Where the keys of a method's
# command sit at fixed positions (most commands) that is inlined: a copy of @_ (which aliases the
# caller's variables), then each key that is there and is a plain value. Other commands go
# through Future::IO::Redis::Commands. $raw (a retry's own resubmission, whose arguments already
# have the prefix) skips the prefix and the retry policy.
sub _compile_sender {
    my ( $words, $transform, $raw ) = @_;
    my $w = join '', map { "'$_', " } @$words;
    my ( $prefix, $prefixer ) = ('');
    if ($raw) { }
    elsif ( !@$words ) {
        $prefix = '@_ = Future::IO::Redis::Commands::prefix_args( $self->{prefix}, \\@_ ) if defined $self->{prefix};';
    }
    elsif ( my $at = Future::IO::Redis::Commands::fixed_key_offsets($words) ) {
        my @keys = map {
            "if ( \$#_ >= $_ && defined \$_[$_] && !ref \$_[$_] ) { "
              . "utf8::encode( \$_[$_] ) if utf8::is_utf8( \$_[$_] ); \$_[$_] = \$self->{prefix} . \$_[$_] }"
        } @$at;
        $prefix = "if ( defined \$self->{prefix} ) { \@_ = \@_; @keys }" if @keys;
    }
    else {
        $prefixer = Future::IO::Redis::Commands::prefixer($words);
        $prefix   = '@_ = $prefixer->( $self->{prefix}, \\@_ ) if defined $self->{prefix};';
    }
    my $code = <<"PERL";
sub {
    my \$self = shift;
    @{[ @$words ? '' : 'Carp::croak("Future::IO::Redis: command() needs a command name") unless @_;' ]}
    @{[ @$words || $raw ? '' : 'return $self->_pubsub_command(@_) if $PUBSUB_METHOD{ uc( $_[0] // "" ) };' ]}
    $prefix
    my \$f = Future::IO::Redis::Engine::command( \$self->{conn}, \$self->{gen}, $w\@_ )
      // ( \$self->_recover ? Future::IO::Redis::Engine::command( \$self->{conn}, \$self->{gen}, $w\@_ ) : undef )
      // return \$self->_engine_refused( @{[ @$words ? "'$words->[0]'" : '$_[0]' ]} );
    @{[ $raw ? '' : 'return _in_context( ' . ( $transform ? '' : '' ) . '$self->_with_retry( $f, [ ' . $w . '@_ ], 1 )' . ( $transform ? '->transform( done => $transform )' : '' ) . ' ) if $self->{retry_cb};' ]}
    @{[ $transform ? 'return unless defined wantarray;' : '' ]}
    return @{[ $transform ? '$f->transform( done => $transform )' : '$f' ]};
}
PERL
    my $sub = eval $code or die "Future::IO::Redis: cannot compile a command method: $@";
    return $sub;
}

*command = _compile_sender( [] );

# One attempt, whatever the retry policy (the policy's own resubmissions).
*_command_once = _compile_sender( [], undef, 1 );

# Client methods for every command: each its own send path, compiled on its first call (there are
# some 340 commands; a program uses a few dozen). Until then the method is the named sub of
# Future::IO::Redis::Commands, which asks for the send path here: it is compiled, put in place as
# this class's method, and gone to.
my %SENDER;

# Whether $class's method $method is the generated command method (not one of its own).
sub _is_command_method {
    my ( $class, $method ) = @_;
    my $cv = $class->can($method) or return 0;
    return $cv == ( Future::IO::Redis::Commands->can($method) // 0 ) || $cv == ( $SENDER{$method} // 0 ) ? 1 : 0;
}

sub _command_sender {
    my ( undef, $method ) = @_;
    return Future::IO::Redis::Commands::installed_sender( __PACKAGE__, $method, \%SENDER, \&_compile_sender );
}

# Futures of work started in void context (nobody holds the result): kept until they are ready,
# so that a chain built on them is not lost half way (Future warns "lost a sequence Future").
my %KEEP;

# A derived Future for a caller that wants one; in void context the work goes on regardless and
# nothing is returned (Future warns about ->transform and friends called in void context).
sub _in_context {
    my ($f) = @_;
    return $f if defined wantarray;
    return if $f->is_ready;
    my $key = Scalar::Util::refaddr($f);
    $KEEP{$key} = $f;
    $f->on_ready( sub { delete $KEEP{$key} } );
    return;
}

# A retry policy coderef decides, for each failure, whether to send the command again and
# after how long: ->($attempt, $error, $command_name) returns seconds, or 0 to give up.
sub _with_retry {
    my ( $self, $f, $args, $attempt ) = @_;
    return $f->else(
        sub {
            my ($err) = @_;
            my $name  = uc $args->[0];
            my $delay = eval { $self->{retry_cb}->( $attempt, $err, $name ) };
            warn "Future::IO::Redis: retry policy died: $@" unless defined $delay || !$@;
            return Future->fail($err) unless $delay && $delay > 0;
            return Future::IO->sleep($delay)->then(
                sub { $self->_with_retry( $self->_command_once(@$args), $args, $attempt + 1 ) } );
        }
    );
}

# (Re)open this client's connection on the current engine (starting one, in a fork child or
# after an internal error). False if that is not possible.
sub _recover {
    my ($self) = @_;
    return eval { $self->_conn; 1 } ? 1 : 0;
}

sub _engine_refused {
    my ( $self, $name ) = @_;
    return Future->fail(
        Future::IO::Redis::Error::Connection->new( message => "Future::IO::Redis: cannot send $name: the engine is not usable" )
    );
}

sub connect {
    my ($self) = @_;
    $self->{reconnect_attempt} = 0;
    return $self->_control( \&Future::IO::Redis::Engine::connect_connection, 'connect' );
}

# Takes effect at once: the engine closes the connection in this call, and the client is
# disconnected (on_disconnect has run) when it returns; the Future it returns is done already.
sub disconnect {
    my ($self) = @_;
    $self->{reconnect_attempt} = 0;
    if ( $self->{conn} && Future::IO::Redis::Engine::is_current( $self->{gen} ) ) {
        Future::IO::Redis::Engine::close_connection( $self->{conn}, $self->{gen} );
        # The engine's own disconnected event, delivered at the next turn, finds the client
        # disconnected already and is dropped.
        $self->_disconnected('client');
    }
    return Future->done($self);
}

# Send a connect or close request ($send->($conn, $gen) gives a Future, or undef if the
# connection is not open on the current engine); resolves to the client.
sub _control {
    my ( $self, $send, $what ) = @_;
    $self->_conn;
    my $f = $send->( $self->{conn}, $self->{gen} ) // ( $self->_recover ? $send->( $self->{conn}, $self->{gen} ) : undef )
      // return $self->_engine_refused($what);
    # Void context (`$redis->disconnect;`): the engine finishes the work, nothing waits for it.
    return unless defined wantarray;
    return $f->transform( done => sub { $self } );
}

sub is_connected { $_[0]{connected} ? 1 : 0 }

# The engine's view of this connection's session (see session_state in the POD).
my @DIRTY = sort qw( in_multi watching subscribed pending blocking );

sub session_state {
    my ($self) = @_;
    my $state = $self->{conn} ? Future::IO::Redis::Engine::session_state( $self->{conn}, $self->{gen} ) : undef;
    # Not open on this engine (never used, or a fork child): nothing of it is in progress.
    return $state // {
        in_multi      => !!0,
        watching      => !!0,
        subscribed    => !!0,
        pending       => !!0,
        blocking      => !!0,
        not_connected => !!1,
        multi_open    => !!0,
    };
}

sub in_pubsub { $_[0]->session_state->{subscribed} ? 1 : 0 }

sub is_dirty { dirty_reasons( $_[0]->session_state ) }

# What makes a session_state dirty, as is_dirty says it ('' when clean).
sub dirty_reasons {
    my ($state) = @_;
    return join ' ', grep { $state->{$_} } @DIRTY;
}

# SCAN-family iterators (Future::IO::Redis::Iterator).
sub scan_iter {
    my ( $self, @opts ) = @_;
    Carp::croak("Future::IO::Redis: scan_iter takes name => value options") if @opts % 2;
    my %opts = @opts;
    return Future::IO::Redis::Iterator->new( redis => $self, command => 'SCAN', options => \%opts );
}

sub hscan_iter { _key_iter( HSCAN => @_ ) }
sub sscan_iter { _key_iter( SSCAN => @_ ) }
sub zscan_iter { _key_iter( ZSCAN => @_ ) }

sub _key_iter {
    my ( $command, $self, $key, @opts ) = @_;
    Carp::croak( 'Future::IO::Redis: ' . lc($command) . '_iter takes a key and name => value options' ) if @opts % 2;
    my $opts = {@opts};
    return Future::IO::Redis::Iterator->new( redis => $self, command => $command, key => $key, options => $opts );
}

sub pipeline {
    my ( $self, @opts ) = @_;
    Carp::croak("Future::IO::Redis: pipeline takes name => value options") if @opts % 2;
    return Future::IO::Redis::Pipeline->new( $self, max_depth => $self->{pipeline_max_depth}, @opts );
}

# ----- transactions (Future::IO::Redis::Transaction) --------------------------------------------

# multi(code): a transaction built by the code, sent in one batch; multi(): a bare MULTI.
sub multi {
    my ( $self, @args ) = @_;
    return Future::IO::Redis::Transaction->run( $self, $args[0] ) if @args == 1 && ref $args[0] eq 'CODE';
    Carp::croak('Future::IO::Redis: multi takes a code reference (the transaction) or nothing (a bare MULTI)') if @args;
    Future::IO::Redis::Transaction::_check_not_nested( $self, 'multi' );
    return $self->command('MULTI');
}

sub multi_start {
    my ($self) = @_;
    return $self->multi;
}

sub watch_multi {
    my ( $self, $keys, $code ) = @_;
    return Future::IO::Redis::Transaction->run_watched( $self, $keys, $code );
}

sub in_multi {
    my $s = $_[0]->session_state;
    return $s->{in_multi} || $s->{multi_open} ? 1 : 0;
}

sub watching { $_[0]->session_state->{watching} ? 1 : 0 }

sub inflight_count {
    my ($self) = @_;
    return 0 unless $self->{conn};
    return Future::IO::Redis::Engine::inflight_count( $self->{conn}, $self->{gen} ) // 0;
}

# ----- scripting (Future::IO::Redis::Script, ::Library) ---------------------------------------

sub evalsha_or_eval { Future::IO::Redis::Script::evalsha_or_eval(@_) }

sub script {
    my ( $self, $lua, @opts ) = @_;
    Carp::croak('Future::IO::Redis: script takes the Lua source and name => value options') if @opts % 2;
    return Future::IO::Redis::Script->new( @opts, redis => $self, lua => $lua );
}

sub define_command  { Future::IO::Redis::Script::define_command(@_) }
sub run_script      { Future::IO::Redis::Script::run_script(@_) }
sub get_script      { Future::IO::Redis::Script::get_script(@_) }
sub list_scripts    { Future::IO::Redis::Script::list_scripts(@_) }
sub preload_scripts { _in_context( Future::IO::Redis::Script::preload_scripts(@_) ) }

sub function_library {
    my ( $self, $code ) = @_;
    return Future::IO::Redis::Library->new( redis => $self, code => $code );
}

# Submit commands ([ @args ], ...) as one batch, written together; returns one Future that
# resolves to an array of their replies (a failed command's slot holds its error object), after
# applying the per-command reply transformers in %$transforms (index => code). The engine completes the batch
# once, with every result in order (see submit_batch in perl/Redis.xs).
sub _submit_batch {
    my ( $self, $commands, $transforms ) = @_;
    my $batch = Future::IO::Redis::Engine::batch( $self->{conn}, $self->{gen}, $commands )
      // ( $self->_recover ? Future::IO::Redis::Engine::batch( $self->{conn}, $self->{gen}, $commands ) : undef )
      // return $self->_engine_refused('the pipeline');
    return $batch unless $transforms;
    # The caller's Future resolves once the replies are transformed (errors stay as they are).
    my $f = $batch->new;
    $batch->on_ready( sub {
        return if $f->is_ready || $batch->is_cancelled;
        return $f->fail( $batch->failure ) if $batch->is_failed;
        my ($results) = $batch->get;
        my $ok = eval {
            for my $i ( keys %$transforms ) {
                my $t = $transforms->{$i};
                next if Scalar::Util::blessed( $results->[$i] ) && $results->[$i]->isa('Future::IO::Redis::Error');
                ( $results->[$i] ) = $t->( $results->[$i] );
            }
            1;
        };
        return $f->fail($@) unless $ok;
        $f->done($results);
    } );
    return $f;
}

# ----- pub/sub ---------------------------------------------------------------------------------

sub subscribe  { _subscribe( SUBSCRIBE  => @_ ) }
sub psubscribe { _subscribe( PSUBSCRIBE => @_ ) }
sub ssubscribe { _subscribe( SSUBSCRIBE => @_ ) }

# End channels, patterns or shard channels of the client's subscription (all of that kind
# without names): a Future of the subscription, or of undef when the client has none.
sub unsubscribe  { _unsubscribe( channels       => @_ ) }
sub punsubscribe { _unsubscribe( patterns       => @_ ) }
sub sunsubscribe { _unsubscribe( shard_channels => @_ ) }

sub _unsubscribe {
    my ( $family, $self, @names ) = @_;
    my $sub = $self->{subscription};
    return _in_context( $sub ? $sub->_unsubscribe_family( $family, @names ) : Future->done(undef) );
}

# RESET: the server ends the connection's subscriptions (and transaction, watches, database,
# name); the subscription learns it, so that waiting `next` calls end.
sub reset {
    my ($self) = @_;
    my $sub = $self->{subscription};
    my $f   = $self->_command_once('RESET');
    $f = $f->on_done( sub { $sub->_reset } ) if $sub;
    return _in_context($f);
}

# QUIT: the server answers and closes the connection; the client closes it too (as disconnect
# does), so that it is not taken for a lost connection and reconnected.
sub quit {
    my ($self) = @_;
    my $f = $self->_command_once('QUIT')->on_ready( sub { $self->disconnect } );
    return _in_context($f);
}

sub _pubsub_command {
    my ( $self, $name, @args ) = @_;
    my $method = $PUBSUB_METHOD{ uc $name };
    return $self->$method(@args);
}

# Subscribe to @names (a hash ref of subscription options may come last): a Future of the
# client's Subscription, once the server confirmed every name.
sub _subscribe {
    my ( $command, $self, @names ) = @_;
    my %opts = @names && ref $names[-1] eq 'HASH' ? %{ pop @names } : ();
    Carp::croak( 'Future::IO::Redis: ' . lc($command) . ' needs at least one name' ) unless @names;
    my $sub = $self->{subscription};
    if ($sub) { $sub->_options(%opts) }
    else {
        $sub = Future::IO::Redis::Subscription->_new( $self, %opts );
        # The client holds its subscription weakly, the subscription holds its client.
        $self->{subscription} = $sub;
        Scalar::Util::weaken( $self->{subscription} );
    }
    $self->_conn;
    $sub->_install;
    $sub->_asking( $command, @names );
    my $sent = $self->_command_once( $command, @names );
    # The server subscribes whether or not the caller still waits: a caller that gives up (cancels
    # the Future returned, or a timeout around it does) does not cancel the command, and what
    # the server confirmed is recorded (so that an unsubscribe, or the subscription's end, undoes it).
    $sent->on_ready( sub {
        $sub->_answered( $command, @names );
        $sub->_added( $command, @names ) if $_[0]->is_done;
    } );
    my $f = $sent->without_cancel->then( sub { Future->done($sub) } );
    return _in_context($f);
}

# Commands.pm calls this to apply a reply transformer.
sub _transform {
    my ( $self, $f, $code ) = @_;
    return $f->transform( done => $code );
}

sub _on_event {
    my ( $self, $ev ) = @_;
    my $what = $ev->{event};
    if ( $what eq 'engine_lost' ) {
        # The engine was replaced (an internal error): the next use opens a new connection.
        $self->{conn}      = 0;
        $self->{connected} = 0;
        # Its subscriptions went with it: nothing may wait in `next` for ever.
        $self->{subscription}->_lost( Future::IO::Redis::Error::Connection->new(
            message => 'the subscribed connection was lost with the engine (an internal error)',
        ) ) if $self->{subscription};
        return;
    }
    if ( $what eq 'connected' ) {
        $self->{connected} = 1;
        $self->{reconnect_attempt} = 0;
        $self->_callback( on_connect => $self );
    }
    elsif ( $what eq 'resubscribed' ) {
        $self->{subscription}->_resubscribed if $self->{subscription};
    }
    elsif ( $what eq 'disconnected' ) {
        # Not after `disconnect`, which reported it already.
        if ( $self->{connected} ) {
            $self->_disconnected( $ev->{reason} );
            $self->_reconnect_attempt if $ev->{reason} ne 'client' && $self->_reconnects;
        }
    }
    elsif ( $what eq 'error' ) {
        $self->_callback( on_error => $self, $ev->{error} );
        # A failed reconnect attempt: the engine schedules the next one.
        $self->_reconnect_attempt if $self->{reconnect_attempt};
    }
}

# The connection went away ($reason as on_disconnect gives it).
sub _disconnected {
    my ( $self, $reason ) = @_;
    my $was = $self->{connected};
    $self->{connected} = 0;
    # Without a reconnect (turned off -- the engine's default is on -- or a disconnect asked
    # for by the client) the subscriptions are over: nothing may wait in `next` for ever.
    my $sub = $self->{subscription};
    if ( $sub && ( $reason eq 'client' || ( defined $self->{opts}{reconnect} && !$self->{opts}{reconnect} ) ) ) {
        $sub->_lost( Future::IO::Redis::Error::Connection->new(
            message => "the subscribed connection was lost and will not reconnect ($reason)",
            reason  => $reason,
        ) );
    }
    $self->_callback( on_disconnect => $self, $reason ) if $was;
}

sub _reconnects { !defined $_[0]{opts}{reconnect} || $_[0]{opts}{reconnect} }

# The engine lost the connection, or failed to reconnect, and tries again after its back-off.
sub _reconnect_attempt {
    my ($self) = @_;
    $self->_callback( on_reconnect_attempt => $self, ++$self->{reconnect_attempt} );
}

# Callbacks run inside the engine's dispatch loop: one that dies must not stop the others.
sub _callback {
    my ( $self, $name, @args ) = @_;
    my $cb = $self->{$name} or return;
    local $@;
    eval { $cb->(@args); 1 } or warn "Future::IO::Redis: $name callback died: $@";
}

sub DESTROY {
    my ($self) = @_;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    Future::IO::Redis::Engine::release_connection( $self->{conn}, $self->{gen} ) if $self->{conn};
}

1;

__END__

=head1 NAME

Future::IO::Redis - async Redis client for Future::IO, on a Rust IO engine

=head1 SYNOPSIS

    use Future::AsyncAwait;
    use Future::IO::Redis;

    my $redis = Future::IO::Redis->new( host => 'localhost', port => 6379 );
    await $redis->connect;

    await $redis->set( greeting => 'hello' );
    my $value = await $redis->get('greeting');        # 'hello'

    # Many commands in flight at once: they share round trips.
    my @values = await Future->needs_all( map { $redis->get("key:$_") } 1 .. 100 );

    # An explicit pipeline: one write, one array of results.
    my $results = await $redis->pipeline
        ->set( a => 1 )
        ->incr('a')
        ->get('a')
        ->execute;                                     # ['OK', 2, '2']

    # Errors are typed objects.
    use Syntax::Keyword::Try;
    try { await $redis->incr('greeting') }
    catch ($e) {
        warn $e->code if $e->isa('Future::IO::Redis::Error::Redis');   # ERR
    }

=head1 DESCRIPTION

Future::IO::Redis is a Redis client for Perl code that uses L<Future>s, on whatever event loop
L<Future::IO> runs on (its default implementation, L<IO::Async> through
L<Future::IO::Impl::IOAsync>, UV, ...). Every command returns a Future; C<await> gives the
reply or throws a C<Future::IO::Redis::Error::*> object.

The work happens in a Rust engine linked into the module, driven by your event loop: the engine
owns every socket and deadline of the interpreter, parses RESP, speaks TLS, enforces timeouts
and reconnects, and shows the loop a single descriptor. When that descriptor is readable, one
call runs an engine turn (read, decode, write, expire deadlines; it never waits) and resolves
the Futures. Nothing blocks the loop: connects are nonblocking, host names are resolved on a
short-lived helper thread, and a large reply is read a bounded amount per turn, so timers and
other watchers keep running while it arrives. There is no IO thread: a lone awaited command
costs one write and one read.

A command for an idle connection is written by the call that sends it. Commands issued while
others are in flight leave together at the next turn, in one write (pipelining without asking);
in a large burst they leave every 4 KB, so that the server works on the first commands while the
program is still issuing the last.
Replies are matched to commands by order, as RESP2 requires; a command that times out resets its
connection, because the stream cannot be resynchronised. Writes never raise C<SIGPIPE>: a
command written to a connection the server has closed fails with a typed error (or is sent
again after the reconnect), whatever the program's C<$SIG{PIPE}>.

=head1 CONSTRUCTOR

=head2 new

    my $redis = Future::IO::Redis->new(%options);

Creates a client. It does not connect yet: call L</connect>, or just issue a command (the first
command connects). Unknown options and invalid values croak. An option whose value is C<undef> is
not given: its default applies, and beside a C<uri> it does not hide what the URI says
(C<< new( uri => $uri, password => $maybe ) >> uses the URI's password when C<$maybe> is undef),
so that settings copied from elsewhere can be passed as they are. Options:

=over 4

=item host, port

Server address (default C<localhost>, 6379). Host names are resolved on a short-lived helper
thread, so that the event loop never waits for DNS.

=item path

Unix socket path; replaces host and port.

=item uri

C<redis://[[user:]pass@]host[:port][/db]>, C<redis+unix:///path?db=N> (see
L<Future::IO::Redis::URI>). Overrides host, port and path; credentials and database from the
URI apply unless given as options; C<rediss://> turns TLS on (a C<tls> hash refines it). An
undef or empty C<uri> is ignored (as if none were given).

=item username, password

C<AUTH [username] password> on every connect. A password of C<"0"> is a password. The password
never appears in error messages.

=item database

C<SELECT database> on every connect (after AUTH), until a C<SELECT> command changes the
database (see L</STATE KEPT ACROSS RECONNECTS>).

=item client_name

C<CLIENT SETNAME client_name> on every connect, until a C<CLIENT SETNAME> command changes it.

=item connect_timeout (10), read_timeout (30), write_timeout (30), request_timeout (5)

Seconds; 0 or undef disables. C<connect_timeout> bounds connecting (resolution, TCP and the
AUTH/SELECT/SETNAME handshake). C<request_timeout> is each command's deadline from the moment it
is issued. C<read_timeout> fails the connection when no byte arrives for that long while a
command waits (not while a blocking command or a command with its own C<timeout> waits).
C<write_timeout> fails it when the socket accepts no byte for that long.

When a command's deadline passes, it fails with C<Error::Timeout>, every other command written
on the same connection fails with C<Error::Connection>, and the connection is reset (and
reconnected if C<reconnect> is on). Commands not yet written are kept for the new connection.

=item blocking_timeout_buffer (2)

Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX, BLMPOP, BZMPOP,
XREAD/XREADGROUP with BLOCK, WAIT, WAITAOF) get the server-side timeout plus this many seconds
as their deadline; a server-side timeout of 0 (block forever) means no client deadline.

=item timeout

Per-command overrides: C<< timeout => { 'DEBUG SLEEP' => 120, KEYS => 0 } >> (0: no deadline).
Keys are command names, optionally with a subcommand.

=item reconnect (1), reconnect_delay (0.1), reconnect_delay_max (60), reconnect_jitter (0.25)

After an established connection is lost, reconnect after C<reconnect_delay> seconds, doubling up
to C<reconnect_delay_max>, each delay scaled by a random factor in C<1 +- reconnect_jitter>.
AUTH, SELECT and CLIENT SETNAME are replayed, SELECT and CLIENT SETNAME with what the
application last set through commands (L</STATE KEPT ACROSS RECONNECTS>). The first C<connect>
is not retried: its failure is reported.

=item queue_size (1000)

Commands issued while the connection is down wait (in order) for the reconnect; beyond this
many they fail at once with C<Error::Disconnected>.

=item pipeline_max_depth (0)

The most commands one explicit L</pipeline> takes; queuing one more croaks with
C<Pipeline depth limit (N) exceeded>. 0, the default, is no limit (the design names no
default; the earlier pure-Perl client's 10000 came from its C<pipeline_depth>, which means
something else here). C<< $redis->pipeline( max_depth => N ) >> overrides it for one pipeline.

=item pipeline_depth (0)

The most commands written to the server and awaiting their replies at once. Further commands
wait, in order, and go out as replies come back; their C<request_timeout> runs meanwhile (one
that expires fails alone with C<Error::Timeout>: nothing of it was written, so the connection is
not reset). 0, the default, is no limit: everything is sent as soon as it is issued, which is
fastest. A limit keeps one client from putting thousands of commands ahead of everyone else's
on a shared server, or bounds what a broken connection can take with it. Pipelines
(L</pipeline>) count command by command.

=item on_connect, on_disconnect, on_error, on_reconnect_attempt

Callbacks: C<< on_connect->($redis) >> each time the connection becomes ready (after its
handshake), C<< on_disconnect->($redis, $reason) >> when an established connection goes away
(C<$reason> is C<connection_lost>, C<timeout>, C<server_closed>, C<protocol_error> or
C<client>), C<< on_error->($redis, $error) >> when a connect or reconnect attempt fails (C<$error>
is a C<Future::IO::Redis::Error> object), and C<< on_reconnect_attempt->($redis, $attempt) >>
when a reconnect attempt is scheduled: after a loss (C<$attempt> 1; not after L</disconnect>,
nor with C<< reconnect => 0 >>) and after each failed attempt (2, 3, ...), before the back-off
delay; the next C<on_connect> ends the series and the next loss counts from 1 again. A failed
first C<connect> is not retried, so it calls C<on_error> only. A callback that dies is reported
with C<warn> and does not stop the others. With any of them the client receives connection
events even while no command waits.

    my $redis = Future::IO::Redis->new(
        on_disconnect        => sub { my ( $r, $reason ) = @_; warn "redis lost ($reason)\n" },
        on_reconnect_attempt => sub { my ( $r, $n ) = @_; warn "redis reconnect attempt $n\n" },
        on_connect           => sub { warn "redis up\n" },
    );

=item debug

C<< debug => 1 >> logs every command sent and every reply summary received, with its latency,
to STDERR; C<< debug => sub { my ($direction, $data) = @_ } >> gives the lines to your code
(C<$direction> is C<send>, C<recv> or C<event>). Secrets are redacted, long values cut, binary
escaped. The format is stable and documented in L<Future::IO::Redis::Telemetry/DEBUG LOG>.

    #1 SET user:1 "hello world"
    #1 SET -> OK (0.212 ms)
    #2 AUTH app [REDACTED]

=item otel_tracer, otel_include_args (1)

An OpenTelemetry tracer (C<< OpenTelemetry->tracer_provider->tracer(...) >>): one span per
command (C<redis.GET>), per pipeline (C<redis.PIPELINE>) and per transaction (C<redis.MULTI>),
with the attributes C<db.system>, C<db.operation>, C<db.statement> (redacted; only the command
name with C<< otel_include_args => 0 >>), C<net.peer.name>, C<net.peer.port> and
C<db.redis.database_index>, and an error status on failure. See
L<Future::IO::Redis::Telemetry/TRACING>.

=item otel_meter, metrics

C<< otel_meter => $meter >> (an OpenTelemetry meter) and C<< metrics => 1 >> (L<Metrics::Any>,
for its Prometheus, statsd and other adapters) report C<redis.commands.total>,
C<redis.commands.duration>, C<redis.connections.active>, C<redis.connections.total>,
C<redis.reconnects.total>, C<redis.errors.total> and C<redis.pipeline.size>. See
L<Future::IO::Redis::Telemetry/METRICS>.

A client with C<debug>, C<otel_tracer>, C<otel_meter> or C<metrics> is of a generated subclass
of its class whose command methods report each command; a client without them runs the plain
send path and pays nothing for these features.

=item read_buffer_size (65536), write_buffer_size (65536)

Bytes read per read call; commands smaller than a quarter of C<write_buffer_size> are packed
together into one write, larger ones are written from their own buffer.

=item max_bulk_len (536870912)

The longest bulk string (one value) a reply may carry, in bytes; 512 MB by default, as Redis'
own C<proto-max-bulk-len>. A reply announcing a longer one fails its command with a
C<Future::IO::Redis::Error::Protocol> as soon as its header arrives, and the connection is reset
(reconnecting if enabled): no memory is set aside for the announced length, since reading
buffers grow only with the bytes that actually arrive. 0 means the default.

=item retry ('exponential')

See L</RETRIES>.

=item tls

C<< tls => 1 >> (verify the server against the system's root certificates) or
C<< tls => { ca_file => ..., cert_file => ..., key_file => ..., verify => 1, server_name => ... } >>:
TLS (rustls, inside the engine) to C<host:port>. The server's certificate must name C<host> (or
C<server_name>); an IP address is checked against the certificate's IP addresses.
C<cert_file>/C<key_file> (PEM) present a client certificate (mutual TLS). C<< verify => 0 >> accepts
any certificate: for testing only. A plain server on the port fails C<connect> within
C<connect_timeout> with C<Error::Connection>, as does a TLS server to a client without C<tls>.
Unreadable or invalid PEM files croak when the connection is first used.

=item prefix

C<< prefix => 'myapp:' >>: every key argument of every command (methods, L</command> and
pipelines) gets this prefix before it is sent; no other argument does (values, C<EX> seconds,
script bodies, patterns, channels). Where the keys are comes from Redis' key specs (see
L<Future::IO::Redis::Commands/key_positions>): C<EVAL script 2 a b x> sends
C<EVAL script 2 myapp:a myapp:b x>. Replies are not changed (C<KEYS> and C<SCAN> return full
names), except through L</scan_iter>, which only sees the client's keys and returns them
without the prefix. Character strings are prefixed as UTF-8 bytes.

=item auto_pipeline

Accepted for compatibility; commands issued in the same tick are always pipelined.

=item server, sock, name, auth, cnx_timeout; REDIS_URL, REDIS_SERVER

Other clients' spellings, accepted with the same meaning (see L</MIGRATING FROM REDIS::FAST,
REDIS.PM OR NET::ASYNC::REDIS>): C<< server => 'host:port' >> (also C<'[::1]:6379'> or a
socket path), C<sock> for C<path>, C<name> for C<client_name> (a string), C<auth> for
C<password>, C<cnx_timeout> for C<connect_timeout>. A C<uri> without a scheme is
C<host[:port][/db]> (or a socket path). Giving one of these together with the option it stands
for croaks. C<every>, C<encoding> and C<db> croak, naming the option to use.

With no address at all (none of C<host>, C<port>, C<path>, C<uri>, C<server>, C<sock>), the
environment gives it: C<REDIS_URL> (a URI, as L</uri>) or else C<REDIS_SERVER> (C<host:port> or
a socket path, as Redis.pm reads it); without either, C<localhost:6379>.

=back

=head1 METHODS

=head2 host, port, path, username, database, tls, reconnect, prefix

    my $where = $redis->path // $redis->host . ':' . $redis->port;

The connection settings of the client, as it was made (from options and URI), with the default
where an option was not given: C<host> and C<port> (C<localhost>, 6379; both undef for a unix
socket), C<path> (undef for TCP), C<username> (undef if none), C<database> (0 if not given; a
later C<SELECT> command does not change it), C<tls> (0, 1, or a copy of the option's hash),
C<reconnect> (1 or 0), C<prefix> (the key prefix, as bytes, or undef). There is no password
accessor.

The same values are top-level keys of the client object (C<< $redis->{host} >>, ...,
C<< $redis->{prefix} >>), for code written against clients that keep their settings there (see
L</USING WITH PAGI-CHANNELS>). They are read-only: changing them changes nothing (the connection
is made from the options as given). The password is never among them: it is kept in a closure,
out of the object, so that neither these keys nor a dump of the client (Data::Dumper, a debugger)
show it. To open another connection with the same credentials, use L</sibling>.

=head2 sibling

    my $other  = $redis->sibling;
    my $db2    = $redis->sibling( database => 2, prefix => undef );
    my $sub    = await $redis->sibling->psubscribe('news:*');

Returns a new client (of the same class) with this client's settings -- address, credentials
(the password included, taken from where it is kept, never shown), database, TLS, timeouts,
reconnect and retry options, key prefix -- its C<on_connect>, C<on_disconnect>, C<on_error> and
C<on_reconnect_attempt> callbacks (called with the new client), its retry policy and its
observability options (C<debug>, C<otel_tracer>, C<otel_meter>, C<metrics>), changed by C<%overrides> (any
L</new> option; C<undef> takes an option back to its default, e.g. C<< prefix => undef >> for no
prefix or C<< password => undef >> for none). A C<uri> override replaces the address,
credentials, database and TLS; C<path> replaces host and port, C<host> or C<port> replace a path.

Nothing of this client's connection or session goes over (nor commands defined with
L</define_command>): the sibling has its own connection
(not yet connected, as after L</new>), in the database of the options even if this client ran
C<SELECT> since, with no subscriptions. This is the way to make the dedicated connection of a
subscriber, or more clients for a pool, from one configured client. Croaks as L</new> does (an
odd list, a bad override); fails nothing else (connect errors come when it is used).

    # A subscriber beside a password-protected client, with the same credentials.
    my $redis = Future::IO::Redis->new( host => 'localhost', password => $ENV{REDIS_PASSWORD} );
    my $sub   = await $redis->sibling->subscribe('events');
    await $redis->publish( events => 'hello' );
    my $msg = await $sub->next;    # { type => 'message', channel => 'events', data => 'hello' }

=head2 connect

    await $redis->connect;

Connects (and runs the handshake). Resolves to C<$redis>; fails with C<Error::Connection>
(refused, unreachable, resolution failed), C<Error::Timeout> (connect_timeout) or
C<Error::Redis> (AUTH or SELECT refused), leaving the client disconnected.

=head2 disconnect

    await $redis->disconnect;    # or just $redis->disconnect;

Closes the connection now, in this call: when it returns, L</is_connected> is false and
C<on_disconnect> has run (reason C<client>; only if the connection was established). It returns
a Future that is done already (resolving to C<$redis>), so C<await> works. Commands already
written fail with C<Error::Connection> (reason C<client>), commands not yet written with
C<Error::Disconnected>, as the event loop next runs the engine. A subscription ends (its C<next>
fails). Nothing reconnects by itself. Then:

=over 4

=item with C<reconnect> on (the default)

the next command connects again, as on a client that was never connected (and
C<on_connect> runs again): if that connect fails, the commands waiting for it fail with
C<Error::Connection> (reason C<connect_failed>) and nothing retries until the next command;

=item with C<< reconnect => 0 >>

commands fail with C<Error::Disconnected> until the next L</connect> (a client that was never
connected still connects on its first command).

=back

    use Future::AsyncAwait;
    use Future::IO::Redis;

    my $redis = Future::IO::Redis->new( on_disconnect => sub { print "gone: $_[1]\n" } );
    await $redis->ping;
    $redis->disconnect;                 # prints "gone: client" before returning
    print $redis->is_connected ? "connected\n" : "not connected\n";    # not connected
    print await $redis->ping, "\n";     # PONG: connects again

=head2 command

    my $reply = await $redis->command( 'SET', $key, $value, 'EX', 60 );

Sends any command. Arguments are strings or numbers: character strings are sent as UTF-8, byte
strings as they are; C<undef> and references croak. Replies: simple strings and bulk strings
as strings (bytes), integers as numbers, nil as C<undef>, arrays as array references (nil arrays
as C<undef>); an error reply fails the Future with L<Future::IO::Redis::Error::Redis> (errors
nested inside arrays, as in EXEC replies, are such objects in place).

=head2 pipeline

    my $results = await $redis->pipeline->set( a => 1 )->get('a')->execute;
    my $pipe    = $redis->pipeline( max_depth => 1000 );

Returns a L<Future::IO::Redis::Pipeline>: command methods queue and return the pipeline;
C<execute> sends them in one write and resolves to an array reference of replies, where a
command that failed is its error object. C<max_depth> (default: the C<pipeline_max_depth>
option, no limit) is the most commands it takes: one more croaks with
C<Pipeline depth limit (N) exceeded>. Unknown options and a C<max_depth> that is not a
non-negative integer croak.

=head2 is_connected

    if ( $redis->is_connected ) { ... }

True while the connection is established (as last reported by the engine).

=head2 session_state

    my $state = $redis->session_state;
    warn "still in MULTI" if $state->{in_multi};

The engine's view of this connection's session, as of the last time the event loop ran it (the
engine sees every command and reply, so this is what the server was told, not a guess): a hash
ref of booleans.

=over

=item in_multi - a MULTI was accepted and no EXEC, DISCARD or RESET ended it yet;

=item watching - keys are watched (WATCH accepted; EXEC, DISCARD, UNWATCH, RESET or a new
connection clear it, as on the server);

=item subscribed - in subscribe mode (subscribed to at least one channel, pattern or shard
channel, or a subscribe-family command is on its way);

=item pending - commands are in flight, waiting for the connection, or waiting to be retried;

=item blocking - one of those is a blocking command (BLPOP, XREAD BLOCK, WAIT, ...);

=item not_connected - the connection is not established and ready (never used, closed, lost,
reconnecting);

=item multi_open - a MULTI was issued (answered or not yet) and no EXEC, DISCARD or RESET after
it.

=back

C<in_multi> also stays true after the connection was lost inside a transaction, until
C<exec> or C<discard> (see L</STATE KEPT ACROSS RECONNECTS>).

=head2 in_pubsub

    warn "still subscribed" if $redis->in_pubsub;

1 while the connection is in subscribe mode (L</session_state>'s C<subscribed>), else 0: the
name earlier Perl clients of this design use.

    use Future::AsyncAwait;
    use Future::IO::Redis;
    my $redis = Future::IO::Redis->new;
    my $sub   = await $redis->subscribe('news');
    print $redis->in_pubsub, "\n";    # 1
    await $sub->unsubscribe;
    print $redis->in_pubsub, "\n";    # 0

=head2 is_dirty

    $pool->release($redis) unless $redis->is_dirty;

False (the empty string) when handing this connection to other code is safe: no transaction,
no watched keys, no subscriptions, nothing in flight. Otherwise a true string that names what is
left, e.g. C<'in_multi watching'>. L<Future::IO::Redis::Pool> asks this on every release.

=head2 inflight_count

    my $n = $redis->inflight_count;

How many commands of this client have no reply yet, as the engine counts them: written and
waiting for their reply, plus those waiting to be written (for the connection, for room under
C<pipeline_depth>, or out a retry delay). A pipeline or transaction counts each of its commands.
0 for a client that has not connected.

    my @f = map { $redis->incr('n') } 1 .. 3;
    say $redis->inflight_count;     # 3
    await Future->needs_all(@f);
    say $redis->inflight_count;     # 0

=head2 scan_iter

    my $iter = $redis->scan_iter( match => 'user:*', count => 100, type => 'string' );
    while ( my $keys = await $iter->next ) { ... }

A L<Future::IO::Redis::Iterator> over C<SCAN> (all options optional): C<< await $iter->next >>
resolves to the next non-empty batch of keys, then to undef when the cursor came back to 0.
With a C<prefix>, only the client's keys are scanned and they come back without the prefix.

=head2 hscan_iter, sscan_iter, zscan_iter

    my $iter = $redis->hscan_iter( $key, match => 'f:*', count => 100 );
    while ( my $pairs = await $iter->next ) { my %fields = @$pairs }

The same over C<HSCAN> (batches of field, value pairs), C<SSCAN> (members) and C<ZSCAN>
(member, score pairs) of one key.

=head2 Command methods

    my $v = await $redis->get($key);

One method per command of Redis' command table, lower-case, subcommands joined by C<_>
(C<script_load>, C<client_setname>, C<config_get>, C<client_no_evict>), generated with their
documentation into L<Future::IO::Redis::Commands>. C<hgetall> and C<config_get> resolve to hash
references, C<info> to a hash of sections, C<time> to C<[seconds, microseconds]>; every other
reply is as the server sent it. The subscribe family is described below (L</subscribe, psubscribe,
ssubscribe>). The methods of commands that switch the connection into a mode this version
cannot read (C<monitor>, C<sync>, C<psync>) croak. Any command, known or not, can be sent with
L</command>.

Methods take the command's own arguments, in Redis' syntax (so that every command and option
Redis has works the same way, as the design's generated methods do), not option hashes: where
earlier pure-Perl clients of this design had hand-written C<set($key, $value, ex => 60,
nx => 1)> and C<keys()> defaulting to C<*>, write C<< set( $key, $value, EX => 60, 'NX' ) >>
(Redis reads option words in any case, so C<< ex => 60 >> works as it is; a flag such as
C<< nx => 1 >> would send a stray C<1>) and C<keys('*')>.

=head2 subscribe, psubscribe, ssubscribe

    my $sub = await $redis->subscribe( 'news', 'alerts' );
    my $sub = await $redis->psubscribe('news:*');
    my $sub = await $redis->ssubscribe('orders');    # Redis 7 shard channels
    while ( my $msg = await $sub->next ) { say "$msg->{channel}: $msg->{data}" }

Put the client into subscribe mode and resolve, once the server confirmed every name, to the
client's L<Future::IO::Redis::Subscription> (one per client: subscribing again adds to it). A
hash ref of subscription options may come last (C<on_message>, C<on_reconnect>,
C<max_pending>). While subscribed, the client sends only the subscribe family, C<ping>, C<reset>
and C<quit>; other commands fail at once with L<Future::IO::Redis::Error::PubSub>.
C<< $redis->command('SUBSCRIBE', ...) >> and its relatives come here too.

=head2 unsubscribe, punsubscribe, sunsubscribe

    await $redis->unsubscribe('news');    # one channel
    await $redis->punsubscribe;           # every pattern

End channels, patterns or shard channels of the client's subscription: those named, or all of
that kind without names (names not subscribed to are ignored). Resolve to the subscription
(undef when the client has none). When nothing is left subscribed the subscription ends (its
C<next> gives undef) and the client takes ordinary commands again.
C<< $sub->unsubscribe >> does the same across all three kinds.

=head2 reset, quit

    await $redis->reset;    # 'RESET'
    await $redis->quit;     # 'OK'; the connection is closed

C<RESET> ends the connection's subscriptions on the server (with its transaction, watched keys,
database and name): the client's subscription learns it, its waiting C<next> calls give undef,
and the client takes ordinary commands again. C<QUIT> makes the server close the connection;
the client then closes it as L</disconnect> does, so that it is not taken for a lost connection
and reconnected (with C<reconnect> on, a later command connects again, as after
C<disconnect>). C<< command('RESET') >> and C<< command('QUIT') >> come here too.

=head1 TRANSACTIONS

=head2 multi

    my $results = await $redis->multi( async sub {
        my ($tx) = @_;
        $tx->incr('counter');
        $tx->get('counter');
    });                                 # [ 1, '1' ]

With a code reference: calls it with a L<Future::IO::Redis::Transaction>, whose command methods
queue commands (the client's key prefix applied), then sends C<MULTI>, them and C<EXEC> as one
batch, in one write. Resolves to EXEC's array of replies, where a command that failed when EXEC
ran it holds its L<Future::IO::Redis::Error::Redis> object (as in pipelines). When the code dies
(or its Future fails), nothing is sent and the exception is passed on. Fails with the server's
C<EXECABORT> error (naming the command it refused) when a command was refused while queueing,
and like a pipeline when the connection fails or times out (never sent again, in part or whole,
once any of it was written). Croaks when the connection is already in a transaction.
L<Future::IO::Redis::Transaction> has the details.

    await $redis->multi;              # MULTI (also: multi_start)
    await $redis->incr('a');          # QUEUED
    my $results = await $redis->exec; # [ 2 ], or undef when a watched key changed

Without arguments: a bare C<MULTI>, resolving to C<OK>; the commands that follow are queued by
the server until C<exec> (EXEC's array, C<undef> when a watched key changed) or C<discard>.
Croaks when the connection is already in a transaction (C<MULTI> cannot be nested).

=head2 multi_start

    await $redis->multi_start;

A bare C<MULTI>: the same as C<multi> without arguments.

=head2 watch_multi

    my $results = await $redis->watch_multi( ['balance'], async sub {
        my ( $tx, $watched ) = @_;
        $tx->decrby( balance => 100 ) if ( $watched->{balance} // 0 ) >= 100;
    });
    say defined $results ? 'done' : 'balance changed meanwhile: try again';

C<WATCH>es the keys and reads their current values (C<MGET>, in the same round trip), calls the
code with the transaction and a hash reference of C<< key => value >> (keys as given, without
the client's prefix; undef for a missing key or one that is not a string), then sends the
transaction as L</multi> does. Resolves to EXEC's results, or to C<undef> when one of the keys
was changed (by anyone) after C<WATCH>: nothing ran, and retrying is up to you. When the code
dies, the keys are unwatched and the exception passed on. While it runs, other transactions on
this client wait for it (their C<EXEC> would end its watches).

=head2 watch, unwatch, exec, discard

    await $redis->watch( 'key1', 'key2' );
    await $redis->multi;
    await $redis->incr('key1');
    my $results = await $redis->exec;    # undef if a watched key changed
    await $redis->unwatch;

The commands themselves, for manual control (L<Future::IO::Redis::Commands>): C<exec> resolves
to EXEC's array of replies, or C<undef> when a watched key changed; C<discard> and C<unwatch> to
C<OK>. The server forgets the watched keys at C<EXEC>, C<DISCARD> and C<UNWATCH>, and so does
L</watching>.

=head2 in_multi

    if ( $redis->in_multi ) { await $redis->discard }

True while this client's connection is in a transaction as the engine knows it: a C<MULTI> was
issued (answered or not yet) and no C<EXEC>, C<DISCARD> or C<RESET> after it, or the server
accepted one and nothing ended it. L</multi> with a code reference never leaves it set.

=head2 watching

    await $redis->watch('k');
    say $redis->watching;       # 1
    await $redis->unwatch;
    say $redis->watching;       # 0

True while keys are watched on the connection: the server accepted a C<WATCH>, and no C<EXEC>,
C<DISCARD>, C<UNWATCH> or C<RESET> (nor a new connection) has cleared it since.

=head1 SCRIPTING

=head2 evalsha_or_eval

    my $result = await $redis->evalsha_or_eval( $sha, $lua, $numkeys, @keys, @args );

C<EVALSHA $sha>; when the server answers C<NOSCRIPT>, C<EVAL $lua> instead, which also loads the
script into the server's cache for next time. C<$sha> may be undef (it is computed from
C<$lua>). Resolves to the script's result; fails like C<eval>. Croaks unless C<$numkeys> is a
whole number no larger than the number of arguments after it. On pipelines and transactions it
queues C<EVAL> (no reply can be looked at there; see L<Future::IO::Redis::Script/IN PIPELINES AND
TRANSACTIONS>).

    my $lua = q{ return redis.call('INCRBY', KEYS[1], ARGV[1]) };
    my $n = await $redis->evalsha_or_eval( undef, $lua, 1, 'counter', 5 );

=head2 script

    my $script = $redis->script($lua);
    my $script = $redis->script( $lua, keys => 2 );     # or keys => 'dynamic'
    my $result = await $script->call( @keys, @args );

A L<Future::IO::Redis::Script>: C<sha>, C<call(@keys, @args)>, C<call_with_keys($numkeys,
@keys_and_args)>, C<load>. It runs by SHA and loads itself when the server lacks it (first use,
after C<SCRIPT FLUSH> or a restart). C<keys> says how many of C<call>'s arguments are keys; by
default that is worked out from the source (see L<Future::IO::Redis::Script/numkeys>).

    my $script = $redis->script(q{ return redis.call('INCRBY', KEYS[1], ARGV[1]) });
    my $n = await $script->call( 'counter', 10 );

=head2 define_command

    $redis->define_command( capped_incr => {
        keys => 1,                       # or 'dynamic': the key count comes first
        lua  => q{
            local v = redis.call('INCRBY', KEYS[1], ARGV[1])
            if v > tonumber(ARGV[2]) then redis.call('SET', KEYS[1], ARGV[2]) return tonumber(ARGV[2]) end
            return v
        },
    });
    my $v = await $redis->capped_incr( 'hits', 5, 100 );

Gives this client (only) a method that runs a script as L</script> does, with C<keys> of its
arguments as keys (default C<'dynamic'>: the first argument is the number of keys). With
C<< function => $name >> (and C<< library => $source >>, C<< read_only => 1 >>) the method calls
a Redis 7 function with C<FCALL> (C<FCALL_RO>), loading the library when the server does not know
the function. Returns the client, which is re-blessed into a subclass of its class made for its
set of defined names, so that no other client gets the method (see
L<Future::IO::Redis::Script/DEFINED COMMANDS>). Croaks on a name that is already a method, or
bad options.

=head2 run_script

    my $v = await $redis->run_script( capped_incr => 'hits', 5, 100 );

Runs a command defined with L</define_command> by its name. Pipelines and transactions have
C<run_script> too (it queues C<EVAL>, or C<FCALL>).

=head2 get_script, list_scripts, preload_scripts

    my $script = $redis->get_script('capped_incr');    # its Future::IO::Redis::Script, or undef
    my @names  = $redis->list_scripts;                 # the names defined on this client, sorted
    my $n      = await $redis->preload_scripts;        # load them all now; resolves to how many

The commands defined on this client with L</define_command>. C<preload_scripts> loads every
one's script (C<SCRIPT LOAD>) or function library (C<FUNCTION LOAD REPLACE>) into the server now,
so that a pipeline or transaction that runs them right after finds them (a defined command
queued there is sent as C<EVAL> anyway, so this only saves sending the source); fails as the
first load that fails.

=head2 function_library

    my $lib = $redis->function_library("#!lua name=mylib\nredis.register_function('hi', function() return 'hi' end)");
    my $hi  = await $lib->call( hi => 0 );

A L<Future::IO::Redis::Library> for a Redis 7 function library: C<call($function, $numkeys,
...)> (C<FCALL>) and C<call_ro> (C<FCALL_RO>) load the library (C<FUNCTION LOAD REPLACE>) when
the server does not know the function, as after C<FUNCTION FLUSH> or a restart; C<load> loads
it now.

=head1 USING WITH PAGI-CHANNELS

L<PAGI::Middleware::Channels::Backend::Redis> (the Redis backend of PAGI-Channels, the channel
layer of the PAGI web stack) takes a client as its C<redis> option. It keeps queues, groups,
presence, history (streams) and delayed messages in Redis through that client, under the
client's key C<prefix> (which it reads as C<< $redis->{prefix} >>, and prepends itself to KEYS
patterns and to its notification channels). To wait for a message (C<next_message>) it opens a
second connection, subscribes it to C<< <prefix>notify:* >>, and reads it in a background
C<< while (my $msg = await $sub->next) >> loop; C<flush> and C<cleanup> cancel the waits that
are pending. A cancelled C<next> loses nothing (see L<Future::IO::Redis::Subscription/next>).

That second connection comes from the backend's C<subscriber_factory> option: a code reference,
called with no arguments, once (and again after C<flush>), that returns a connected client or a
Future of one. L</sibling> makes it: C<connect> resolves to the client.

    use Future::IO::Redis;
    use PAGI::Middleware::Channels::Backend::Redis;

    my $redis = Future::IO::Redis->new(
        host     => 'localhost',
        port     => 6379,
        password => $ENV{REDIS_PASSWORD},    # or username + password (ACL)
        prefix   => 'myapp:channels:',
    );
    my $backend = PAGI::Middleware::Channels::Backend::Redis->new(
        redis              => $redis,
        subscriber_factory => sub { $redis->sibling->connect },
    );

Without C<subscriber_factory>, the backend builds the subscriber itself from the client's
top-level keys C<host port path username password database tls reconnect>. All of them are there
(see L</host, port, path, username, database, tls, reconnect, prefix>) except the password, which
this client never exposes. So the default works against a server without a password (TLS
included: C<tls> is there, as 1 or a copy of the hash), and a password-protected server needs
the C<subscriber_factory> above: without it the subscriber is refused by the server (NOAUTH), or,
for an ACL user, C<new> croaks (C<username needs a password>).

TLS with a password, from a URI:

    my $redis = Future::IO::Redis->new(
        uri    => "rediss://app:$ENV{REDIS_PASSWORD}\@localhost:6380/2",
        tls    => { ca_file => '/etc/redis/ca.pem' },
        prefix => 'myapp:channels:',
    );
    my $backend = PAGI::Middleware::Channels::Backend::Redis->new(
        redis              => $redis,
        subscriber_factory => sub { $redis->sibling->connect },    # TLS, user, password, database 2
    );

The subscriber reconnects (and subscribes again) after a lost connection when the client does
(C<reconnect>, on by default); notifications published while it is down are missed, as with any
pub/sub. A factory may also wait synchronously (C<< $client->connect->get >>), as the backend's own
tests do, on either event loop. C<t/99-integration/pagi-backend.t> drives this client the way
the backend does.

=head1 LIFETIME

Letting go of a client (the last reference to it goes away) does not cancel what it already
started: commands issued earlier still complete (someone may be awaiting them), then its
connection closes. C<< Future::IO::Redis->new(...)->get('k') >> works.

=head1 STATE KEPT ACROSS RECONNECTS

A reconnect is a new connection on the server, which starts in
database 0 with no name. So that it is invisible to later commands, the client remembers what
the server accepted and replays it in the handshake of every reconnect:

=over 4

=item *

C<< await $redis->select($n) >> (or C<< command('SELECT', $n) >>): database C<$n> from then on,
replacing the C<database> option. A SELECT the server refused, or whose reply never came because
the connection was lost, changes nothing.

=item *

C<< await $redis->client_setname($name) >> (and C<HELLO ... SETNAME name>): that name from then
on, replacing C<client_name>; an empty name clears it.

=item *

C<< await $redis->reset >>: database 0 and no name, as the server does (not the C<database> and
C<client_name> options). RESET also logs the connection out on the server; a reconnect
authenticates again with the configured C<username> and C<password>.

=item *

Inside C<MULTI>, a SELECT or CLIENT SETNAME counts when C<EXEC> runs it (its place in EXEC's
reply is C<OK>); C<DISCARD>, a nil EXEC (a WATCHed key changed) or C<EXECABORT> change nothing.

=back

State is recorded in reply order, which is the order the server ran the commands. Nothing else
set by command is replayed: credentials changed with C<AUTH> or C<HELLO ... AUTH> (the configured
C<username>/C<password> are what a reconnect uses), C<CLIENT TRACKING>, C<CLIENT NO-EVICT>,
C<READONLY>, C<WATCH>, and an open C<MULTI>. The server drops a transaction with its connection,
so none of its commands is ever sent on the new one: commands of it already issued fail
(C<Error::Connection>, or C<Error::Disconnected> when they were not written), and commands issued
for it afterwards fail at once, until C<exec> (which fails too) or C<discard> (which succeeds)
ends it; C<in_multi> stays true meanwhile. See L</TRANSACTIONS>.

=head1 RETRIES

The option C<retry> chooses what happens when a command cannot complete:

=over 4

=item C<'exponential'> (default)

The engine sends a command again when the server answers C<LOADING>, C<BUSY>, C<MASTERDOWN> or
C<TRYAGAIN> (it did not run it), after 0.05 s, doubling up to 1 s, at most 10 times and never
past the command's deadline. A read-only command (GET, MGET, HGETALL, ZRANGE, ...) that was
written before its connection broke is sent again on the new connection; a command that may have
changed something (SET, INCR, ...) is never sent twice: it fails with C<Error::Connection>. After
a reset for a deadline nothing written is sent again. Errors retrying cannot fix (WRONGTYPE,
OOM, NOSCRIPT, ERR, authentication) come back at once.

=item C<'none'> (or 0)

Nothing is sent again; commands not yet written when a connection broke still wait for the
reconnect (they were never sent).

=item a code reference

C<< $delay = $policy->($attempt, $error, $command_name) >> is asked after each failure
(C<$attempt> counts from 1); a positive C<$delay> sends the command again after that many
seconds, 0 gives up and the Future fails with C<$error>. The engine then does not retry by
itself. Pipelines are not retried by a policy coderef.

=back

=head1 ERRORS

See L<Future::IO::Redis::Error>: C<::Connection>, C<::Timeout>, C<::Protocol>, C<::Redis>,
C<::Disconnected>. Futures fail with the error object alone, so C<await> throws it.

=head1 MIGRATING FROM REDIS::FAST, REDIS.PM OR NET::ASYNC::REDIS

=over 4

=item Every call returns a Future

L<Redis> and L<Redis::Fast> block and return the reply; their callback form
(C<< $r->get($k, sub { my ($reply, $error) = @_ }) >> with C<wait_all_responses>) is what
issuing many commands and awaiting them together does here:

    # Redis::Fast                              # Future::IO::Redis
    my $v = $r->get('k');                      my $v = await $redis->get('k');
    $r->incr('n', sub {}) for 1 .. 100;        await Future->needs_all(
    $r->wait_all_responses;                        map { $redis->incr('n') } 1 .. 100 );

Outside an C<async sub>, C<< $redis->get('k')->get >> waits for one reply (it runs the event
loop until then). L<Net::Async::Redis> already returns Futures; its methods have the same names
here (one per command, lower case, subcommands joined with C<_>: C<client_setname>).

=item Failures are error objects

Redis.pm and Redis::Fast die with a string (C<[get] ERR ...>); Net::Async::Redis fails its
Future with a message and the category C<redis>. Here a Future fails with one
L<Future::IO::Redis::Error> object and nothing else, so C<await> (or C<get>) throws that object:
C<< $e->isa('Future::IO::Redis::Error::Redis') >> for a reply error (C<< $e->code >> is
C<WRONGTYPE>, C<ERR>, ...), C<::Connection>, C<::Timeout>, C<::Disconnected>, C<::Protocol>
for the rest. The object stringifies to its message, so C<eval { ... }; warn $@> still reads
well; code that matched C<$@> against C<qr/^\[get\] /> must look at the object instead.

=item Reply shapes

Arrays are array references, not lists: C<< my @l = $r->lrange('l', 0, -1) >> becomes
C<< my $l = await $redis->lrange('l', 0, -1) >> (C<@$l>). C<nil> is C<undef>, status replies are
strings (C<'OK'>), integers are numbers. C<hgetall> and C<config_get> return a hash reference
(Redis.pm returns the flat field/value list, Net::Async::Redis an array reference of it),
C<info> a hash reference of sections (Redis.pm: one flat hash), C<time> C<[$s, $us]>. Values are
bytes in both directions: there is no C<encoding> option (Redis.pm's C<< encoding => undef >> is
what happens here); encode character strings with L<Encode> or C<utf8::encode> as you like.

=item Options

    Redis.pm / Redis::Fast            Net::Async::Redis      here
    server => 'host:port'             host, port             host, port (server accepted)
    sock => '/path'                   -                      path (sock accepted)
    password                          auth                   password (auth accepted)
    name                              client_name            client_name (name accepted)
    cnx_timeout                       -                      connect_timeout (cnx_timeout accepted)
    read_timeout, write_timeout       -                      same names
    reconnect => $seconds, every      -                      reconnect => 1, reconnect_delay, ...
    REDIS_SERVER env                  -                      REDIS_URL, then REDIS_SERVER

C<reconnect> means something else. In Redis.pm it is how many seconds to keep trying (every
C<every> microseconds) before a command dies; here it is on (1, the default) or off (0): a lost
connection is re-established in the background with exponential back-off
(C<reconnect_delay> doubling up to C<reconnect_delay_max>, with jitter), forever; commands
issued meanwhile wait (up to C<queue_size> of them) and are bounded by their own
C<request_timeout>. Commands that were already written when the connection broke fail with
C<::Connection> (they may or may not have run); L</RETRIES> says which are retried. The first
C<connect> is not retried.

=item Pub/sub, transactions, pipelines

C<subscribe> returns a L<Future::IO::Redis::Subscription> (C<< await $sub->next >> or
C<on_message>), not a callback loop around C<wait_for_messages>. An explicit pipeline is
C<< $redis->pipeline->set(...)->get(...)->execute >>, resolving to an array reference of the
replies.

=back

=head1 BUILDING

The distribution builds a Rust static library (the engine) and links it into the XS module, so
it needs Rust 1.87 or newer (C<cargo> and C<rustc>; L<https://rustup.rs>) and a C compiler.
Without them, F<Makefile.PL> says so and writes no Makefile. The Rust crates come from
crates.io, at the versions in F<Cargo.lock>; to build offline, vendor them first:

    mkdir -p .cargo
    cargo vendor --locked vendor > .cargo/config.toml    # with network access: ./vendor and its config
    CARGO_NET_OFFLINE=true perl Makefile.PL && make && make test

F<Makefile.PL> honours C<CARGO> and C<RUSTC> (the toolchain to use), C<CARGO_TARGET_DIR> (where
cargo builds; default F<target>) and C<FIOR_CARGO_PROFILE> (C<release>, the default; C<debug>
for an unoptimised build with debug information; or a profile from F<Cargo.toml>). The
installed module carries no debug information.

The tests need a C<redis-server> on C<PATH> (or C<FIOR_REDIS_SERVER=/path/to/redis-server>);
each starts its own on free loopback ports and never touches a server already running. Without
one, the tests that need a server are skipped with the reason and the others run.

=head1 AUTHOR

The Future::IO::Redis developers.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it under the terms of the
Artistic License 2.0 (see the F<LICENSE> file in the distribution). The Rust engine it contains
is under the same licence.

=head1 FORK

A child process that uses a client inherited from its parent gets a fresh engine and connection
the first time it does so. The child never reads, writes or closes the parent's connections.

=head1 THREADS

Perl threads (L<threads>) are treated like forks: a new thread's copies of existing clients, and
clients it makes, work on an engine and connections of the thread's own; commands its parent had
in flight stay the parent's. A thread that uses an event loop other than Future::IO's default
should make its own loop: a copied loop may share kernel objects (an epoll descriptor) with the
parent's.

=cut

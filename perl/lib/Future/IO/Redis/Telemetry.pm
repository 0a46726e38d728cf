package Future::IO::Redis::Telemetry 0.001;
use v5.14;
use warnings;

use Carp ();
use Scalar::Util ();
use Time::HiRes ();

use Future::IO::Redis::Commands;

# Debug logging, OpenTelemetry spans and metrics, Metrics::Any metrics for Future::IO::Redis.
#
# A client created with any of the options below is blessed into a generated subclass of its
# class (observed_class) whose command methods, `command`, `_submit_batch` (pipelines and
# transactions), `_on_event` and DESTROY wrap the plain ones. A client without them keeps the
# plain, compiled send path: nothing of this module runs for it.

# A croak from the plain send path (an undef argument, ...) names the caller's line, not ours.
our @CARP_NOT = qw( Future::IO::Redis Future::IO::Redis::Engine Future::IO::Redis::Commands Future::IO::Redis::Pipeline );

our @OPTIONS = qw( debug otel_tracer otel_meter otel_include_args metrics );

# How much of a value the debug log and db.statement show.
our $MAX_VALUE_BYTES = 64;
our $MAX_ARGS        = 32;
our $MAX_BATCH_LINES = 20;
our $MAX_ERROR_BYTES = 200;

my $REDACTED = '[REDACTED]';

# OpenTelemetry's constants (OpenTelemetry::Constants when installed; the same numbers otherwise:
# they are OTLP's).
my ( $SPAN_KIND_CLIENT, $SPAN_STATUS_ERROR ) = ( 3, 2 );
if ( eval { require OpenTelemetry::Constants; 1 } ) {
    $SPAN_KIND_CLIENT  = OpenTelemetry::Constants::SPAN_KIND_CLIENT();
    $SPAN_STATUS_ERROR = OpenTelemetry::Constants::SPAN_STATUS_ERROR();
}

# ----- formatting and redaction (public) -------------------------------------------------------

# Settings whose value is a secret, for CONFIG SET and SENTINEL SET / SENTINEL CONFIG SET.
my $SECRET_SETTING = qr/pass|auth|secret|masteruser|primaryuser|sentinel-user|auth-user/i;

# Where a command carries secrets: { index => replacement } over the whole command (words
# included).
my %SECRET_COMMAND = map { $_ => 1 } qw( AUTH HELLO MIGRATE ACL CONFIG SENTINEL );

sub _secrets {
    my (@c) = @_;
    return {} unless @c && defined $c[0] && $SECRET_COMMAND{ uc $c[0] };
    my $name = uc $c[0];
    my $sub  = @c > 1 && defined $c[1] ? uc $c[1] : '';
    my %r;
    if ( $name eq 'AUTH' ) {
        # AUTH password | AUTH username password (anything longer: all but a username hidden)
        $r{$_} = $REDACTED for ( @c == 2 ? 1 : 2 ) .. $#c;
    }
    elsif ( $name eq 'HELLO' ) {
        for my $i ( 1 .. $#c ) {
            next unless defined $c[$i] && uc $c[$i] eq 'AUTH';
            $r{ $i + 2 <= $#c ? $i + 2 : $i + 1 } = $REDACTED if $i < $#c;
        }
    }
    elsif ( $name eq 'MIGRATE' ) {
        # MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw] [KEYS k ...]
        for ( my $i = 6; $i <= $#c; $i++ ) {
            my $w = defined $c[$i] ? uc $c[$i] : '';
            last if $w eq 'KEYS';
            if    ( $w eq 'AUTH' )  { $r{ $i + 1 } = $REDACTED if $i + 1 <= $#c; $i += 1 }
            elsif ( $w eq 'AUTH2' ) { $r{ $i + 2 } = $REDACTED if $i + 2 <= $#c; $i += 2 }
        }
    }
    elsif ( $name eq 'ACL' && $sub eq 'SETUSER' ) {
        # Rules that set passwords or hashes: >pass <pass #hash !hash (the kind stays visible).
        for my $i ( 3 .. $#c ) {
            my $rule = $c[$i];
            next unless defined $rule && !ref $rule && $rule =~ /(?:\A|\s|\()[<>#!]/;
            $r{$i} = $rule =~ /\A([<>#!])\S*\z/ ? "$1$REDACTED" : $REDACTED;
        }
    }
    elsif ( $name eq 'CONFIG' && $sub eq 'SET' ) {
        _setting_pairs( \%r, 2, @c );
    }
    elsif ( $name eq 'SENTINEL' && ( $sub eq 'SET' || $sub eq 'CONFIG' ) ) {
        # SENTINEL SET master option value ... | SENTINEL CONFIG SET option value ...
        _setting_pairs( \%r, 3, @c );
    }
    return \%r;
}

# The command's words with the secrets replaced (the same rules as the log): for error objects.
sub redact_words {
    my (@c) = @_;
    my $secret = _secrets(@c);
    return map { exists $secret->{$_} ? $secret->{$_} : $c[$_] } 0 .. $#c;
}

sub _setting_pairs {
    my ( $r, $from, @c ) = @_;
    for ( my $i = $from; $i < $#c; $i += 2 ) {
        $r->{ $i + 1 } = $REDACTED if defined $c[$i] && !ref $c[$i] && $c[$i] =~ $SECRET_SETTING;
    }
}

# One value as the log shows it: bare when it is short printable ASCII without spaces or
# quotes, else double-quoted with C-like escapes (\n \r \t \" \\ \xNN); longer than
# $MAX_VALUE_BYTES bytes: cut, with the number of bytes left out.
sub _value {
    my ($v) = @_;
    return 'undef' unless defined $v;
    return '<' . ref($v) . ' reference>' if ref $v;
    $v = "$v";
    utf8::encode($v) if utf8::is_utf8($v);
    my $more = length($v) - $MAX_VALUE_BYTES;
    $v = substr( $v, 0, $MAX_VALUE_BYTES ) if $more > 0;
    if ( length $v && $v !~ /[^\x21-\x7e]/ && $v !~ /["\\]/ ) {
        return $more > 0 ? qq{"$v"...(+$more bytes)} : $v;
    }
    $v =~ s/(["\\])/\\$1/g;
    $v =~ s/\n/\\n/g;
    $v =~ s/\r/\\r/g;
    $v =~ s/\t/\\t/g;
    $v =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    return $more > 0 ? qq{"$v"...(+$more bytes)} : qq{"$v"};
}

sub _render {
    my ( $redact, @c ) = @_;
    my $secret = $redact ? _secrets(@c) : {};
    my $shown  = @c > $MAX_ARGS + 1 ? $MAX_ARGS + 1 : scalar @c;
    my @out    = map { exists $secret->{$_} ? $secret->{$_} : _value( $c[$_] ) } 0 .. $shown - 1;
    push @out, '...(+' . ( @c - $shown ) . ' more arguments)' if $shown < @c;
    return join ' ', @out;
}

sub format_command_for_log {
    my (@command) = @_;
    return _render( 1, @command );
}

sub format_command_for_span {
    my ( $include_args, $redact, @command ) = @_;
    return command_name(@command) unless $include_args;
    return _render( $redact, @command );
}

# The command's name as spans and metrics show it: upper case, with the subcommand of a
# container command (CONFIG SET, CLIENT SETNAME).
sub command_name {
    my (@c) = @_;
    return '' unless @c && defined $c[0] && !ref $c[0];
    my $name = uc $c[0];
    $name .= ' ' . uc $c[1]
      if $Future::IO::Redis::Commands::CONTAINER{$name} && @c > 1 && defined $c[1] && !ref $c[1];
    return $name;
}

# A reply as the debug log summarises it.
sub format_reply {
    my ($r) = @_;
    return 'nil' unless defined $r;
    if ( my $class = Scalar::Util::blessed($r) ) {
        return format_error($r) if $r->isa('Future::IO::Redis::Error');
        return "<$class object>";
    }
    my $t = ref $r;
    return '[' . @$r . ( @$r == 1 ? ' item]' : ' items]' ) if $t eq 'ARRAY';
    return '{' . keys(%$r) . ( keys(%$r) == 1 ? ' field}' : ' fields}' ) if $t eq 'HASH';
    return _value($r);
}

sub format_error {
    my ($e) = @_;
    my $class = Scalar::Util::blessed($e) && $e->isa('Future::IO::Redis::Error') ? ref $e : '';
    my $type  = $class ? ( $class =~ /::(\w+)\z/ )[0] : 'Error';
    my $msg   = $class && $e->can('message') ? $e->message : "$e";
    $msg = '' unless defined $msg;
    $msg =~ s/\s+\z//;
    utf8::encode($msg) if utf8::is_utf8($msg);
    $msg = substr( $msg, 0, $MAX_ERROR_BYTES ) . '...' if length $msg > $MAX_ERROR_BYTES;
    $msg =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    return "error $type: $msg";
}

sub error_type {
    my ($e) = @_;
    return 'Error' unless Scalar::Util::blessed($e) && $e->isa('Future::IO::Redis::Error');
    return ( ref($e) =~ /::(\w+)\z/ )[0];
}

# ----- the telemetry of one client -------------------------------------------------------------

# Telemetry for a client with these options (a hash ref of @OPTIONS taken out of new's
# arguments) and connection options ($conn: host, port, path, database); undef when nothing is
# switched on. Croaks on a bad option, naming $who.
sub new {
    my ( $class, $who, $opts, $conn ) = @_;
    my %o = %$opts;
    my $self = bless { seq => 0 }, $class;

    if ( my $d = $o{debug} ) {
        if ( ref $d eq 'CODE' ) { $self->{debug} = $d }
        elsif ( !ref $d ) {
            my $peer = _peer_label($conn);
            $self->{debug} = sub { print STDERR "[Future::IO::Redis $peer] $_[0] $_[1]\n" };
        }
        else { Carp::croak("$who: debug must be 1 or a code reference") }
    }
    if ( defined( my $t = $o{otel_tracer} ) ) {
        Carp::croak("$who: otel_tracer must be an OpenTelemetry tracer (an object with create_span)")
          unless Scalar::Util::blessed($t) && $t->can('create_span');
        $self->{tracer}       = $t;
        $self->{include_args} = exists $o{otel_include_args} ? ( $o{otel_include_args} ? 1 : 0 ) : 1;
    }
    Carp::croak("$who: otel_include_args must be 0 or 1") if ref $o{otel_include_args};

    my @sinks;
    if ( defined( my $m = $o{otel_meter} ) ) {
        Carp::croak("$who: otel_meter must be an OpenTelemetry meter (create_counter, create_histogram, create_up_down_counter)")
          unless Scalar::Util::blessed($m) && !grep { !$m->can($_) } qw( create_counter create_histogram create_up_down_counter );
        push @sinks, _otel_sink($m);
    }
    if ( $o{metrics} ) {
        Carp::croak("$who: metrics must be 0 or 1") if ref $o{metrics};
        push @sinks, _metrics_any_sink() // Carp::croak("$who: metrics => 1 needs Metrics::Any, which is not installed");
    }
    $self->{sinks} = \@sinks if @sinks;

    return undef unless $self->{debug} || $self->{tracer} || $self->{sinks};
    $self->{args} = $self->{debug} || $self->{tracer} ? 1 : 0;

    $self->{peer}      = _peer_label($conn);
    $self->{peer_name} = defined $conn->{path} ? $conn->{path} : $conn->{host} // 'localhost';
    $self->{peer_port} = defined $conn->{path} ? undef : $conn->{port} // 6379;
    $self->{db}        = $conn->{database} // 0;
    return $self;
}

sub _peer_label {
    my ($conn) = @_;
    return $conn->{path} if defined $conn->{path};
    my $host = $conn->{host} // 'localhost';
    $host = "[$host]" if $host =~ /:/;
    return $host . ':' . ( $conn->{port} // 6379 );
}

# Metrics go to "sinks": each a hash of code refs (command, error, connected, disconnected,
# reconnect, pipeline, acquire).
# One set of instruments per meter (a pool's connections share them).
my %OTEL_SINK;

sub _otel_sink {
    my ($meter) = @_;
    my $key = Scalar::Util::refaddr($meter);
    return $OTEL_SINK{$key}{sink} if $OTEL_SINK{$key} && $OTEL_SINK{$key}{meter} == $meter;
    my $sink = _make_otel_sink($meter);
    $OTEL_SINK{$key} = { meter => $meter, sink => $sink };
    return $sink;
}

sub _make_otel_sink {
    my ($meter) = @_;
    my %i = (
        commands => $meter->create_counter(
            name => 'redis.commands.total', unit => '{command}', description => 'Commands executed, by command name' ),
        duration => $meter->create_histogram(
            name => 'redis.commands.duration', unit => 's', description => 'Command latency' ),
        active => $meter->create_up_down_counter(
            name => 'redis.connections.active', unit => '{connection}', description => 'Current active connections' ),
        connections => $meter->create_counter(
            name => 'redis.connections.total', unit => '{connection}', description => 'Total connections created' ),
        reconnects => $meter->create_counter(
            name => 'redis.reconnects.total', unit => '{attempt}', description => 'Reconnection attempts' ),
        errors => $meter->create_counter(
            name => 'redis.errors.total', unit => '{error}', description => 'Errors by type' ),
        pipeline => $meter->create_histogram(
            name => 'redis.pipeline.size', unit => '{command}', description => 'Commands per pipeline' ),
        acquire => $meter->create_histogram(
            name => 'redis.pool.acquire.duration', unit => 's', description => 'Time a pool acquire waited for a connection' ),
    );
    return {
        command => sub {
            my ( $name, $secs ) = @_;
            $i{commands}->add( 1, { 'db.operation' => $name } );
            $i{duration}->record( $secs, { 'db.operation' => $name } ) if defined $secs;
        },
        error        => sub { $i{errors}->add( 1, { 'error.type' => $_[0] } ) },
        connected    => sub { $i{active}->add( 1, {} ); $i{connections}->add( 1, {} ) },
        disconnected => sub { $i{active}->add( -1, {} ) },
        reconnect    => sub { $i{reconnects}->add( 1, {} ) },
        pipeline     => sub { $i{pipeline}->record( $_[0], {} ) },
        acquire      => sub { $i{acquire}->record( $_[0], {} ) },
    };
}

our $METRICS;    # the Metrics::Any collector of this package, once made
my $MA_SINK;

sub _metrics_any_sink {
    return $MA_SINK if $MA_SINK;
    return undef unless eval { require Metrics::Any; 1 };
    Metrics::Any->import_into( __PACKAGE__, '$METRICS', name_prefix => ['redis'], strict => 1 );
    my $m = $METRICS;
    $m->make_counter( commands => name => [qw( commands total )], description => 'Commands executed, by command name', labels => ['command'] );
    $m->make_distribution( duration => name => [qw( commands duration )], description => 'Command latency', units => 'seconds', labels => ['command'] );
    $m->make_gauge( active => name => [qw( connections active )], description => 'Current active connections' );
    $m->make_counter( connections => name => [qw( connections total )], description => 'Total connections created' );
    $m->make_counter( reconnects => name => [qw( reconnects total )], description => 'Reconnection attempts' );
    $m->make_counter( errors => name => [qw( errors total )], description => 'Errors by type', labels => ['type'] );
    $m->make_distribution( pipeline => name => [qw( pipeline size )], description => 'Commands per pipeline' );
    $m->make_distribution( acquire => name => [qw( pool acquire duration )], description => 'Time a pool acquire waited for a connection', units => 'seconds' );
    return $MA_SINK = {
        command => sub {
            my ( $name, $secs ) = @_;
            $m->inc_counter( commands => [ command => $name ] );
            $m->report_distribution( duration => $secs, [ command => $name ] ) if defined $secs;
        },
        error        => sub { $m->inc_counter( errors => [ type => $_[0] ] ) },
        connected    => sub { $m->inc_gauge('active'); $m->inc_counter('connections') },
        disconnected => sub { $m->dec_gauge('active') },
        reconnect    => sub { $m->inc_counter('reconnects') },
        pipeline     => sub { $m->report_distribution( pipeline => $_[0] ) },
        acquire      => sub { $m->report_distribution( acquire => $_[0] ) },
    };
}

sub _metric {
    my ( $self, $what, @args ) = @_;
    for my $s ( @{ $self->{sinks} } ) {
        local $@;
        eval { $s->{$what}->(@args); 1 } or warn "Future::IO::Redis: reporting a metric failed: $@";
    }
}

sub _debug {
    my ( $self, $direction, $data ) = @_;
    local $@;
    eval { $self->{debug}->( $direction, $data ); 1 } or warn "Future::IO::Redis: debug callback died: $@";
}

sub _span {
    my ( $self, $name, $statement, %more ) = @_;
    my %attr = (
        'db.system'               => 'redis',
        'db.operation'            => $name,
        'db.statement'            => $statement,
        'net.peer.name'           => $self->{peer_name},
        'db.redis.database_index' => $self->{db},
        %more,
    );
    $attr{'net.peer.port'} = $self->{peer_port} if defined $self->{peer_port};
    local $@;
    my $span = eval { $self->{tracer}->create_span( name => "redis.$name", kind => $SPAN_KIND_CLIENT, attributes => \%attr ) };
    warn "Future::IO::Redis: otel_tracer->create_span died: $@" unless $span;
    return $span;
}

sub _end_span {
    my ( $span, $error, $desc ) = @_;
    local $@;
    eval {
        if ( defined $error ) {
            $span->record_exception($error) if $span->can('record_exception');
            $span->set_status( $SPAN_STATUS_ERROR, $desc );
        }
        $span->end;
        1;
    } or warn "Future::IO::Redis: ending a span died: $@";
}

# One command starts: $name is its name (command_name), $command its words and arguments as
# sent (prefix applied), given only when the debug log or a tracer wants them ($self->{args}).
# Returns what finish needs.
sub start {
    my ( $self, $name, $command ) = @_;
    my $op = { name => $name, t0 => Time::HiRes::time() };
    if ( $self->{debug} ) {
        $op->{seq} = ++$self->{seq};
        $self->_debug( send => "#$op->{seq} " . format_command_for_log(@$command) );
    }
    if ( $self->{tracer} ) {
        $op->{span} = $self->_span( $name, format_command_for_span( $self->{include_args}, 1, @$command ) );
        $op->{db} = $name eq 'SELECT' ? $command->[1] : 0 if $name eq 'SELECT' || $name eq 'RESET';
    }
    return $op;
}

# The command's Future is $f: report when it is ready.
sub finish {
    my ( $self, $op, $f ) = @_;
    $f->on_ready( sub { $self->_done( $op, $_[0] ) } );
    return $f;
}

# The command did not even start (its arguments were refused: the plain path croaked).
sub abort {
    my ( $self, $op, $why ) = @_;
    ( my $msg = "$why" ) =~ s/\s+\z//;
    $self->_debug( recv => "#$op->{seq} $op->{name} -> refused: $msg" ) if $self->{debug};
    _end_span( $op->{span}, $why, "$op->{name}: arguments refused" ) if $op->{span};
}

# A command of a client with metrics only ended.
sub _measured {
    my ( $self, $name, $secs, $f ) = @_;
    my $error = $f->is_done ? undef : $f->is_cancelled ? 'cancelled' : ( $f->failure )[0];
    local $@;
    eval {
        for my $s ( @{ $self->{sinks} } ) {
            $s->{command}->( $name, $secs );
            $s->{error}->( error_type($error) ) if defined $error;
        }
        1;
    } or warn "Future::IO::Redis: reporting a metric failed: $@";
}

sub _done {
    my ( $self, $op, $f ) = @_;
    my $secs = Time::HiRes::time() - $op->{t0};
    my $error;
    $error = $f->is_cancelled ? 'cancelled' : ( $f->failure )[0] unless $f->is_done;
    if ( $self->{debug} ) {
        my $summary = !defined $error ? format_reply( ( $f->get )[0] ) : $f->is_cancelled ? 'cancelled' : format_error($error);
        $self->_debug( recv => sprintf( '#%d %s -> %s (%.3f ms)', $op->{seq}, $op->{name}, $summary, $secs * 1000 ) );
    }
    if ( my $sinks = $self->{sinks} ) {
        local $@;
        eval {
            for my $s (@$sinks) {
                $s->{command}->( $op->{name}, $secs );
                $s->{error}->( error_type($error) ) if defined $error;
            }
            1;
        } or warn "Future::IO::Redis: reporting a metric failed: $@";
    }
    if ( my $span = $op->{span} ) {
        $self->{db} = 0 + $op->{db} if !defined $error && defined $op->{db} && $op->{db} =~ /\A[0-9]+\z/;
        _end_span( $span, $error, defined $error ? format_error($error) : undef );
    }
}

# A batch (a pipeline, or a transaction: MULTI ... EXEC) of commands ([ @words ], ...) starts.
sub start_batch {
    my ( $self, $commands ) = @_;
    my $n    = @$commands;
    my $kind = $n >= 2 && command_name( @{ $commands->[-1] } ) eq 'EXEC' && grep( { command_name(@$_) eq 'MULTI' } @$commands )
      ? 'MULTI' : 'PIPELINE';
    my $op = { name => $kind, t0 => Time::HiRes::time(), commands => $commands };
    if ( $self->{debug} ) {
        $op->{seq} = ++$self->{seq};
        $self->_debug( send => "#$op->{seq} $kind " . $n . ( $n == 1 ? ' command' : ' commands' ) );
        my $i = 0;
        for my $c (@$commands) {
            $i++;
            $self->_debug( send => "#$op->{seq}.$i " . format_command_for_log(@$c) );
        }
    }
    if ( $self->{tracer} ) {
        my @lines = map { format_command_for_span( $self->{include_args}, 1, @$_ ) } @$commands[ 0 .. ( $n > $MAX_BATCH_LINES ? $MAX_BATCH_LINES : $n ) - 1 ];
        push @lines, '...(+' . ( $n - $MAX_BATCH_LINES ) . ' more commands)' if $n > $MAX_BATCH_LINES;
        $op->{span} = $self->_span( $kind, join( "\n", @lines ), 'db.redis.pipeline_length' => $n );
    }
    return $op;
}

sub finish_batch {
    my ( $self, $op, $f ) = @_;
    $f->on_ready( sub { $self->_batch_done( $op, $_[0] ) } );
    return $f;
}

sub _batch_done {
    my ( $self, $op, $f ) = @_;
    my $secs = Time::HiRes::time() - $op->{t0};
    my $commands = $op->{commands};
    my ( $error, $summary, @failed );
    if    ( $f->is_cancelled ) { $error = 'cancelled'; $summary = 'cancelled' }
    elsif ( $f->is_failed )    { ($error) = $f->failure; $summary = format_error($error) }
    else {
        my ($results) = $f->get;
        $results = [] unless ref $results eq 'ARRAY';
        @failed = grep { Scalar::Util::blessed( $results->[$_] ) && $results->[$_]->isa('Future::IO::Redis::Error') } 0 .. $#$results;
        $summary = '[' . @$results . ' results' . ( @failed ? ', ' . @failed . ' failed' : '' ) . ']';
    }
    if ( $self->{debug} ) {
        $self->_debug( recv => sprintf( '#%d %s -> %s (%.3f ms)', $op->{seq}, $op->{name}, $summary, $secs * 1000 ) );
    }
    if ( $self->{sinks} ) {
        $self->_metric( pipeline => scalar @$commands );
        $self->_metric( command => command_name(@$_) ) for @$commands;
        if ( defined $error ) { $self->_metric( error => error_type($error) ) }
        else {
            my ($results) = $f->get;
            $self->_metric( error => error_type( $results->[$_] ) ) for @failed;
        }
    }
    if ( my $span = $op->{span} ) {
        if ( defined $error ) { _end_span( $span, $error, format_error($error) ) }
        elsif (@failed) {
            my ($results) = $f->get;
            _end_span( $span, $results->[ $failed[0] ], @failed . ' of ' . @$commands . ' commands failed; first: ' . format_error( $results->[ $failed[0] ] ) );
        }
        else { _end_span($span) }
    }
}

# A connection event reached the client ($ev as Future::IO::Redis::_on_event got it;
# $attempt: the reconnect attempt the client counted, if this event scheduled one).
sub event {
    my ( $self, $redis, $ev, $attempt ) = @_;
    my $what = $ev->{event};
    my $peer = $self->{peer};
    if ( $what eq 'connected' ) {
        $self->{up} = 1;
        $self->_debug( event => "connected $peer" ) if $self->{debug};
        $self->_metric('connected') if $self->{sinks};
    }
    elsif ( $what eq 'disconnected' ) {
        my $msg = $ev->{message} // '';
        $self->_debug( event => "disconnected $peer ($ev->{reason})" . ( length $msg ? ": $msg" : '' ) ) if $self->{debug};
        $self->_metric('disconnected') if $self->{sinks} && delete $self->{up};
    }
    elsif ( $what eq 'error' ) {
        $self->_debug( event => "connect failed $peer: " . format_error( $ev->{error} ) ) if $self->{debug};
        $self->_metric( error => error_type( $ev->{error} ) ) if $self->{sinks};
    }
    elsif ( $what eq 'resubscribed' ) {
        $self->_debug( event => "resubscribed $peer" ) if $self->{debug};
    }
    elsif ( $what eq 'engine_lost' ) {
        $self->_debug( event => "engine lost $peer" ) if $self->{debug};
        $self->_metric('disconnected') if $self->{sinks} && delete $self->{up};
    }
    if ($attempt) {
        $self->_debug( event => "reconnect attempt $attempt $peer" ) if $self->{debug};
        $self->_metric('reconnect') if $self->{sinks};
    }
}

# The client goes away while connected: its connection closes with it.
sub gone {
    my ($self) = @_;
    $self->_metric('disconnected') if $self->{sinks} && delete $self->{up};
}

# A pool's acquire waited $secs for a connection.
sub acquired {
    my ( $self, $secs ) = @_;
    $self->_metric( acquire => $secs ) if $self->{sinks};
}

# The hook for code that submits a batch of commands other than through the client's
# _submit_batch (which an observed client already reports): $submit->() submits and returns the
# batch's Future (of the array of results); reported as one pipeline or transaction span, debug
# lines and metrics when $redis is observed, called as it is otherwise.
sub observe_batch {
    my ( $redis, $commands, $submit ) = @_;
    my $t = $redis->{telemetry} or return $submit->();
    my $op = $t->start_batch($commands);
    my $f  = eval { $submit->() } // do { my $e = $@; $t->abort( $op, $e ); die $e };
    return $t->finish_batch( $op, $f );
}

# ----- the observed subclass -------------------------------------------------------------------

my %OBSERVED;

# The observed subclass of $base (a Future::IO::Redis class), made on first use.
sub observed_class {
    my ($base) = @_;
    return $OBSERVED{$base} //= _make_class($base);
}

sub _make_class {
    my ($base) = @_;
    my $pkg = "Future::IO::Redis::Telemetry::Observed::$base";
    no strict 'refs';
    @{"${pkg}::ISA"}      = ($base);
    @{"${pkg}::CARP_NOT"} = ( $base, __PACKAGE__, @CARP_NOT );

    # Command methods of the client's own command table (not the ones a class defines itself,
    # like subscribe): each made on its first call.
    for my $method (@Future::IO::Redis::Commands::METHODS) {
        next unless Future::IO::Redis::_is_command_method( $base, $method );
        my $words = $Future::IO::Redis::Commands::WORDS{$method};
        *{"${pkg}::$method"} = sub {
            my $plain = Future::IO::Redis->_command_sender($method);
            no warnings 'redefine';
            my $wrapped = *{"${pkg}::$method"} = _wrap( $plain, $words );
            goto &$wrapped;
        };
    }
    *{"${pkg}::command"} = _wrap( $base->can('command'), [], 'command' );
    # One attempt of a command (a retry policy's resubmissions; SUBSCRIBE and UNSUBSCRIBE of a
    # subscription): reported as commands of their own.
    *{"${pkg}::_command_once"} = _wrap( $base->can('_command_once'), [], 'raw' ) if $base->can('_command_once');

    my $submit_batch = $base->can('_submit_batch');
    *{"${pkg}::_submit_batch"} = sub {
        my @args = @_;
        return observe_batch( $args[0], $args[1], sub { $submit_batch->(@args) } );
    };

    my $on_event = $base->can('_on_event');
    *{"${pkg}::_on_event"} = sub {
        my ( $self, $ev ) = @_;
        my $before = $self->{reconnect_attempt} // 0;
        $on_event->(@_);
        my $after = $self->{reconnect_attempt} // 0;
        $self->{telemetry}->event( $self, $ev, $after > $before ? $after : undef );
    };

    my $destroy = $base->can('DESTROY');
    *{"${pkg}::DESTROY"} = sub {
        my ($self) = @_;
        $self->{telemetry}->gone if $self->{telemetry} && ${^GLOBAL_PHASE} ne 'DESTRUCT';
        $destroy->(@_) if $destroy;
    };
    return $pkg;
}

# `command` with a name of the subscribe family goes to the client's pub/sub methods, which
# report their own SUBSCRIBE / UNSUBSCRIBE.
my %PUBSUB = map { $_ => 1 } qw( SUBSCRIBE PSUBSCRIBE SSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE SUNSUBSCRIBE );

# An observing method around a plain send path: $plain, for the command $words (a method), or
# with no words and $kind 'command' (`command`) or 'raw' (`_command_once`, whose arguments
# already have the key prefix).
sub _wrap {
    my ( $plain, $words, $kind ) = @_;
    $kind //= '';
    my $fixed = @$words ? command_name(@$words) : undef;
    my $pubsub = $kind eq 'command' && Future::IO::Redis->can('_pubsub_command');
    my $prefixed = $kind eq 'raw';
    return sub {
        goto &$plain if $pubsub && @_ > 1 && defined $_[1] && $PUBSUB{ uc $_[1] };
        my $t = $_[0]{telemetry};
        unless ( $t->{args} ) {
            # Metrics only: a name, a time, a count (the plain path's croak needs no clean-up).
            my ( $name, $t0 ) = ( $fixed // command_name( @_[ 1 .. ( $#_ < 2 ? $#_ : 2 ) ] ), Time::HiRes::time() );
            my $f = $plain->(@_);
            $f->on_ready( sub { $t->_measured( $name, Time::HiRes::time() - $t0, $_[0] ) } );
            return defined wantarray ? $f : ();
        }
        my $cmd;
        {
            $cmd = [ @$words, @_[ 1 .. $#_ ] ];
            @$cmd = Future::IO::Redis::Commands::prefix_args( $_[0]{prefix}, $cmd ) if defined $_[0]{prefix} && !$prefixed;
        }
        my $op = $t->start( $fixed // command_name( @_[ 1 .. ( $#_ < 2 ? $#_ : 2 ) ] ), $cmd );
        my $f = eval { $plain->(@_) } // do { my $e = $@; $t->abort( $op, $e ); die $e };
        $t->finish( $op, $f );
        return defined wantarray ? $f : ();
    };
}

1;

__END__

=head1 NAME

Future::IO::Redis::Telemetry - debug logging, tracing and metrics for Future::IO::Redis

=head1 SYNOPSIS

    use Future::IO::Redis;

    # Every command and reply summary on STDERR, secrets redacted.
    my $redis = Future::IO::Redis->new( host => 'localhost', debug => 1 );

    # Or to your own logger.
    my $redis = Future::IO::Redis->new(
        debug => sub { my ( $direction, $data ) = @_; $log->debug("redis $direction $data") },
    );

    # OpenTelemetry: one span per command, pipeline and transaction; metrics.
    use OpenTelemetry;
    my $redis = Future::IO::Redis->new(
        otel_tracer => OpenTelemetry->tracer_provider->tracer( name => 'redis' ),
        otel_meter  => $meter,
    );

    # Metrics::Any (Prometheus, statsd, ... through their Metrics::Any adapters).
    use Metrics::Any::Adapter 'Prometheus';
    my $redis = Future::IO::Redis->new( metrics => 1 );

    # The formatting functions, for code of your own.
    use Future::IO::Redis::Telemetry;
    say Future::IO::Redis::Telemetry::format_command_for_log( 'AUTH', 'app', 's3cret' );
    # AUTH app [REDACTED]

=head1 DESCRIPTION

The options C<debug>, C<otel_tracer>, C<otel_meter> (with C<otel_include_args>) and
C<metrics> of L<Future::IO::Redis/new> (and of L<Future::IO::Redis::Pool>, which passes them
to its connections) are implemented here. A client created with none of them runs the plain
send path: it pays nothing for this module. A client created with any of them is blessed into a
subclass of its class (C<< $redis->isa('Future::IO::Redis') >> stays true; C<ref $redis> is
the subclass) whose command methods report each command before handing it to the plain path.

Secrets never reach a log line, a span or a metric: see L</REDACTION>.

=head1 DEBUG LOG

C<< debug => sub { my ($direction, $data) = @_; ... } >> is called with one line (no newline) at
a time; C<< debug => 1 >> prints C<< [Future::IO::Redis HOST:PORT] DIRECTION DATA >> lines to
STDERR (C<HOST:PORT> is the socket path for a Unix socket). C<$direction> is C<send>, C<recv> or
C<event>. This format is stable; new kinds of C<event> lines may be added.

=over 4

=item send: C<#N COMMAND ARG ...>

A command as written to the server (with the client's key C<prefix>), numbered per client from 1
(C<N> pairs it with its reply). Each value is shown bare when it is 1 to 64 printable ASCII
characters without spaces, quotes or backslashes; otherwise in double quotes with C<\n>,
C<\r>, C<\t>, C<\">, C<\\> and C<\xNN> escapes (binary data and UTF-8 bytes show as C<\xNN>).
Values longer than 64 bytes are cut to 64 with C<...(+K bytes)> after them; after 32 arguments,
C<...(+K more arguments)>. Secrets are C<[REDACTED]>.

    #1 SET user:1 "hello world"
    #2 AUTH app [REDACTED]
    #3 SET blob "\x00\x01\xff"
    #4 SET big "xxxxxxxx...xx"...(+936 bytes)

=item recv: C<#N NAME -E<gt> SUMMARY (T ms)>

The outcome of command C<#N> (C<NAME> is the upper-case command name, with the subcommand for
container commands such as C<CONFIG SET>) and its latency in milliseconds, from the call to the
reply. C<SUMMARY> is C<nil>, a value shown as above, C<[K items]> for an array, C<{K fields}>
for a hash (C<hgetall>, C<config_get>, C<info>), C<error TYPE: MESSAGE> for a failure (C<TYPE>
is the error class's last part: C<Redis>, C<Timeout>, C<Connection>, C<Disconnected>,
C<Protocol>), or C<cancelled>. A command whose arguments were refused (it croaked) gets
C<#N NAME -E<gt> refused: ...> and no latency. The contents of arrays and hashes are never
shown (C<CONFIG GET requirepass> would show a password).

    #1 SET -> OK (0.212 ms)
    #5 GET -> nil (0.180 ms)
    #6 INCR -> error Redis: WRONGTYPE Operation against a key holding the wrong kind of value (0.190 ms)

=item retries and subscriptions

With a retry policy coderef (C<retry> option), each resubmission of a command is logged (and
traced, and counted) as a command of its own: the first attempt's C<recv> line is the outcome of
the whole, retries included. C<SUBSCRIBE>, C<UNSUBSCRIBE> and their pattern and shard variants
sent by a L<Future::IO::Redis::Subscription> are logged like other commands; messages are not.

=item pipelines and transactions

    #7 PIPELINE 3 commands
    #7.1 SET a 1
    #7.2 INCR a
    #7.3 GET a
    #7 PIPELINE -> [3 results] (0.410 ms)

A batch that starts with C<MULTI> and ends with C<EXEC> is named C<MULTI>. The summary counts the
commands that failed: C<[3 results, 1 failed]>.

=item event lines

    event connected 127.0.0.1:6379
    event disconnected 127.0.0.1:6379 (server_closed): MESSAGE
    event reconnect attempt 1 127.0.0.1:6379
    event connect failed 127.0.0.1:6379: error Connection: MESSAGE
    event resubscribed 127.0.0.1:6379
    event engine lost 127.0.0.1:6379

C<connected> comes after the handshake is done; C<resubscribed> follows it when a reconnect
subscribed again to a subscription's channels; C<engine lost> means the engine stopped after an
internal error (the next command opens a new connection). The handshake itself (C<AUTH>, C<SELECT>,
C<CLIENT SETNAME>, replayed on every reconnect) is sent by the engine, not by Perl code, and is
not logged command by command: its outcome is the C<connected> or C<connect failed> line.
C<reconnect attempt N> is logged when the connection was lost (N = 1) and after each failed
attempt, as the next attempt is scheduled (after the reconnect back-off).

=back

=head1 TRACING

With C<< otel_tracer => $tracer >>, every command gets a span, created with
C<< $tracer->create_span( name => "redis.GET", kind => SPAN_KIND_CLIENT, attributes => {...} ) >>
when the command is issued and ended (C<< $span->end >>) when its reply arrives, with these
attributes:

    db.system                 redis
    db.operation              GET             (CONFIG SET for container commands)
    db.statement              GET mykey       (see below)
    net.peer.name             localhost       (the socket path for a Unix socket)
    net.peer.port             6379            (not for a Unix socket)
    db.redis.database_index   0               (follows SELECT and RESET)

C<db.statement> is the command as the debug log shows it (secrets redacted, long values cut);
with C<< otel_include_args => 0 >> it is only the command's name, for applications whose
values must not leave the process. A failed command (an error reply, a timeout, a lost
connection) gets C<< $span->record_exception($error) >> and
C<< $span->set_status( SPAN_STATUS_ERROR, $description ) >> before C<end>.

A pipeline gets one span, C<redis.PIPELINE> (C<db.operation> C<PIPELINE>), a transaction
(a batch from C<MULTI> to C<EXEC>) C<redis.MULTI>; C<db.statement> holds one line per command (at
most 20, then C<...(+K more commands)>) and C<db.redis.pipeline_length> the number of commands.
Its status is an error when any command in it failed.

Spans are created in the current OpenTelemetry context (no C<parent> is passed), so a command
issued inside a span of yours becomes its child.

These are the method names of the L<OpenTelemetry> distribution on CPAN
(OpenTelemetry::Trace::Tracer and OpenTelemetry::Trace::Span). OpenTelemetry for Perl is not
packaged for Debian and is not a dependency: this module is tested against a recording tracer
(t/lib/Test/FIORedis/Recorder.pm) that implements the same methods. The numeric
C<SPAN_KIND_CLIENT> (3) and C<SPAN_STATUS_ERROR> (2) come from OpenTelemetry::Constants when it
is installed.

=head1 METRICS

    Metric                       Type             Attributes (OpenTelemetry / Metrics::Any label)
    redis.commands.total         counter          db.operation / command
    redis.commands.duration      histogram (s)    db.operation / command
    redis.connections.active     up-down counter  -
    redis.connections.total      counter          -
    redis.reconnects.total       counter          -
    redis.errors.total           counter          error.type / type
    redis.pipeline.size          histogram        -
    redis.pool.acquire.duration  histogram (s)    -  (Future::IO::Redis::Pool)

C<redis.commands.total> counts every command, those of pipelines and transactions included;
C<redis.commands.duration> is recorded for commands sent alone (a pipeline's commands share one
round trip: its size goes to C<redis.pipeline.size>). C<redis.errors.total> counts failed
commands and failed connect or reconnect attempts, by error class (C<Redis>, C<Timeout>,
C<Connection>, C<Disconnected>, C<Protocol>). C<redis.connections.active> goes up when a
connection becomes ready and down when it is lost, closed or its client goes away.
C<redis.reconnects.total> counts reconnect attempts as they are scheduled.

=head2 OpenTelemetry

With C<< otel_meter => $meter >> the instruments are created once per client with
C<< $meter->create_counter( name => ..., unit => ..., description => ... ) >>,
C<create_histogram> and C<create_up_down_counter>, and reported with
C<< $counter->add( $value, \%attributes ) >> and C<< $histogram->record( $value, \%attributes ) >>.
These are the metrics API's names in the OpenTelemetry specification. The OpenTelemetry
distribution for Perl implements traces and logs but (as of this writing) no metrics API, so
any meter object with these methods works (an adapter to another metrics library, or a future
OpenTelemetry meter); C<metrics> below is the way to get metrics out of a Perl program today.
As for tracing, this is tested against a recording meter that implements these methods.

=head2 Metrics::Any

With C<< metrics => 1 >> the same metrics go to L<Metrics::Any> (names C<redis_commands_total>
and so on: the parts C<redis>, C<commands>, C<total>, joined by the adapter). Any Metrics::Any
adapter then receives them; for Prometheus, one line in the program:

    use Metrics::Any::Adapter 'Prometheus';

It is an option, not always on: a report to Metrics::Any with no adapter configured (its Null
adapter) still goes through the collector's label handling, several microseconds per command
(C<bench/observability.pl> measures it), which is measurable next to a command path of a few
microseconds; and a client without observability options runs no code of this module at all.
C<< metrics => 1 >> croaks if Metrics::Any is not installed.

=head1 COST

A client without these options runs the plain send path; its commands cost what they cost
without this module (C<bench/observability.pl> runs plain and observed clients side by side).
An observed client pays, per command, a Perl wrapper, a callback on the command's Future and
what the options ask for: a metrics-only client (C<otel_meter> or C<metrics>) a counter and a
histogram per backend, which adds roughly a third to the client-side CPU of a command (more with
C<metrics> and no Metrics::Any adapter configured: the collector still handles the labels);
C<otel_tracer> or C<debug> also format the command (and for C<debug> the reply), which
multiplies it by one and a half to three before the exporter or logger does any work of its
own. Measure on your machine with C<perl -Mblib bench/observability.pl>.

=head1 REDACTION

Values that are secrets are replaced by C<[REDACTED]> in the debug log, in C<db.statement>, and
by L</format_command_for_log> (command and subcommand names are matched in any case):

=over 4

=item C<AUTH password>, C<AUTH username password> - the password

=item C<HELLO protover AUTH username password ...> - the password

=item C<MIGRATE ... AUTH password>, C<MIGRATE ... AUTH2 username password> - the password
(arguments after C<KEYS> are keys, not options)

=item C<ACL SETUSER name rule ...> - rules that set or remove a password or hash: C<< >pass >>,
C<< <pass >>, C<#hash>, C<!hash> show as C<< >[REDACTED] >> and so on; a rule argument that
contains such a rule after a space or parenthesis is redacted whole

=item C<CONFIG SET name value ...>, C<SENTINEL SET master name value ...>,
C<SENTINEL CONFIG SET name value ...> - the value of every setting whose name contains
C<pass>, C<auth> or C<secret>, and of C<masteruser>, C<primaryuser>, C<auth-user>,
C<sentinel-user> (C<requirepass>, C<masterauth>, C<tls-key-file-pass>, C<auth-pass>, ...)

=back

The engine's own handshake (AUTH with the C<password> option) is never logged. Replies are
summarised without the contents of arrays and hashes, so C<CONFIG GET requirepass> or
C<ACL GETUSER> show no secret either.

=head1 FUNCTIONS

=head2 observe_batch

    my $f = Future::IO::Redis::Telemetry::observe_batch( $redis, \@commands, sub { ...; return $future } );

For code that sends a batch of commands (each C<[ @words ]>) in its own way: calls the code,
which submits them and returns the Future of their results (an array reference, a failed
command's slot holding its error object), and, when C<$redis> was created with observability
options, reports the batch as one pipeline (or, from C<MULTI> to C<EXEC>, transaction) span,
debug lines and metrics. Returns the code's Future. Without those options it only calls the
code. (Batches sent through the client's own pipeline and batch path are reported already.)


=head2 format_command_for_log

    my $line = Future::IO::Redis::Telemetry::format_command_for_log(@command);

The command (its words and arguments, e.g. C<('CONFIG', 'SET', 'requirepass', $pw)>) as the debug
log shows it: secrets C<[REDACTED]>, long values cut, binary escaped (see L</DEBUG LOG>). Never
fails: undef shows as C<undef>, a reference as C<< <HASH reference> >>.

    say format_command_for_log( 'HELLO', 3, 'AUTH', 'app', 'pw' );   # HELLO 3 AUTH app [REDACTED]

=head2 redact_words

    my @safe = Future::IO::Redis::Telemetry::redact_words( 'AUTH', 'app', 'pw' );   # AUTH app [REDACTED]

The words as given, with the secrets replaced by C<[REDACTED]> exactly as the log redacts them
(nothing cut or escaped). L<Future::IO::Redis::Error::Timeout> stores its C<command> through it.

=head2 format_command_for_span

    my $statement = Future::IO::Redis::Telemetry::format_command_for_span( $include_args, $redact, @command );

The C<db.statement> of a command: with a false C<$include_args> its name only (C<GET>,
C<CONFIG SET>); otherwise as L</format_command_for_log>, with secrets redacted when C<$redact> is
true (the client always passes true).

    say format_command_for_span( 0, 1, 'SET', 'k', 'v' );            # SET
    say format_command_for_span( 1, 1, 'AUTH', 'pw' );               # AUTH [REDACTED]

=cut

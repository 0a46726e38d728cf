package Test::FIORedis::Server;

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use File::Spec;
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::IP;
use IO::Socket::UNIX;
use POSIX qw(:sys_wait_h);
use Scalar::Util qw(weaken);
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(sleep time);

our $VERSION = '0.01';

# Every server started by this process, weakly referenced, keyed by refaddr.
my %LIVE;

my $CERTS;        # cached certificate set (hashref), one per process
my $CERTS_OWNER;  # pid that generated $CERTS

my $START_TIMEOUT = 10;    # seconds to wait for readiness
my $POLL          = 0.02;  # seconds between readiness probes

# ---------------------------------------------------------------------------
# binaries

# Only PATH is searched (no fixed fallback directories), so that a suite run with redis-server
# taken off PATH really runs without one (dev/without-redis-server).
sub _find_in_path {
    my ($name) = @_;
    for my $d (File::Spec->path) {
        next unless defined $d && length $d;
        my $f = File::Spec->catfile($d, $name);
        return $f if -f $f && -x _;
    }
    return;
}

# Why no redis-server can be started here (a sentence), or undef when one can.
sub server_unavailable {
    if (defined(my $b = $ENV{FIOR_REDIS_SERVER})) {
        return -f $b && -x _ ? undef : "FIOR_REDIS_SERVER=$b is not an executable file";
    }
    return _find_in_path('redis-server') ? undef
        : 'redis-server not found on PATH (install it, e.g. apt-get install redis-server, '
        . 'or set FIOR_REDIS_SERVER=/path/to/redis-server)';
}

sub server_binary {
    if (my $why = server_unavailable()) {
        croak "$why. The Future::IO::Redis tests that talk to Redis need a real redis-server";
    }
    return $ENV{FIOR_REDIS_SERVER} // _find_in_path('redis-server');
}

# A test file that needs a real redis-server says so first:
#
#   use Test::FIORedis::Server -needs_server;
#
# Without one, the file is skipped as a whole (plan skip_all, with the reason), so that the unit
# tests still run where Redis is not installed. FIOR_REQUIRE_SERVER=1 (CI) turns the skip into a
# failure: with a server present nothing may skip.
sub import {
    my ( $class, @args ) = @_;
    for my $arg (@args) {
        croak "Test::FIORedis::Server: unknown import '$arg' (known: -needs_server)" unless $arg eq '-needs_server';
        needs_server();
    }
}

sub needs_server {
    my $why = server_unavailable() // return 1;
    die "FIOR_REQUIRE_SERVER is set, but $why\n" if $ENV{FIOR_REQUIRE_SERVER};
    if ( $INC{'Test2/API.pm'} ) {
        my $ctx = Test2::API::context();
        $ctx->plan( 0, SKIP => $why );    # exits
        $ctx->release;
    }
    print "1..0 # SKIP $why\n";
    exit 0;
}

sub cli_binary {
    if (defined(my $b = $ENV{FIOR_REDIS_CLI})) {
        croak "FIOR_REDIS_CLI=$b is not an executable file" unless -f $b && -x _;
        return $b;
    }
    # prefer a redis-cli next to the chosen redis-server
    my $srv = eval { server_binary() };
    if ($srv) {
        my ($vol, $dir) = File::Spec->splitpath($srv);
        my $f = File::Spec->catpath($vol, $dir, 'redis-cli');
        return $f if -f $f && -x _;
    }
    my $b = _find_in_path('redis-cli');
    croak "redis-cli not found in PATH (or set FIOR_REDIS_CLI=/path/to/redis-cli)" unless $b;
    return $b;
}

sub free_port {
    my ($class) = @_;
    my $s = IO::Socket::IP->new(
        LocalHost => '127.0.0.1',
        LocalPort => 0,
        Proto     => 'tcp',
        Listen    => 1,
    ) or croak "cannot bind 127.0.0.1:0 to find a free port: $@";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# ---------------------------------------------------------------------------
# certificates

sub _run_openssl {
    my ($dir, @args) = @_;
    my $err = File::Spec->catfile($dir, 'openssl.err');
    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDIN,  '<', '/dev/null';
        open STDOUT, '>>', $err;
        open STDERR, '>>', $err;
        chdir $dir;
        { no warnings q(exec); exec 'openssl', @args; }
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    if ($?) {
        my $msg = _slurp($err) // '';
        croak "openssl @args failed (status $?):\n$msg";
    }
}

sub _spew {
    my ($file, $content) = @_;
    open my $fh, '>', $file or croak "cannot write $file: $!";
    print {$fh} $content;
    close $fh or croak "cannot close $file: $!";
}

sub _slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return undef;
    local $/;
    my $c = <$fh>;
    return $c;
}

sub generate_certs {
    my ($class) = @_;
    return {%$CERTS} if $CERTS && $CERTS_OWNER == $$ && -f $CERTS->{ca};

    my $d = tempdir('fior-certs-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    $d = abs_path($d);

    _spew("$d/ca.ext", <<'EOT');
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOT
    _spew("$d/server.ext", <<'EOT');
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOT
    _spew("$d/client.ext", <<'EOT');
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOT

    my @ec = (qw(ecparam -genkey -name prime256v1 -noout -out));
    for my $ca (qw(ca other-ca)) {
        _run_openssl($d, @ec, "$ca.key");
        _run_openssl($d, qw(req -new -key), "$ca.key", '-subj', "/O=FIORedis test/CN=FIORedis test $ca",
            qw(-out), "$ca.csr");
        _run_openssl($d, qw(x509 -req -days 3650 -sha256 -in), "$ca.csr", '-signkey', "$ca.key",
            '-extfile', 'ca.ext', '-out', "$ca.crt");
    }
    for my $leaf (['server', '/O=FIORedis test/CN=localhost'], ['client', '/O=FIORedis test/CN=fior-client']) {
        my ($n, $subj) = @$leaf;
        _run_openssl($d, @ec, "$n.key");
        _run_openssl($d, qw(req -new -key), "$n.key", '-subj', $subj, '-out', "$n.csr");
        _run_openssl($d, qw(x509 -req -days 3650 -sha256 -in), "$n.csr",
            qw(-CA ca.crt -CAkey ca.key -CAcreateserial -extfile), "$n.ext", '-out', "$n.crt");
    }
    # PKCS#8 versions of the keys (some TLS stacks only read those)
    for my $n (qw(server client)) {
        _run_openssl($d, qw(pkcs8 -topk8 -nocrypt -in), "$n.key", '-out', "$n.pk8.key");
    }
    _run_openssl($d, qw(verify -CAfile ca.crt server.crt));
    _run_openssl($d, qw(verify -CAfile ca.crt client.crt));
    chmod 0600, glob("$d/*.key");

    $CERTS = {
        dir         => $d,
        ca          => "$d/ca.crt",
        ca_key      => "$d/ca.key",
        server_cert => "$d/server.crt",
        server_key  => "$d/server.key",
        client_cert => "$d/client.crt",
        client_key  => "$d/client.key",
        server_key_pkcs8 => "$d/server.pk8.key",
        client_key_pkcs8 => "$d/client.pk8.key",
        other_ca    => "$d/other-ca.crt",
    };
    $CERTS_OWNER = $$;
    return {%$CERTS};
}

# ---------------------------------------------------------------------------
# construction

sub start {
    my ($class, %opt) = @_;

    my $bin = server_binary();    # dies with a clear message if missing

    my $tls  = $opt{tls} ? 1 : 0;
    my $unix = $opt{unixsocket} ? 1 : 0;
    my $tcp  = exists $opt{tcp} ? ($opt{tcp} ? 1 : 0) : ($tls ? 0 : 1);
    croak "tcp => 0 needs unixsocket => 1 or tls => 1" if !$tcp && !$unix && !$tls;

    my $dir = tempdir('fior-redis-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    $dir = abs_path($dir);

    my $self = bless {
        owner      => $$,
        owner_tid  => _tid(),
        bin        => $bin,
        dir        => $dir,
        host       => '127.0.0.1',
        password   => $opt{password},
        acl_users  => [ @{ $opt{acl_users} || [] } ],
        extra      => [ @{ $opt{extra} || [] } ],
        want_tcp   => $tcp,
        want_tls   => $tls,
        want_unix  => $unix,
        tls_auth_clients => $opt{tls_auth_clients} ? 1 : 0,
        fixed_port     => $opt{port},
        fixed_tls_port => $opt{tls_port},
        logfile    => "$dir/redis.log",
        stdio_log  => "$dir/stdio.log",
        conffile   => "$dir/redis.conf",
        path       => $unix ? "$dir/redis.sock" : undef,
        pid        => undef,
        paused     => 0,
    }, $class;

    $self->{certs} = $class->generate_certs if $tls;

    my $auto = !defined $opt{port} && !defined $opt{tls_port};
    my $tries = $auto ? 5 : 1;
    my $err;
    for my $try (1 .. $tries) {
        $self->{port}     = $tcp ? ($opt{port}     // $class->free_port) : undef;
        $self->{tls_port} = $tls ? ($opt{tls_port} // $class->_free_port_except($self->{port})) : undef;
        $self->_write_config;
        my $ok = eval { $self->_spawn_and_wait; 1 };
        if ($ok) {
            $LIVE{"$self"} = $self;
            weaken $LIVE{"$self"};
            _stop_on_signals();
            return $self;
        }
        $err = $@;
        last unless $self->{port_in_use};
    }
    die $err;
}

sub _free_port_except {
    my ($class, $other) = @_;
    for (1 .. 20) {
        my $p = $class->free_port;
        return $p unless defined $other && $p == $other;
    }
    croak "could not find a second free port";
}

sub _quote {
    my ($v) = @_;
    return $v if $v =~ /\A[A-Za-z0-9_.\/:\@%+=,-]+\z/;
    (my $q = $v) =~ s/(["\\])/\\$1/g;
    $q =~ s/\n/\\n/g;
    $q =~ s/\r/\\r/g;
    return qq{"$q"};
}

sub _write_config {
    my ($self) = @_;
    my $dir = $self->{dir};
    my @c = (
        'daemonize no',
        'supervised no',
        'save ""',
        'appendonly no',
        'bind 127.0.0.1',
        'protected-mode no',
        'loglevel warning',
        'logfile ' . _quote($self->{logfile}),
        'dir ' . _quote($dir),
        'enable-debug-command yes',
        'port ' . ($self->{want_tcp} ? $self->{port} : 0),
    );
    if ($self->{want_unix}) {
        push @c, 'unixsocket ' . _quote($self->{path}), 'unixsocketperm 700';
    }
    if ($self->{want_tls}) {
        my $c = $self->{certs};
        push @c,
            "tls-port $self->{tls_port}",
            'tls-cert-file ' . _quote($c->{server_cert}),
            'tls-key-file ' . _quote($c->{server_key}),
            'tls-ca-cert-file ' . _quote($c->{ca}),
            'tls-auth-clients ' . ($self->{tls_auth_clients} ? 'yes' : 'no');
    }
    push @c, 'requirepass ' . _quote($self->{password}) if defined $self->{password};
    push @c, map { $_ =~ /\Auser\s/ ? $_ : "user $_" } @{ $self->{acl_users} };
    push @c, @{ $self->{extra} };
    _spew($self->{conffile}, join("\n", @c) . "\n");
}

sub _spawn {
    my ($self) = @_;
    # truncate the logs so failure reports show only this run
    _spew($self->{logfile}, '');
    _spew($self->{stdio_log}, '');
    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDIN,  '<',  '/dev/null';
        open STDOUT, '>>', $self->{stdio_log};
        open STDERR, '>>', $self->{stdio_log};
        chdir $self->{dir};
        $SIG{$_} = 'DEFAULT' for qw(TERM INT PIPE CHLD HUP);
        { no warnings q(exec); exec { $self->{bin} } $self->{bin}, $self->{conffile}; }
        print STDERR "exec $self->{bin} failed: $!\n";
        POSIX::_exit(127);
    }
    $self->{pid}    = $pid;
    $self->{paused} = 0;
    return $pid;
}

# Spawns the server and waits until it answers. Dies (with log) on failure and
# sets $self->{port_in_use} when the failure was a bind conflict.
sub _spawn_and_wait {
    my ($self, $timeout) = @_;
    $timeout //= $START_TIMEOUT;
    $self->{port_in_use} = 0;
    my $pid = $self->_spawn;
    my $deadline = time + $timeout;
    while (1) {
        my $r = waitpid $pid, WNOHANG;
        if ($r == $pid) {
            my $st = $?;
            $self->{pid} = undef;
            my $log = $self->_log_tail;
            $self->{port_in_use} = 1 if $log =~ /Address already in use/i;
            die sprintf("redis-server (%s) exited during startup (status %d)%s\n--- last lines of log ---\n%s\n",
                $self->{bin}, $st, $self->_where, $log);
        }
        return 1 if $self->_probe;
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid $pid, 0;
            $self->{pid} = undef;
            my $log = $self->_log_tail;
            $self->{port_in_use} = 1 if $log =~ /Address already in use/i;
            die sprintf("redis-server (%s) did not become ready within %ds%s\n--- last lines of log ---\n%s\n",
                $self->{bin}, $timeout, $self->_where, $log);
        }
        sleep $POLL;
    }
}

sub _where {
    my ($self) = @_;
    my @w;
    push @w, "port $self->{port}"         if $self->{want_tcp};
    push @w, "tls-port $self->{tls_port}" if $self->{want_tls};
    push @w, "unix $self->{path}"         if $self->{want_unix};
    return ' [' . join(', ', @w) . "; dir $self->{dir}]";
}

sub _log_tail {
    my ($self, $n) = @_;
    $n //= 20;
    my @lines;
    for my $f ($self->{stdio_log}, $self->{logfile}) {
        my $c = _slurp($f);
        push @lines, split /\n/, $c if defined $c && length $c;
    }
    @lines = @lines[-$n .. -1] if @lines > $n;
    return @lines ? join("\n", @lines) : '(log empty)';
}

sub log_tail { my ($self, $n) = @_; return $self->_log_tail($n) }

# One readiness probe: true if the server answered a PING (PONG or an auth error).
sub _probe {
    my ($self) = @_;
    if ($self->{want_tcp}) {
        return $self->_probe_sock(IO::Socket::IP->new(
            PeerHost => '127.0.0.1', PeerPort => $self->{port}, Proto => 'tcp', Timeout => 1));
    }
    if ($self->{want_unix}) {
        return 0 unless -S $self->{path};
        return $self->_probe_sock(IO::Socket::UNIX->new(Peer => $self->{path}, Type => SOCK_STREAM));
    }
    # TLS only: wait for TCP accept, then ask redis-cli over TLS
    my $s = IO::Socket::IP->new(
        PeerHost => '127.0.0.1', PeerPort => $self->{tls_port}, Proto => 'tcp', Timeout => 1)
        or return 0;
    close $s;
    my $out = join "\n", $self->_cli_run({ timeout => 2 }, 'PING');
    return $out =~ /PONG|NOAUTH|WRONGPASS|NOPERM/ ? 1 : 0;
}

sub _probe_sock {
    my ($self, $s) = @_;
    return 0 unless $s;
    my $ok = 0;
    syswrite $s, "*1\r\n\$4\r\nPING\r\n";
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $deadline = time + 2;
    while ($buf !~ /\r\n/) {
        my $left = $deadline - time;
        last if $left <= 0 || !$sel->can_read($left);
        my $n = sysread $s, $buf, 512, length $buf;
        last unless $n;
    }
    # +PONG, or -NOAUTH / other error replies except "still loading"
    $ok = 1 if $buf =~ /\A\+/ || ($buf =~ /\A-/ && $buf !~ /\A-(?:LOADING|BUSY)/);
    close $s;
    return $ok;
}

# ---------------------------------------------------------------------------
# accessors

sub host     { $_[0]{host} }
sub port     { $_[0]{port} }
sub tls_port { $_[0]{tls_port} }
sub path     { $_[0]{path} }
sub pid      { $_[0]{pid} }
sub dir      { $_[0]{dir} }
sub password { $_[0]{password} }
sub logfile  { $_[0]{logfile} }
sub conffile { $_[0]{conffile} }
sub certs    { $_[0]{certs} ? { %{ $_[0]{certs} } } : undef }

sub uri {
    my ($self) = @_;
    my $auth = defined $self->{password} ? ':' . _uri_escape($self->{password}) . '@' : '';
    return "redis://${auth}127.0.0.1:$self->{port}" if $self->{want_tcp};
    return "rediss://${auth}localhost:$self->{tls_port}" if $self->{want_tls};
    return "redis+unix://$self->{path}";
}

sub tls_uri {
    my ($self) = @_;
    return undef unless $self->{want_tls};
    my $auth = defined $self->{password} ? ':' . _uri_escape($self->{password}) . '@' : '';
    return "rediss://${auth}localhost:$self->{tls_port}";
}

sub _uri_escape {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

# ---------------------------------------------------------------------------
# redis-cli

# cli(@args) or cli(\%opts, @args). Options: user, pass (override auth),
# noauth => 1 (send no credentials), tls => 0|1 (force transport),
# timeout (seconds, default 10). stdout is returned (chomped; lines in list
# context); stderr and exit status are kept in last_cli_stderr / last_cli_status.
sub cli {
    my $self = shift;
    my @out = $self->_cli_run(@_);
    return wantarray ? @out : join("\n", @out);
}

sub last_cli_stderr { $_[0]{last_cli_stderr} }
sub last_cli_status { $_[0]{last_cli_status} }

sub cli_argv {
    my $self = shift;
    my $o = ref $_[0] eq 'HASH' ? shift : {};
    my @cmd = (cli_binary());
    my $use_tls = exists $o->{tls} ? $o->{tls} : !$self->{want_tcp} && !$self->{want_unix};
    if ($use_tls) {
        my $c = $self->{certs} or croak "server has no TLS";
        push @cmd, '-h', '127.0.0.1', '-p', $self->{tls_port}, '--tls',
            '--cacert', $c->{ca}, '--cert', $c->{client_cert}, '--key', $c->{client_key};
    }
    elsif ($self->{want_tcp}) {
        push @cmd, '-h', '127.0.0.1', '-p', $self->{port};
    }
    else {
        push @cmd, '-s', $self->{path};
    }
    unless ($o->{noauth}) {
        my $user = $o->{user};
        my $pass = exists $o->{pass} ? $o->{pass} : $self->{password};
        push @cmd, '--user', $user if defined $user;
        push @cmd, '--pass', $pass if defined $pass;
    }
    push @cmd, '--no-auth-warning';
    return (@cmd, @_);
}

sub _cli_run {
    my $self = shift;
    my $o = ref $_[0] eq 'HASH' ? $_[0] : {};
    my @cmd = $self->cli_argv(@_);
    my $timeout = $o->{timeout} // 10;
    my $errfile = "$self->{dir}/cli.err";

    my $pid = open(my $fh, '-|');
    croak "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDIN,  '<', '/dev/null';
        open STDERR, '>', $errfile;
        { no warnings q(exec); exec { $cmd[0] } @cmd; }
        print STDERR "exec $cmd[0] failed: $!\n";
        POSIX::_exit(127);
    }
    my $out = '';
    my $timed_out = 0;
    my $sel = IO::Select->new($fh);
    my $deadline = time + $timeout;
    while (1) {
        my $left = $deadline - time;
        if ($left <= 0 || !$sel->can_read($left)) {
            $timed_out = 1;
            kill 'KILL', $pid;
            last;
        }
        my $n = sysread $fh, $out, 65536, length $out;
        last unless $n;
    }
    my @lines = split /\n/, $out, -1;
    pop @lines if @lines && $lines[-1] eq '';
    close $fh;
    $self->{last_cli_status} = $?;
    $self->{last_cli_stderr} = _slurp($errfile) // '';
    $self->{last_cli_stderr} .= "redis-cli timed out after ${timeout}s\n" if $timed_out;
    return @lines;
}

# ---------------------------------------------------------------------------
# process control

sub is_running {
    my ($self) = @_;
    my $pid = $self->{pid} or return 0;
    my $r = waitpid $pid, WNOHANG;
    if ($r == $pid || $r == -1) {
        $self->{pid} = undef;
        return 0;
    }
    return kill(0, $pid) ? 1 : 0;
}

sub _wait_exit {
    my ($pid, $timeout) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $r = waitpid $pid, WNOHANG;
        return 1 if $r == $pid || $r == -1;
        sleep 0.01;
    }
    return 0;
}

# The process (and Perl thread) that started the server stops it: a fork child's or a new
# thread's copy of this object leaves it alone.
sub _tid { $INC{'threads.pm'} ? threads->tid : 0 }
sub _mine { my ($self) = @_; return $self->{owner} && $self->{owner} == $$ && $self->{owner_tid} == _tid() }

sub stop {
    my ($self) = @_;
    return unless $self->_mine;
    my $pid = $self->{pid} or return;
    kill 'CONT', $pid if $self->{paused};
    kill 'TERM', $pid;
    unless (_wait_exit($pid, 5)) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
    $self->{pid}    = undef;
    $self->{paused} = 0;
    return 1;
}

sub kill9 {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    kill 'KILL', $pid;
    waitpid $pid, 0;
    $self->{pid}    = undef;
    $self->{paused} = 0;
    return 1;
}

sub restart {
    my ($self) = @_;
    $self->stop if $self->{pid};
    my $deadline = time + 5;
    while (1) {
        my $ok = eval { $self->_spawn_and_wait; 1 };
        return $self if $ok;
        my $err = $@;
        die $err unless $self->{port_in_use} && time < $deadline;
        sleep 0.1;
    }
}

sub pause {
    my ($self) = @_;
    my $pid = $self->{pid} or croak "server not running";
    kill 'STOP', $pid;
    $self->{paused} = 1;
    return 1;
}

sub resume {
    my ($self) = @_;
    my $pid = $self->{pid} or croak "server not running";
    kill 'CONT', $pid;
    $self->{paused} = 0;
    return 1;
}

# A test killed by a signal (a harness timeout, Ctrl-C) runs no END block by default, which would
# leave its servers running: turn TERM, INT and HUP into an exit (once, and only where nobody
# installed a handler of their own).
my $SIGNALS_SET;
sub _stop_on_signals {
    return if $SIGNALS_SET++;
    for my $sig (qw(TERM INT HUP)) {
        next if defined $SIG{$sig} && $SIG{$sig} ne 'DEFAULT' && $SIG{$sig} ne '';
        $SIG{$sig} = sub { exit 128 + ( $sig eq 'INT' ? 2 : $sig eq 'HUP' ? 1 : 15 ) };
    }
}

sub DESTROY {
    my ($self) = @_;
    return unless $self->_mine;
    local ($?, $!, $@);
    delete $LIVE{"$self"};
    $self->stop if $self->{pid};
}

END {
    local ($?, $!, $@);
    for my $k (keys %LIVE) {
        my $s = $LIVE{$k} or next;
        next unless $s->_mine;
        eval { $s->stop };
    }
}

1;

__END__

=head1 NAME

Test::FIORedis::Server - start private redis-server processes for tests

=head1 SYNOPSIS

    use lib 't/lib';
    use Test::FIORedis::Server;

    my $srv = Test::FIORedis::Server->start;                  # free port
    my $pw  = Test::FIORedis::Server->start(password => 'pw');
    my $acl = Test::FIORedis::Server->start(
        acl_users => ['alice on >secret ~* &* +@all']);
    my $ux  = Test::FIORedis::Server->start(unixsocket => 1, tcp => 0);
    my $tls = Test::FIORedis::Server->start(tls => 1, tls_auth_clients => 1);

    # first in a test file that needs a server: skip the file without one
    use Test::FIORedis::Server -needs_server;

    is $srv->cli('PING'), 'PONG';
    $srv->kill9; $srv->restart;      # same port(s), same config
    $srv->pause; $srv->resume;       # SIGSTOP / SIGCONT

=head1 DESCRIPTION

Each call to C<start> runs a fresh C<redis-server> (C<$ENV{FIOR_REDIS_SERVER}>
or the one in C<PATH>; a missing binary is a fatal error in C<start>) with a
generated config in a temporary directory, on free loopback port(s), and
waits (up to 10 s) until it answers C<PING>. Servers are stopped when the
object is destroyed and in an C<END> block, only in the process that started
them (forked children leave them alone).

A test file that needs a server loads this module with C<-needs_server>:
without a C<redis-server> (C<FIOR_REDIS_SERVER> unset and none on C<PATH>)
the whole file is skipped (C<skip_all>) with the reason, so that the unit
tests still run. With C<FIOR_REQUIRE_SERVER=1> (CI) the missing server is
a failure instead of a skip.

=head1 OPTIONS to start

C<port>, C<tls_port> (default: free ports; auto-chosen ports are retried up
to 5 times on a bind conflict), C<password> (requirepass), C<acl_users>
(arrayref of ACL rules, C<user> prefix optional), C<unixsocket> (bool),
C<tcp> (bool; default true unless C<tls>), C<tls> (bool), C<tls_auth_clients>
(bool, default false), C<extra> (arrayref of raw config lines, appended last).
C<enable-debug-command yes> is always set.

=head1 METHODS

C<host>, C<port>, C<tls_port>, C<path>, C<pid>, C<dir>, C<password>,
C<logfile>, C<conffile>, C<certs> (hashref: ca, server_cert, server_key,
client_cert, client_key, other_ca, plus ca_key, server_key_pkcs8,
client_key_pkcs8, dir), C<uri> (C<redis://[:pw@]127.0.0.1:PORT>,
C<rediss://[:pw@]localhost:TLSPORT> for TLS-only, C<redis+unix:///path> for
unix-only), C<tls_uri>, C<cli([\%opt,] @args)> (runs redis-cli; options
C<user>, C<pass>, C<noauth>, C<tls>, C<timeout>; see C<last_cli_stderr>,
C<last_cli_status>), C<cli_argv>, C<stop>, C<kill9>, C<restart>, C<pause>,
C<resume>, C<is_running>, C<log_tail($n)>.

Class methods: C<free_port>, C<generate_certs>, C<server_binary>,
C<cli_binary>.

=cut

package Future::IO::Redis::URI 0.001;
use v5.14;
use warnings;

use Carp ();

my %SCHEMES = map { $_ => 1 } qw( redis rediss redis+unix );

my $DEFAULT_PORT = 6379;
my $MAX_DATABASE = 2147483647;

# ---------------------------------------------------------------------------
# Redaction

# redacted($string) -- also callable as a class/instance method with one arg.
# Replaces the password in something that looks like a Redis URI with '***'.
sub redacted {
    shift if @_ == 2 && defined $_[0] && ( ref $_[0] || $_[0] eq __PACKAGE__ );
    my ($string) = @_;
    return undef unless defined $string;

    my ( $prefix, $rest ) = $string =~ m{\A([^:/?#@]*://)(.*)\z}s
        ? ( $1, $2 )
        : ( '', $string );

    my $at = rindex $rest, '@';
    if ( $at >= 0 ) {
        # userinfo = everything up to the LAST '@'; the password is whatever
        # follows the first ':' in it. Over-redacting is fine, leaking is not.
        my $userinfo = substr $rest, 0, $at;
        my $colon    = index $userinfo, ':';
        return $string if $colon < 0;    # username only, no password
        return $prefix . substr( $userinfo, 0, $colon ) . ':***' . substr( $rest, $at );
    }

    # No '@': a "port" that is not a number may really be a password whose
    # '@host' was forgotten (e.g. redis://user:secret) -- mask it as well.
    my ( $authority, $tail ) = $rest =~ m{\A([^/?#]*)(.*)\z}s;
    my $sep;
    if ( $authority =~ /\A\[[^\]]*\]/ ) {
        $sep = $+[0] if substr( $authority, $+[0], 1 ) eq ':';
    }
    else {
        my $i = index $authority, ':';
        $sep = $i if $i >= 0;
    }
    if ( defined $sep ) {
        my $port = substr $authority, $sep + 1;
        if ( $port !~ /\A[0-9]*\z/ ) {
            return $prefix . substr( $authority, 0, $sep ) . ':***' . $tail;
        }
    }
    return $string;
}

# ---------------------------------------------------------------------------
# Parsing

sub _fail {
    my ( $reason, $uri ) = @_;
    my $msg = "Invalid Redis URI: $reason";
    if ( defined $uri ) {
        ( my $shown = redacted($uri) ) =~ s/([\x00-\x1f\x7f])/sprintf '\\x%02X', ord $1/ge;
        $msg .= "; got '$shown'";
    }
    Carp::croak($msg);
}

sub _decode {
    my ( $what, $value, $uri ) = @_;
    _fail( "invalid percent-encoding in the $what (write a literal '%' as %25)", $uri )
        if $value =~ /%(?![0-9A-Fa-f]{2})/;
    $value =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    return $value;
}

sub _database {
    my ( $value, $source, $uri ) = @_;
    _fail( "database in $source must be a non-negative integer", $uri )
        unless $value =~ /\A[0-9]+\z/;
    _fail( "database in $source is out of range", $uri )
        if length( $value =~ s/\A0+(?=.)//r ) > 10 || $value > $MAX_DATABASE;
    return 0 + $value;
}

sub parse {
    my ( $class, $uri ) = @_;
    $class = ref $class if ref $class;

    # Nothing to parse: no URI (as the earlier clients of this design answer).
    return undef unless defined $uri && length $uri;
    _fail('contains whitespace or control characters', $uri)
        if $uri =~ /[\x00-\x20\x7f]/;

    my ( $scheme, $rest ) = $uri =~ m{\A([A-Za-z][A-Za-z0-9+.\-]*)://(.*)\z}s
        or _fail( 'expected redis://host[:port][/db], rediss://... or redis+unix:///path', $uri );
    $scheme = lc $scheme;
    _fail( "unsupported scheme '$scheme' (expected redis://, rediss:// or redis+unix://)", $uri )
        unless $SCHEMES{$scheme};

    my $is_unix = $scheme eq 'redis+unix' ? 1 : 0;

    _fail( "fragments ('#') are not supported (percent-encode '#' in a password as %23)", $uri )
        if index( $rest, '#' ) >= 0;

    my ( $authority, $path, $query ) = $rest =~ m{\A([^/?]*)([^?]*)(?:\?(.*))?\z}s;

    _fail( "unexpected '\@' after the host (percent-encode '\@', '/' and '?' in a password as %40, %2F and %3F)", $uri )
        if !$is_unix && ( $path =~ /@/ || ( defined $query && $query =~ /@/ ) );

    my %self = ( scheme => $scheme, tls => $scheme eq 'rediss' ? 1 : 0, is_unix => $is_unix );

    # --- userinfo -----------------------------------------------------------
    my $hostport = $authority;
    my $at = rindex $authority, '@';
    if ( $at >= 0 ) {
        my $userinfo = substr $authority, 0, $at;
        $hostport = substr $authority, $at + 1;
        my ( $user, $pass );
        my $colon = index $userinfo, ':';
        if ( $colon >= 0 ) {
            $user = substr $userinfo, 0, $colon;
            $pass = substr $userinfo, $colon + 1;
        }
        else {
            $user = $userinfo;    # redis-py: 'redis://foo@host' is a username
        }
        $user = _decode( 'username', $user, $uri );
        $pass = _decode( 'password', $pass, $uri ) if defined $pass;
        $self{username} = $user if length $user;
        $self{password} = $pass if defined $pass && length $pass;
    }

    # --- host / port / socket path ------------------------------------------
    if ($is_unix) {
        _fail( "redis+unix URIs take no host or port (use redis+unix:///path/to/socket)", $uri )
            if length $hostport;
        _fail( "missing socket path (use redis+unix:///path/to/socket)", $uri )
            if $path eq '' || $path eq '/';
        my $p = _decode( 'socket path', $path, $uri );
        _fail( "socket path contains a NUL byte", $uri ) if $p =~ /\0/;
        $self{path} = $p;
    }
    else {
        my ( $host, $port );
        if ( $hostport =~ /\A\[/ ) {
            ( $host, my $after ) = $hostport =~ /\A\[([^\]]*)\](.*)\z/s
                or _fail( "unterminated '[' in IPv6 host", $uri );
            _fail( "invalid IPv6 address in brackets", $uri )
                unless $host =~ /\A[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%25[A-Za-z0-9._~-]+)?\z/;
            $host = _decode( 'host', $host, $uri );
            if ( length $after ) {
                ($port) = $after =~ /\A:(.*)\z/s
                    or _fail( "unexpected characters after ']' (expected :port)", $uri );
            }
        }
        else {
            my $colons = () = $hostport =~ /:/g;
            _fail( "IPv6 addresses must be enclosed in brackets, e.g. redis://[::1]:6379", $uri )
                if $colons > 1;
            ( $host, $port ) = split /:/, $hostport, 2;
            $host //= '';
            _fail( "missing host", $uri ) unless length $host;
            $host = _decode( 'host', $host, $uri );
            _fail( "invalid characters in host", $uri )
                unless $host =~ /\A[A-Za-z0-9_](?:[A-Za-z0-9._-]*)\z/;
        }
        _fail( "missing host", $uri ) unless length $host;

        if ( defined $port ) {
            _fail( "empty port after ':'", $uri ) unless length $port;
            _fail( "port must be an integer between 1 and 65535", $uri )
                unless $port =~ /\A[0-9]{1,5}\z/ && $port >= 1 && $port <= 65535;
            $port = 0 + $port;
        }
        $self{host} = $host;
        $self{port} = $port // $DEFAULT_PORT;

        # database from the path
        if ( length $path && $path ne '/' ) {
            my ($db) = $path =~ m{\A/([^/]*)\z}
                or _fail( "path must be /<database> (a non-negative integer)", $uri );
            $self{database} = _database( $db, 'path', $uri );
        }
    }

    # --- query string ---------------------------------------------------------
    if ( defined $query ) {
        for my $pair ( split /&/, $query ) {
            next unless length $pair;
            my ( $k, $v ) = split /=/, $pair, 2;
            # Only db and database are read (a name that does not decode is neither).
            next if $k =~ /%(?![0-9A-Fa-f]{2})/;
            $k = _decode( 'query string', $k, $uri );
            if ( $k eq 'db' || $k eq 'database' ) {
                _fail( "query parameter '$k' needs a value", $uri )
                    unless defined $v && length $v;
                my $db = _database( _decode( 'query string', $v, $uri ), "query parameter '$k'", $uri );
                _fail( "conflicting databases given in path and query string", $uri )
                    if defined $self{database} && $self{database} != $db;
                $self{database} = $db;
            }
            # Any other parameter (timeout=, ssl_cert_reqs=, ... of other clients) is ignored.
        }
    }

    $self{database} //= 0;
    return bless \%self, $class;
}

# ---------------------------------------------------------------------------
# Accessors

sub scheme   { $_[0]{scheme} }
sub host     { $_[0]{host} }
sub port     { $_[0]{port} }
sub path     { $_[0]{path} }
sub username { $_[0]{username} }
sub password { $_[0]{password} }
sub database { $_[0]{database} }
sub tls      { $_[0]{tls} }
sub is_unix  { $_[0]{is_unix} }

sub to_options {
    my ($self) = @_;
    my @opts;
    for my $key (qw( host port path username password )) {
        push @opts, $key => $self->{$key} if defined $self->{$key};
    }
    push @opts, database => $self->{database} if $self->{database};
    push @opts, tls => 1 if $self->{tls};
    return @opts;
}

sub to_hash { shift->to_options(@_) }

1;

__END__

=head1 NAME

Future::IO::Redis::URI - parse redis://, rediss:// and redis+unix:// URIs

=head1 SYNOPSIS

    use Future::IO::Redis::URI;

    my $uri = Future::IO::Redis::URI->parse('rediss://app:s3cr3t@cache.example.com:6380/2');

    $uri->scheme;     # 'rediss'
    $uri->host;       # 'cache.example.com'
    $uri->port;       # 6380
    $uri->username;   # 'app'
    $uri->password;   # 's3cr3t'
    $uri->database;   # 2
    $uri->tls;        # 1

    my $redis = Future::IO::Redis->new( $uri->to_options, request_timeout => 5 );
    await $redis->connect;

    # Safe for logging: the password is replaced by '***'
    warn "connecting to " . Future::IO::Redis::URI::redacted($ENV{REDIS_URL});

=head1 DESCRIPTION

Parses a Redis connection URI into its parts. Pure Perl, no dependencies
beyond core.

=head2 Accepted forms

    redis://host
    redis://host:port
    redis://host:port/database
    redis://host/database
    redis://:password@host[:port][/database]
    redis://username:password@host[:port][/database]
    redis://username@host[:port][/database]
    redis://[::1]:6380/3                       IPv6 literal, in brackets
    redis://host?db=N                          database in the query string
    redis://host/?database=N                   (also accepted)

    rediss://...                               exactly like redis://, with TLS

    redis+unix:///path/to/socket
    redis+unix:///path/to/socket?db=N          (or ?database=N)
    redis+unix://:password@/path/to/socket
    redis+unix://username:password@/path/to/socket?db=N

Examples:

    redis://localhost                        host localhost, port 6379
    redis://:secret@localhost:6380/2         password, custom port, db 2
    rediss://user:pass@redis.example.com     TLS with ACL auth
    redis+unix:///var/run/redis.sock?db=1    Unix socket, db 1

Rules:

=over 4

=item *

The scheme is case-insensitive and must be C<redis>, C<rediss> or
C<redis+unix>; anything else (including C<unix://>) is rejected.

=item *

The port defaults to 6379 (for C<rediss> too) and must be an integer from 1
to 65535. An empty port (C<redis://host:>) is an error.

=item *

The database is 0 when absent (C</> alone or an empty path also means "not
set"). It must be a non-negative integer (at most 2147483647). It may be
given in the path (TCP forms only) or as a C<db>/C<database> query
parameter; if both are given they must agree.

=item *

Query parameters other than C<db> and C<database> (which the design does not
name: C<timeout=>, C<ssl_cert_reqs=>, ... of other clients' URIs) are
ignored: options such as timeouts are given to the constructor instead.

=item *

User info follows redis-py: C<user:pass@> gives username and password,
C<:pass@> gives a password only, and C<user@> (no colon) gives a
B<username only>, with no password. An empty username or empty password
(C<redis://user:@host>) counts as not set. The password C<0> is a valid
password.

=item *

The username, password, host and socket path are percent-decoded (C<%40> is
C<@>, C<%3A> is C<:>, C<%2F> is C</>, C<%25> is C<%>, ...). Decoding yields
bytes; no character decoding is applied. Within the user info a raw C<@> or
C<:> in the password is tolerated (the last C<@> ends the user info and the
first C<:> separates username from password), but C</>, C<?> and C<#> must be
percent-encoded.

=item *

IPv6 literals must be enclosed in brackets; the brackets are removed from
C<host> (C<redis://[::1]:6380> has host C<::1>). A zone id may be given
percent-encoded (C<[fe80::1%25eth0]>).

=item *

C<redis+unix> URIs take no host or port; the path must be non-empty.

=back

=head2 Errors

C<undef> and the empty string are not URIs: C<parse> returns C<undef> for
them. Invalid input makes C<parse> croak with a message beginning
C<Invalid Redis URI:> that explains the problem. When the URI is quoted in the message it is passed through
L</redacted> first, so the password never appears in an error message.

=head1 METHODS

=head2 parse

    my $uri = Future::IO::Redis::URI->parse($string);
    my $none = Future::IO::Redis::URI->parse( $ENV{NO_SUCH_VARIABLE} );    # undef

Class method. Returns a new C<Future::IO::Redis::URI> object, C<undef> for C<undef> or the
empty string, or croaks (see L</Errors>).

=head2 scheme

    my $scheme = $uri->scheme;    # 'redis', 'rediss' or 'redis+unix'

Lower-cased.

=head2 host

    my $host = $uri->host;

Host name or IP address (IPv6 without brackets); C<undef> for C<redis+unix>.

=head2 port

    my $port = $uri->port;

Port number (default 6379); C<undef> for C<redis+unix>.

=head2 path

    my $path = $uri->path;

Unix socket path for C<redis+unix>; C<undef> otherwise.

=head2 username

    my $username = $uri->username;    # or undef

=head2 password

    my $password = $uri->password;    # or undef

Test with C<defined>, not truth: C<0> is a valid password.

=head2 database

    my $db = $uri->database;          # integer; 0 when the URI names none

=head2 tls

    my $tls = $uri->tls;              # 1 for rediss://, else 0

=head2 is_unix

    my $is_unix = $uri->is_unix;      # 1 for redis+unix://, else 0

=head2 to_options

    my %opts = $uri->to_options;
    my $redis = Future::IO::Redis->new( $uri->to_options );

Returns a flat key/value list for the client constructor containing only the
keys that are set among C<host>, C<port>, C<path>, C<username>, C<password>,
C<database> and C<tls> (C<database> only when it is not 0, C<< tls => 1 >>
only for C<rediss>).
For example C<redis://:pw@localhost/2> gives

    ( host => 'localhost', port => 6379, password => 'pw', database => 2 )

=head2 to_hash

    my $redis = Future::IO::Redis->new( Future::IO::Redis::URI->parse('redis://localhost/2')->to_hash );

The same as L</to_options> (the name earlier clients of this design use).

=head2 redacted

    my $safe = Future::IO::Redis::URI::redacted($string);
    my $safe = Future::IO::Redis::URI->redacted($string);

Returns C<$string> with the password replaced by C<***>, for use in log and
error messages: C<redis://user:s3cr3t@host/0> becomes
C<redis://user:***@host/0>. It works on malformed input too: everything
between the first C<:> of the user info and the last C<@> is masked, and if
there is no C<@> a non-numeric "port" (which might be a password whose
C<@host> was forgotten, as in C<redis://user:s3cr3t>) is masked as well.
Strings without a password are returned unchanged; C<undef> gives C<undef>.

=cut

package Future::IO::Redis::Compat 0.001;

# Internal: the constructor options of other Redis clients (Redis.pm, Redis::Fast,
# Net::Async::Redis) that mean the same thing here, translated; the ones that do not, refused
# with the name of the option to use; and REDIS_URL / REDIS_SERVER when no address is given.
# Called by Future::IO::Redis->new before anything else looks at its options.

use strict;
use warnings;
use Carp ();

our @CARP_NOT = ('Future::IO::Redis');

# Refused spellings: what to use instead.
my %INSTEAD = (
    every      => 'reconnect_delay (seconds between attempts; Redis.pm\'s every is in microseconds)',
    encoding   => 'nothing: values are sent and returned as bytes; encode and decode them yourself',
    db         => 'database',
    sentinels  => 'nothing yet: Sentinel is not supported; connect to the master\'s address',
    cluster    => 'nothing yet: Cluster is not supported',
    on_connect_do => 'on_connect (a callback given the client)',
);

sub translate {
    my (%args) = @_;

    for my $k ( sort grep { defined $INSTEAD{$_} } keys %args ) {
        Carp::croak("Future::IO::Redis->new: unknown option '$k'; use $INSTEAD{$k}");
    }

    # Same meaning, another name.
    for ( [ sock => 'path' ], [ name => 'client_name' ], [ auth => 'password' ], [ cnx_timeout => 'connect_timeout' ] ) {
        my ( $theirs, $ours ) = @$_;
        next unless exists $args{$theirs};
        Carp::croak("Future::IO::Redis->new: '$theirs' and '$ours' are the same option; give one")
            if exists $args{$ours};
        $args{$ours} = delete $args{$theirs};
    }
    Carp::croak("Future::IO::Redis->new: client_name must be a string (a code reference is not called here)")
        if ref $args{client_name};

    # Never connected in new here anyway.
    delete $args{no_auto_connect_on_new};

    if ( exists $args{server} ) {
        my $server = delete $args{server};
        Carp::croak("Future::IO::Redis->new: server and $_ both give the address; give one")
            for grep { exists $args{$_} } qw( host port path uri );
        %args = ( %args, server_address( $server, 'server' ) );
    }

    # A URI without a scheme: host[:port][/db] (or a socket path).
    if ( defined $args{uri} && !ref $args{uri} && $args{uri} !~ m{\A[A-Za-z][A-Za-z0-9+.-]*://} ) {
        $args{uri} = $args{uri} =~ m{\A/} ? "redis+unix://$args{uri}" : "redis://$args{uri}";
    }

    # No address at all: the environment, as other clients read it.
    unless ( grep { defined $args{$_} } qw( host port path uri ) ) {
        if ( defined $ENV{REDIS_URL} && length $ENV{REDIS_URL} ) {
            $args{uri} = $ENV{REDIS_URL} =~ m{://} ? $ENV{REDIS_URL} : "redis://$ENV{REDIS_URL}";
        }
        elsif ( defined $ENV{REDIS_SERVER} && length $ENV{REDIS_SERVER} ) {
            %args = ( %args, server_address( $ENV{REDIS_SERVER}, 'REDIS_SERVER' ) );
        }
    }
    return %args;
}

# 'host:port', '[v6]:port', 'host', or a unix socket path ('/path', 'unix:/path').
sub server_address {
    my ( $server, $what ) = @_;
    Carp::croak("Future::IO::Redis->new: $what must be 'host:port' or a socket path")
        if !defined $server || ref $server || !length $server;
    return ( path => $1 ) if $server =~ m{\A(?:unix:)?(/.*)\z}s;
    # A URI where an address was expected (REDIS_SERVER=redis://:pw@host): taken as the uri.
    return ( uri => $server ) if $server =~ m{\A[A-Za-z][A-Za-z0-9+.-]*://};
    return ( host => $1, port => $2 ) if $server =~ /\A\[([^\]]+)\]:(\d+)\z/;
    return ( host => $1 ) if $server =~ /\A\[([^\]]+)\]\z/;
    return ( host => $1, port => $2 ) if $server =~ /\A([^:\@]+):(\d+)\z/;
    return ( host => $server ) if $server =~ /\A[^:\s\@]+\z/;                        # a name
    return ( host => $server ) if $server =~ /\A[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[\w.-]+)?\z/;    # a bare IPv6 address
    # Anything else (user:password@host:port, ...) is refused, without showing a password.
    my $shown = $server;
    if ( ( my $at = rindex $shown, '@' ) >= 0 ) {
        my $colon = index substr( $shown, 0, $at ), ':';
        substr( $shown, $colon + 1, $at - $colon - 1 ) = '***' if $colon >= 0;
    }
    Carp::croak("Future::IO::Redis->new: $what '$shown' is not 'host:port' or a socket path");
}

1;

__END__

=head1 NAME

Future::IO::Redis::Compat - internal: other Redis clients' constructor options

=head1 DESCRIPTION

Used by L<Future::IO::Redis/new>; the options it accepts are documented there and in
L<Future::IO::Redis/MIGRATING FROM REDIS::FAST, REDIS.PM OR NET::ASYNC::REDIS>. Not an API.

=cut

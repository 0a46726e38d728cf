#!/usr/bin/env perl
# Connecting over TLS. The server's certificate is checked against a CA file (or the system's
# root certificates without --ca); --cert and --key present a client certificate when the server
# asks for one (tls-auth-clients yes, Redis' default).
#   perl examples/tls.pl [rediss://host:port] [--ca ca.crt] [--cert client.crt --key client.key]
# Default address: $REDIS_TLS_URL, else rediss://127.0.0.1:16380 (docker-compose.yml's redis-tls,
# with the certificates from dev/make-certs in ./certs).
use v5.14;
use warnings;
use Future::AsyncAwait;
use Future::IO::Redis;
use Getopt::Long qw(GetOptions);

my %opt;
GetOptions( \%opt, 'ca=s', 'cert=s', 'key=s', 'server-name=s' )
  or die "usage: $0 [rediss://host:port] [--ca FILE] [--cert FILE --key FILE] [--server-name NAME]\n";
my $uri = $ARGV[0] // $ENV{REDIS_TLS_URL} // 'rediss://127.0.0.1:16380';
if ( !@ARGV && !$ENV{REDIS_TLS_URL} && -d 'certs' ) {    # docker-compose's certificates
    $opt{ca}   //= 'certs/ca.crt';
    $opt{cert} //= 'certs/client.crt';
    $opt{key}  //= 'certs/client.key';
}

my %tls;
$tls{ca_file}     = $opt{ca}            if defined $opt{ca};
$tls{cert_file}   = $opt{cert}          if defined $opt{cert};
$tls{key_file}    = $opt{key}           if defined $opt{key};
$tls{server_name} = $opt{'server-name'} if defined $opt{'server-name'};

my $main = async sub {
    my $redis = Future::IO::Redis->new( uri => $uri, ( %tls ? ( tls => \%tls ) : () ) );
    await $redis->connect;
    say "connected over TLS to $uri", ( $tls{cert_file} ? ' with a client certificate' : '' );
    say "PING -> ", await $redis->ping;
    my $key = "fior-example:tls:$$";
    await $redis->set( $key, 'sent encrypted' );
    say "GET -> ", await $redis->get($key);
    await $redis->del($key);
    await $redis->disconnect;
};

$main->()->get;

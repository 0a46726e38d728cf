# Passwords never appear in error messages, in a dump of the client, or in on_error payloads.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Data::Dumper;

my $secret = 'S3cr3t-p4ss';
my $srv    = start_server( password => $secret, acl_users => ["alice on >$secret ~* &* +\@all"] );

my @errors;
my $good = client( $srv, password => $secret, on_error => sub { push @errors, $_[1] } );
is( run( $good->ping ), 'PONG', 'the right password works' );
local $Data::Dumper::Deparse = 0;
unlike( Dumper($good), qr/\Q$secret\E/, 'a dump of the client does not show the password' );

my $wrong_secret = 'Wr0ng-' . $secret;
my $bad = client( $srv, username => 'alice', password => $wrong_secret, reconnect => 1 );
my $err = error_of( $bad->connect );
ok( $err, 'a wrong password fails' );
unlike( "$err", qr/\Q$wrong_secret\E|\Q$secret\E/, 'the error message does not contain it' );
unlike( Dumper($err), qr/\Q$wrong_secret\E/, 'nor does a dump of the error' );
unlike( Dumper($bad), qr/\Q$wrong_secret\E/, 'nor a dump of the client' );

# on_error payloads of failed reconnects: change the password under a connected client.
my $victim = client( $srv, password => $secret, reconnect_delay => 0.02, on_error => sub { push @errors, $_[1] } );
run( $victim->ping );
$srv->cli( 'CONFIG', 'SET', 'requirepass', 'another-one' );
$srv->cli( { pass => 'another-one' }, 'CLIENT', 'KILL', 'TYPE', 'normal' );
ok( wait_until( sub { @errors >= 2 }, 10 ), 'reconnect attempts fail and report through on_error' );
unlike( join( "\n", map {"$_"} @errors ), qr/\Q$secret\E|another-one/, 'no password in on_error payloads' );

my $uri_err = dies { Future::IO::Redis->new( uri => "redis://alice:$secret\@host:notaport" ) };
unlike( $uri_err, qr/\Q$secret\E/, 'no password in URI errors' );
done_testing;

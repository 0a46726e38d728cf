# The connection settings a client shows (accessors and the same values as top-level keys, never
# the password), options given as undef (not given, also beside a URI), and sibling: another
# client with the same settings, secrets included, against a password-protected server, an ACL
# user, a database, a prefix, a unix socket and TLS.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Data::Dumper;
use Scalar::Util qw(refaddr);

my $PW    = 'Sibling-Pass-52q';
my $ALICE = 'Alice-Secret-61w';
my $srv   = start_server(
    password   => $PW,
    unixsocket => 1,
    acl_users  => ["alice on >$ALICE ~* &* +\@all"],
);
my $port = $srv->port;

sub dump_of { local $Data::Dumper::Deparse = 0; local $Data::Dumper::Sortkeys = 1; Dumper( $_[0] ) }

subtest 'accessors and top-level keys' => sub {
    my $r = Future::IO::Redis->new(
        host      => '127.0.0.1',
        port      => $port,
        username  => 'alice',
        password  => $ALICE,
        database  => 3,
        prefix    => 'app:',
        reconnect => 0,
    );
    my %want = (
        host      => '127.0.0.1',
        port      => $port,
        path      => undef,
        username  => 'alice',
        database  => 3,
        tls       => 0,
        reconnect => 0,
        prefix    => 'app:',
    );
    for my $k ( sort keys %want ) {
        is( $r->$k, $want{$k}, "accessor $k" );
        is( $r->{$k}, $want{$k}, "top-level key $k" );
    }
    ok( !exists $r->{password}, 'no password key' );
    ok( !$r->can('password'), 'no password accessor' );
    unlike( dump_of($r), qr/\Q$ALICE\E/, 'Data::Dumper output does not contain the password' );
    is( run( $r->command( 'ACL', 'WHOAMI' ) ), 'alice', 'and the client still authenticates' );
};

subtest 'defaults' => sub {
    my $r = Future::IO::Redis->new;
    is( [ map { $r->$_ } qw( host port path username database tls reconnect prefix ) ],
        [ 'localhost', 6379, undef, undef, 0, 0, 1, undef ], 'host, port, database, tls, reconnect as they apply' );
    my $u = Future::IO::Redis->new( path => $srv->path );
    is( [ map { $u->$_ } qw( host port path ) ], [ undef, undef, $srv->path ], 'a unix socket has no host or port' );
    is( Future::IO::Redis->new( reconnect => 'yes' )->reconnect, 1, 'reconnect is a boolean' );
};

subtest 'tls: a boolean or a copy of the hash' => sub {
    my %tls = ( verify => 0, server_name => 'localhost' );
    my $r   = Future::IO::Redis->new( tls => \%tls );
    is( $r->tls, \%tls, 'the hash' );
    isnt( refaddr( $r->tls ), refaddr( \%tls ), 'a copy' );
    $r->tls->{verify} = 1;
    is( $r->tls->{verify}, 0, 'changing what the accessor gave changes nothing' );
    is( Future::IO::Redis->new( tls => 1 )->tls, 1, 'tls => 1' );
    is( Future::IO::Redis->new( uri => 'rediss://127.0.0.1:6390' )->{tls}, 1, 'rediss:// turns it on' );
};

subtest 'settings from a URI' => sub {
    my $r = Future::IO::Redis->new( uri => "redis://alice:$ALICE\@127.0.0.1:$port/4", prefix => 'u:' );
    is( [ map { $r->$_ } qw( host port username database prefix ) ], [ '127.0.0.1', $port, 'alice', 4, 'u:' ] );
    unlike( dump_of($r), qr/\Q$ALICE\E/, 'the URI password is not in the dump either' );
    is( run( $r->command( 'ACL', 'WHOAMI' ) ), 'alice', 'authenticates with the URI credentials' );
};

subtest 'an undef option is not given' => sub {
    my %undefs = map { $_ => undef } qw( host port path username password database tls reconnect prefix
      client_name connect_timeout request_timeout retry on_connect on_error timeout queue_size );
    my $r;
    ok( lives { $r = Future::IO::Redis->new( %undefs, host => '127.0.0.1', port => $port, password => $PW ) },
        'every option undef: no croak' ) or note $@;
    is( $r->reconnect, 1, 'reconnect: the default' );
    is( run( $r->ping ), 'PONG', 'the client works' );

    my $u = Future::IO::Redis->new( uri => "redis://alice:$ALICE\@127.0.0.1:$port/5", %undefs );
    is( [ map { $u->$_ } qw( host port username database ) ], [ '127.0.0.1', $port, 'alice', 5 ],
        'undef options do not hide what the URI says' );
    is( run( $u->command( 'ACL', 'WHOAMI' ) ), 'alice', 'the URI password is used' );
    run( $u->set( 'st:db5', 'x' ) );
    is( $srv->cli( '-n', 5, 'GET', 'st:db5' ), 'x', 'in the URI database' );

    my $x = Future::IO::Redis->new( uri => undef, host => '127.0.0.1', port => $port, password => $PW );
    is( run( $x->ping ), 'PONG', 'uri => undef' );
    like( dies { Future::IO::Redis->new( host => '' ) }, qr/host must be a non-empty string/, 'an empty host still croaks' );
};

subtest 'the settings a copying consumer reads make a working client' => sub {
    # What PAGI-Channels' default subscriber factory does: copy the top-level keys (password
    # included, which is not there) into a new client.
    my $r = Future::IO::Redis->new( host => '127.0.0.1', port => $port, password => $PW, database => 2 );
    my $copy = Future::IO::Redis->new( map { $_ => $r->{$_} } qw( host port path username password database tls reconnect ) );
    is( [ map { $copy->$_ } qw( host port database reconnect ) ], [ '127.0.0.1', $port, 2, 1 ], 'same settings' );
    my $err = error_of( $copy->ping );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'but no password: the server refuses it' );
    like( $err->code, qr/\A(?:NOAUTH|ERR)\z/, $err->code );
};

subtest 'sibling: password, database, prefix' => sub {
    my @events;
    my $r = Future::IO::Redis->new(
        host       => '127.0.0.1',
        port       => $port,
        password   => $PW,
        database   => 6,
        prefix     => 'sib:',
        on_connect => sub { push @events, refaddr( $_[0] ) },
    );
    my $s = $r->sibling;
    isa_ok( $s, ['Future::IO::Redis'] );
    isnt( refaddr($s), refaddr($r), 'another client' );
    run( $s->set( 'k', 'from-sibling' ) );
    is( $srv->cli( '-n', 6, 'GET', 'sib:k' ), 'from-sibling',
        'authenticated, in database 6, with the prefix' );
    is( run( $r->get('k') ), 'from-sibling', 'the original sees it' );
    is( [ sort @events ], [ sort map { refaddr $_ } $s, $r ], 'on_connect carried over, called with each client' );
    unlike( dump_of($s), qr/\Q$PW\E/, 'the sibling does not show the password either' );
    isnt( run( $s->client_id ), run( $r->client_id ), 'its own connection' );

    my $o = $r->sibling( database => 7, prefix => 'other:' );
    run( $o->set( 'k', 'db7' ) );
    is( $srv->cli( '-n', 7, 'GET', 'other:k' ), 'db7', 'overrides apply' );
    my $n = $r->sibling( prefix => undef, database => undef );
    is( [ $n->prefix, $n->database ], [ undef, 0 ], 'undef overrides go back to the default' );
    is( run( $n->get('sib:k') ), undef, 'database 0, no prefix' );
    my $np = $r->sibling( password => undef );
    my $err = error_of( $np->ping );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'password => undef: the sibling has none' );
    like( dies { $r->sibling('odd') }, qr/sibling takes name => value options/, 'odd arguments croak' );
    like( dies { $r->sibling( port => 0 ) }, qr/port must be/, 'a bad override croaks as new does' );
};

subtest 'sibling: ACL user, subscription, retry policy' => sub {
    my @asked;
    my $r = Future::IO::Redis->new(
        host     => '127.0.0.1',
        port     => $port,
        username => 'alice',
        password => $ALICE,
        retry    => sub { push @asked, $_[2]; 0 },
    );
    my $sub_client = $r->sibling;
    is( run( $sub_client->command( 'ACL', 'WHOAMI' ) ), 'alice', 'the sibling is alice' );
    my $sub = run( $sub_client->psubscribe('sib:notify:*') );
    run( $r->publish( 'sib:notify:x', 1 ) );
    is( run( $sub->next ), { type => 'pmessage', pattern => 'sib:notify:*', channel => 'sib:notify:x', data => 1 },
        'a subscriber built with sibling receives' );
    is( $r->is_dirty, '', 'the original is not in subscribe mode' );
    error_of( $sub_client->sibling->command('NO-SUCH-COMMAND') );
    is( \@asked, ['NO-SUCH-COMMAND'], 'the retry policy went over (to the sibling of the sibling)' );
};

subtest 'sibling: unix socket, and switching between socket and TCP' => sub {
    my $r = Future::IO::Redis->new( path => $srv->path, password => $PW );
    my $s = $r->sibling;
    is( $s->path, $srv->path, 'the path' );
    like( run( $s->command( 'CLIENT', 'INFO' ) ), qr/\bflags=\S*U/, 'connected over the unix socket' );
    my $t = $r->sibling( host => '127.0.0.1', port => $port );
    is( [ $t->path, $t->host ], [ undef, '127.0.0.1' ], 'a host override replaces the path' );
    unlike( run( $t->command( 'CLIENT', 'INFO' ) ), qr/\bflags=\S*U/, 'over TCP' );
    my $back = $t->sibling( path => $srv->path );
    is( [ $back->path, $back->host ], [ $srv->path, undef ], 'and a path override replaces host and port' );
    is( run( $back->ping ), 'PONG' );
};

subtest 'sibling: uri override replaces address and credentials' => sub {
    my $r = Future::IO::Redis->new( host => '127.0.0.1', port => $port, password => $PW, database => 3 );
    my $s = $r->sibling( uri => "redis://alice:$ALICE\@127.0.0.1:$port/2" );
    is( [ $s->username, $s->database ], [ 'alice', 2 ], 'from the URI' );
    is( run( $s->command( 'ACL', 'WHOAMI' ) ), 'alice', 'the URI password, not the inherited one' );
};

subtest "sibling: other clients' spellings as overrides" => sub {
    my $r = Future::IO::Redis->new( server => "127.0.0.1:$port", auth => $PW, name => 'base', database => 3 );
    local $ENV{REDIS_URL} = 'redis://127.0.0.1:1';
    my $a = $r->sibling( auth => 'wrong-password' );
    my $err = error_of( $a->ping );
    isa_ok( $err, ['Future::IO::Redis::Error::Redis'], 'auth => replaces the inherited password' );
    my $n = $r->sibling( name => 'renamed' );
    is( run( $n->command( 'CLIENT', 'GETNAME' ) ), 'renamed', 'name => replaces client_name' );
    my $s = $r->sibling( server => "127.0.0.1:$port" );
    is( [ $s->host, $s->port, $s->database ], [ '127.0.0.1', $port, 3 ], 'server => gives the address' );
    is( run( $s->ping ), 'PONG', '... with the inherited password, not REDIS_URL' );
    my $u = $r->sibling( sock => $srv->path );
    is( [ $u->path, $u->host ], [ $srv->path, undef ], 'sock => replaces host and port' );
    is( run( $u->ping ), 'PONG' );
    like( dies { $r->sibling( db => 2 ) }, qr/unknown option 'db'; use database at \Q${\__FILE__}\E line/,
        'a refused spelling croaks at the caller' );
};

subtest 'sibling over TLS' => sub {
    my $tsrv = start_server( tls => 1, tcp => 0, password => $PW );
    my $r = Future::IO::Redis->new(
        host     => 'localhost',
        port     => $tsrv->tls_port,
        password => $PW,
        tls      => { ca_file => $tsrv->certs->{ca} },
    );
    is( $r->tls, { ca_file => $tsrv->certs->{ca} }, 'tls settings shown' );
    my $s = $r->sibling;
    is( run( $s->ping ), 'PONG', 'the sibling connects over TLS, authenticated' );
    my $sub = run( $s->psubscribe('tls:notify:*') );
    run( $r->publish( 'tls:notify:a', 'x' ) );
    is( run( $sub->next )->{channel}, 'tls:notify:a', 'and subscribes' );
    my $plain = $r->sibling( tls => 0, connect_timeout => 2 );
    isa_ok( error_of( $plain->ping ), ['Future::IO::Redis::Error::Connection'], 'tls => 0 override: plain fails on the TLS port' );
};

done_testing;

use v5.14;
use warnings;
use Test2::V0;

use Future::IO::Redis::URI;

my $U = 'Future::IO::Redis::URI';

sub fields {
    my ($uri) = @_;
    return {
        map { $_ => $uri->$_ }
          qw( scheme host port path username password database tls is_unix )
    };
}

# string => expected accessor values
my @valid = (
    [ 'redis://localhost' => {
        scheme => 'redis', host => 'localhost', port => 6379, path => undef,
        username => undef, password => undef, database => 0, tls => 0, is_unix => 0 } ],
    [ 'redis://localhost:6380' => {
        scheme => 'redis', host => 'localhost', port => 6380, path => undef,
        username => undef, password => undef, database => 0, tls => 0, is_unix => 0 } ],
    [ 'redis://:password@localhost' => {
        scheme => 'redis', host => 'localhost', port => 6379, path => undef,
        username => undef, password => 'password', database => 0, tls => 0, is_unix => 0 } ],
    [ 'redis://user:pass@localhost/2' => {
        scheme => 'redis', host => 'localhost', port => 6379, path => undef,
        username => 'user', password => 'pass', database => 2, tls => 0, is_unix => 0 } ],
    [ 'redis://:secret@localhost:6380/2' => {
        scheme => 'redis', host => 'localhost', port => 6380, path => undef,
        username => undef, password => 'secret', database => 2, tls => 0, is_unix => 0 } ],
    [ 'rediss://localhost' => {
        scheme => 'rediss', host => 'localhost', port => 6379, path => undef,
        username => undef, password => undef, database => 0, tls => 1, is_unix => 0 } ],
    [ 'rediss://user:pass@redis.example.com' => {
        scheme => 'rediss', host => 'redis.example.com', port => 6379, path => undef,
        username => 'user', password => 'pass', database => 0, tls => 1, is_unix => 0 } ],
    [ 'redis+unix:///var/run/redis.sock' => {
        scheme => 'redis+unix', host => undef, port => undef, path => '/var/run/redis.sock',
        username => undef, password => undef, database => 0, tls => 0, is_unix => 1 } ],
    [ 'redis+unix:///tmp/r.sock?db=1' => {
        scheme => 'redis+unix', host => undef, port => undef, path => '/tmp/r.sock',
        username => undef, password => undef, database => 1, tls => 0, is_unix => 1 } ],
    [ 'redis+unix:///tmp/r.sock?database=4' => {
        scheme => 'redis+unix', host => undef, port => undef, path => '/tmp/r.sock',
        username => undef, password => undef, database => 4, tls => 0, is_unix => 1 } ],
    [ 'redis+unix://:pw@/tmp/r.sock' => {
        scheme => 'redis+unix', host => undef, port => undef, path => '/tmp/r.sock',
        username => undef, password => 'pw', database => 0, tls => 0, is_unix => 1 } ],
    [ 'redis+unix://bob:pw@/tmp/r.sock?db=3' => {
        scheme => 'redis+unix', host => undef, port => undef, path => '/tmp/r.sock',
        username => 'bob', password => 'pw', database => 3, tls => 0, is_unix => 1 } ],
    [ 'redis://[::1]:6380/3' => {
        scheme => 'redis', host => '::1', port => 6380, path => undef,
        username => undef, password => undef, database => 3, tls => 0, is_unix => 0 } ],
    [ 'rediss://[2001:db8::1]' => {
        scheme => 'rediss', host => '2001:db8::1', port => 6379, path => undef,
        username => undef, password => undef, database => 0, tls => 1, is_unix => 0 } ],
);

subtest 'accepted forms' => sub {
    for my $case (@valid) {
        my ( $string, $want ) = @$case;
        my $uri = $U->parse($string);
        isa_ok( $uri, [$U], $string );
        is( fields($uri), $want, "$string: fields" );
    }
};

subtest 'database variants' => sub {
    is( $U->parse('redis://localhost')->database,     0,     'no database: 0' );
    is( $U->parse('redis://localhost/')->database,    0,     'trailing slash: database not set, 0' );
    is( $U->parse('redis://localhost:6380/')->database, 0,   'port + trailing slash' );
    is( $U->parse('redis://localhost/0')->database,   0,     'db 0 is 0, not undef' );
    is( $U->parse('redis://localhost/15')->database,  15,    'db 15' );
    is( $U->parse('redis://localhost/007')->database, 7,     'leading zeros' );
    is( $U->parse('redis://localhost?db=5')->database,  5,   'db in query string' );
    is( $U->parse('redis://localhost/?db=5')->database, 5,   'db in query after slash' );
    is( $U->parse('redis://localhost/?database=6')->database, 6, 'database= in query' );
    is( $U->parse('redis://localhost/5?db=5')->database, 5,  'path and query agree' );
    is( $U->parse('rediss://h?db=2')->database, 2,           'rediss query db' );
};

subtest 'userinfo' => sub {
    my $u = $U->parse('redis://foo@host');
    is( [ $u->username, $u->password ], [ 'foo', undef ], 'user@ is a username without password (redis-py)' );

    $u = $U->parse('redis://user:@host');
    is( [ $u->username, $u->password ], [ 'user', undef ], 'empty password is not set' );

    $u = $U->parse('redis://:@host');
    is( [ $u->username, $u->password ], [ undef, undef ], 'empty user and password' );

    $u = $U->parse('redis://@host');
    is( [ $u->username, $u->password, $u->host ], [ undef, undef, 'host' ], 'bare @' );

    $u = $U->parse('redis://:0@localhost');
    is( $u->password, '0', 'password "0" is kept' );
    ok( defined $u->password, '... and defined' );
    is( { $u->to_options }->{password}, '0', '... and in to_options' );

    $u = $U->parse('redis://0:0@localhost/0');
    is( [ $u->username, $u->password, $u->database ], [ '0', '0', 0 ], 'username "0" too' );

    $u = $U->parse('redis://user:p%40ss%3Aw%2Frd@localhost');
    is( $u->password, 'p@ss:w/rd', 'percent-decoded password' );
    is( $u->username, 'user', '... username' );

    $u = $U->parse('redis://us%3Aer%40x:p%25w%20d@localhost');
    is( [ $u->username, $u->password ], [ 'us:er@x', 'p%w d' ], 'percent-decoded username and %25/%20' );

    $u = $U->parse('redis://user:p:w@localhost');
    is( [ $u->username, $u->password ], [ 'user', 'p:w' ], 'raw ":" in password: first colon splits' );

    $u = $U->parse('redis://:p@ss@localhost:6380');
    is( [ $u->password, $u->host, $u->port ], [ 'p@ss', 'localhost', 6380 ], 'raw "@" in password: last @ ends userinfo' );

    $u = $U->parse('redis+unix://:p%2Fw@/tmp/r.sock');
    is( [ $u->password, $u->path ], [ 'p/w', '/tmp/r.sock' ], 'unix: percent-decoded password' );
};

subtest 'hosts, ports, paths' => sub {
    is( $U->parse('redis://127.0.0.1:7000')->host, '127.0.0.1', 'IPv4' );
    is( $U->parse('redis://my_redis-1.internal')->host, 'my_redis-1.internal', 'name with _ - .' );
    is( $U->parse('redis://local%68ost')->host, 'localhost', 'percent-decoded host' );
    is( $U->parse('REDIS://localhost')->scheme, 'redis', 'scheme is case-insensitive' );
    is( $U->parse('redis://localhost:1')->port, 1, 'port 1' );
    is( $U->parse('redis://localhost:65535')->port, 65535, 'port 65535' );
    is( $U->parse('redis://[::1]')->port, 6379, 'IPv6 default port' );
    is( $U->parse('redis://[::ffff:127.0.0.1]:7')->host, '::ffff:127.0.0.1', 'IPv4-mapped IPv6' );
    is( $U->parse('redis://[::1%25lo]:6379')->host, '::1%lo', 'IPv6 zone id' );
    is( $U->parse('redis+unix:///tmp/with%20space.sock')->path, '/tmp/with space.sock', 'percent-decoded path' );
    is( $U->parse('redis+unix:///run/user@1000/redis.sock')->path, '/run/user@1000/redis.sock', '"@" in socket path' );
    is( $U->parse('redis+unix:///tmp/r.sock?')->database, 0, 'empty query' );
};

subtest 'to_options' => sub {
    is( { $U->parse('redis://localhost')->to_options },
        { host => 'localhost', port => 6379 }, 'redis://localhost' );
    is( { $U->parse('redis://user:pass@localhost:6380/2')->to_options },
        { host => 'localhost', port => 6380, username => 'user', password => 'pass', database => 2 },
        'full redis://' );
    is( { $U->parse('redis://:pw@localhost/0')->to_options },
        { host => 'localhost', port => 6379, password => 'pw' }, 'password only, db 0 (left out: it is the default)' );
    is( { $U->parse('rediss://h')->to_options },
        { host => 'h', port => 6379, tls => 1 }, 'rediss sets tls => 1' );
    is( { $U->parse('redis+unix://:pw@/tmp/r.sock?db=1')->to_options },
        { path => '/tmp/r.sock', password => 'pw', database => 1 }, 'unix' );
    is( { $U->parse('redis://[::1]:6380/3')->to_options },
        { host => '::1', port => 6380, database => 3 }, 'IPv6' );

    my @list = $U->parse('rediss://u:p@h:1/2')->to_options;
    is( \@list, [ host => 'h', port => 1, username => 'u', password => 'p', database => 2, tls => 1 ],
        'flat list in a stable order' );
};

subtest 'invalid URIs' => sub {
    my @invalid = (
        [ 'http://localhost'               => qr/unsupported scheme 'http'/ ],
        [ 'https://localhost:6379'         => qr/unsupported scheme 'https'/ ],
        [ 'unix:///tmp/r.sock'             => qr/unsupported scheme 'unix'/ ],
        [ 'rediss+unix:///tmp/r.sock'      => qr/unsupported scheme/ ],
        [ 'localhost:6379'                 => qr/expected redis:\/\// ],
        [ 'localhost'                      => qr/expected redis:\/\// ],
        [ 'redis:localhost'                => qr/expected redis:\/\// ],
        [ '://localhost'                   => qr/expected redis:\/\// ],
        [ 'redis://'                       => qr/missing host/ ],
        [ 'redis:///2'                     => qr/missing host/ ],
        [ 'redis://:6379'                  => qr/missing host/ ],
        [ 'redis://:pw@'                   => qr/missing host/ ],
        [ 'redis://[]:6379'                => qr/IPv6|missing host/ ],
        [ 'redis://localhost:0'            => qr/port/ ],
        [ 'redis://localhost:70000'        => qr/port/ ],
        [ 'redis://localhost:65536'        => qr/port/ ],
        [ 'redis://localhost:abc'          => qr/port/ ],
        [ 'redis://localhost:-1'           => qr/port/ ],
        [ 'redis://localhost:'             => qr/empty port/ ],
        [ 'redis://localhost:63 79'        => qr/whitespace/ ],
        [ 'redis://localhost/-1'           => qr/database/ ],
        [ 'redis://localhost/x'            => qr/database/ ],
        [ 'redis://localhost/1.5'          => qr/database/ ],
        [ 'redis://localhost/1/2'          => qr/database/ ],
        [ 'redis://localhost/99999999999'  => qr/database.*out of range/ ],
        [ 'redis://localhost?db=x'         => qr/database/ ],
        [ 'redis://localhost?db='          => qr/needs a value/ ],
        [ 'redis://localhost?db=-1'        => qr/database/ ],
        [ 'redis://localhost/1?db=2'       => qr/conflicting/ ],
        [ 'redis+unix:///tmp/r.sock?db=x'  => qr/database/ ],
        [ 'redis://::1:6379'               => qr/IPv6.*brackets/ ],
        [ 'redis://2001:db8::1'            => qr/IPv6.*brackets/ ],
        [ 'redis://[::1'                   => qr/unterminated/ ],
        [ 'redis://[::1]x'                 => qr/after '\]'/ ],
        [ 'redis://[not-ipv6]:6379'        => qr/IPv6/ ],
        [ 'redis+unix://'                  => qr/missing socket path/ ],
        [ 'redis+unix:///'                 => qr/missing socket path/ ],
        [ 'redis+unix://:pw@'              => qr/missing socket path/ ],
        [ 'redis+unix://?db=1'             => qr/missing socket path/ ],
        [ 'redis+unix://localhost/tmp/r.sock' => qr/no host/ ],
        [ 'redis://local host'             => qr/whitespace/ ],
        [ 'redis://loc!alhost'             => qr/invalid characters in host/ ],
        [ 'redis://localhost#frag'         => qr/fragment/ ],
        [ 'redis://:bad%zzpw@localhost'    => qr/percent-encoding in the password/ ],
        [ 'redis://:pa/ss@localhost'       => qr/unexpected '\@'/ ],
    );
    for my $case (@invalid) {
        my ( $string, $why ) = @$case;
        my $err = dies { $U->parse($string) };
        like( $err, qr/^Invalid Redis URI: /, "'$string' croaks" );
        like( $err, $why, "... because $why" );
        like( $err, qr/at \Q${\__FILE__}\E line/, '... reported at the caller' );
    }

    is( $U->parse(undef), undef, 'undef: no URI, undef' );
    is( $U->parse(''),    undef, 'empty string: undef' );
    is( $U->parse(),      undef, 'no argument: undef' );
};

subtest 'query parameters the design does not name are ignored' => sub {
    my $u = $U->parse('redis://localhost?foo=1&db=3&timeout=5&ssl_cert_reqs=none&bad%zz=1&flag');
    is( [ $u->host, $u->port, $u->database ], [ 'localhost', 6379, 3 ], 'db read, the rest ignored' );
    is( $U->parse('redis+unix:///tmp/r.sock?password=x')->password, undef, 'not even password=' );
    is( { $U->parse('redis://h?timeout=5')->to_options }, { host => 'h', port => 6379 }, 'nothing of them in to_options' );
};

subtest 'to_hash is to_options; database 0 is not passed on' => sub {
    for my $s ( 'redis://:pw@localhost/2', 'rediss://u:p@h:6380', 'redis+unix:///tmp/r.sock?db=1', 'redis://h/0' ) {
        my $u = $U->parse($s);
        is( { $u->to_hash }, { $u->to_options }, "$s: to_hash" );
    }
    is( { $U->parse('redis://h/0')->to_options }, { host => 'h', port => 6379 }, 'database 0 left out' );
    is( { $U->parse('redis://h/2')->to_hash }, { host => 'h', port => 6379, database => 2 }, 'database 2 kept' );
};

subtest 'passwords never appear in error messages' => sub {
    my @secret_cases = (
        'http://u:s3cr3t@h',
        'redis://u:s3cr3t@h:abc',
        'redis://u:s3cr3t@h:0',
        'redis://:s3cr3t@h/x',
        'redis://:s3cr3t@h?db=foo',
        'redis://:s3cr3t@',
        'redis://u:s3cr3t@::1:6379',
        'redis://:s3/cr3t@h',             # unencoded '/' in password
        'redis://:s3?cr3t@h',             # unencoded '?' in password
        'redis://:s3#cr3t@h',             # unencoded '#' in password
        'redis://:s3cr3t%zz@h',           # bad percent-encoding
        'redis://u:s3cr3t',               # forgot "@host"
        'redis://u:s3cr3t/0',             # forgot "@host"
        'redis+unix://:s3/cr3t@/tmp/r.sock',
        'redis+unix://:s3cr3t@host/tmp/r.sock',
        'redis+unix://:s3cr3t@/tmp/r.sock?db=x',
        'redis://:s3 cr3t@h',
        'rediss://u:s3cr3t@[::1',
    );
    for my $string (@secret_cases) {
        my $err = dies { $U->parse($string) };
        like( $err, qr/^Invalid Redis URI/, "'$string' croaks" );
        unlike( $err, qr/s3cr3t|cr3t/, '... without the password in the message' );
    }

    like( dies { $U->parse('http://u:s3cr3t@h') }, qr/'http:\/\/u:\*\*\*\@h'/, 'quotes the redacted URI' );
};

subtest 'redacted' => sub {
    my @cases = (
        [ 'redis://localhost'                      => 'redis://localhost' ],
        [ 'redis://localhost:6380/2'               => 'redis://localhost:6380/2' ],
        [ 'redis://:secret@localhost:6380/2'       => 'redis://:***@localhost:6380/2' ],
        [ 'redis://user:secret@localhost/2'        => 'redis://user:***@localhost/2' ],
        [ 'rediss://user:pass@redis.example.com'   => 'rediss://user:***@redis.example.com' ],
        [ 'redis://user@localhost'                 => 'redis://user@localhost' ],
        [ 'redis://user:@localhost'                => 'redis://user:***@localhost' ],
        [ 'redis://u:p@ss@h:1'                     => 'redis://u:***@h:1' ],
        [ 'redis://u:p%40ss%3Aw%2Frd@h'            => 'redis://u:***@h' ],
        [ 'redis://:pa/ss@h'                       => 'redis://:***@h' ],
        [ 'redis+unix://:pw@/tmp/r.sock?db=1'      => 'redis+unix://:***@/tmp/r.sock?db=1' ],
        [ 'redis+unix:///tmp/r.sock'               => 'redis+unix:///tmp/r.sock' ],
        [ 'redis+unix:///run/user@1000/r.sock'     => 'redis+unix:///run/user@1000/r.sock' ],
        [ 'http://u:s3cr3t@h'                      => 'http://u:***@h' ],
        [ 'redis://[::1]:6380/3'                   => 'redis://[::1]:6380/3' ],
        [ 'redis://u:secret'                       => 'redis://u:***' ],
        [ 'redis://u:secret/0'                     => 'redis://u:***/0' ],
        [ 'redis://[::1]:secret'                   => 'redis://[::1]:***' ],
        [ 'u:secret@host'                          => 'u:***@host' ],
        [ 'localhost:6379'                         => 'localhost:6379' ],
        [ ''                                       => '' ],
    );
    for my $c (@cases) {
        my ( $in, $want ) = @$c;
        is( Future::IO::Redis::URI::redacted($in), $want, "redacted('$in')" );
    }
    is( Future::IO::Redis::URI::redacted(undef), undef, 'undef stays undef' );
    is( $U->redacted('redis://:pw@h'), 'redis://:***@h', 'callable as a class method' );
    is( $U->parse('redis://h')->redacted('redis://:pw@h'), 'redis://:***@h', 'callable on an instance' );
};

done_testing;

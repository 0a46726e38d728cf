# ACL commands through the generated methods, with exact replies.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $redis = client($srv);

subtest 'ACL WHOAMI, ACL USERS, ACL LIST' => sub {
    is( run( $redis->acl_whoami ), 'default', 'ACL WHOAMI: default' );
    is( run( $redis->acl_users ), ['default'], 'ACL USERS' );
    my $list = run( $redis->acl_list );
    is( scalar @$list, 1, 'ACL LIST: one rule' );
    like( $list->[0], qr/\Auser default on nopass/, 'the default user' );
};

subtest 'ACL SETUSER, ACL GETUSER, AUTH as that user, ACL DELUSER' => sub {
    is( run( $redis->acl_setuser( 'alice', 'on', '>s3cret', '~cache:*', '+get', '+set', '+acl|whoami' ) ), 'OK', 'ACL SETUSER' );
    my %u = @{ run( $redis->acl_getuser('alice') ) };
    is( $u{flags}, [ 'on' ], 'flags' );
    is( $u{keys}, '~cache:*', 'key patterns' );
    like( $u{commands}, qr/\+get/, 'commands include +get' );
    is( scalar @{ $u{passwords} }, 1, 'one password (hashed)' );
    is( run( $redis->acl_getuser('nobody') ), undef, 'ACL GETUSER of an unknown user: nil' );
    is( run( $redis->acl_users ), [qw( alice default )], 'ACL USERS lists alice' );

    my $alice = client( $srv, username => 'alice', password => 's3cret' );
    is( run( $alice->acl_whoami ), 'alice', 'a client with username/password is alice' );
    is( run( $alice->set( 'cache:1', 'v' ) ), 'OK', 'alice may SET cache:*' );
    my $err = error_of( $alice->set( 'other', 'v' ) );
    is( $err->code, 'NOPERM', 'but not other keys' );
    $err = error_of( $alice->del('cache:1') );
    is( $err->code, 'NOPERM', 'nor DEL' );

    my $log = run( $redis->acl_log );
    ok( scalar @$log >= 2, 'ACL LOG recorded the denials' );
    my %entry = @{ $log->[0] };
    is( $entry{username}, 'alice', 'by alice' );
    is( run( $redis->acl_log('RESET') ), 'OK', 'ACL LOG RESET' );
    is( run( $redis->acl_log ), [], 'empty' );

    like( run( $redis->acl_dryrun( 'alice', 'get', 'cache:1' ) ), qr/\AOK\z/, 'ACL DRYRUN get: OK' );
    like( run( $redis->acl_dryrun( 'alice', 'del', 'cache:1' ) ), qr/no permissions/, 'ACL DRYRUN del: refused' );

    is( run( $redis->acl_deluser( 'alice', 'nobody' ) ), 1, 'ACL DELUSER: one deleted' );
    is( run( $redis->acl_users ), ['default'], 'gone' );
};

subtest 'ACL CAT, ACL GENPASS' => sub {
    my $cats = run( $redis->acl_cat );
    ok( ( grep { $_ eq 'keyspace' } @$cats ), 'ACL CAT lists keyspace' );
    ok( ( grep { $_ eq 'string' } @$cats ), 'and string' );
    my $string = run( $redis->acl_cat('string') );
    ok( ( grep { $_ eq 'set' } @$string ), 'ACL CAT string includes set' );
    like( run( $redis->acl_genpass ), qr/\A[0-9a-f]{64}\z/, 'ACL GENPASS: 64 hex digits' );
    like( run( $redis->acl_genpass(32) ), qr/\A[0-9a-f]{8}\z/, 'ACL GENPASS 32: 8 hex digits' );
    my $err = error_of( $redis->acl_cat('nosuchcategory') );
    like( $err->message, qr/Unknown category/, 'ACL CAT of an unknown category fails' );
};

done_testing;

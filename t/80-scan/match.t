# MATCH patterns with scan_iter, with and without a key prefix.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->flushall );
run( $redis->mset( map { ( $_ => 1 ) } qw( user:1 user:2 user:10 users post:1 hello hallo hxllo heeello h*llo ), "bin\x00:1" ) );
run( $redis->mset( map { ( "filler:$_" => 1 ) } 1 .. 500 ) );

sub scan { [ sort @{ run( $redis->scan_iter( count => 25, @_ )->all ) } ] }

subtest 'glob patterns' => sub {
    is( scan( match => 'user:*' ), [qw( user:1 user:10 user:2 )], 'user:*' );
    is( scan( match => 'user*' ), [qw( user:1 user:10 user:2 users )], 'user*' );
    is( scan( match => 'user:?' ), [qw( user:1 user:2 )], 'user:?' );
    is( scan( match => 'h[ae]llo' ), [qw( hallo hello )], 'h[ae]llo' );
    is( scan( match => 'h[^e]llo' ), [ sort qw( hallo hxllo h*llo ) ], 'h[^e]llo' );
    is( scan( match => 'h\*llo' ), ['h*llo'], 'an escaped *' );
    is( scan( match => "bin\x00*" ), ["bin\x00:1"], 'a binary pattern' );
    is( scan( match => 'nothing:*' ), [], 'nothing matches: no keys' );
    is( run( $redis->scan_iter( match => 'nothing:*', count => 10 )->next ), undef, 'and next is undef (empty batches skipped)' );
};

subtest 'with a prefix' => sub {
    my $app = client( $srv, prefix => 'user:' );
    is( [ sort @{ run( $app->scan_iter( count => 25 )->all ) } ], [qw( 1 10 2 )], 'no match: only user:*, shown without it' );
    is( [ sort @{ run( $app->scan_iter( match => '1*', count => 25 )->all ) } ], [qw( 1 10 )], "match => '1*' means user:1*" );
    is( [ sort @{ run( $app->scan_iter( match => '?', count => 25 )->all ) } ], [qw( 1 2 )], "match => '?'" );
    my $star = client( $srv, prefix => 'h*' );
    is( [ sort @{ run( $star->scan_iter( count => 25 )->all ) } ], ['llo'], 'a prefix with a glob character matches itself only' );
    my $bin = client( $srv, prefix => "bin\x00:" );
    is( run( $bin->scan_iter( count => 25 )->all ), ['1'], 'a binary prefix' );
};

done_testing;

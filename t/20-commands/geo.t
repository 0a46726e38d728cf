# Geospatial commands through the generated methods, with exact replies.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;

my $srv   = start_server();
my $redis = client($srv);
run( $redis->flushall );

# Palermo and Catania, as in the Redis documentation.
subtest 'GEOADD, GEOPOS, GEOHASH' => sub {
    is( run( $redis->geoadd( 'geo:sicily', 13.361389, 38.115556, 'Palermo', 15.087269, 37.502669, 'Catania' ) ), 2, 'GEOADD two members' );
    is( run( $redis->geoadd( 'geo:sicily', 'NX', 13.361389, 38.115556, 'Palermo' ) ), 0, 'GEOADD NX of an existing member: 0' );
    is( run( $redis->geoadd( 'geo:sicily', 'CH', 13.5, 38.1, 'Palermo' ) ), 1, 'GEOADD CH counts a moved member' );
    run( $redis->geoadd( 'geo:sicily', 13.361389, 38.115556, 'Palermo' ) );
    my $pos = run( $redis->geopos( 'geo:sicily', 'Palermo', 'Nowhere' ) );
    is( scalar @$pos, 2, 'GEOPOS: one entry per member' );
    ok( abs( $pos->[0][0] - 13.361389 ) < 1e-4 && abs( $pos->[0][1] - 38.115556 ) < 1e-4, "Palermo at @{ $pos->[0] }" );
    is( $pos->[1], undef, 'a missing member: nil' );
    is( run( $redis->geohash( 'geo:sicily', 'Palermo', 'Catania' ) ), [qw( sqc8b49rny0 sqdtr74hyu0 )], 'GEOHASH' );
    my $err = error_of( $redis->geoadd( 'geo:sicily', 200, 100, 'bad' ) );
    like( $err->message, qr/invalid longitude,latitude pair/, 'GEOADD out of range fails' );
};

subtest 'GEODIST' => sub {
    is( run( $redis->geodist( 'geo:sicily', 'Palermo', 'Catania' ) ), '166274.1516', 'GEODIST in metres' );
    is( run( $redis->geodist( 'geo:sicily', 'Palermo', 'Catania', 'km' ) ), '166.2742', 'in km' );
    is( run( $redis->geodist( 'geo:sicily', 'Palermo', 'Catania', 'mi' ) ), '103.3182', 'in miles' );
    is( run( $redis->geodist( 'geo:sicily', 'Palermo', 'Nowhere' ) ), undef, 'a missing member: nil' );
};

subtest 'GEOSEARCH, GEOSEARCHSTORE' => sub {
    is( run( $redis->geosearch( 'geo:sicily', 'FROMLONLAT', 15, 37, 'BYRADIUS', 200, 'km', 'ASC' ) ),
        [qw( Catania Palermo )], 'GEOSEARCH FROMLONLAT BYRADIUS 200 km ASC' );
    is( run( $redis->geosearch( 'geo:sicily', 'FROMLONLAT', 15, 37, 'BYRADIUS', 100, 'km' ) ), ['Catania'], '100 km: only Catania' );
    my $r = run( $redis->geosearch( 'geo:sicily', 'FROMMEMBER', 'Palermo', 'BYBOX', 400, 400, 'km', 'ASC', 'WITHDIST' ) );
    is( $r, [ [ 'Palermo', '0.0000' ], [ 'Catania', '166.2742' ] ], 'FROMMEMBER BYBOX ... WITHDIST' );
    $r = run( $redis->geosearch( 'geo:sicily', 'FROMLONLAT', 15, 37, 'BYRADIUS', 200, 'km', 'ASC', 'COUNT', 1, 'WITHCOORD' ) );
    is( $r->[0][0], 'Catania', 'COUNT 1 WITHCOORD: the nearest' );
    is( scalar @{ $r->[0][1] }, 2, 'with its coordinates' );
    is( run( $redis->geosearchstore( 'geo:near', 'geo:sicily', 'FROMLONLAT', 15, 37, 'BYRADIUS', 200, 'km' ) ), 2, 'GEOSEARCHSTORE' );
    is( run( $redis->zcard('geo:near') ), 2, 'stored as a sorted set' );
    is( run( $redis->georadius_ro( 'geo:sicily', 15, 37, 200, 'km', 'ASC' ) ), [qw( Catania Palermo )], 'GEORADIUS_RO (deprecated, still there)' );
    is( run( $redis->georadiusbymember( 'geo:sicily', 'Palermo', 10, 'km' ) ), ['Palermo'], 'GEORADIUSBYMEMBER' );
};

done_testing;

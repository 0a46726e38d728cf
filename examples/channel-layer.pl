#!/usr/bin/env perl
# A small channel layer (examples/lib/ChannelLayer.pm) on Future::IO::Redis: groups as Redis sets,
# a Lua fan-out into per-consumer capped lists plus a PUBLISH wake-up, consumers woken through one
# pattern subscription and draining their lists through a pool. Against a private redis-server
# this script starts itself on a free loopback port.
#   perl -Mblib examples/channel-layer.pl            (or with REDIS_URL=redis://host:port to use yours)
use v5.14;
use warnings;
use lib 't/lib', 'examples/lib';
use Future::AsyncAwait;
use Future::IO;
use Future::IO::Redis;
use Future::IO::Redis::Pool;
use ChannelLayer;
use ExampleServer;

my ( $uri, $server ) = ExampleServer::uri();

my $main = async sub {
    my $pool  = Future::IO::Redis::Pool->new( uri => $uri, min => 1, max => 4 );
    my $layer = ChannelLayer->new(
        pool       => $pool,
        subscriber => Future::IO::Redis->new( uri => $uri ),    # the one subscribed connection
        prefix     => "demo:$$:",
        capacity   => 100,
        expiry     => 60,
    );
    await $layer->start;
    say "subscribed to ", $layer->prefix, "wake:* (one pattern for every consumer)";

    my @people = qw( alice bob carol dave );
    my %got;
    my ( $delivered, $target, $all ) = ( 0, undef, Future->new );
    my $wait_all = async sub {    # until $target deliveries in all
        ( $target, $all ) = ( shift, Future->new );
        $all->done if $delivered >= $target;
        await Future->wait_any( $all, Future::IO->sleep(5)->then( sub { Future->fail("timed out waiting for deliveries\n") } ) );
    };
    for my $who (@people) {
        $layer->consume( $who, sub {
            my ( $msg, $consumer ) = @_;
            say "  $consumer <- $msg";
            push @{ $got{$consumer} }, $msg;
            $delivered++;
            $all->done if defined $target && $delivered >= $target && !$all->is_ready;
        } );
    }

    for my $p (qw( alice bob carol )) { await $layer->group_add( "room:perl", $p ) }
    for my $p (qw( carol dave )) { await $layer->group_add( "room:rust", $p ) }
    say "groups: room:perl = alice bob carol; room:rust = carol dave";

    my @sends = (
        [ group_send => 'room:perl', 'hello, Perl people' ],
        [ group_send => 'room:rust', 'hello, Rust people' ],
        [ send       => 'dave',      'psst, dave' ],
        [ group_send => 'room:perl', 'second message to room:perl' ],
    );
    my $inboxes = 0;
    for my $s (@sends) {
        my ( $how, $to, $msg ) = @$s;
        my $n = await $layer->$how( $to, $msg );
        $inboxes += $n;
        say "$how($to, '$msg') -> $n inbox(es)";
    }
    await $wait_all->($inboxes);

    await $layer->group_discard( 'room:perl', 'bob' );
    say "bob left room:perl";
    $inboxes += await $layer->group_send( 'room:perl', 'after bob left' );
    await $wait_all->($inboxes);

    say "delivered: ", join ', ', map { "$_ " . scalar @{ $got{$_} // [] } } @people;
    printf "wake-ups %d, LPOP round trips %d, pool %s\n", $layer->wakeups, $layer->drains,
      join ' ', map { "$_=" . $pool->stats->{$_} } qw( total active idle destroyed );
    await $layer->stop;
    $pool->shutdown;
    say "done";
};

$main->()->get;

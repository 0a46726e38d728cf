#!/usr/bin/env perl
# A chat room over pub/sub: everyone subscribes to the room's channel on a connection of their
# own (a subscribed connection carries only messages) and posts with PUBLISH on another.
#   perl examples/chat.pl [redis://host:port]       (default: $REDIS_URL, else redis://127.0.0.1:6379)
use v5.14;
use warnings;
use Future::AsyncAwait;
use Future::IO::Redis;

my $uri  = $ARGV[0] // $ENV{REDIS_URL} // 'redis://127.0.0.1:6379';
my $room = "fior-example:chat:$$";
my @people = qw( alice bob carol );

# One listener per person: prints what the others say, until someone says /quit.
my $listen = async sub {
    my ( $me, $sub ) = @_;
    my $heard = 0;
    while ( my $msg = await $sub->next ) {
        my ( $from, $text ) = split /: /, $msg->{data}, 2;
        last if $text eq '/quit';
        next if $from eq $me;
        say "[$me] $from says: $text";
        $heard++;
    }
    await $sub->unsubscribe;
    return "$me heard $heard messages";
};

my $main = async sub {
    my %listener;
    my @clients;
    for my $me (@people) {
        my $redis = Future::IO::Redis->new( uri => $uri, client_name => "chat-$me" );
        push @clients, $redis;
        my $sub = await $redis->subscribe($room);    # subscribed once this resolves
        $listener{$me} = $listen->( $me, $sub );
    }

    my $poster = Future::IO::Redis->new( uri => $uri );
    for my $line ( 'alice: hi all', 'bob: hello alice', 'carol: hey!', 'alice: bye', 'alice: /quit' ) {
        my $receivers = await $poster->publish( $room, $line );
        say "posted '$line' to $receivers listeners";
    }

    say for await Future->needs_all( map { $listener{$_} } @people );
    $_->disconnect for @clients, $poster;
};

$main->()->get;

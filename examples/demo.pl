#!/usr/bin/env perl
# A tour of Future::IO::Redis: commands, many in flight at once, a pipeline, a typed error.
#   perl examples/demo.pl [redis://host:port]     (default: $REDIS_URL, else redis://127.0.0.1:6379)
# Its keys live under a prefix of their own ("fior-demo:<pid>:") and are deleted at the end.
use v5.14;
use warnings;
use Future::AsyncAwait;
use Future::IO::Redis;
use Syntax::Keyword::Try;
use Time::HiRes qw(time);

my $uri    = $ARGV[0] // $ENV{REDIS_URL} // 'redis://127.0.0.1:6379';
my $prefix = "fior-demo:$$:";

my $redis = Future::IO::Redis->new(
    uri           => $uri,
    prefix        => $prefix,      # every key this client names is under $prefix
    client_name   => 'fior-demo',
    on_disconnect => sub { my ( undef, $why ) = @_; say "  (disconnected: $why)" },
);

my $main = async sub {
    await $redis->connect;
    say "connected";

    await $redis->set( greeting => 'hello, world' );
    say "GET greeting -> ", await $redis->get('greeting');

    await $redis->hset( 'user:1', name => 'Ada', lang => 'Perl' );
    my $user = await $redis->hgetall('user:1');
    say "HGETALL user:1 -> { ", join( ', ', map { "$_ => $user->{$_}" } sort keys %$user ), " }";

    my $t = time;
    my @v = await Future->needs_all( map { $redis->incr('counter') } 1 .. 10_000 );
    printf "10,000 INCRs in flight at once: %.0f ms, last value %d\n", ( time - $t ) * 1000, $v[-1];

    my $results = await $redis->pipeline->set( a => 1 )->incr('a')->get('a')->incr('greeting')->execute;
    say "pipeline -> [ ", join( ', ', map { ref $_ ? ref($_) . ": $_" : $_ } @$results ), " ]";

    try {
        await $redis->incr('greeting');
    }
    catch ($e) {
        say "typed error: ", ref $e, " (code ", $e->code, "): $e";
    }

    my $info = await $redis->info('server');
    say "server: redis ", $info->{server}{redis_version};

    my $deleted = await $redis->del( qw( greeting user:1 counter a ) );
    say "cleaned up: $deleted keys deleted";

    await $redis->disconnect;
    say "done";
};

$main->()->get;

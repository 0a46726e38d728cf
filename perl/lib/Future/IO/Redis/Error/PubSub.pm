package Future::IO::Redis::Error::PubSub 0.001;
use v5.14;
use warnings;

use Future::IO::Redis::Error ();
our @ISA = ('Future::IO::Redis::Error');

sub category     { 'pubsub' }
sub is_transient { 0 }

1;

__END__

=head1 NAME

Future::IO::Redis::Error::PubSub - command refused on a subscribed connection

=head1 SYNOPSIS

    my $sub = await $redis->subscribe('news');
    eval { await $redis->get('key') };
    # $@ isa Future::IO::Redis::Error::PubSub: GET cannot be sent on a subscribed connection

=head1 DESCRIPTION

A client that subscribed (C<subscribe>, C<psubscribe>, C<ssubscribe>) is in subscribe mode
until every subscription has ended: only the subscribe family, C<PING>, C<QUIT> and C<RESET>
can be sent on it. Any other command fails at once with this error; it never reaches the
server, and messages keep flowing. Use another client for commands. C<command> names the
refused command.

=cut

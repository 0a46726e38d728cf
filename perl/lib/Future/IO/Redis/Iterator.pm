package Future::IO::Redis::Iterator 0.001;
use v5.14;
use warnings;

use Carp ();
use Future;
use Future::IO::Redis::Error;
use Future::IO::Redis::Engine;

our @CARP_NOT = qw( Future::IO::Redis );

# A SCAN-family cursor walked batch by batch: SCAN (keys), HSCAN (field/value pairs), SSCAN
# (members), ZSCAN (member/score pairs). Made by $redis->scan_iter and friends.

my %OPTIONS = (
    SCAN  => { match => 1, count => 1, type => 1 },
    HSCAN => { match => 1, count => 1 },
    SSCAN => { match => 1, count => 1 },
    ZSCAN => { match => 1, count => 1 },
);

sub new {
    my ( $class, %a ) = @_;
    my ( $redis, $command, $key ) = @a{qw( redis command key )};
    my $opts = $a{options} || {};
    my $ok   = $OPTIONS{$command} or Carp::croak("Future::IO::Redis::Iterator: unknown command '$command'");
    my $what = lc($command) . '_iter';
    for my $k ( sort keys %$opts ) {
        Carp::croak("Future::IO::Redis: $what: unknown option '$k' (options: @{[ join ', ', sort keys %$ok ]})")
          unless $ok->{$k};
        Carp::croak("Future::IO::Redis: $what: $k must be a string") if !defined $opts->{$k} || ref $opts->{$k};
    }
    Carp::croak("Future::IO::Redis: $what: count must be a positive integer, not '$opts->{count}'")
      if defined $opts->{count} && $opts->{count} !~ /\A[1-9][0-9]*\z/;
    if ( $command ne 'SCAN' ) {
        Carp::croak("Future::IO::Redis: $what needs a key") if !defined $key || ref $key;
    }

    # With a key prefix, SCAN only looks at this client's keys (MATCH prefix + pattern, the
    # prefix's own glob characters escaped) and returns them without the prefix. The key of
    # HSCAN/SSCAN/ZSCAN gets the prefix from command() itself.
    my $prefix = $command eq 'SCAN' ? $redis->{prefix} : undef;
    my $match  = $opts->{match};
    if ( defined $prefix ) {
        ( my $escaped = $prefix ) =~ s/([*?\[\]\\])/\\$1/g;
        if ( defined $match ) {
            utf8::encode( $match = "$match" ) if utf8::is_utf8($match);
            $match = $escaped . $match;
        }
        else {
            $match = $escaped . '*';
        }
    }
    my @options = (
        ( defined $match          ? ( MATCH => $match )          : () ),
        ( defined $opts->{count}  ? ( COUNT => $opts->{count} )  : () ),
        ( defined $opts->{type}   ? ( TYPE  => $opts->{type} )   : () ),
    );
    return bless {
        redis    => $redis,
        command  => $command,
        key      => $key,
        options  => \@options,
        strip    => $prefix,
        cursor   => '0',
        started  => 0,
        finished => 0,
        last     => undef,
        round    => 0,    # bumped by reset: replies to calls made before it move nothing
    }, $class;
}

sub next {
    my ($self) = @_;
    # Calls made before the previous batch arrived wait for it: each gets its own batch.
    my $prev = $self->{last};
    my $f = $prev && !$prev->is_ready ? $prev->followed_by( sub { $self->_fetch } ) : $self->_fetch;
    $self->{last} = $f;
    return $f;
}

sub _fetch {
    my ($self) = @_;
    return Future->done(undef) if $self->{finished};
    my $result = Future::IO::Redis::Engine::new_future();
    $result->on_cancel( sub { $self->{finished} = 1 } );
    $self->_step($result);
    return $result;
}

# Ask for the next batch; empty batches are skipped (without nesting Futures), and the end of
# the iteration (cursor 0 again) resolves to undef when its batch is empty.
sub _step {
    my ( $self, $result ) = @_;
    my @key = $self->{command} eq 'SCAN' ? () : ( $self->{key} );
    $self->{started} = 1;
    my $round = $self->{round};
    my $f = eval { $self->{redis}->command( $self->{command}, @key, $self->{cursor}, @{ $self->{options} } ) };
    unless ($f) {
        $self->{finished} = 1;
        $result->fail( $@ || 'Future::IO::Redis: cannot send ' . $self->{command} );
        return;
    }
    $f->on_ready(
        sub {
            my ($f) = @_;
            return if $result->is_ready;    # cancelled
            if ( $f->is_failed ) {
                $result->fail( $f->failure );
                return;
            }
            my ($reply) = $f->get;
            unless ( ref $reply eq 'ARRAY' && @$reply == 2 && defined $reply->[0] && ref $reply->[1] eq 'ARRAY' ) {
                $self->{finished} = 1;
                $result->fail(
                    Future::IO::Redis::Error::Protocol->new(
                        message => "Future::IO::Redis: $self->{command} replied with something that is not [cursor, items]"
                    )
                );
                return;
            }
            my ( $cursor, $items ) = @$reply;
            # After a reset, this batch still goes to whoever asked for it, but the iteration
            # starts again from cursor 0.
            my $current = $round == $self->{round};
            if ($current) {
                $self->{cursor} = $cursor;
                $self->{finished} = 1 if $cursor eq '0';
            }
            if ( defined( my $p = $self->{strip} ) ) {
                my $n = length $p;
                $items = [ map { substr( $_, 0, $n ) eq $p ? substr( $_, $n ) : $_ } @$items ];
            }
            if (@$items) {
                $result->done($items);
            }
            elsif ( !$current || $self->{finished} ) {
                $result->done( $current ? undef : [] );
            }
            else {
                $self->_step($result);
            }
        }
    );
}

sub cursor   { $_[0]{cursor} }
sub finished { $_[0]{finished} ? 1 : 0 }
sub done     { $_[0]{finished} ? 1 : 0 }

# Back to the start: the next `next` asks for cursor 0 again.
sub reset {
    my ($self) = @_;
    $self->{round}++;
    $self->{cursor}   = '0';
    $self->{finished} = 0;
    $self->{started}  = 0;
    return $self;
}

# Everything that is left, in one array (for small collections).
sub all {
    my ($self) = @_;
    my @all;
    my $result = Future::IO::Redis::Engine::new_future();
    my $more;
    $more = sub {
        $self->next->on_ready(
            sub {
                my ($f) = @_;
                if ( $f->is_failed ) { undef $more; return $result->fail( $f->failure ) }
                my ($batch) = $f->get;
                if ($batch) { push @all, @$batch; return $more->() }
                undef $more;
                $result->done( \@all );
            }
        );
    };
    $more->();
    return $result;
}

1;

__END__

=head1 NAME

Future::IO::Redis::Iterator - walk a SCAN, HSCAN, SSCAN or ZSCAN cursor batch by batch

=head1 SYNOPSIS

    my $iter = $redis->scan_iter( match => 'user:*', count => 100 );
    while ( my $keys = await $iter->next ) {
        say for @$keys;
    }

    my $fields = $redis->hscan_iter( 'user:1', match => 'pref:*' );
    while ( my $pairs = await $fields->next ) {
        my %batch = @$pairs;                   # field => value
    }

    my $members = await $redis->sscan_iter('tags')->all;

=head1 DESCRIPTION

The client's C<scan_iter>, C<hscan_iter>, C<sscan_iter> and C<zscan_iter> return one of these.
The cursor is kept inside. Each batch is what the server returned for one call (C<count> is a
hint to the server, not a guarantee); empty batches are skipped. As with the commands themselves,
an element present for the whole iteration is returned at least once, and one added or removed
meanwhile may or may not be; a key may be returned twice if the server rehashes meanwhile.

With the client's C<prefix> option, C<scan_iter> asks only for the client's keys
(C<MATCH prefix + pattern>, or C<MATCH prefix*> without a pattern) and returns them without the
prefix; the key given to C<hscan_iter>, C<sscan_iter> and C<zscan_iter> gets the prefix, the
fields and members they return are as stored.

=head1 METHODS

=head2 next

    my $batch = await $iter->next;

Resolves to the next batch (an array reference: keys for SCAN, members for SSCAN, flat
C<field, value, ...> pairs for HSCAN, C<member, score, ...> pairs for ZSCAN), or to undef once
the cursor came back to 0 and everything was returned. Never the same batch twice: calls made
before the previous batch arrived wait for it. Fails like the command would (e.g. with
C<Error::Redis> C<WRONGTYPE>).

=head2 all

    my $everything = await $iter->all;

Resolves to an array reference of everything the remaining batches hold.

=head2 cursor, finished

The cursor of the next call (C<'0'> before the first), and whether the iteration is over.

=head2 done

    until ( $iter->done ) { my $batch = await $iter->next; ... }

1 once the iteration is over (the server returned cursor 0 and C<next> has nothing more),
else 0: the same as C<finished>, under the name earlier clients of this design use. Note that
the last batch itself may come with the end: C<done> is then 1 as soon as that batch arrived,
and a C<next> after it resolves to undef.

=head2 reset

    $iter->reset;
    my $again = await $iter->all;    # everything, from the start

Starts the iteration again from cursor 0 (also after it ended), with the same options; returns
the iterator. A C<next> that was still waiting when C<reset> was called still gets its batch
(an empty batch rather than C<undef> if that was the end), but moves nothing: the next call
after the reset starts at cursor 0. For example:

    use Future::AsyncAwait;
    use Future::IO::Redis;

    my $redis = Future::IO::Redis->new;
    await $redis->sadd( 'tags', qw( a b c ) );
    my $iter  = $redis->sscan_iter('tags');
    my $first = await $iter->all;            # [ 'a', 'b', 'c' ] in some order
    print $iter->done, "\n";                 # 1
    $iter->reset;
    print $iter->done, "\n";                 # 0
    my $again = await $iter->all;            # the same members again

=cut

package Future::IO::Redis::Commands 0.001;
use v5.14;
use warnings;

# Command methods shared by the client and the pipeline. Both implement `command(@args)` and
# `_transform($result, $code)`; a method here is `command` with the command's words in front.
#
# This hand-written set covers the common commands until bin/generate-commands writes this file
# from Redis' own command table.

# Reply transformers.
sub _pairs_to_hash {
    my ($pairs) = @_;
    return $pairs unless ref $pairs eq 'ARRAY';
    return {@$pairs};
}

sub _parse_info {
    my ($raw) = @_;
    return $raw unless defined $raw && !ref $raw;
    my ( %info, $section );
    for my $line ( split /\r?\n/, $raw ) {
        if ( $line =~ /\A#\s*(.+?)\s*\z/ ) {
            ( $section = lc $1 ) =~ s/\s+/_/g;
            $info{$section} //= {};
            next;
        }
        next unless length $line;
        my ( $k, $v ) = split /:/, $line, 2;
        next unless defined $v;
        $info{ $section // 'default' }{$k} = $v;
    }
    return \%info;
}

sub _time_pair {
    my ($t) = @_;
    return $t unless ref $t eq 'ARRAY' && @$t == 2;
    return [ 0 + $t->[0], 0 + $t->[1] ];
}

my %TRANSFORM = (
    'HGETALL'    => \&_pairs_to_hash,
    'CONFIG GET' => \&_pairs_to_hash,
    'INFO'       => \&_parse_info,
    'TIME'       => \&_time_pair,
);

our @METHODS = qw(
  append auth bitcount blmove blpop brpop brpoplpush client_getname client_id client_kill
  client_list client_setname config_get config_set dbsize decr decrby del discard dump echo
  eval evalsha exec exists expire expireat flushall flushdb get getdel getex getrange getset
  hdel hexists hget hgetall hincrby hincrbyfloat hkeys hlen hmget hmset hset hsetnx hvals
  incr incrby incrbyfloat info keys lindex linsert llen lmove lpop lpos lpush lpushx lrange
  lrem lset ltrim mget mset msetnx multi object_encoding persist pexpire pexpireat ping
  pttl publish randomkey rename renamenx rpop rpoplpush rpush rpushx sadd scard script_exists
  script_flush script_load sdiff sdiffstore select set setex setnx setrange sinter
  sinterstore sismember smembers smismember smove spop srandmember srem strlen sunion
  sunionstore time ttl type unlink unwatch watch zadd zcard zcount zincrby zrange
  zrangebyscore zrank zrem zremrangebyrank zremrangebyscore zrevrange zrevrank zscore
);

# Call $code->($method, \@words, $transform) for every command method.
sub each_method {
    my ($code) = @_;
    for my $method (@METHODS) {
        my @words = map { uc } split /_/, $method;
        $code->( $method, \@words, $TRANSFORM{"@words"} );
    }
}

# The generic methods, for any class with `command` and `_transform` (the pipeline; the client
# replaces them with compiled send paths).
each_method(
    sub {
        my ( $method, $words, $transform ) = @_;
        my @words = @$words;
        no strict 'refs';
        *{$method} = $transform
          ? sub { my $self = shift; $self->_transform( $self->command( @words, @_ ), $transform ) }
          : sub { shift->command( @words, @_ ) };
    }
);

1;

__END__

=head1 NAME

Future::IO::Redis::Commands - command methods of Future::IO::Redis and its pipelines

=head1 SYNOPSIS

    my $value = await $redis->get('key');
    await $redis->client_setname('worker-1');
    my $hash  = await $redis->hgetall('user:1');     # { name => ..., ... }
    my $info  = await $redis->info('server');        # { server => { redis_version => ... } }

=head1 DESCRIPTION

One method per Redis command, named in lower case with subcommands joined by an underscore
(C<CLIENT SETNAME> is C<client_setname>, C<SCRIPT LOAD> is C<script_load>). Each sends the
command with the method's arguments after its name and resolves to the reply, or, on a
pipeline, queues the command and returns the pipeline.

Replies are returned as the server sent them, except:

=over 4

=item hgetall, config_get

a hash reference built from the field/value pairs;

=item info

a hash reference of sections (lower-case names such as C<server>, C<memory>, C<keyspace>),
each a hash reference of C<< field => value >>;

=item time

C<[ $seconds, $microseconds ]> as numbers.

=back

The methods available: @METHODS in this module (append, auth, bitcount, blmove, blpop, brpop,
... zscore). Any other command works through C<< $redis->command(NAME, @args) >>.

=cut

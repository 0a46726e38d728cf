# Randomised replies from a fake server (Test::FIORedis::FakeServer): for each command it sends a
# RESP2 reply that is either valid (random nested values, empty strings and errors, binary bulk
# strings with CRLF inside) or mutated in a known way, always split across writes at random
# boundaries with short pauses:
#
#   truncated   a strict prefix of a valid reply, then the connection closes -> Error::Connection
#   too long    a bulk length beyond every byte sent, then close            -> Error::Connection
#   too short   a bulk length that ends where no CRLF is                    -> Error::Protocol
#   bad type    one node's type byte replaced by one that is not + - : $ *  -> Error::Protocol
#   garbage     random bytes that do not start with a type byte            -> Error::Protocol
#   too deep    arrays nested beyond the documented 16,384                  -> Error::Protocol
#   huge        $1099511627776, $9223372036854775807 and *1099511627776 with a few bytes, then
#               close (these once aborted the process)                   -> Protocol or Connection
#
# Checked: every valid reply arrives exactly (values compared without recursion), every mutated
# one fails its Future with the typed error above, no Future stays pending (each is run with a
# timeout), the process survives, and meanwhile another client of this process, talking to a
# real redis-server, gets exactly its replies throughout.
#
# Deterministic: the seed is printed; FIOR_FUZZ_SEED=n repeats a run, FIOR_FUZZ_CASES=n changes
# the number of cases (default 300; the run is bounded well under 30 s).
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Test::FIORedis::FakeServer;
use Future::AsyncAwait;
use Time::HiRes ();

my $SEED  = $ENV{FIOR_FUZZ_SEED}  // 20241130;
my $CASES = $ENV{FIOR_FUZZ_CASES} // 300;
diag "fuzz-replies: seed $SEED ($CASES cases; repeat with FIOR_FUZZ_SEED=$SEED), loop " . loop_name();
srand($SEED);

my $EMPTY_ERROR = 'the server sent an empty error reply';
my $MAX_DEPTH   = 16_384;

# ----- values, their encoding and the places a mutation can hit --------------------------------

# A random value: [kind, payload]; kinds simple, error, int, bulk, nil, nilarray, array.
sub random_value {
    my ($depth) = @_;
    my $r = rand;
    if ( $depth < 4 && $r < 0.25 ) {
        return [ array => [ map { random_value( $depth + 1 ) } 1 .. int( rand 5 ) ] ];
    }
    return [ simple => random_text( int rand 20 ) ]                      if $r < 0.40;
    return [ error  => rand() < 0.15 ? '' : random_code() . ' ' . random_text( int rand 30 ) ] if $r < 0.50;
    return [ int    => ( rand() < 0.5 ? -1 : 1 ) * int( rand 2**31 ) ]   if $r < 0.62;
    return [ nil => undef ]                                              if $r < 0.68;
    return [ nilarray => undef ]                                         if $r < 0.72;
    return [ bulk => random_bytes( rand() < 0.1 ? int rand 20_000 : int rand 40 ) ];
}

sub random_text  { join '', map { chr( 32 + int rand 95 ) } 1 .. $_[0] }
sub random_bytes { join '', map { rand() < 0.1 ? "\r\n" : chr( int rand 256 ) } 1 .. $_[0] }
sub random_code  { (qw(ERR WRONGTYPE NOSCRIPT LOADING BUSY MOVED Err x))[ int rand 8 ] }

# Encode; collects the offsets of every node's type byte and of every bulk string
# ([offset of its header, its length, offset of its data]).
sub encode {
    my ( $v, $out, $types, $bulks ) = @_;
    my ( $kind, $p ) = @$v;
    push @$types, length $$out;
    if    ( $kind eq 'simple' )   { $$out .= "+$p\r\n" }
    elsif ( $kind eq 'error' )    { $$out .= "-$p\r\n" }
    elsif ( $kind eq 'int' )      { $$out .= ":$p\r\n" }
    elsif ( $kind eq 'nil' )      { $$out .= "\$-1\r\n" }
    elsif ( $kind eq 'nilarray' ) { $$out .= "*-1\r\n" }
    elsif ( $kind eq 'bulk' ) {
        my $at = length $$out;
        my $hdr = '$' . length($p) . "\r\n";
        push @$bulks, [ $at, length $p, $at + length $hdr ];
        $$out .= $hdr . $p . "\r\n";
    }
    else {
        $$out .= '*' . scalar(@$p) . "\r\n";
        encode( $_, $out, $types, $bulks ) for @$p;
    }
}

# ----- the cases ---------------------------------------------------------------------------------
# Each: { wire => bytes, close => bool, want => value | undef, fails => [error classes], what }

my @cases;
my %count;

sub add_case { my (%c) = @_; $count{ $c{what} }++; push @cases, \%c }

sub valid_case {
    my $v = random_value(0);
    my $wire = '';
    encode( $v, \$wire, [], [] );
    add_case( what => 'valid', wire => $wire, want => $v );
}

sub mutated_case {
    my $v = random_value(0);
    $v = [ array => [ $v, random_value(1), [ bulk => random_bytes( 1 + int rand 30 ) ] ] ] if rand() < 0.5;
    my ( $wire, @types, @bulks ) = ('');
    encode( $v, \$wire, \@types, \@bulks );
    my $m = int rand 5;
    my $P = 'Future::IO::Redis::Error::Protocol';
    my $C = 'Future::IO::Redis::Error::Connection';
    if ( $m == 0 ) {
        my $cut = 1 + int rand( length($wire) - 1 );
        return add_case( what => 'truncated', wire => substr( $wire, 0, $cut ), close => 1, fails => [$C] );
    }
    if ( $m == 1 && @bulks ) {
        my ( $at, $len, $data ) = @{ $bulks[ int rand @bulks ] };
        my $more   = length($wire) - $data + 1 + int rand 10;          # beyond every byte sent
        my $header = '$' . ( $len + $more ) . "\r\n";
        substr( $wire, $at, $data - $at ) = $header;
        return add_case( what => 'too long', wire => $wire, close => 1, fails => [$C] );
    }
    if ( $m == 2 && ( my @b = grep { $_->[1] > 0 } @bulks ) ) {
        my ( $at, $len, $data ) = @{ $b[ int rand @b ] };
        my $payload = substr( $wire, $data, $len ) . "\r\n";
        my @short   = grep { substr( $payload, $_, 2 ) ne "\r\n" } 0 .. $len - 1;
        if (@short) {
            substr( $wire, $at, $data - $at ) = '$' . $short[ int rand @short ] . "\r\n";
            return add_case( what => 'too short', wire => $wire, close => 1, fails => [$P] );
        }
    }
    if ( $m == 3 ) {
        my @bad = grep { !/[-+:\$*]/ } map { chr } 0 .. 255;
        substr( $wire, $types[ int rand @types ], 1 ) = $bad[ int rand @bad ];
        return add_case( what => 'bad type', wire => $wire, close => 1, fails => [$P] );
    }
    my @bad = grep { !/[-+:\$*]/ } map { chr } 0 .. 255;
    add_case(
        what  => 'garbage',
        wire  => $bad[ int rand @bad ] . random_bytes( int rand 200 ),
        close => 1,
        fails => [$P]
    );
}

for my $i ( 1 .. $CASES ) {
    rand() < 0.6 ? valid_case() : mutated_case();
}

# Deep nesting: at the limit (valid) and beyond it (a Protocol error once the frame is complete).
for my $depth ( $MAX_DEPTH, $MAX_DEPTH + 1, 20_000 ) {
    my $wire = ( "*1\r\n" x $depth ) . ":7\r\n";
    if ( $depth <= $MAX_DEPTH ) {
        add_case( what => 'deep valid', wire => $wire, want => [ deep => $depth ] );
    }
    else {
        add_case( what => 'too deep', wire => $wire, fails => ['Future::IO::Redis::Error::Protocol'] );
    }
}

# Lengths no allocation can honour. These made the process ABORT while the decoder reserved the
# announced length at once; buffers now grow with the bytes that arrive, and a length over the
# maximum is a Protocol error as soon as its header is read.
# The header, then a few bytes in a later write (a read after the header is what asks for
# room for the announced length), then the connection closes.
for my $wire ( "\$1099511627776\r\nabc", "\$9223372036854775807\r\nabc", "*1099511627776\r\n:1\r\n" ) {
    my $header = index( $wire, "\n" ) + 1;
    add_case(
        what  => 'huge',
        wire  => $wire,
        close => 1,
        cuts  => [ $header, $header + 1 ],
        pause => [ 0.02, 0.02, 0 ],
        fails => [ 'Future::IO::Redis::Error::Protocol', 'Future::IO::Redis::Error::Connection' ]
    );
}

# Shuffle (the deep and huge cases too), deterministically.
for ( my $i = @cases - 1 ; $i > 0 ; $i-- ) {
    my $j = int rand( $i + 1 );
    @cases[ $i, $j ] = @cases[ $j, $i ];
}

# How each reply is written: cut at random places, a short pause between the pieces.
for my $c ( grep { !$_->{cuts} } @cases ) {
    my $len  = length $c->{wire};
    my @cuts = sort { $a <=> $b } map { 1 + int rand( $len > 1 ? $len - 1 : 1 ) } 1 .. int rand 5;
    push @cuts, 1 if $len > 1 && rand() < 0.2;    # often the type byte alone
    my %seen;
    $c->{cuts}  = [ grep { $_ < $len && !$seen{$_}++ } sort { $a <=> $b } @cuts ];
    $c->{pause} = [ map { rand() < 0.5 ? 0 : rand 0.003 } 0 .. @{ $c->{cuts} } ];
}

# ----- the fake server: `ECHO case-N` gets case N ------------------------------------------------

my $fake = Test::FIORedis::FakeServer->start(
    sub {
        my ($sock) = @_;
        while ( my @cmd = Test::FIORedis::FakeServer::read_command($sock) ) {
            if ( uc $cmd[0] eq 'PING' ) {
                Test::FIORedis::FakeServer::write_all( $sock, "+PONG\r\n" ) or return;
                next;
            }
            my ($n) = ( $cmd[1] // '' ) =~ /\Acase-(\d+)\z/ or return;
            my $c = $cases[$n] or return;
            my $from = 0;
            my @pause = @{ $c->{pause} };
            for my $to ( @{ $c->{cuts} }, length $c->{wire} ) {
                Test::FIORedis::FakeServer::write_all( $sock, substr( $c->{wire}, $from, $to - $from ) ) or return;
                $from = $to;
                my $p = shift @pause;
                Time::HiRes::sleep($p) if $p;
            }
            return if $c->{close};
        }
    }
);

my $srv  = start_server();
my $real = client($srv);
run( $real->del('fuzz:counter') );

my $fuzz = Future::IO::Redis->new(
    host                => '127.0.0.1',
    port                => $fake->port,
    reconnect_delay     => 0.005,
    reconnect_delay_max => 0.02,
    retry               => 'none',
    request_timeout     => 5,
    connect_timeout     => 5,
);

# ----- comparing without recursion ----------------------------------------------------------------

# undef when $got is the Perl value of $want, else where it first differs.
sub differs {
    my ( $got, $want ) = @_;
    if ( $want->[0] eq 'deep' ) {
        my $d = 0;
        while ( ref $got eq 'ARRAY' ) {
            return "array of " . scalar(@$got) . " at depth $d" unless @$got == 1;
            $got = $got->[0];
            $d++;
        }
        return $d == $want->[1] && defined $got && $got eq '7' ? undef : "depth $d, leaf " . ( $got // 'undef' );
    }
    my @todo = ( [ $got, $want, 'reply' ] );
    while ( my $t = pop @todo ) {
        my ( $g, $w, $path ) = @$t;
        my ( $kind, $p ) = @$w;
        my $show = sub { defined $_[0] ? ref $_[0] ? ref $_[0] : "'$_[0]'" : 'undef' };
        if ( $kind eq 'array' ) {
            return "$path: want an array of " . scalar(@$p) . ', got ' . $show->($g)
              unless ref $g eq 'ARRAY' && @$g == @$p;
            push @todo, map { [ $g->[$_], $p->[$_], "$path\[$_]" ] } 0 .. $#$p;
        }
        elsif ( $kind eq 'error' ) {
            my $msg = length $p ? $p : $EMPTY_ERROR;
            return "$path: want error '$msg', got " . $show->($g)
              unless ref $g && eval { $g->isa('Future::IO::Redis::Error::Redis') } && $g->message eq $msg;
        }
        elsif ( $kind eq 'nil' || $kind eq 'nilarray' ) {
            return "$path: want undef, got " . $show->($g) if defined $g;
        }
        else {
            return "$path: want '$p', got " . $show->($g) unless defined $g && !ref $g && $g eq $p;
        }
    }
    return undef;
}

# ----- the run -----------------------------------------------------------------------------------

my $t0 = Time::HiRes::time();
my ( %failed_with, @problems );
my ( $real_ok, $batches ) = ( 0, 0 );
my $i = 0;
while ( $i < @cases ) {
    # Valid cases go out in bursts of up to 4 (pipelined); a mutated one alone.
    my @batch = ($i);
    while ( !$cases[ $batch[0] ]{fails} && @batch < 1 + int rand 4 && $i + @batch < @cases && !$cases[ $i + @batch ]{fails} ) {
        push @batch, $i + @batch;
    }
    $i += @batch;
    $batches++;
    my @f = map { $fuzz->command( 'ECHO', "case-$_" ) } @batch;
    my $r_echo  = $real->echo("real-$i");
    my $r_count = $real->incr('fuzz:counter');
    my $all     = Future->wait_all( @f, $r_echo, $r_count );
    unless ( eval { run( $all, 10 ); 1 } ) {
        push @problems, "cases @batch: still pending after 10 s ($@)";
        last;
    }
    for my $k ( 0 .. $#batch ) {
        my ( $n, $f, $c ) = ( $batch[$k], $f[$k], $cases[ $batch[$k] ] );
        my $label = "case $n ($c->{what})";
        if ( $c->{fails} ) {
            if ( !$f->is_failed ) {
                push @problems, "$label: want a failure, got a reply";
                next;
            }
            my $err = ( $f->failure )[0];
            my ($class) = grep { ref $err && $err->isa($_) } @{ $c->{fails} };
            push @problems, "$label: want @{ $c->{fails} }, got " . ( ref $err || "'$err'" ) unless $class;
            $failed_with{ $class // 'other' }++;
        }
        elsif ( $f->is_failed ) {
            my $err = ( $f->failure )[0];
            # A top-level error reply fails the Future: compare it as the value.
            my $why = $c->{want}[0] eq 'error' ? differs( $err, $c->{want} ) : "failed: $err";
            push @problems, "$label: $why" if defined $why;
        }
        else {
            my $why = differs( scalar $f->get, $c->{want} );
            push @problems, "$label: $why" if defined $why;
        }
    }
    my $count = $r_count->is_done ? $r_count->get : 'failed';
    my $echo  = $r_echo->is_done  ? $r_echo->get  : 'failed';
    if ( $echo ne "real-$i" || $count ne ++$real_ok ) {
        push @problems, "the real-server client after case $i: ECHO '$echo', INCR '$count' (want $real_ok)";
        last;
    }
    last if @problems > 10;
}
my $took = Time::HiRes::time() - $t0;

is( \@problems, [], 'every reply exact, every mutated one a typed error, nothing pending' );
is( $real_ok, $batches, "the real-server client got its replies in all $batches rounds" );
is( run( $real->get('fuzz:counter') ), $real_ok, "the real server counted $real_ok INCRs" );
my ($plain) = grep { !$cases[$_]{fails} && $cases[$_]{want}[0] !~ /\A(?:error|deep)\z/ } 0 .. $#cases;
is( differs( run( $fuzz->command( 'ECHO', "case-$plain" ), 10 ), $cases[$plain]{want} ), undef,
    'the fuzzed client still works at the end' );
ok( $took < 30, sprintf( '%d cases in %.1f s', scalar @cases, $took ) );
note 'cases: ' . join ', ', map { "$_ $count{$_}" } sort keys %count;
note 'failed with: ' . join ', ', map { "$_ $failed_with{$_}" } sort keys %failed_with;

run( $fuzz->disconnect );
$fake->stop;
done_testing;

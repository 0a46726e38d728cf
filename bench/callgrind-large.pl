#!/usr/bin/env perl
# Instructions per 1 MB SET+GET pair, by callgrind: a steadier measure than wall-clock time on a
# shared machine. Runs the pair N and 5N times under valgrind --tool=callgrind (against a private
# redis-server on a loopback port) and divides the difference by 4N, so that start-up cancels out;
# then lists the callers of memcpy/memmove per pair (each 1 MB copy shows as about 1M).
#
#   perl -Mblib bench/callgrind-large.pl [--pairs N] [--size BYTES] [--keep DIR]
#
# Needs valgrind (callgrind_annotate). Takes about 20 s.
use v5.14;
use warnings;
use lib 't/lib';
use Getopt::Long;
use File::Temp qw(tempdir);
use Test::FIORedis::Server;

my ( $pairs, $size, $keep ) = ( 4, 1_000_000, undef );
GetOptions( 'pairs=i' => \$pairs, 'size=i' => \$size, 'keep=s' => \$keep )
  or die "usage: $0 [--pairs N] [--size BYTES] [--keep DIR]\n";
system('valgrind --version >/dev/null 2>&1') == 0 or die "valgrind is not installed\n";

my $srv = Test::FIORedis::Server->start;
my $dir = $keep // tempdir( CLEANUP => 1 );
my $client = <<'EOF';
use v5.14; use warnings; use Future::AsyncAwait; use Future::IO::Redis;
my ( $port, $n, $size ) = @ARGV;
my $big = 'x' x $size;
my $r = Future::IO::Redis->new( host => '127.0.0.1', port => $port );
$r->connect->get;
( async sub { for my $i ( 1 .. $n ) { await $r->set( 'cg:big', $big ); length( await $r->get('cg:big') ) == $size or die } } )->()->get;
EOF

my %out;
for my $n ( $pairs, 5 * $pairs ) {
    my $file = "$dir/callgrind.$n.out";
    system( 'valgrind', '--tool=callgrind', "--callgrind-out-file=$file", '-q', $^X, ( map {"-I$_"} @INC ), '-e', $client, $srv->port, $n, $size ) == 0
      or die "the client failed under valgrind\n";
    $out{$n} = $file;
}

sub num { my ($n) = @_; $n =~ tr/,//d; return $n }

# Inclusive cost of each caller of the copy functions, and the program total, per file.
sub costs {
    my ($file) = @_;
    my %c;
    open my $fh, '-|', 'callgrind_annotate', '--tree=caller', '--threshold=100', $file or die "callgrind_annotate: $!\n";
    my @callers;
    while ( my $line = <$fh> ) {
        if ( $line =~ /^\s*([\d,]+)\s.*PROGRAM TOTALS/ ) { $c{TOTAL} = num($1); next }
        if ( $line =~ /^\s*([\d,]+) \([^)]*\)\s+<\s+(\S+)/ ) { push @callers, [ $2, num($1) ]; next }
        if ( $line =~ /\*\s+\S*:__mem(?:cpy|move)/ ) { $c{ $_->[0] } += $_->[1] for @callers }
        @callers = ();
    }
    return \%c;
}
my ( $lo, $hi ) = map { costs( $out{$_} ) } $pairs, 5 * $pairs;
my $per = sub { ( ( $hi->{ $_[0] } // 0 ) - ( $lo->{ $_[0] } // 0 ) ) / ( 4 * $pairs ) };
printf "instructions per %d-byte SET+GET pair: %.0f\n", $size, $per->('TOTAL');
say 'copies per pair (callers of memcpy/memmove, instructions):';
for my $k ( sort { $per->($b) <=> $per->($a) } grep { $_ ne 'TOTAL' } keys %$hi ) {
    my $v = $per->($k);
    last if $v < 10_000;
    printf "  %10.0f  %s\n", $v, $k;
}

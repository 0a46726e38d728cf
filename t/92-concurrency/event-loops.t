# The suite runs under Future::IO's default implementation; this runs a cross-section of it
# again under IO::Async (Future::IO::Impl::IOAsync), so that both loops are tested on every run.
use v5.14;
use warnings;
use Test2::V0;
use lib "t/lib";
use Test::FIORedis::Server -needs_server;    # the files it runs need one

my @files = qw(
  t/01-unit/protocol.t
  t/10-connection/basic.t
  t/10-connection/request-timeout.t
  t/10-connection/reconnect.t
  t/10-connection/fork-safety.t
  t/10-connection/tls.t
  t/30-pipeline/basic.t
  t/70-blocking/blpop.t
  t/91-reliability/network-partition.t
  t/92-concurrency/parallel-commands.t
  t/93-binary/binary-values.t
);

local $ENV{FIOR_LOOP} = 'ioasync';
my @inc = map { "-I$_" } grep { !ref } @INC;
for my $file (@files) {
    my $out = `$^X @inc $file 2>&1`;
    my $status = $? >> 8;
    my ($plan) = $out =~ /^1\.\.(\d+)/m;
    my $failed = () = $out =~ /^not ok/mg;
    ok( $status == 0 && $plan && !$failed, "$file under IO::Async" )
      or diag "exit $status, plan " . ( $plan // 'none' ) . ", $failed failed\n" . join "\n", grep { /^(?:not ok|#)/ } split /\n/, $out;
}

done_testing;

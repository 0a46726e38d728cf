# The module as built for installation (blib/arch) carries no debug information: the Rust
# release profile has none and the link strips the rest (Makefile.PL), so the .so is about 5 MB
# instead of about 20. A FIOR_CARGO_PROFILE=debug build keeps it on purpose.
use v5.14;
use warnings;
use Test2::V0;
use Future::IO::Redis;

my ($so) = grep { m{/Future/IO/Redis/Redis\.\w+$} } @DynaLoader::dl_shared_objects;
ok( $so && -f $so, 'the loaded XS module is found' ) or diag "@DynaLoader::dl_shared_objects";
note $so;

my $makefile = do { local ( @ARGV, $/ ) = 'Makefile'; <> } // '';
skip_all 'built with FIOR_CARGO_PROFILE=debug: debug information kept on purpose'
  if $makefile =~ /^MYEXTLIB = .*\/debug\/libfior\.a$/m;

open my $fh, '<:raw', $so or die "$so: $!";
local $/;
my $elf = <$fh>;
skip_all "$so is not an ELF file: this check reads ELF section names" unless substr( $elf, 0, 4 ) eq "\x7fELF";

# ELF header -> section headers -> the section-name string table -> every section's name.
my ( $class, $data ) = unpack 'x4 C C', $elf;
my $end = $data == 1 ? '<' : '>';
my ( $shoff, $shentsize, $shnum, $shstrndx ) =
    $class == 2
  ? unpack( "x40 Q$end x10 S$end S$end S$end", $elf )
  : unpack( "x32 L$end x10 S$end S$end S$end", $elf );
my $section = sub {    # (name offset, file offset, size) of section $i
    my $h = substr $elf, $shoff + $_[0] * $shentsize, $shentsize;
    return $class == 2 ? unpack( "L$end x20 Q$end Q$end", $h ) : unpack( "L$end x12 L$end L$end", $h );
};
my ( undef, $stroff ) = $section->($shstrndx);
my @names = map {
    my ($name) = $section->($_);
    unpack 'Z*', substr $elf, $stroff + $name;
} 0 .. $shnum - 1;

ok( scalar( grep { $_ eq '.text' } @names ), 'section names read (.text is there)' ) or diag "@names";
is( [ grep { /^\.(?:z?debug_|gnu_debuglink)/ } @names ], [], 'no debug sections' );
cmp_ok( length $elf, '<', 12_000_000, 'and the module is a few MB, not the ~20 MB it is with debug information' );

done_testing;

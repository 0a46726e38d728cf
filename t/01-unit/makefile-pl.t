# Makefile.PL checks the Rust toolchain before anything else: without cargo, or with a cargo or
# rustc older than the committed Cargo.lock needs, it says what is needed and exits 0 without
# writing a Makefile (CPAN Testers' NA, not FAIL), and without any Perl warning. Run on a copy of
# Makefile.PL in a temporary directory, with CARGO / RUSTC pointing at scripts that report a
# version.
use v5.14;
use warnings;
use Test2::V0;
use File::Copy qw(copy);
use File::Temp qw(tempdir);

my ($min) = do { local ( @ARGV, $/ ) = 'Makefile.PL'; <> } =~ /^my \$MIN_RUST = '([\d.]+)';/m;
ok( $min, "Makefile.PL states the Rust it needs ($min)" );
my ( $major, $minor ) = split /\./, $min;
my $older = "$major." . ( $minor - 1 ) . '.9';
my $newer = "$major." . ( $minor + 3 ) . '.0';

my $dir = tempdir( 'fior-mkpl-XXXXXX', TMPDIR => 1, CLEANUP => 1 );
copy( 'Makefile.PL', "$dir/Makefile.PL" ) or die "copy: $!";

sub fake_tool {
    my ( $name, $version ) = @_;
    my $f = "$dir/fake-$name-$version";
    open my $fh, '>', $f or die "$f: $!";
    print {$fh} "#!/bin/sh\necho '$name $version (0123abcd 2025-01-01)'\n";
    close $fh;
    chmod 0755, $f or die "chmod $f: $!";
    return $f;
}

# Runs the copy with %env; returns (exit status, stdout + stderr).
sub run_makefile_pl {
    my (%env) = @_;
    local @ENV{ keys %env } = values %env;
    my $out = `cd '$dir' && '$^X' -w Makefile.PL 2>&1`;
    return ( $? >> 8, $out );
}

sub no_makefile { ok( !-e "$dir/Makefile" && !-e "$dir/MYMETA.json", 'no Makefile, no MYMETA written' ) }

subtest 'cargo not found' => sub {
    my ( $status, $out ) = run_makefile_pl( CARGO => "$dir/no-such-cargo" );
    is( $status, 0, 'exit 0 (NA)' );
    like( $out, qr/cannot be built here: '\Q$dir\E\/no-such-cargo --version' did not run \(cargo not found\?\)/, 'says cargo was not found' );
    like( $out, qr/Rust \Q$min\E or newer/,      'names the Rust version needed' );
    like( $out, qr/CARGO=\/path\/to\/cargo/,      'says how to point at another cargo' );
    unlike( $out, qr/uninitialized|line \d+\./, 'no Perl warning' );
    no_makefile();
};

subtest 'cargo too old for Cargo.lock' => sub {
    my ( $status, $out ) = run_makefile_pl( CARGO => fake_tool( cargo => $older ), RUSTC => fake_tool( rustc => $newer ) );
    is( $status, 0, 'exit 0 (NA)' );
    like( $out, qr/cargo \Q$older\E is too old \(needs \Q$min\E or newer/, 'names the version found and the one needed' );
    unlike( $out, qr/uninitialized|line \d+\./, 'no Perl warning' );
    no_makefile();
};

subtest 'rustc too old' => sub {
    my ( $status, $out ) = run_makefile_pl( CARGO => fake_tool( cargo => $newer ), RUSTC => fake_tool( rustc => $older ) );
    is( $status, 0, 'exit 0 (NA)' );
    like( $out, qr/rustc \Q$older\E is too old \(needs \Q$min\E or newer/, 'names the rustc found and the version needed' );
    no_makefile();
};

subtest 'a cargo that prints no version' => sub {
    my $f = "$dir/odd-cargo";
    open my $fh, '>', $f or die;
    print {$fh} "#!/bin/sh\necho 'error: no default toolchain configured'\n";
    close $fh;
    chmod 0755, $f;
    my ( $status, $out ) = run_makefile_pl( CARGO => $f );
    is( $status, 0, 'exit 0 (NA)' );
    like( $out, qr/cannot read a version from '\Q$f\E --version': error: no default toolchain configured/, 'quotes what it printed' );
    no_makefile();
};

subtest 'FIOR_CARGO_PROFILE must be a profile name' => sub {
    my ( $status, $out ) = run_makefile_pl( CARGO => fake_tool( cargo => $newer ), RUSTC => fake_tool( rustc => $newer ), FIOR_CARGO_PROFILE => 'rel ease;' );
    isnt( $status, 0, 'a bad profile name is an error' );
    like( $out, qr/FIOR_CARGO_PROFILE='rel ease;' is not a profile name/, 'naming the variable and value' );
    no_makefile();
};

subtest 'CARGO_TARGET_DIR with whitespace: refused at once, not at link time' => sub {
    my ( $status, $out ) = run_makefile_pl(
        CARGO            => fake_tool( cargo => $newer ),
        RUSTC            => fake_tool( rustc => $newer ),
        CARGO_TARGET_DIR => "$dir/with space",
    );
    isnt( $status, 0, 'an error' );
    like( $out, qr/CARGO_TARGET_DIR='\Q$dir\E\/with space' contains whitespace/, 'naming the variable and value' );
    no_makefile();
};

# With the real toolchain, on a copy of the Perl side of the sources: the Makefile builds the
# engine where CARGO_TARGET_DIR says, with the profile FIOR_CARGO_PROFILE names, and strips debug
# information at link time except for a debug build.
subtest 'CARGO_TARGET_DIR, CARGO and FIOR_CARGO_PROFILE reach the Makefile' => sub {
    my $src = tempdir( 'fior-mkpl-src-XXXXXX', TMPDIR => 1, CLEANUP => 1 );
    copy( 'Makefile.PL', "$src/Makefile.PL" ) or die "copy: $!";
    system( 'cp', '-R', 'perl', 'include', $src ) == 0 or die "cp -R failed";
    my $read = sub { local ( @ARGV, $/ ) = "$src/Makefile"; <> };

    local @ENV{qw(CARGO_TARGET_DIR FIOR_CARGO_PROFILE)} = ( "$src/cargo-out", undef );
    my $out = `cd '$src' && '$^X' -w Makefile.PL 2>&1`;
    is( $? >> 8, 0, 'Makefile.PL ran' ) or diag $out;
    unlike( $out, qr/uninitialized|warning/i, 'without a warning' );
    my $mk = $read->();
    like( $mk, qr{^MYEXTLIB = \Q$src\E/cargo-out/release/libfior\.a$}m, 'the library comes from CARGO_TARGET_DIR/release' );
    like( $mk, qr{^\t\S*cargo build --locked --lib --release --target-dir \Q$src\E/cargo-out$}m, 'cargo builds there, once, in make' );
    like( $mk, qr{^OTHERLDFLAGS = -Wl,-S$}m, 'debug information stripped at link time' ) if $^O eq 'linux';
    like( $mk, qr{^LDLOADLIBS = .*-lpthread}m, 'the native libraries rustc reports are linked' );
    ok( !-e "$src/cargo-out", 'Makefile.PL compiled nothing' );

    local $ENV{FIOR_CARGO_PROFILE} = 'debug';
    local $ENV{CARGO}              = fake_tool( cargo => $newer );
    delete local $ENV{CARGO_TARGET_DIR};
    $out = `cd '$src' && '$^X' -w Makefile.PL 2>&1`;
    is( $? >> 8, 0, 'Makefile.PL ran (debug profile, CARGO set)' ) or diag $out;
    $mk = $read->();
    like( $mk, qr{^MYEXTLIB = target/debug/libfior\.a$}m, 'debug: target/debug' );
    like( $mk, qr{^\t\Q$ENV{CARGO}\E build --locked --lib  --target-dir target$}m, 'with the CARGO given' );
    like( $mk, qr{^OTHERLDFLAGS = *$}m, 'and the debug information kept' );

    # A CARGO path with a space: run for its version and in the recipe, quoted.
    mkdir "$src/my tools" or die "mkdir: $!";
    copy( $ENV{CARGO}, "$src/my tools/cargo" ) or die "copy: $!";
    chmod 0755, "$src/my tools/cargo";
    local $ENV{CARGO} = "$src/my tools/cargo";
    $out = `cd '$src' && '$^X' -w Makefile.PL 2>&1`;
    is( $? >> 8, 0, 'Makefile.PL ran (CARGO with a space)' ) or diag $out;
    $mk = $read->();
    like( $mk, qr{^\t'\Q$ENV{CARGO}\E' build --locked --lib  --target-dir target$}m, 'the path quoted in the recipe' );
};

done_testing;

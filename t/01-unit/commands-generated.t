# The generated command methods against the command table of the running redis-server: every
# command and subcommand it lists has a method named by the rules, the committed Commands.pm is
# exactly what bin/generate-commands makes of share/commands.json, and that JSON is what this
# server reports (when it is the version the JSON came from).
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use File::Spec;
use File::Temp qw(tempdir);
use JSON::PP ();

use Future::IO::Redis;
use Future::IO::Redis::Commands;

my $srv   = start_server();
my $redis = client($srv);

my $json_file = 'share/commands.json';
my $pm_file   = 'perl/lib/Future/IO/Redis/Commands.pm';
my $table     = JSON::PP->new->utf8->decode( do { local ( @ARGV, $/ ) = $json_file; <> } );

my $server_version = run( $redis->info('server') )->{server}{redis_version};
my $json_version   = $table->{redis_version};
note "server $server_version, share/commands.json from $json_version";

sub version_cmp {
    my @a = split /\./, $_[0];
    my @b = split /\./, $_[1];
    for ( 0 .. 2 ) { my $c = ( $a[$_] // 0 ) <=> ( $b[$_] // 0 ); return $c if $c }
    return 0;
}

sub method_name { ( my $m = lc $_[0] ) =~ s/[|\s.-]+/_/g; $m }

# COMMAND DOCS in RESP2: a flat list of name, [field, value, ...]; subcommands the same inside.
sub pairs { my %h = @{ $_[0] }; \%h }
my $docs = pairs( run( $redis->command_docs ) );
my ( @expected, %container );
for my $name ( sort keys %$docs ) {
    my $d = pairs( $docs->{$name} );
    my $subs = $d->{subcommands} ? pairs( $d->{subcommands} ) : {};
    if (%$subs) {
        $container{$name} = 1;
        push @expected, [ $_, [ map { uc } split /\|/, $_ ] ] for sort keys %$subs;
    }
    else {
        push @expected, [ $name, [ uc $name ] ];
    }
}
my $count = run( $redis->command_count );
is( scalar keys %$docs, $count, "COMMAND DOCS lists COMMAND COUNT ($count) commands" );
note scalar(@expected) . ' commands and subcommands need a method; containers: ' . join ' ', sort keys %container;

my %unsupported = %Future::IO::Redis::Commands::UNSUPPORTED;
my %methods     = map { $_ => 1 } @Future::IO::Redis::Commands::METHODS;

subtest 'every command and subcommand of the server has a method' => sub {
    my @missing;
    for my $e (@expected) {
        my ( $name, $words ) = @$e;
        my $m = method_name($name);
        if ( !Future::IO::Redis->can($m) || !Future::IO::Redis::Pipeline->can($m) ) {
            push @missing, "$name ($m)";
            next;
        }
        next if $unsupported{$m};
        is( $Future::IO::Redis::Commands::WORDS{$m}, $words, "$m sends @$words" );
    }
    if ( version_cmp( $server_version, $json_version ) <= 0 ) {
        is( \@missing, [], "none missing (server $server_version, table $json_version)" );
    }
    else {
        todo "redis-server $server_version is newer than the table ($json_version): regenerate" => sub {
            is( \@missing, [], 'none missing' );
        };
    }
};

subtest 'method names' => sub {
    my %want = map { method_name( $_->[0] ) => 1 } @expected;
    for my $m ( @Future::IO::Redis::Commands::METHODS, sort keys %unsupported ) {
        like( $m, qr/\A[a-z][a-z0-9_]*\z/, "$m is lower-case snake_case" );
    }
    ok( $methods{$_}, "$_ exists" )
      for qw( client_setname config_get client_no_evict object_encoding xinfo_stream acl_whoami cluster_addslots
      get set hgetall script_load function_load xgroup_create memory_usage latency_histogram restore_asking );
    for my $c ( sort keys %container ) {
        next if $c eq 'command';
        ok( !$methods{$c} && !Future::IO::Redis::Commands->can($c), "container $c has no bare method" );
    }
    is( \&Future::IO::Redis::command, \&Future::IO::Redis::command, 'command stays' );
    ok( !$methods{command}, 'COMMAND is not a generated method: command() stays generic' );
    is( run( $redis->command('PING') ), 'PONG', 'command() still sends anything' );
    is( run( $redis->command_count ), $count, 'command_count is COMMAND COUNT' );
    is( scalar( keys %methods ) + scalar( keys %unsupported ), scalar( grep { $want{$_} } keys %want ) - ( $want{command} ? 1 : 0 ),
        'one method per command and subcommand' )
      if version_cmp( $server_version, $json_version ) == 0;
    ok( !defined &Future::IO::Redis::Commands::AUTOLOAD && !defined &Future::IO::Redis::AUTOLOAD, 'no AUTOLOAD' );
};

subtest 'methods named like Perl built-ins' => sub {
    run( $redis->command('FLUSHALL') );
    run( $redis->set( 'gen:k', 'v' ) );
    is( run( $redis->keys('gen:*') ), ['gen:k'], 'keys' );
    is( run( $redis->exists('gen:k') ), 1, 'exists' );
    is( run( $redis->type('gen:k') ), 'string', 'type' );
    is( run( $redis->echo('x') ), 'x', 'echo' );
    is( run( $redis->sort( 'gen:none', 'ALPHA' ) ), [], 'sort' );
    is( run( $redis->select(0) ), 'OK', 'select' );
    is( run( $redis->dump('gen:none') ), undef, 'dump' );
    is( run( $redis->eval( 'return 7', 0 ) ), 7, 'eval' );
    is( run( $redis->wait( 0, 0 ) ), 0, 'wait' );
    like( run( $redis->lastsave ), qr/\A\d+\z/, 'lastsave' );
};

subtest 'commands that change the connection mode croak' => sub {
    is(
        [ sort keys %unsupported ],
        [ sort qw( subscribe psubscribe ssubscribe unsubscribe punsubscribe sunsubscribe monitor sync psync ) ],
        'the subscribe family, MONITOR, SYNC, PSYNC'
    );
    # The client's subscribe family (Future::IO::Redis) works through its Subscription
    # (t/60-pubsub); in a pipeline the generated methods croak.
    my %client_has = map { $_ => 1 } qw( subscribe psubscribe ssubscribe unsubscribe punsubscribe sunsubscribe );
    for my $m ( sort keys %unsupported ) {
        like( dies { $redis->$m('x') }, qr/\AFuture::IO::Redis: \U$m\E /, "$m croaks" ) unless $client_has{$m};
        like( dies { $redis->pipeline->$m('x') }, qr/\AFuture::IO::Redis: \U$m\E /, "pipeline $m croaks" );
    }
    like(
        dies { $redis->pipeline->unsubscribe('news') },
        qr/UNSUBSCRIBE belongs to the Subscription API: .*Future::IO::Redis::Subscription/,
        'the message says why'
    );
    like( dies { $redis->pipeline->unsubscribe('news') }, qr/ at \Q${\ __FILE__ }\E line \d+/, 'reported at the caller' );
    is( run( $redis->unsubscribe('news') ), undef, 'the client\'s unsubscribe without a subscription: nothing to end' );
    like( dies { $redis->monitor }, qr/\AFuture::IO::Redis: MONITOR .* at \Q${\ __FILE__ }\E line \d+/, 'MONITOR croaks at the caller' );
    is( run( $redis->ping ), 'PONG', 'the connection still works' );
};

subtest 'transformers' => sub {
    run( $redis->hset( 'gen:h', a => 1, b => 2 ) );
    is( run( $redis->hgetall('gen:h') ), { a => 1, b => 2 }, 'hgetall: hash' );
    is( run( $redis->config_get('maxmemory-policy') ), { 'maxmemory-policy' => 'noeviction' }, 'config_get: hash' );
    my $info = run( $redis->info );
    ok( $info->{server}{redis_version} && exists $info->{keyspace}, 'info: sections' );
    my $t = run( $redis->time );
    is( scalar @$t, 2, 'time: two numbers' );
    ok( abs( $t->[0] - time ) < 5, 'seconds' );
    is( run( $redis->pipeline->hgetall('gen:h')->time->execute )->[0], { a => 1, b => 2 }, 'in a pipeline too' );
    is( run( $redis->hkeys('gen:h') ), [qw( a b )], 'other replies unchanged' );
};

# The JSON entry of a method.
my %DOC;
for my $name ( keys %{ $table->{commands} } ) {
    my $c = $table->{commands}{$name};
    $DOC{ method_name($name) } = $c;
    $DOC{ method_name($_) } = $c->{subcommands}{$_} for keys %{ $c->{subcommands} || {} };
}
sub doc_of { $DOC{ $_[0] } or die "no JSON entry for $_[0]" }

subtest 'POD for every method' => sub {
    my $pm = do { local ( @ARGV, $/ ) = $pm_file; <> };
    like( $pm, qr/\A# Generated by bin\/generate-commands from share\/commands.json \x{e2}\x{80}\x{94} do not edit/, 'banner' );
    my @missing;
    for my $m ( @Future::IO::Redis::Commands::METHODS, sort keys %unsupported ) {
        my ($pod) = $pm =~ /^=head3 \Q$m\E\n\n(.*?)^=cut/ms;
        unless ($pod) { push @missing, $m; next }
        push @missing, "$m (usage)"   unless $pod =~ /^    (?:my \$\w+ = await |await )?\$redis->\Q$m\E\b/m;
        push @missing, "$m (since)"   unless $pod =~ /Since Redis \d/;
        push @missing, "$m (group)"   unless $pod =~ /Group: \w/;
        push @missing, "$m (complexity)" unless $pod =~ /Complexity: / || !defined doc_of($m)->{complexity};
    }
    is( \@missing, [], 'usage, since, group and complexity everywhere' );
    like( $pm, qr/^    SET key value \[NX \| XX\] \[GET\]/m, 'SET argument syntax' );
    like( $pm, qr/^    XREAD \[COUNT count\] \[BLOCK milliseconds\] STREAMS key \[key \.\.\.\] id \[id \.\.\.\]$/m, 'XREAD' );
    like( $pm, qr/^    SORT key \[BY pattern\] \[LIMIT offset count\] \[GET pattern \[GET pattern \.\.\.\]\]/m, 'SORT (multiple tokens)' );
    like( $pm, qr/my \$hash = await \$redis->hgetall\(\$key\);/, 'hgetall usage' );
};

subtest 'one named sub per method, the client compiling its own on first call' => sub {
    my $pm = do { local ( @ARGV, $/ ) = $pm_file; <> };
    my @missing;
    for my $m ( @Future::IO::Redis::Commands::METHODS, sort keys %unsupported ) {
        push @missing, $m unless defined &{"Future::IO::Redis::Commands::$m"} && $pm =~ /^=cut\n\nsub \Q$m\E : method \{/m;
    }
    is( \@missing, [], 'every method is a sub of Commands.pm, below its POD' );
    my $stub = \&Future::IO::Redis::Commands::strlen;
    is( Future::IO::Redis->can('strlen'), $stub, 'before its first call, the client method is the named sub' );
    ok( !defined &Future::IO::Redis::strlen, 'no client send path yet' );
    run( $redis->set( 'gen:s', 'abc' ) );
    is( run( $redis->strlen('gen:s') ), 3, 'the first call sends' );
    ok( defined &Future::IO::Redis::strlen, 'then the client has its own send path' );
    isnt( Future::IO::Redis->can('strlen'), $stub, 'which later calls go to' );
    is( run( $redis->strlen('gen:s') ), 3, 'and sends' );
    is( $stub->( $redis, 'gen:s' )->get, 3, 'the named sub still works when called directly' );
    is( run( $redis->pipeline->strlen('gen:s')->strlen('gen:none')->execute ), [ 3, 0 ], 'the pipeline has its own' );
    isnt( Future::IO::Redis::Pipeline->can('strlen'), Future::IO::Redis->can('strlen'), 'not the client\'s' );
};

subtest 'Commands.pm is what the generator makes of share/commands.json' => sub {
    my $out = `$^X bin/generate-commands --from-json --check 2>&1`;
    is( $?, 0, 'bin/generate-commands --from-json --check' ) or diag $out;
};

subtest 'share/commands.json is what this server reports' => sub {
    skip_all "redis-server $server_version, the table is from $json_version"
      unless version_cmp( $server_version, $json_version ) == 0;
    my $dir = tempdir( CLEANUP => 1 );
    my $json = File::Spec->catfile( $dir, 'commands.json' );
    my $pm   = File::Spec->catfile( $dir, 'Commands.pm' );
    my $rs   = File::Spec->catfile( $dir, 'generated.rs' );
    my $port = $srv->port;
    my $out = `$^X bin/generate-commands --uri redis://127.0.0.1:$port --json $json --pm $pm --rs $rs 2>&1`;
    is( $?, 0, 'generated from the server' ) or diag $out;
    my $slurp = sub { local ( @ARGV, $/ ) = @_; <> };
    ok( $slurp->($json) eq $slurp->($json_file), 'same JSON, byte for byte' );
    ok( $slurp->($pm) eq $slurp->($pm_file), 'same Commands.pm, byte for byte' );
    ok( $slurp->($rs) eq $slurp->('src/conn/commands/generated.rs'), 'same generated.rs, byte for byte' );
    $out = `$^X bin/generate-commands --uri redis://127.0.0.1:$port --json $json --pm $pm --rs $rs --check 2>&1`;
    is( $?, 0, 'a second run changes nothing' ) or diag $out;
};

done_testing;

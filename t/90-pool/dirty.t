# Dirty connections, as the engine reports them: MULTI left open, WATCH left, a command in
# flight, a BLPOP outstanding. on_dirty => 'destroy' (default) closes and replaces them;
# 'cleanup' cleans them (DISCARD, UNWATCH, drain) and reuses them, or destroys them when that
# does not work within cleanup_timeout.
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;
use Future::IO::Redis::Pool;

my $srv  = start_server();
my %addr = ( host => '127.0.0.1', port => $srv->port );
my $cli  = client($srv);

sub id_of { run( $_[0]->command( 'CLIENT', 'ID' ) ) }

sub server_ids {
    my %ids = map { /\bid=(\d+)/ ? ( $1 => 1 ) : () } split /\n/, $srv->cli( 'CLIENT', 'LIST' );
    return \%ids;
}

# Leave a connection in a state, release it, and say what became of it.
my %leave = (
    multi => async sub {
        my ($r) = @_;
        await $r->multi;
        await $r->incr('d:never');
        is( $r->session_state->{in_multi}, T(), 'the engine reports in_multi' );
        is( $r->is_dirty, 'in_multi', 'is_dirty names it' );
    },
    watch => async sub {
        my ($r) = @_;
        await $r->watch('d:w');
        is( $r->is_dirty, 'watching', 'the engine reports watching' );
    },
    inflight => async sub {
        my ($r) = @_;
        $r->{__f} = $r->command( 'DEBUG', 'SLEEP', '0.2' );
        is( $r->is_dirty, 'pending', 'the engine reports a pending command' );
    },
    blpop => async sub {
        my ($r) = @_;
        $r->{__f} = $r->blpop( 'd:empty', 0 );
        is( $r->is_dirty, 'blocking pending', 'the engine reports a blocking command' );
    },
);

for my $what (qw( multi watch inflight blpop )) {
    subtest "destroy: $what" => sub {
        my $pool = Future::IO::Redis::Pool->new( %addr, min => 0, max => 1 );
        run( $cli->del('d:never') );
        my $r  = run( $pool->acquire );
        my $id = id_of($r);
        run( $leave{$what}->($r) );
        $pool->release($r);
        is( $pool->stats, hash { field destroyed => 1; field active => 0; field idle => 0; etc }, 'destroyed at release' );
        ok( wait_until( sub { !server_ids()->{$id} }, 5 ), 'the server connection is gone (CLIENT LIST)' );
        my $id2 = run( $pool->with( async sub { await $_[0]->command( 'CLIENT', 'ID' ) } ) );
        isnt( $id2, $id, 'the next acquire gets a new connection' );
        is( run( $cli->get('d:never') ), undef, 'the abandoned MULTI never ran its queued INCR' ) if $what eq 'multi';
        if ( my $f = $r->{__f} ) {
            ok( error_of($f), 'the abandoned command failed (its connection was closed)' );
        }
    };
}

for my $what (qw( multi watch inflight )) {
    subtest "cleanup: $what" => sub {
        my $pool = Future::IO::Redis::Pool->new( %addr, min => 0, max => 1, on_dirty => 'cleanup', cleanup_timeout => 2 );
        run( $cli->del('d:never') );
        my $r  = run( $pool->acquire );
        my $id = id_of($r);
        run( $leave{$what}->($r) );
        $pool->release($r);
        my $r2 = run( $pool->acquire );
        is( id_of($r2), $id, 'the same connection, reused' );
        is( $r2->is_dirty, '', 'clean' );
        is( $pool->stats, hash { field destroyed => 0; field cleaned => 1; etc }, 'counted as cleaned' );
        if ( $what eq 'multi' ) {
            is( run( $r2->set( 'd:x', 1 ) ), 'OK', 'commands run at once again (not QUEUED)' );
            is( run( $cli->get('d:never') ), undef, 'the abandoned MULTI never ran its queued INCR' );
        }
        if ( $what eq 'watch' ) {
            # Were the key still watched, this transaction would abort.
            run( $cli->set( 'd:w', 'changed' ) );
            run( $r2->multi );
            run( $r2->set( 'd:w', 'mine' ) );
            is( run( $r2->exec ), ['OK'], 'a later transaction is not aborted by the old WATCH' );
        }
        if ( my $f = $r->{__f} ) {
            is( run($f), 'OK', 'the command in flight completed' );
        }
        $pool->release($r2);
    };
}

subtest 'cleanup: BLPOP outstanding cannot drain, destroyed after cleanup_timeout' => sub {
    my $pool = Future::IO::Redis::Pool->new( %addr, min => 0, max => 1, on_dirty => 'cleanup', cleanup_timeout => 0.3 );
    my $r  = run( $pool->acquire );
    my $id = id_of($r);
    run( $leave{blpop}->($r) );
    $pool->release($r);
    is( $pool->stats->{total}, 0, 'not offered while being cleaned' );
    my $r2 = run( $pool->acquire );
    isnt( id_of($r2), $id, 'a new connection' );
    is( $pool->stats->{destroyed}, 1, 'the blocked one was destroyed' );
    ok( wait_until( sub { !server_ids()->{$id} }, 5 ), 'and is gone from the server' );
};

done_testing;

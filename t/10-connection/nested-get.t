# Waiting synchronously (->get) inside code that a delivery runs (a reply's callback, or code
# after an await resumed by a reply), as a factory callback written for blocking use does: the
# inner wait completes, nothing is lost or warned about, two levels deep too, and afterwards the
# pump waits on the engine's fd again (it does not keep turning the engine every millisecond).
use v5.14;
use warnings;
use lib 't/lib';
use Test2::V0;
use Test::FIORedis::Server -needs_server;
use Test::FIORedis;
use Future::AsyncAwait;

my $srv = start_server();
my $r   = client($srv);
run( $r->set( 'ng:k', 'v' ) );

my @warnings;
local $SIG{__WARN__} = sub { push @warnings, $_[0] };

subtest 'a ->get inside a reply callback' => sub {
    my ( $inner, $err );
    my $outer = $r->get('ng:k')->then(
        sub {
            my $other = client($srv);
            eval { $other->connect->get; $inner = $other->get('ng:k')->get; 1 } or $err = $@;
            Future->done("outer saw $_[0]");
        }
    );
    is( run($outer), 'outer saw v', 'the outer Future completes' );
    is( $err,   undef, 'the inner waits did not die' );
    is( $inner, 'v',   'and got their reply' );
};

subtest 'two levels deep, from an async sub' => sub {
    my @seen;
    my $outer = ( async sub {
        my $v = await $r->get('ng:k');
        push @seen, "1:$v";
        my $second = client($srv);
        my $f = $second->get('ng:k')->then(
            sub {
                push @seen, "2:$_[0]";
                my $third = client($srv);
                push @seen, '3:' . $third->get('ng:k')->get;
                Future->done;
            }
        );
        $f->get;
        return scalar @seen;
    } )->();
    is( run($outer), 3, 'every level completed' );
    is( \@seen, [ '1:v', '2:v', '3:v' ], 'in order' );
};

subtest 'afterwards the pump waits on the fd again' => sub {
    is( run( $r->ping ), 'PONG', 'a command after the nested waits' );
    ok( !$Future::IO::Redis::Engine::DETACHED, 'the fd watcher is back' );
    my @many = run( Future->needs_all( map { $r->echo($_) } 1 .. 500 ) );
    is( \@many, [ 1 .. 500 ], '500 commands in flight' );
};

is( \@warnings, [], 'no warnings (no Future lost)' );

done_testing;

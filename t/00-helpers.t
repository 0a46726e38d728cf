use strict;
use warnings;
use Test2::V0;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::IP;
use IO::Select;
use Time::HiRes qw(time sleep);
use Test::FIORedis::Server -needs_server;
use Test::FIORedis::FakeServer;

# Sends one raw command over TCP and returns the first reply line (or undef).
sub raw_ping {
    my ($port, $timeout) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 1)
        or return undef;
    syswrite $s, "*1\r\n\$4\r\nPING\r\n";
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $deadline = time + ($timeout // 2);
    while ($buf !~ /\r\n/) {
        my $left = $deadline - time;
        last if $left <= 0 || !$sel->can_read($left);
        sysread($s, $buf, 512, length $buf) or last;
    }
    return $buf;
}

subtest 'plain server' => sub {
    my $srv = Test::FIORedis::Server->start;
    ok $srv->port, 'has a port: ' . $srv->port;
    is $srv->host, '127.0.0.1', 'host';
    ok $srv->is_running, 'running';
    ok -d $srv->dir, 'dir exists';
    is $srv->uri, 'redis://127.0.0.1:' . $srv->port, 'uri';
    is $srv->cli('PING'), 'PONG', 'PING via cli';
    is $srv->cli('SET', 'k', 'hello world'), 'OK', 'SET';
    is $srv->cli('GET', 'k'), 'hello world', 'GET';
    is raw_ping($srv->port), "+PONG\r\n", 'raw PING';
    is $srv->cli('DEBUG', 'SLEEP', '0'), 'OK', 'DEBUG command enabled';

    my $srv2 = Test::FIORedis::Server->start(extra => ['maxmemory 1mb']);
    isnt $srv2->port, $srv->port, 'second server has a different port';
    is $srv2->cli('PING'), 'PONG', 'second server answers';
    is [ $srv2->cli('CONFIG', 'GET', 'maxmemory') ], [ 'maxmemory', 1024 * 1024 ], 'extra config applied';

    my $pid = $srv->pid;
    $srv->stop;
    ok !$srv->is_running, 'stopped';
    ok !kill(0, $pid), 'process gone';
    is raw_ping($srv->port), undef, 'port closed after stop';
};

subtest 'password' => sub {
    my $srv = Test::FIORedis::Server->start(password => 'p@ss w"rd');
    like $srv->cli({ noauth => 1 }, 'GET', 'x'), qr/NOAUTH/, 'unauthenticated cli rejected';
    is $srv->cli('PING'), 'PONG', 'cli with password works';
    like $srv->cli({ pass => 'wrong' }, 'PING'), qr/NOAUTH/, 'wrong password: not authenticated';
    like $srv->last_cli_stderr, qr/WRONGPASS/, 'wrong password: AUTH failure on stderr';
    like raw_ping($srv->port), qr/^-NOAUTH/, 'raw PING gets NOAUTH';
    is $srv->uri, 'redis://:p%40ss%20w%22rd@127.0.0.1:' . $srv->port, 'uri carries password';
};

subtest 'ACL user' => sub {
    my $srv = Test::FIORedis::Server->start(
        acl_users => [ 'user alice on >secret ~* &* +@all', 'bob on >bobpw ~bob:* +get' ]);
    is $srv->cli({ user => 'alice', pass => 'secret' }, 'ACL', 'WHOAMI'), 'alice', 'alice logs in';
    is $srv->cli({ user => 'alice', pass => 'secret' }, 'SET', 'bob:1', 'v'), 'OK', 'alice can SET';
    is $srv->cli({ user => 'bob', pass => 'bobpw' }, 'GET', 'bob:1'), 'v', 'bob can GET';
    like $srv->cli({ user => 'bob', pass => 'bobpw' }, 'SET', 'bob:1', 'w'), qr/NOPERM/, 'bob cannot SET';
    is $srv->cli({ user => 'alice', pass => 'nope' }, 'ACL', 'WHOAMI'), 'default', 'bad password: still default user';
    like $srv->last_cli_stderr, qr/WRONGPASS/, 'bad password: AUTH failure on stderr';
};

subtest 'unix socket' => sub {
    my $srv = Test::FIORedis::Server->start(unixsocket => 1, tcp => 0);
    ok -S $srv->path, 'socket exists: ' . $srv->path;
    is $srv->port, undef, 'no tcp port';
    is $srv->uri, 'redis+unix://' . $srv->path, 'uri';
    my @argv = $srv->cli_argv('PING');
    ok((grep { $_ eq '-s' } @argv), 'cli uses -s');
    is $srv->cli('PING'), 'PONG', 'PING over unix socket';

    my $both = Test::FIORedis::Server->start(unixsocket => 1);
    is $both->cli('PING'), 'PONG', 'tcp+unix server answers via tcp';
    is raw_ping($both->port), "+PONG\r\n", 'raw tcp PING';
    my $cli = Test::FIORedis::Server::cli_binary();
    is scalar(`'$cli' -s '@{[ $both->path ]}' ping`), "PONG\n", 'redis-cli -s works';
};

subtest 'TLS' => sub {
    my $srv = Test::FIORedis::Server->start(tls => 1);
    my $c = $srv->certs;
    ok -f $c->{$_}, "cert file $_" for qw(ca server_cert server_key client_cert client_key other_ca);
    ok $srv->tls_port, 'tls port ' . $srv->tls_port;
    is $srv->port, undef, 'no plain tcp port';
    is $srv->uri, 'rediss://localhost:' . $srv->tls_port, 'uri';

    my $cli = Test::FIORedis::Server::cli_binary();
    my $tp  = $srv->tls_port;
    is scalar(`'$cli' --tls --cacert '$c->{ca}' -p $tp ping 2>&1`), "PONG\n", 'redis-cli --tls --cacert ca.crt ping';
    isnt scalar(`'$cli' --tls --cacert '$c->{other_ca}' -p $tp ping 2>&1`), "PONG\n",
        'unrelated CA does not validate the server';
    is $srv->cli('PING'), 'PONG', '$srv->cli over TLS';
    is scalar(`openssl verify -CAfile '$c->{ca}' '$c->{server_cert}' 2>&1`), "$c->{server_cert}: OK\n",
        'server cert verifies';
    isnt scalar(`openssl verify -CAfile '$c->{other_ca}' '$c->{server_cert}' 2>&1`), "$c->{server_cert}: OK\n",
        'server cert does not verify against other CA';

    my $mtls = Test::FIORedis::Server->start(tls => 1, tcp => 1, tls_auth_clients => 1, password => 'pw');
    ok $mtls->port && $mtls->tls_port && $mtls->port != $mtls->tls_port, 'tcp and tls ports';
    is $mtls->cli('PING'), 'PONG', 'plain tcp side';
    is $mtls->cli({ tls => 1 }, 'PING'), 'PONG', 'TLS with client cert';
    $tp = $mtls->tls_port;
    isnt scalar(`'$cli' --tls --cacert '$c->{ca}' -p $tp --pass pw --no-auth-warning ping 2>&1`), "PONG\n",
        'TLS without client cert rejected when tls_auth_clients';
};

subtest 'kill9 + restart, pause/resume' => sub {
    my $srv = Test::FIORedis::Server->start;
    my $port = $srv->port;
    my $old  = $srv->pid;
    is $srv->cli('SET', 'a', 1), 'OK', 'SET before kill';
    my $c = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port) or die;    # leave a conn open
    $srv->kill9;
    ok !$srv->is_running, 'killed';
    ok -d $srv->dir, 'dir kept after kill9';
    is raw_ping($port), undef, 'nothing listening';
    $srv->restart;
    ok $srv->is_running, 'restarted';
    isnt $srv->pid, $old, 'new pid';
    is $srv->port, $port, 'same port';
    is $srv->cli('PING'), 'PONG', 'PONG after restart';
    is $srv->cli('GET', 'a'), '', 'data gone (no persistence)';

    $srv->pause;
    my $t0 = time;
    is raw_ping($port, 0.3), '', 'no reply while paused';
    ok time - $t0 >= 0.25, 'waited for timeout';
    $srv->resume;
    is raw_ping($port), "+PONG\r\n", 'PONG after resume';

    $srv->pause;
    my $pid = $srv->pid;
    $srv->stop;
    ok !kill(0, $pid), 'stop works on a paused server';
};

subtest 'FakeServer' => sub {
    my $fake = Test::FIORedis::FakeServer->start(sub {
        my ($sock, $n) = @_;
        while (my @cmd = Test::FIORedis::FakeServer::read_command($sock)) {
            if (uc $cmd[0] eq 'QUIT') {
                Test::FIORedis::FakeServer::write_all($sock, "+BYE\r\n");
                return;
            }
            Test::FIORedis::FakeServer::write_all($sock,
                Test::FIORedis::FakeServer::resp_array("conn$n", @cmd));
        }
    });
    ok $fake->port, 'port ' . $fake->port;
    is $fake->host, '127.0.0.1', 'host';
    ok $fake->pid && $fake->pid != $$, 'child pid';

    for my $n (1, 2) {
        my $s = IO::Socket::IP->new(PeerHost => $fake->host, PeerPort => $fake->port) or die "connect: $@";
        syswrite $s, Test::FIORedis::FakeServer::resp_array('ECHO', "a\r\nb");
        my $want = "*3\r\n\$5\r\nconn$n\r\n\$4\r\nECHO\r\n\$4\r\na\r\nb\r\n";
        is Test::FIORedis::FakeServer::read_exact($s, length $want), $want, "scripted reply on conn $n";
        syswrite $s, "QUIT\r\n";    # inline command
        is Test::FIORedis::FakeServer::read_line($s), '+BYE', 'inline command handled';
        is Test::FIORedis::FakeServer::read_line($s), undef, 'closed by server';
    }

    my $pid = $fake->pid;
    $fake->stop;
    ok !kill(0, $pid), 'fake server stopped';
};

subtest 'fork safety' => sub {
    my $srv = Test::FIORedis::Server->start;
    my $pid = fork // die;
    if (!$pid) {
        undef $srv;    # DESTROY in the child must not stop the parent's server
        POSIX::_exit(0);
    }
    waitpid $pid, 0;
    is $srv->cli('PING'), 'PONG', 'server survives child destruction';
};

subtest 'failure modes' => sub {
    my $busy = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 1) or die;
    my $e = dies { Test::FIORedis::Server->start(port => $busy->sockport) };
    like $e, qr/exited during startup.*Address already in use/s, 'fixed busy port: dies with log';

    local $ENV{FIOR_REDIS_SERVER} = '/nonexistent/redis-server';
    like dies { Test::FIORedis::Server->start }, qr/FIOR_REDIS_SERVER/, 'missing binary dies';
};

done_testing;

//! The engine against a real redis-server started by the test, and against plain loopback
//! sockets for the driver's own behaviour (no Perl involved). The tests turn the engine the way
//! the Perl side does: wait until its fd is readable, run a turn, collect completions.

use fior::conn::{Address, BatchItem, Completion, ConnConfig, ConnEvent, Deadline, ErrorKind, Request};
use fior::protocol::Node;
use fior::driver::{Engine, FLUSH_WHEN_BUSY, READ_PER_TURN};
use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    port: u16,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_server(extra: &[&str]) -> Server {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("fior-test-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut args: Vec<String> = vec![
        "--port".into(),
        port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--save".into(),
        "".into(),
        "--appendonly".into(),
        "no".into(),
        "--dir".into(),
        dir.display().to_string(),
        "--enable-debug-command".into(),
        "yes".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let child = Command::new("redis-server")
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (apt-get install redis-server)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    Server { child, port, _dir: TempDir(dir) }
}

/// Drive the engine until every token in `want` completed; returns them by token.
fn wait(engine: &mut Engine, want: &[u64]) -> HashMap<u64, Completion> {
    wait_events(engine, want, &mut Vec::new())
}

/// Like `wait`, collecting connection events on the way.
fn wait_events(engine: &mut Engine, want: &[u64], events: &mut Vec<(u64, ConnEvent)>) -> HashMap<u64, Completion> {
    let mut got = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        readable(engine, 50);
        engine.turn();
        while let Some((id, c)) = engine.next_completion() {
            match c {
                Completion::Reply { token, .. }
                | Completion::Done { token }
                | Completion::Failed { token, .. }
                | Completion::Batch { token, .. } => {
                    got.insert(token, c);
                }
                Completion::Event(e) => events.push((id, e)),
                Completion::Message(m) => panic!("a message on a connection that never subscribed: {m:?}"),
            }
        }
        if want.iter().all(|t| got.contains_key(t)) {
            return got;
        }
        assert!(Instant::now() < deadline, "timed out waiting for completions");
    }
}

/// Wait up to `ms` milliseconds for the engine's fd to become readable (what the event loop
/// does); true if it did.
fn readable(engine: &mut Engine, ms: i64) -> bool {
    engine.wait_readable((ms >= 0).then(|| Duration::from_millis(ms as u64)))
}

fn text(c: &Completion) -> String {
    match c {
        Completion::Reply { reply, .. } => match reply.root() {
            Node::Integer(i) => i.to_string(),
            Node::Nil => "nil".into(),
            Node::Array(n) => format!("array({n})"),
            Node::Simple(r) | Node::Bulk(r) | Node::Error(r) => String::from_utf8_lossy(reply.bytes(r)).into_owned(),
        },
        other => panic!("not a reply: {other:?}"),
    }
}

fn cmd(engine: &mut Engine, conn: u64, token: u64, args: &[&[u8]]) {
    engine.submit(conn, Request::new(token, args, Deadline::Default)).unwrap();
}

#[test]
fn set_get_pipeline_and_large_values_against_a_real_server() {
    let srv = start_server(&[]);
    let mut engine = Engine::new().unwrap();
    let conn = engine.open(ConnConfig::new(Address::Tcp { host: "localhost".into(), port: srv.port }), None).unwrap();
    engine.connect(conn, 1).unwrap();
    assert!(matches!(wait(&mut engine, &[1])[&1], Completion::Done { .. }));

    cmd(&mut engine, conn, 2, &[b"SET", b"k", b"v\x00\r\n"]);
    cmd(&mut engine, conn, 3, &[b"GET", b"k"]);
    let got = wait(&mut engine, &[2, 3]);
    assert_eq!(text(&got[&2]), "OK");
    assert_eq!(text(&got[&3]), "v\x00\r\n");

    // 10,000 commands in flight at once, each answered by its own reply.
    let tokens: Vec<u64> = (100..10_100).collect();
    for &t in &tokens {
        let payload = format!("payload-{t}");
        cmd(&mut engine, conn, t, &[b"ECHO", payload.as_bytes()]);
    }
    let got = wait(&mut engine, &tokens);
    for &t in &tokens {
        assert_eq!(text(&got[&t]), format!("payload-{t}"));
    }

    // 8 MB value both ways.
    let big: Vec<u8> = (0..8 << 20).map(|i| (i % 253) as u8).collect();
    cmd(&mut engine, conn, 20_000, &[b"SET", b"big", &big]);
    cmd(&mut engine, conn, 20_001, &[b"GET", b"big"]);
    let got = wait(&mut engine, &[20_000, 20_001]);
    match &got[&20_001] {
        Completion::Reply { reply, .. } => assert!(reply.as_text() == Some(&big[..])),
        other => panic!("{other:?}"),
    }
}

#[test]
fn deep_reply_from_lua_decodes() {
    let srv = start_server(&[]);
    let mut engine = Engine::new().unwrap();
    let conn = engine.open(ConnConfig::new(Address::Tcp { host: "127.0.0.1".into(), port: srv.port }), None).unwrap();
    let script = b"local t = {} local c = t for i = 1, tonumber(ARGV[1]) do local n = {} c[1] = n c = n end c[1] = 7 return t";
    cmd(&mut engine, conn, 1, &[b"EVAL", script, b"0", b"1200"]);
    let got = wait(&mut engine, &[1]);
    match &got[&1] {
        Completion::Reply { reply, .. } => {
            assert!(!reply.is_error(), "{}", text(&got[&1]));
            assert!(reply.node_count() > 1000);
            assert_eq!(reply.nodes().last(), Some(&Node::Integer(7)));
        }
        other => panic!("{other:?}"),
    }
    // The connection is still in sync afterwards.
    cmd(&mut engine, conn, 2, &[b"PING"]);
    assert_eq!(text(&wait(&mut engine, &[2])[&2]), "PONG");
}

#[test]
fn request_timeout_then_reconnect_against_a_real_server() {
    let srv = start_server(&[]);
    let mut engine = Engine::new().unwrap();
    let mut cfg = ConnConfig::new(Address::Tcp { host: "127.0.0.1".into(), port: srv.port });
    cfg.request_timeout = Some(Duration::from_millis(200));
    cfg.reconnect.delay = Duration::from_millis(10);
    let conn = engine.open(cfg, None).unwrap();
    cmd(&mut engine, conn, 1, &[b"DEBUG", b"SLEEP", b"1"]);
    cmd(&mut engine, conn, 2, &[b"GET", b"k"]);
    let got = wait(&mut engine, &[1, 2]);
    assert!(matches!(&got[&1], Completion::Failed { error, .. } if error.kind == ErrorKind::Timeout));
    assert!(matches!(&got[&2], Completion::Failed { error, .. } if error.kind == ErrorKind::Connection));
    // Later commands run on a fresh connection (once the server finished sleeping).
    let ping = Request::new(3, &[b"PING"], Deadline::After(Duration::from_secs(5)));
    engine.submit(conn, ping).unwrap();
    assert_eq!(text(&wait(&mut engine, &[3])[&3]), "PONG");
}

#[test]
fn connection_refused_fails_fast() {
    let port = free_port();
    let mut engine = Engine::new().unwrap();
    let conn = engine.open(ConnConfig::new(Address::Tcp { host: "127.0.0.1".into(), port }), None).unwrap();
    engine.connect(conn, 1).unwrap();
    cmd(&mut engine, conn, 2, &[b"PING"]);
    let got = wait(&mut engine, &[1, 2]);
    match &got[&1] {
        Completion::Failed { error, .. } => {
            assert_eq!(error.kind, ErrorKind::Connection);
            assert!(error.message.contains("refused"), "{}", error.message);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&got[&2], Completion::Failed { error, .. } if error.kind == ErrorKind::Connection));
}

#[test]
fn events_report_connect_and_server_side_kill() {
    let srv = start_server(&[]);
    let mut engine = Engine::new().unwrap();
    let mut cfg = ConnConfig::new(Address::Tcp { host: "127.0.0.1".into(), port: srv.port });
    cfg.reconnect.delay = Duration::from_millis(20);
    cfg.handshake.client_name = Some(b"victim".to_vec());
    let conn = engine.open(cfg, None).unwrap();
    let mut events = Vec::new();
    engine.connect(conn, 1).unwrap();
    wait_events(&mut engine, &[1], &mut events);
    let other = engine.open(ConnConfig::new(Address::Tcp { host: "127.0.0.1".into(), port: srv.port }), None).unwrap();
    cmd(&mut engine, other, 2, &[b"CLIENT", b"KILL", b"USER", b"default", b"SKIPME", b"yes"]);
    let killed = wait_events(&mut engine, &[2], &mut events);
    assert_eq!(text(&killed[&2]), "1");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mine = |events: &Vec<(u64, ConnEvent)>| -> Vec<ConnEvent> {
        events.iter().filter(|(id, _)| *id == conn).map(|(_, e)| e.clone()).collect()
    };
    while mine(&events).len() < 3 {
        assert!(Instant::now() < deadline, "events: {:?}", mine(&events));
        wait_events(&mut engine, &[], &mut events);
        std::thread::sleep(Duration::from_millis(1));
    }
    let seen = mine(&events);
    assert!(matches!(seen[0], ConnEvent::Connected), "{seen:?}");
    assert!(matches!(seen[1], ConnEvent::Disconnected { .. }), "{seen:?}");
    assert!(matches!(seen[2], ConnEvent::Connected), "{seen:?}");
    cmd(&mut engine, conn, 3, &[b"CLIENT", b"GETNAME"]);
    assert_eq!(text(&wait(&mut engine, &[3])[&3]), "victim", "the handshake was replayed");
}

/// Not a test of behaviour: prints the engine's sequential round-trip rate (run with --nocapture).
#[test]
#[ignore]
fn sequential_round_trips_rate() {
    let srv = start_server(&[]);
    let mut engine = Engine::new().unwrap();
    let conn = engine.open(ConnConfig::new(Address::Tcp { host: "127.0.0.1".into(), port: srv.port }), None).unwrap();
    cmd(&mut engine, conn, 0, &[b"PING"]);
    wait(&mut engine, &[0]);
    let n = 20_000u64;
    let t = Instant::now();
    for i in 1..=n {
        cmd(&mut engine, conn, i, &[b"SET", b"k", b"v"]);
        loop {
            readable(&mut engine, -1);
            engine.turn();
            if let Some((_, Completion::Reply { .. })) = engine.next_completion() {
                break;
            }
        }
    }
    let dt = t.elapsed().as_secs_f64();
    println!("engine sequential (poll, turn): {:.0} ops/s", n as f64 / dt);
}

// ----- the driver itself, against plain loopback sockets ------------------------------------

/// A loopback listener the test reads from and writes to by hand (a server that answers only
/// when told to).
struct Peer {
    sock: std::net::TcpStream,
}

impl Peer {
    /// Accept the engine's connection to `listener` (connecting `conn` first).
    fn accept(engine: &mut Engine, listener: &TcpListener, conn: u64) -> Peer {
        engine.connect(conn, 1).unwrap();
        let (sock, _) = listener.accept().unwrap();
        sock.set_nodelay(true).unwrap();
        let mut peer = Peer { sock };
        // The handshake's PING, once turns have seen the connect complete.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut got = Vec::new();
        while got.is_empty() {
            assert!(Instant::now() < deadline, "no handshake");
            readable(engine, 10);
            engine.turn();
            got = peer.read_available(Duration::from_millis(10));
        }
        assert_eq!(got, b"*1\r\n$4\r\nPING\r\n");
        peer.send(b"+PONG\r\n");
        assert!(matches!(wait(engine, &[1])[&1], Completion::Done { .. }));
        peer
    }

    fn send(&mut self, bytes: &[u8]) {
        use std::io::Write;
        self.sock.write_all(bytes).unwrap();
    }

    /// What arrives within `first` (then whatever follows within a few ms).
    fn read_available(&mut self, first: Duration) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        let mut buf = [0u8; 65536];
        self.sock.set_read_timeout(Some(first)).unwrap();
        loop {
            match self.sock.read(&mut buf) {
                Ok(0) => return out,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    self.sock.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
                }
                Err(_) => return out,
            }
        }
    }
}

fn local_conn(engine: &mut Engine, listener: &TcpListener, tune: impl FnOnce(&mut ConnConfig)) -> u64 {
    let port = listener.local_addr().unwrap().port();
    let mut cfg = ConnConfig::new(Address::Tcp { host: "127.0.0.1".into(), port });
    tune(&mut cfg);
    engine.open(cfg, None).unwrap()
}

/// An engine with one connection (options tuned by `tune`) to a fresh loopback listener,
/// accepted as a `Peer`; the listener comes back for tests that accept again.
fn engine_with_peer(tune: impl FnOnce(&mut ConnConfig)) -> (Engine, u64, Peer, TcpListener) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut engine = Engine::new().unwrap();
    let conn = local_conn(&mut engine, &listener, tune);
    let peer = Peer::accept(&mut engine, &listener, conn);
    (engine, conn, peer, listener)
}

#[test]
fn a_lone_command_is_written_by_submit_itself_and_later_ones_together_at_the_next_turn() {
    let (mut engine, conn, mut peer, _listener) = engine_with_peer(|_| {});

    // Idle connection: the bytes are on the wire before any turn.
    cmd(&mut engine, conn, 10, &[b"GET", b"a"]);
    assert_eq!(peer.read_available(Duration::from_secs(5)), b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n");

    // Busy connection: the next two wait for the next turn, and the engine wakes itself for it.
    cmd(&mut engine, conn, 11, &[b"GET", b"b"]);
    cmd(&mut engine, conn, 12, &[b"GET", b"c"]);
    assert!(peer.read_available(Duration::from_millis(50)).is_empty(), "written before a turn");
    assert!(readable(&mut engine, 1000), "the engine did not wake itself for the buffered commands");
    engine.turn();
    assert_eq!(peer.read_available(Duration::from_secs(5)), b"*2\r\n$3\r\nGET\r\n$1\r\nb\r\n*2\r\n$3\r\nGET\r\n$1\r\nc\r\n");

    peer.send(b"$1\r\nA\r\n$1\r\nB\r\n$-1\r\n");
    let got = wait(&mut engine, &[10, 11, 12]);
    assert_eq!(text(&got[&10]), "A");
    assert_eq!(text(&got[&11]), "B");
    assert_eq!(text(&got[&12]), "nil");
}

#[test]
fn a_large_burst_on_a_busy_connection_is_written_as_it_grows_not_only_at_the_next_turn() {
    let (mut engine, conn, mut peer, _listener) = engine_with_peer(|_| {});

    cmd(&mut engine, conn, 10, &[b"GET", b"first"]); // written at once; the connection is busy now
    let first = peer.read_available(Duration::from_secs(5));
    // Submit until more than FLUSH_WHEN_BUSY bytes were asked for, without any turn: they are
    // on the wire already (the server starts on them while the application submits the rest).
    let value = vec![b'v'; 100];
    let mut token = 11;
    let mut expected = Vec::new();
    while expected.len() < FLUSH_WHEN_BUSY + 1000 {
        let key = format!("k{token}");
        cmd(&mut engine, conn, token, &[b"SET", key.as_bytes(), &value]);
        expected.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$100\r\n", key.len()).as_bytes());
        expected.extend_from_slice(&value);
        expected.extend_from_slice(b"\r\n");
        token += 1;
    }
    let early = peer.read_available(Duration::from_secs(5));
    assert!(early.len() >= FLUSH_WHEN_BUSY, "only {} bytes were written before a turn", early.len());
    assert!(early.len() < expected.len(), "the commands after the last flush wait for the turn");
    assert_eq!(&expected[..early.len()], &early[..], "written in order");
    // The rest leaves at the next turn.
    assert!(readable(&mut engine, 1000));
    engine.turn();
    let rest = peer.read_available(Duration::from_secs(5));
    assert_eq!([early, rest].concat(), expected);
    assert_eq!(first, b"*2\r\n$3\r\nGET\r\n$5\r\nfirst\r\n");

    let mut replies = b"$1\r\nA\r\n".to_vec();
    for _ in 11..token {
        replies.extend_from_slice(b"+OK\r\n");
    }
    peer.send(&replies);
    let want: Vec<u64> = (10..token).collect();
    let got = wait(&mut engine, &want);
    assert_eq!(text(&got[&10]), "A");
    assert!((11..token).all(|t| text(&got[&t]) == "OK"));
}

#[test]
fn a_burst_larger_than_the_socket_buffers_arrives_whole_once_the_peer_reads() {
    let (mut engine, conn, mut peer, _listener) = engine_with_peer(|_| {});

    // 16 MB of SETs while the peer reads nothing: the kernel's buffers fill, writes would
    // block, and what is left waits in the engine until the socket has room again.
    let value = vec![b'w'; 64 * 1024];
    let n: u64 = 256;
    let mut expected_len = 0;
    for token in 1..=n {
        let key = format!("{token:04}");
        cmd(&mut engine, conn, 100 + token, &[b"SET", key.as_bytes(), &value]);
        expected_len += format!("*3\r\n$3\r\nSET\r\n$4\r\n{key}\r\n${}\r\n", value.len()).len() + value.len() + 2;
    }
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut got = vec![0u8; expected_len];
        peer.sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        peer.sock.read_exact(&mut got).unwrap();
        let mut replies = Vec::new();
        for _ in 0..n {
            replies.extend_from_slice(b"+OK\r\n");
        }
        peer.send(&replies);
        (got, peer)
    });
    let want: Vec<u64> = (101..=100 + n).collect();
    let got = wait(&mut engine, &want);
    assert!(want.iter().all(|t| text(&got[t]) == "OK"));
    let (bytes, _peer) = reader.join().unwrap();
    let mut at = 0;
    for token in 1..=n {
        let head = format!("*3\r\n$3\r\nSET\r\n$4\r\n{token:04}\r\n${}\r\n", value.len());
        assert_eq!(&bytes[at..at + head.len()], head.as_bytes(), "command {token} in place");
        at += head.len() + value.len() + 2;
    }
}

#[test]
fn a_large_reply_arrives_over_several_turns_and_the_fd_stays_readable_between_them() {
    let (mut engine, conn, mut peer, _listener) = engine_with_peer(|_| {});
    cmd(&mut engine, conn, 10, &[b"GET", b"big"]);
    peer.read_available(Duration::from_secs(5));

    let size = 6 * READ_PER_TURN;
    let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let mut frame = format!("${size}\r\n").into_bytes();
    frame.extend_from_slice(&body);
    frame.extend_from_slice(b"\r\n");
    let writer = std::thread::spawn(move || {
        peer.send(&frame);
        peer
    });
    let mut turns = 0;
    let reply = loop {
        assert!(readable(&mut engine, 10_000), "the fd went quiet with bytes unread");
        engine.turn();
        turns += 1;
        if let Some((_, c)) = engine.next_completion() {
            break c;
        }
    };
    let _peer = writer.join().unwrap();
    match reply {
        Completion::Reply { reply, .. } => assert!(reply.as_text() == Some(&body[..])),
        other => panic!("{other:?}"),
    }
    assert!(turns >= 6, "{size} bytes arrived in {turns} turns: the per-turn limit did not hold");
}

#[test]
fn the_timer_wakes_the_fd_at_a_deadline_with_no_socket_activity() {
    let (mut engine, conn, mut peer, _listener) = engine_with_peer(|c| c.reconnect.enabled = false);
    let t0 = Instant::now();
    engine.submit(conn, Request::new(10, &[b"GET", b"x"], Deadline::After(Duration::from_millis(150)))).unwrap();
    peer.read_available(Duration::from_secs(5));
    // The server never answers: only the timer can make the fd readable.
    let got = wait(&mut engine, &[10]);
    let waited = t0.elapsed();
    assert!(matches!(&got[&10], Completion::Failed { error, .. } if error.kind == ErrorKind::Timeout), "{:?}", got[&10]);
    assert!(waited >= Duration::from_millis(150), "fired early: {waited:?}");
}

#[test]
fn completions_made_outside_a_turn_make_the_fd_readable() {
    let mut engine = Engine::new().unwrap();
    let conn = engine.open(ConnConfig::new(Address::Tcp { host: "127.0.0.1".into(), port: free_port() }), None).unwrap();
    engine.release(conn).unwrap();
    // The connection is gone: the command fails inside submit, and a turn must come to deliver it.
    cmd(&mut engine, conn, 5, &[b"PING"]);
    assert!(readable(&mut engine, 1000));
    engine.turn();
    assert!(matches!(engine.next_completion(), Some((_, Completion::Failed { token: 5, .. }))));
    assert!(!engine.busy());
}

#[test]
fn a_close_by_the_server_is_seen_before_the_next_command_is_written() {
    let (mut engine, conn, peer, listener) = engine_with_peer(|c| c.reconnect.delay = Duration::from_millis(10));
    drop(peer); // the server goes away while nobody turns the engine
    std::thread::sleep(Duration::from_millis(20));
    // A write-only command must not be written to the dead connection (it would fail as
    // "maybe executed"): it waits for the reconnect instead.
    cmd(&mut engine, conn, 20, &[b"INCR", b"n"]);
    // The reconnect happens as turns come (after the back-off).
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let sock = loop {
        if let Ok((sock, _)) = listener.accept() {
            break sock;
        }
        assert!(Instant::now() < deadline, "no reconnect");
        readable(&mut engine, 10);
        engine.turn();
    };
    sock.set_nonblocking(false).unwrap();
    let mut peer = Peer { sock };
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !seen.ends_with(b"INCR\r\n$1\r\nn\r\n") {
        assert!(Instant::now() < deadline, "got {:?}", String::from_utf8_lossy(&seen));
        readable(&mut engine, 10);
        engine.turn();
        seen.extend(peer.read_available(Duration::from_millis(10)));
        if seen.ends_with(b"PING\r\n") {
            peer.send(b"+PONG\r\n");
            seen.clear();
        }
    }
    peer.send(b":1\r\n");
    assert_eq!(text(&wait(&mut engine, &[20])[&20]), "1");
}

// ----- batches (pipelines): one token, one completion carrying every result ----------------

fn batch_results(c: &Completion) -> &[BatchItem] {
    match c {
        Completion::Batch { results, .. } => results,
        other => panic!("not a batch: {other:?}"),
    }
}

fn item_text(item: &BatchItem) -> String {
    match item {
        BatchItem::Reply(reply) => text(&Completion::Reply { token: 0, reply: reply.clone() }),
        BatchItem::Failed(error) => format!("failed: {:?}: {}", error.kind, error.message),
    }
}

fn requests(commands: &[&[&[u8]]]) -> Vec<Request> {
    commands.iter().map(|args| Request::new(0, args, Deadline::Default)).collect()
}

#[test]
fn a_batch_completes_once_with_every_reply_in_order_against_a_real_server() {
    let srv = start_server(&[]);
    let mut engine = Engine::new().unwrap();
    let conn = engine.open(ConnConfig::new(Address::Tcp { host: "127.0.0.1".into(), port: srv.port }), None).unwrap();
    let batch = requests(&[&[b"SET", b"k", b"v"], &[b"INCR", b"k"], &[b"GET", b"k"], &[b"LRANGE", b"none", b"0", b"-1"]]);
    engine.submit_batch(conn, 10, batch).unwrap();
    // A single command submitted after it completes on its own.
    cmd(&mut engine, conn, 12, &[b"PING"]);
    assert_eq!(engine.outstanding(), 2, "a batch is one outstanding token");
    let got = wait(&mut engine, &[10, 12]);
    let results = batch_results(&got[&10]);
    let texts: Vec<String> = results.iter().map(item_text).collect();
    assert_eq!(texts, ["OK", "ERR value is not an integer or out of range", "v", "array(0)"]);
    assert!(matches!(&results[1], BatchItem::Reply(r) if r.is_error()), "an error reply is a reply");
    assert_eq!(text(&got[&12]), "PONG");
    assert_eq!(engine.outstanding(), 0);

    // 5,000 commands in one batch, and an empty one.
    let payloads: Vec<Vec<u8>> = (0..5000).map(|i| format!("p{i}").into_bytes()).collect();
    let big: Vec<Request> = payloads.iter().map(|p| Request::new(0, &[b"ECHO", p], Deadline::Default)).collect();
    engine.submit_batch(conn, 14, big).unwrap();
    engine.submit_batch(conn, 16, Vec::new()).unwrap();
    let got = wait(&mut engine, &[14, 16]);
    let results = batch_results(&got[&14]);
    assert_eq!(results.len(), 5000);
    for (i, item) in results.iter().enumerate() {
        assert_eq!(item_text(item), format!("p{i}"));
    }
    assert!(batch_results(&got[&16]).is_empty());
    assert!(!engine.busy());
}

#[test]
fn a_batch_cut_by_a_lost_connection_carries_replies_and_failures_in_place() {
    let (mut engine, conn, mut peer, _listener) = engine_with_peer(|c| c.reconnect.enabled = false);
    engine.submit_batch(conn, 20, requests(&[&[b"GET", b"a"], &[b"INCR", b"n"], &[b"SET", b"b", b"1"]])).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while !seen.ends_with(b"$1\r\nb\r\n$1\r\n1\r\n") {
        assert!(Instant::now() < deadline, "got {:?}", String::from_utf8_lossy(&seen));
        readable(&mut engine, 10);
        engine.turn();
        seen.extend(peer.read_available(Duration::from_millis(10)));
    }
    // One reply, then the server goes away: nothing completes until the batch is whole.
    peer.send(b"$1\r\nA\r\n");
    readable(&mut engine, 100);
    engine.turn();
    assert!(engine.next_completion().is_none(), "a batch completed before all its commands");
    drop(peer);
    let got = wait(&mut engine, &[20]);
    let results = batch_results(&got[&20]);
    assert_eq!(results.len(), 3);
    assert_eq!(item_text(&results[0]), "A");
    for item in &results[1..] {
        assert!(matches!(item, BatchItem::Failed(e) if e.kind == ErrorKind::Connection), "{item:?}");
    }
}

#[test]
fn a_batch_on_a_released_connection_fails_in_every_slot() {
    let mut engine = Engine::new().unwrap();
    let conn = engine.open(ConnConfig::new(Address::Tcp { host: "127.0.0.1".into(), port: free_port() }), None).unwrap();
    engine.release(conn).unwrap();
    engine.submit_batch(conn, 30, requests(&[&[b"PING"], &[b"PING"]])).unwrap();
    let got = wait(&mut engine, &[30]);
    let results = batch_results(&got[&30]);
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| matches!(r, BatchItem::Failed(e) if e.kind == ErrorKind::Disconnected)));
}

#[test]
fn an_unanswered_batch_is_one_orphan() {
    let (mut engine, conn, _peer, _listener) = engine_with_peer(|_| {});
    engine.submit_batch(conn, 40, requests(&[&[b"GET", b"a"], &[b"GET", b"b"]])).unwrap();
    cmd(&mut engine, conn, 42, &[b"GET", b"c"]);
    let mut orphans = engine.take_orphans();
    orphans.sort();
    assert_eq!(orphans, [40, 42], "the batch's commands are not orphans of their own");
}

// ----- large replies read straight into the decoder's buffer ---------------------------------

/// `$size` bulk of a recognisable pattern, then `+OK`: the replies to GET big and PING.
fn big_frame(size: usize) -> (Vec<u8>, Vec<u8>) {
    let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let mut frame = format!("${size}\r\n").into_bytes();
    frame.extend_from_slice(&body);
    frame.extend_from_slice(b"\r\n+OK\r\n");
    (frame, body)
}

/// Turn the engine until `want` tokens completed, while `writer` feeds the peer.
fn replies_while<T: Send + 'static>(engine: &mut Engine, want: &[u64], writer: impl FnOnce() -> T + Send + 'static) -> (HashMap<u64, Completion>, T) {
    let writer = std::thread::spawn(writer);
    let got = wait(engine, want);
    (got, writer.join().unwrap())
}

#[test]
fn a_large_bulk_split_anywhere_and_paused_mid_body_arrives_whole() {
    let (mut engine, conn, mut peer, _listener) = engine_with_peer(|c| c.read_buffer_size = 4096);
    let mut token = 10;
    for size in [70_000, 300_001, 2 * READ_PER_TURN + 7] {
        let (frame, body) = big_frame(size);
        let h = format!("${size}\r\n").len();
        let b = h + size; // where the body's \r\n starts
        // Pieces end inside the header, right after it, early and deep in the body, inside the
        // body's \r\n, and inside the next reply; the peer pauses between them, so the engine
        // meets WouldBlock at each (the direct read too, once the header told the size).
        for cuts in [
            vec![1, h - 1, h, h + 1, h + 65_536, b - 1, b, b + 1, b + 2, b + 4],
            vec![h + 70_000.min(size / 2), b + 3],
            vec![b],
            vec![],
        ] {
            cmd(&mut engine, conn, token, &[b"GET", b"big"]);
            cmd(&mut engine, conn, token + 1, &[b"PING"]);
            let frame = frame.clone();
            let (got, p) = replies_while(&mut engine, &[token, token + 1], move || {
                let mut at = 0;
                for cut in cuts.into_iter().chain([frame.len()]) {
                    peer.send(&frame[at..cut]);
                    at = cut;
                    std::thread::sleep(Duration::from_millis(3));
                }
                peer
            });
            peer = p;
            match &got[&token] {
                Completion::Reply { reply, .. } => assert!(reply.as_text() == Some(&body[..]), "size {size}"),
                other => panic!("{other:?}"),
            }
            assert_eq!(text(&got[&(token + 1)]), "OK");
            token += 2;
        }
        peer.read_available(Duration::from_millis(50));
    }
}

#[test]
fn a_close_in_the_middle_of_a_large_bulk_fails_the_command() {
    let (mut engine, conn, mut peer, _listener) = engine_with_peer(|c| {
        c.reconnect.enabled = false;
        c.retry.enabled = false;
    });
    cmd(&mut engine, conn, 10, &[b"GET", b"big"]);
    let (frame, _) = big_frame(1_000_000);
    let (got, _) = replies_while(&mut engine, &[10], move || {
        peer.send(&frame[..300_000]);
        std::thread::sleep(Duration::from_millis(20));
        drop(peer);
    });
    match &got[&10] {
        Completion::Failed { error, .. } => assert_eq!(error.kind, ErrorKind::Connection, "{error:?}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_large_bulk_over_a_unix_socket_arrives_whole() {
    let dir = std::env::temp_dir().join(format!("fior-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = TempDir(dir.clone());
    let path = dir.join("s.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let mut engine = Engine::new().unwrap();
    let conn = engine.open(ConnConfig::new(Address::Unix { path: path.clone() }), None).unwrap();
    engine.connect(conn, 1).unwrap();
    let (mut sock, _) = listener.accept().unwrap();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        while !got.ends_with(b"PING\r\n") {
            let n = sock.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        sock.write_all(b"+PONG\r\n").unwrap();
        got.clear();
        while !got.ends_with(b"PING\r\n") {
            let n = sock.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        let (frame, body) = big_frame(3 * READ_PER_TURN + 1);
        for piece in frame.chunks(400_000) {
            sock.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        (sock, body)
    });
    assert!(matches!(wait(&mut engine, &[1])[&1], Completion::Done { .. }));
    cmd(&mut engine, conn, 10, &[b"GET", b"big"]);
    cmd(&mut engine, conn, 11, &[b"PING"]);
    let got = wait(&mut engine, &[10, 11]);
    let (_sock, body) = server.join().unwrap();
    assert_eq!(text(&got[&11]), "OK");
    match &got[&10] {
        Completion::Reply { reply, .. } => assert!(reply.as_text() == Some(&body[..])),
        other => panic!("{other:?}"),
    }
}

//! The engine against a real redis-server started by the test (no Perl involved).

use fior::conn::{Address, Completion, ConnConfig, ConnEvent, Deadline, ErrorKind, Request};
use fior::protocol::Node;
use fior::runtime::{Engine, Submission};
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
        engine.begin_drain();
        while let Some((id, c)) = engine.next_completion() {
            match c {
                Completion::Reply { token, .. } | Completion::Done { token } | Completion::Failed { token, .. } => {
                    got.insert(token, c);
                }
                Completion::Event(e) => events.push((id, e)),
            }
        }
        if want.iter().all(|t| got.contains_key(t)) {
            return got;
        }
        assert!(Instant::now() < deadline, "timed out waiting for completions");
        std::thread::sleep(Duration::from_micros(200));
    }
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
    engine.send(Submission::Command { conn, request: Request::new(token, args, Deadline::Default) }).unwrap();
}

#[test]
fn set_get_pipeline_and_large_values_against_a_real_server() {
    let srv = start_server(&[]);
    let mut engine = Engine::start().unwrap();
    let conn = engine.open(ConnConfig::new(Address::Tcp { host: "localhost".into(), port: srv.port }), None).unwrap();
    engine.send(Submission::Connect { conn, token: 1 }).unwrap();
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
fn deep_reply_from_lua_decodes_on_the_io_thread() {
    let srv = start_server(&[]);
    let mut engine = Engine::start().unwrap();
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
    let mut engine = Engine::start().unwrap();
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
    engine.send(Submission::Command { conn, request: ping }).unwrap();
    assert_eq!(text(&wait(&mut engine, &[3])[&3]), "PONG");
}

#[test]
fn connection_refused_fails_fast() {
    let port = free_port();
    let mut engine = Engine::start().unwrap();
    let conn = engine.open(ConnConfig::new(Address::Tcp { host: "127.0.0.1".into(), port }), None).unwrap();
    engine.send(Submission::Connect { conn, token: 1 }).unwrap();
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
    let mut engine = Engine::start().unwrap();
    let mut cfg = ConnConfig::new(Address::Tcp { host: "127.0.0.1".into(), port: srv.port });
    cfg.reconnect.delay = Duration::from_millis(20);
    cfg.handshake.client_name = Some(b"victim".to_vec());
    let conn = engine.open(cfg, None).unwrap();
    let mut events = Vec::new();
    engine.send(Submission::Connect { conn, token: 1 }).unwrap();
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
    let mut engine = Engine::start().unwrap();
    let conn = engine.open(ConnConfig::new(Address::Tcp { host: "127.0.0.1".into(), port: srv.port }), None).unwrap();
    cmd(&mut engine, conn, 0, &[b"PING"]);
    wait(&mut engine, &[0]);
    let n = 20_000u64;
    let t = Instant::now();
    for i in 1..=n {
        cmd(&mut engine, conn, i, &[b"SET", b"k", b"v"]);
        loop {
            engine.begin_drain();
            if let Some((_, Completion::Reply { .. })) = engine.next_completion() {
                break;
            }
            std::hint::spin_loop();
        }
    }
    let dt = t.elapsed().as_secs_f64();
    println!("engine sequential (spinning consumer): {:.0} ops/s", n as f64 / dt);
}

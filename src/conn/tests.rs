//! State-machine tests with a simulated clock: no sockets, no sleeping.

use super::*;
use crate::protocol::Node;

struct H {
    conn: Conn,
    now: Instant,
    /// Everything the connection asked to write, in order.
    wire: Vec<u8>,
    done: Vec<Completion>,
    actions: Vec<Action>,
}

const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";

fn cfg() -> ConnConfig {
    let mut c = ConnConfig::new(Address::Tcp { host: "127.0.0.1".into(), port: 6379 });
    c.reconnect.jitter = 0.0;
    c
}

fn args(a: &[&str]) -> Vec<&'static [u8]> {
    a.iter().map(|s| -> &'static [u8] { Box::leak(s.as_bytes().to_vec().into_boxed_slice()) }).collect()
}

impl H {
    fn new(cfg: ConnConfig) -> H {
        let now = Instant::now();
        H { conn: Conn::new(Arc::new(cfg), now, 1), now, wire: Vec::new(), done: Vec::new(), actions: Vec::new() }
    }

    /// Connected and handshaken (no handshake configured: just the probing PING).
    fn ready(cfg: ConnConfig) -> H {
        let mut h = H::new(cfg);
        h.conn.connect(1000, h.now);
        h.pump();
        assert_eq!(h.actions, vec![Action::Connect]);
        h.up();
        assert!(h.conn.is_ready());
        h.take();
        h.actions.clear();
        h
    }

    /// The transport came up; answer the handshake's PING (sent when nothing else is).
    fn up(&mut self) {
        self.take_wire(); // what earlier transports were given
        self.conn.transport_ready(self.now);
        self.pump();
        assert_eq!(self.take_wire(), PING, "the handshake probes with PING");
        self.feed(b"+PONG\r\n");
    }

    fn submit(&mut self, token: u64, a: &[&str]) {
        self.conn.submit(Request::new(token, &args(a), Deadline::Default), self.now);
        self.pump();
    }

    /// Collect actions and completions; write everything the connection wants written.
    fn pump(&mut self) {
        while let Some(a) = self.conn.poll_action() {
            self.actions.push(a);
        }
        self.write_all();
        self.done.extend(self.conn.take_completions(self.now));
    }

    fn write_all(&mut self) {
        let bytes = self.conn.write_buf().unwritten();
        self.wire.extend_from_slice(&bytes);
        self.conn.wrote(bytes.len(), self.now);
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.conn.read_buf().extend_from_slice(bytes);
        self.conn.bytes_read(self.now);
        self.pump();
    }

    /// Move the clock, firing deadlines exactly when they fall due.
    fn advance(&mut self, d: Duration) {
        let until = self.now + d;
        while let Some(t) = self.conn.poll_timeout() {
            if t > until {
                break;
            }
            self.now = self.now.max(t);
            self.conn.handle_timeout(self.now);
            self.pump();
        }
        self.now = until;
    }

    fn take(&mut self) -> Vec<Completion> {
        std::mem::take(&mut self.done)
    }

    fn take_wire(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.wire)
    }
}

fn reply_text(c: &Completion) -> (u64, String) {
    match c {
        Completion::Reply { token, reply } => {
            let text = match reply.root() {
                Node::Integer(i) => i.to_string(),
                Node::Nil => "nil".into(),
                Node::Array(n) => format!("array({n})"),
                Node::Error(r) => format!("ERR:{}", String::from_utf8_lossy(reply.bytes(r))),
                Node::Simple(r) | Node::Bulk(r) => String::from_utf8_lossy(reply.bytes(r)).into_owned(),
            };
            (*token, text)
        }
        other => panic!("not a reply: {other:?}"),
    }
}

fn failure(c: &Completion) -> (u64, ErrorKind, String) {
    match c {
        Completion::Failed { token, error } => (*token, error.kind, error.message.clone()),
        other => panic!("not a failure: {other:?}"),
    }
}

fn failures(cs: &[Completion]) -> Vec<(u64, ErrorKind)> {
    cs.iter().filter_map(|c| match c {
        Completion::Failed { token, error } => Some((*token, error.kind)),
        _ => None,
    }).collect()
}

fn events(cs: &[Completion]) -> Vec<ConnEvent> {
    cs.iter().filter_map(|c| match c {
        Completion::Event(e) => Some(e.clone()),
        _ => None,
    }).collect()
}

#[test]
fn replies_match_requests_in_order_at_every_split() {
    let stream: &[u8] = b"+OK\r\n$5\r\nhello\r\n*2\r\n:1\r\n$-1\r\n-WRONGTYPE bad\r\n";
    for cut in 0..=stream.len() {
        let mut h = H::ready(cfg());
        h.submit(1, &["SET", "a", "b"]);
        h.submit(2, &["GET", "a"]);
        h.submit(3, &["MGET", "x", "y"]);
        h.submit(4, &["INCR", "a"]);
        h.feed(&stream[..cut]);
        h.feed(&stream[cut..]);
        let got: Vec<_> = h.take().iter().map(reply_text).collect();
        assert_eq!(
            got,
            vec![
                (1, "OK".into()),
                (2, "hello".into()),
                (3, "array(2)".into()),
                (4, "ERR:WRONGTYPE bad".into())
            ],
            "cut at {cut}"
        );
    }
}

#[test]
fn replies_one_byte_at_a_time() {
    let mut h = H::ready(cfg());
    for t in 0..50 {
        h.submit(t, &["ECHO", &format!("payload-{t}")]);
    }
    let mut stream = Vec::new();
    for t in 0..50 {
        let p = format!("payload-{t}");
        stream.extend_from_slice(format!("${}\r\n{p}\r\n", p.len()).as_bytes());
    }
    for b in &stream {
        h.feed(std::slice::from_ref(b));
    }
    let got: Vec<_> = h.take().iter().map(reply_text).collect();
    assert_eq!(got.len(), 50);
    for (t, (tok, text)) in got.into_iter().enumerate() {
        assert_eq!(tok, t as u64);
        assert_eq!(text, format!("payload-{t}"));
    }
}

#[test]
fn commands_issued_together_leave_in_one_buffer() {
    let mut h = H::ready(cfg());
    for t in 0..3 {
        h.conn.submit(Request::new(t, &args(&["PING"]), Deadline::Default), h.now);
    }
    let mut slices = [std::io::IoSlice::new(&[]); 8];
    assert_eq!(h.conn.write_buf().fill_slices(&mut slices), 1, "small commands are packed into one slice");
    assert_eq!(&*slices[0], b"*1\r\n$4\r\nPING\r\n".repeat(3).as_slice());
}

#[test]
fn request_timeout_fails_that_request_and_resets_the_rest() {
    let mut c = cfg();
    c.request_timeout = Some(Duration::from_millis(500));
    let mut h = H::ready(c);
    h.submit(1, &["DEBUG", "SLEEP", "2"]);
    h.advance(Duration::from_millis(100));
    h.submit(2, &["GET", "k"]);
    h.submit(3, &["GET", "j"]);
    h.advance(Duration::from_millis(399));
    assert!(h.take().is_empty(), "nothing due yet");
    h.advance(Duration::from_millis(1));
    let done = h.take();
    let (tok, kind, msg) = failure(&done[0]);
    assert_eq!((tok, kind), (1, ErrorKind::Timeout));
    assert!(msg.contains("DEBUG SLEEP") && msg.contains("0.5s"), "{msg}");
    assert_eq!(failures(&done[1..]), vec![(2, ErrorKind::Connection), (3, ErrorKind::Connection)]);
    assert!(matches!(
        events(&done)[..],
        [ConnEvent::Disconnected { reason: DisconnectReason::Timeout, .. }]
    ));
    assert_eq!(h.actions.last(), Some(&Action::Disconnect));
    assert!(!h.conn.is_ready());
    // A late reply from the reset connection must not be matched to anything.
    assert_eq!(h.conn.inflight_len(), 0);
}

#[test]
fn an_early_deadline_behind_a_blocking_command_resets_everything() {
    let mut c = cfg();
    c.request_timeout = Some(Duration::from_secs(5));
    let mut h = H::ready(c);
    h.submit(1, &["BLPOP", "q", "10"]);
    h.submit(2, &["GET", "k"]);
    h.advance(Duration::from_secs(5));
    let done = h.take();
    assert_eq!(failures(&done), vec![(2, ErrorKind::Timeout), (1, ErrorKind::Connection)]);
}

#[test]
fn blocking_commands_get_server_timeout_plus_buffer() {
    let mut c = cfg();
    c.request_timeout = Some(Duration::from_secs(1));
    c.read_timeout = Some(Duration::from_secs(1));
    c.blocking_timeout_buffer = Duration::from_secs(2);
    let mut h = H::ready(c);
    h.submit(1, &["BLPOP", "q", "3"]);
    h.advance(Duration::from_millis(4999));
    assert!(h.take().is_empty(), "neither request_timeout nor read_timeout applies to BLPOP");
    h.feed(b"*-1\r\n");
    assert_eq!(reply_text(&h.take()[0]), (1, "nil".into()));

    h.submit(2, &["BLPOP", "q", "3"]);
    h.advance(Duration::from_secs(5));
    assert_eq!(failures(&h.take()), vec![(2, ErrorKind::Timeout)]);
}

#[test]
fn blocking_forever_has_no_client_deadline() {
    let mut h = H::ready(cfg());
    h.submit(1, &["BLPOP", "q", "0"]);
    h.advance(Duration::from_secs(3600));
    assert!(h.take().is_empty());
    assert_eq!(h.conn.poll_timeout(), None);
    h.feed(b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    assert_eq!(reply_text(&h.take()[0]), (1, "array(2)".into()));
}

#[test]
fn per_command_override_beats_request_timeout() {
    let mut c = cfg();
    c.request_timeout = Some(Duration::from_secs(1));
    let mut h = H::ready(c);
    h.conn.submit(Request::new(1, &args(&["DEBUG", "SLEEP", "3"]), Deadline::After(Duration::from_secs(10))), h.now);
    h.conn.submit(Request::new(2, &args(&["KEYS", "*"]), Deadline::Never), h.now);
    h.pump();
    h.advance(Duration::from_secs(9));
    assert!(h.take().is_empty());
    h.feed(b"+OK\r\n");
    h.advance(Duration::from_secs(100));
    let done = h.take();
    assert_eq!(reply_text(&done[0]), (1, "OK".into()));
    assert_eq!(done.len(), 1, "KEYS has no deadline");
}

#[test]
fn read_timeout_detects_a_silent_server() {
    let mut c = cfg();
    c.request_timeout = None;
    c.read_timeout = Some(Duration::from_secs(2));
    let mut h = H::ready(c);
    h.advance(Duration::from_secs(60));
    assert!(h.take().is_empty(), "idle connections are not timed out");
    h.submit(1, &["GET", "a"]);
    h.submit(2, &["GET", "b"]);
    h.advance(Duration::from_secs(1));
    h.feed(b"$1\r\n1\r\n");
    h.advance(Duration::from_millis(1999));
    assert_eq!(h.take().len(), 1, "data arrived: the silence clock restarted");
    h.advance(Duration::from_millis(1));
    let done = h.take();
    let (tok, kind, msg) = failure(&done[0]);
    assert_eq!((tok, kind), (2, ErrorKind::Timeout));
    assert!(msg.contains("read_timeout"), "{msg}");
}

#[test]
fn write_timeout_when_the_socket_does_not_drain() {
    let mut c = cfg();
    c.write_timeout = Some(Duration::from_secs(1));
    c.request_timeout = None;
    c.read_timeout = None;
    let mut h = H::ready(c);
    // Submit without pumping writes: the socket accepts nothing.
    h.conn.submit(Request::new(1, &args(&["SET", "k", "v"]), Deadline::Default), h.now);
    h.advance(Duration::from_secs(1));
    let (tok, kind, msg) = failure(&h.take()[0]);
    assert_eq!((tok, kind), (1, ErrorKind::Timeout));
    assert!(msg.contains("write_timeout"), "{msg}");
}

#[test]
fn connect_timeout_fails_connect_and_waiting_commands() {
    let mut c = cfg();
    c.connect_timeout = Some(Duration::from_millis(300));
    let mut h = H::new(c);
    h.conn.connect(7, h.now);
    h.submit(1, &["PING"]);
    h.advance(Duration::from_millis(300));
    let done = h.take();
    let (tok, kind, msg) = failure(&done[0]);
    assert_eq!((tok, kind), (7, ErrorKind::Timeout));
    assert!(msg.contains("connect to 127.0.0.1:6379 timed out after 0.3s"), "{msg}");
    assert_eq!(failures(&done), vec![(7, ErrorKind::Timeout), (1, ErrorKind::Connection)]);
    assert_eq!(h.actions, vec![Action::Connect, Action::Disconnect]);
    // No retry of a first connect: nothing else is scheduled.
    assert_eq!(h.conn.poll_timeout(), None);
}

#[test]
fn a_command_before_connect_connects_lazily() {
    let mut h = H::new(cfg());
    h.submit(1, &["PING"]);
    assert_eq!(h.actions, vec![Action::Connect]);
    assert!(h.take_wire().is_empty(), "nothing is written before the transport is up");
    h.up();
    assert_eq!(h.take_wire(), PING, "the user's PING after the handshake's");
    h.feed(b"+PONG\r\n");
    let done = h.take();
    assert!(matches!(events(&done)[..], [ConnEvent::Connected]));
    assert_eq!(reply_text(done.last().unwrap()), (1, "PONG".into()));
}

#[test]
fn handshake_runs_before_any_command_and_hides_the_password() {
    let mut c = cfg();
    c.handshake = Handshake {
        username: Some(b"alice".to_vec()),
        password: Some(b"s3cr3t".to_vec()),
        database: Some(2),
        client_name: Some(b"app".to_vec()),
    };
    assert!(!format!("{:?}", c.handshake).contains("s3cr3t"));
    let mut h = H::new(c);
    h.conn.connect(9, h.now);
    h.submit(1, &["SET", "k", "v"]);
    h.conn.transport_ready(h.now);
    h.pump();
    let wire = h.take_wire();
    assert_eq!(
        wire,
        [
            &b"*3\r\n$4\r\nAUTH\r\n$5\r\nalice\r\n$6\r\ns3cr3t\r\n"[..],
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n",
            b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$3\r\napp\r\n"
        ]
        .concat(),
        "SET waits until the handshake succeeded (a failed SELECT must not write to db 0)"
    );
    h.feed(b"+OK\r\n+OK\r\n");
    assert!(h.take_wire().is_empty());
    h.feed(b"+OK\r\n");
    assert_eq!(h.take_wire(), b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    h.feed(b"+OK\r\n");
    let done = h.take();
    assert!(matches!(done[0], Completion::Event(ConnEvent::Connected)));
    assert!(matches!(done[1], Completion::Done { token: 9 }));
    assert_eq!(reply_text(done.last().unwrap()), (1, "OK".into()));
}

#[test]
fn failed_auth_fails_connect_with_a_redis_error_and_stays_disconnected() {
    let mut c = cfg();
    c.handshake.password = Some(b"hunter2".to_vec());
    let mut h = H::new(c);
    h.conn.connect(9, h.now);
    h.submit(1, &["GET", "k"]);
    h.conn.transport_ready(h.now);
    h.pump();
    h.feed(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    let done = h.take();
    let (tok, kind, msg) = failure(&done[0]);
    assert_eq!((tok, kind), (9, ErrorKind::Redis));
    assert!(msg.starts_with("WRONGPASS") && msg.contains("AUTH"), "{msg}");
    assert!(!msg.contains("hunter2"));
    assert_eq!(failures(&done), vec![(9, ErrorKind::Redis), (1, ErrorKind::Redis)]);
    assert!(done.iter().all(|c| !format!("{c:?}").contains("hunter2")));
    assert!(!h.conn.is_ready());
    assert_eq!(h.actions.last(), Some(&Action::Disconnect));
}

#[test]
fn reconnects_with_backoff_and_replays_the_handshake() {
    let mut c = cfg();
    c.handshake.database = Some(3);
    let mut h = H::new(c);
    h.conn.connect(1, h.now);
    h.conn.transport_ready(h.now);
    h.pump();
    h.feed(b"+OK\r\n");
    h.take();
    h.take_wire();
    h.actions.clear();

    h.conn.eof(h.now);
    h.pump();
    let done = h.take();
    assert!(matches!(
        events(&done)[..],
        [ConnEvent::Disconnected { reason: DisconnectReason::ServerClosed, .. }]
    ));
    // Commands issued while disconnected wait.
    h.submit(2, &["GET", "a"]);
    h.submit(3, &["GET", "b"]);
    assert!(h.take().is_empty());
    // First retry after reconnect_delay (100 ms, no jitter here).
    h.advance(Duration::from_millis(99));
    assert_eq!(h.actions, vec![Action::Disconnect]);
    h.advance(Duration::from_millis(1));
    assert_eq!(h.actions, vec![Action::Disconnect, Action::Connect]);
    // That attempt fails: the next delay doubles.
    h.conn.transport_failed("Connection refused".into(), h.now);
    h.pump();
    assert!(matches!(events(&h.take())[..], [ConnEvent::Error(_)]));
    h.advance(Duration::from_millis(199));
    assert_eq!(h.actions.iter().filter(|a| **a == Action::Connect).count(), 1);
    h.advance(Duration::from_millis(1));
    assert_eq!(h.actions.iter().filter(|a| **a == Action::Connect).count(), 2);
    h.conn.transport_ready(h.now);
    h.pump();
    assert_eq!(h.take_wire(), b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n");
    h.feed(b"+OK\r\n");
    assert_eq!(h.take_wire(), [&b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n"[..], b"*2\r\n$3\r\nGET\r\n$1\r\nb\r\n"].concat());
    h.feed(b"$1\r\nA\r\n$1\r\nB\r\n");
    let got: Vec<_> = h.take().iter().filter(|c| matches!(c, Completion::Reply { .. })).map(reply_text).collect();
    assert_eq!(got, vec![(2, "A".into()), (3, "B".into())]);
    assert_eq!(h.conn.reconnect_attempts(), 0, "backoff resets once connected");
}

#[test]
fn written_commands_fail_and_unwritten_ones_wait_for_the_reconnect() {
    let mut h = H::ready(cfg());
    h.submit(1, &["INCR", "counter"]);
    // These two are accepted but the socket takes none of their bytes.
    h.conn.submit(Request::new(2, &args(&["SET", "a", "1"]), Deadline::Default), h.now);
    h.conn.submit(Request::new(3, &args(&["SET", "b", "2"]), Deadline::Default), h.now);
    h.take_wire();
    h.conn.io_error("Connection reset by peer".into(), h.now);
    h.pump();
    let done = h.take();
    assert_eq!(failures(&done), vec![(1, ErrorKind::Connection)], "INCR may have run: it is not sent again");
    assert!(failure(&done[0]).2.contains("Connection reset by peer"));
    h.advance(Duration::from_millis(100));
    h.up();
    assert_eq!(
        h.take_wire(),
        [&b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"[..], b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"].concat()
    );
    h.feed(b"+OK\r\n+OK\r\n");
    let got: Vec<_> = h.take().iter().filter(|c| matches!(c, Completion::Reply { .. })).map(reply_text).collect();
    assert_eq!(got, vec![(2, "OK".into()), (3, "OK".into())]);
}

#[test]
fn queue_is_bounded_while_disconnected() {
    let mut c = cfg();
    c.queue_size = 2;
    let mut h = H::ready(c);
    h.conn.eof(h.now);
    h.pump();
    h.take();
    h.submit(1, &["PING"]);
    h.submit(2, &["PING"]);
    h.submit(3, &["PING"]);
    let done = h.take();
    assert_eq!(failures(&done), vec![(3, ErrorKind::Disconnected)]);
    let (tok, kind, msg) = failure(&done[0]);
    assert_eq!((tok, kind), (3, ErrorKind::Disconnected));
    assert!(msg.contains("queue_size"), "{msg}");
    // The refusal says how many wait.
    let Completion::Failed { error, .. } = &done[0] else { panic!() };
    assert_eq!(error.queue_size, Some(2));
    assert_eq!(h.conn.queued_len(), 2);
}

#[test]
fn a_queued_command_times_out_without_a_reset() {
    let mut c = cfg();
    c.request_timeout = Some(Duration::from_secs(1));
    c.connect_timeout = Some(Duration::from_secs(10));
    let mut h = H::new(c);
    h.submit(1, &["GET", "a"]);
    h.advance(Duration::from_millis(500));
    h.submit(2, &["GET", "b"]);
    h.advance(Duration::from_millis(500));
    let done = h.take();
    assert_eq!(failures(&done), vec![(1, ErrorKind::Timeout)]);
    assert!(failure(&done[0]).2.contains("waiting for a connection"));
    assert_eq!(h.actions, vec![Action::Connect], "the connect attempt goes on");
    h.up();
    assert_eq!(h.take_wire(), b"*2\r\n$3\r\nGET\r\n$1\r\nb\r\n");
}

#[test]
fn close_fails_everything_and_stops_auto_connect_without_reconnect() {
    let mut c = cfg();
    c.reconnect.enabled = false;
    let mut h = H::ready(c);
    h.submit(1, &["GET", "a"]);
    h.conn.close(Some(50), h.now);
    h.pump();
    let done = h.take();
    assert_eq!(failures(&done), vec![(1, ErrorKind::Connection)]);
    let Completion::Failed { error, .. } = &done[0] else { panic!() };
    assert_eq!(error.reason, Some(DisconnectReason::Client));
    assert!(matches!(done.last(), Some(Completion::Done { token: 50 })));
    assert!(matches!(
        events(&done)[..],
        [ConnEvent::Disconnected { reason: DisconnectReason::Client, .. }]
    ));
    h.actions.clear();
    h.submit(2, &["GET", "a"]);
    let done = h.take();
    assert_eq!(failures(&done), vec![(2, ErrorKind::Disconnected)]);
    let Completion::Failed { error, .. } = &done[0] else { panic!() };
    assert_eq!(error.queue_size, Some(0));
    assert!(h.actions.is_empty(), "no reconnect after an explicit close");
    h.conn.connect(3, h.now);
    h.pump();
    assert_eq!(h.actions, vec![Action::Connect]);
}

#[test]
fn after_close_with_reconnect_on_the_next_command_connects_again() {
    let mut h = H::ready(cfg());
    h.conn.close(None, h.now);
    h.pump();
    h.take();
    h.actions.clear();
    assert!(h.actions.is_empty(), "nothing by itself");
    h.advance(Duration::from_secs(120));
    assert!(h.actions.is_empty(), "no reconnect by itself, however long");
    h.submit(2, &["GET", "a"]);
    assert_eq!(h.actions, vec![Action::Connect], "the next command connects, as on a new connection");
    h.up();
    assert_eq!(h.take_wire(), b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n");
    h.feed(b"$1\r\nx\r\n");
    assert_eq!(reply_text(h.take().last().unwrap()), (2, "x".into()));

    // As on a new connection, a failed first connect is reported, not retried.
    h.conn.close(None, h.now);
    h.pump();
    h.take();
    h.actions.clear();
    h.submit(3, &["GET", "a"]);
    assert_eq!(h.actions, vec![Action::Connect]);
    h.conn.transport_failed("connection refused".into(), h.now);
    h.pump();
    assert_eq!(failures(&h.take()), vec![(3, ErrorKind::Connection)]);
    h.actions.clear();
    h.advance(Duration::from_secs(120));
    assert!(h.actions.is_empty(), "no reconnect attempts after it: {:?}", h.actions);
}

#[test]
fn a_request_timeout_says_whether_the_command_was_written_and_what_it_was() {
    let mut c = cfg();
    c.request_timeout = Some(Duration::from_secs(1));
    c.reconnect.enabled = false;
    let mut h = H::ready(c);
    h.submit(1, &["SET", "k", "v"]);
    h.advance(Duration::from_secs(2));
    let done = h.take();
    let Completion::Failed { error, .. } = &done[0] else { panic!("{done:?}") };
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert!(error.maybe_executed, "written, so the server may have run it");
    assert_eq!(error.words.as_deref(), Some(&[b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()][..]));
    // The other commands written on the connection fail with a Connection error, reason timeout.

    // Not written: the connection is not there (reconnect off: connect again, stay connecting).
    let mut c = cfg();
    c.request_timeout = Some(Duration::from_secs(1));
    let mut h = H::new(c);
    h.submit(2, &["GET", "a"]);
    h.advance(Duration::from_secs(2));
    let done = h.take();
    let Completion::Failed { error, .. } = &done[0] else { panic!("{done:?}") };
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert!(!error.maybe_executed, "never written");
    assert_eq!(error.words.as_deref(), Some(&[b"GET".to_vec(), b"a".to_vec()][..]));
}

#[test]
fn a_partly_written_command_was_not_executed() {
    let mut c = cfg();
    c.request_timeout = Some(Duration::from_secs(1));
    c.write_timeout = None;
    let mut h = H::ready(c);
    h.conn.submit(Request::new(1, &args(&["SET", "k", "v"]), Deadline::Default), h.now);
    // Only part of it leaves.
    h.conn.wrote(3, h.now);
    h.advance(Duration::from_secs(2));
    let done = h.take();
    let Completion::Failed { error, .. } = &done[0] else { panic!("{done:?}") };
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert!(!error.maybe_executed);
}

#[test]
fn connection_errors_name_the_server_and_the_reason() {
    let mut c = cfg();
    c.reconnect.enabled = false;
    let mut h = H::new(c);
    h.submit(1, &["GET", "a"]);
    h.conn.transport_failed("connection refused".into(), h.now);
    h.pump();
    let done = h.take();
    let Some(Completion::Failed { error, .. }) = done.iter().find(|c| matches!(c, Completion::Failed { .. })) else {
        panic!("{done:?}")
    };
    assert_eq!(error.kind, ErrorKind::Connection);
    assert_eq!(error.reason, Some(DisconnectReason::ConnectFailed));
    assert_eq!(error.address, Some(Address::Tcp { host: "127.0.0.1".into(), port: 6379 }));
    let ev = events(&done);
    let ConnEvent::Error(e) = &ev[0] else { panic!("{ev:?}") };
    assert_eq!(e.reason, Some(DisconnectReason::ConnectFailed));
    assert!(e.address.is_some());

    let mut h = H::ready(cfg());
    h.submit(2, &["INCR", "a"]);
    h.conn.eof(h.now);
    h.pump();
    let done = h.take();
    let Completion::Failed { error, .. } = &done[0] else { panic!("{done:?}") };
    assert_eq!(error.kind, ErrorKind::Connection);
    assert_eq!(error.reason, Some(DisconnectReason::ServerClosed));
}

#[test]
fn a_protocol_error_carries_an_excerpt() {
    let mut h = H::ready(cfg());
    h.submit(1, &["GET", "a"]);
    h.feed(b"HTTP/1.1 200 OK\r\n");
    let done = h.take();
    let Completion::Failed { error, .. } = &done[0] else { panic!("{done:?}") };
    assert_eq!(error.kind, ErrorKind::Protocol);
    assert_eq!(error.data.as_deref(), Some("HTTP/1.1 200 OK\\x0D\\x0A"));
}

#[test]
fn garbage_from_the_server_is_a_protocol_error_for_the_head() {
    let mut h = H::ready(cfg());
    h.submit(1, &["GET", "a"]);
    h.submit(2, &["GET", "b"]);
    h.feed(b"HTTP/1.1 200 OK\r\n");
    let done = h.take();
    assert_eq!(failures(&done), vec![(1, ErrorKind::Protocol), (2, ErrorKind::Connection)]);
    assert!(matches!(
        events(&done)[..],
        [ConnEvent::Disconnected { reason: DisconnectReason::ProtocolError, .. }]
    ));
}

#[test]
fn an_unsolicited_reply_is_a_protocol_error() {
    let mut h = H::ready(cfg());
    h.feed(b"+surprise\r\n");
    assert!(matches!(
        events(&h.take())[..],
        [ConnEvent::Disconnected { reason: DisconnectReason::ProtocolError, .. }]
    ));
}

#[test]
fn reconnect_off_leaves_the_connection_down() {
    let mut c = cfg();
    c.reconnect.enabled = false;
    let mut h = H::ready(c);
    h.conn.eof(h.now);
    h.pump();
    h.take();
    h.actions.clear();
    h.advance(Duration::from_secs(10));
    assert!(h.actions.is_empty());
    h.submit(1, &["PING"]);
    assert_eq!(failures(&h.take()), vec![(1, ErrorKind::Disconnected)]);
}

#[test]
fn every_request_completes_exactly_once_under_churn() {
    // Random interleaving of submits, replies, losses and timeouts: each token completes once.
    let mut c = cfg();
    c.request_timeout = Some(Duration::from_millis(50));
    let mut h = H::ready(c);
    let mut rng = 0x9e3779b97f4a7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut submitted = 0u64;
    let mut pending_replies = 0usize;
    for _ in 0..5000 {
        match next() % 10 {
            0..=4 => {
                h.submit(submitted, &["PING"]);
                submitted += 1;
            }
            5..=6 => {
                let n = h.conn.inflight_len().saturating_sub(pending_replies);
                if n > 0 {
                    h.feed(b"+PONG\r\n");
                }
            }
            7 => h.advance(Duration::from_millis(next() % 30)),
            8 => {
                if next() % 4 == 0 {
                    h.conn.io_error("reset".into(), h.now);
                    h.pump();
                }
            }
            _ => {
                if !h.conn.is_ready() && h.actions.last() == Some(&Action::Connect) {
                    h.up();
                } else {
                    h.advance(Duration::from_millis(100));
                }
            }
        }
        pending_replies = 0;
    }
    h.conn.close(None, h.now);
    h.pump();
    let mut seen = std::collections::HashMap::new();
    for c in h.take() {
        let t = match c {
            Completion::Reply { token, .. } | Completion::Failed { token, .. } => token,
            _ => continue,
        };
        *seen.entry(t).or_insert(0) += 1;
    }
    for t in 0..submitted {
        assert_eq!(seen.get(&t), Some(&1), "token {t} completed {:?} times", seen.get(&t));
    }
}

#[test]
fn per_command_timeouts_from_the_config() {
    let mut c = cfg();
    c.request_timeout = Some(Duration::from_secs(1));
    c.read_timeout = Some(Duration::from_secs(1));
    c.timeouts.insert("DEBUG SLEEP".into(), Some(Duration::from_secs(10)));
    c.timeouts.insert("KEYS".into(), None);
    let mut h = H::ready(c);
    h.submit(1, &["debug", "sleep", "3"]);
    h.advance(Duration::from_secs(9));
    assert!(h.take().is_empty(), "neither request_timeout nor read_timeout cut DEBUG SLEEP short");
    h.feed(b"+OK\r\n");
    h.submit(2, &["KEYS", "*"]);
    h.advance(Duration::from_secs(100));
    h.feed(b"*0\r\n");
    h.submit(3, &["DEBUG", "OBJECT", "k"]);
    h.advance(Duration::from_secs(1));
    let done = h.take();
    assert_eq!(reply_text(&done[0]), (1, "OK".into()));
    assert_eq!(reply_text(&done[1]), (2, "array(0)".into()));
    assert_eq!(failures(&done[2..]), vec![(3, ErrorKind::Timeout)], "other DEBUG subcommands keep request_timeout");
}

#[test]
fn a_server_that_does_not_answer_the_probe_fails_connect() {
    // What a plain connection to a TLS port looks like: the server closes on the first bytes.
    let mut h = H::new(cfg());
    h.conn.connect(1, h.now);
    h.conn.transport_ready(h.now);
    h.pump();
    assert_eq!(h.take_wire(), PING);
    h.conn.eof(h.now);
    h.pump();
    let (tok, kind, msg) = failure(&h.take()[0]);
    assert_eq!((tok, kind), (1, ErrorKind::Connection));
    assert!(msg.contains("during the handshake"), "{msg}");
}

#[test]
fn a_silent_tls_handshake_is_a_connection_error() {
    let mut c = cfg();
    c.connect_timeout = Some(Duration::from_secs(2));
    let mut h = H::new(c);
    h.conn.connect(1, h.now);
    h.conn.set_connect_phase(ConnectPhase::Tls);
    h.advance(Duration::from_secs(2));
    let (tok, kind, msg) = failure(&h.take()[0]);
    assert_eq!((tok, kind), (1, ErrorKind::Connection));
    assert!(msg.contains("does the port serve TLS"), "{msg}");
}

#[test]
fn loading_replies_are_retried_with_backoff_until_the_reply_is_real() {
    let mut h = H::ready(cfg());
    h.submit(1, &["SET", "k", "v"]);
    h.take_wire();
    h.feed(b"-LOADING Redis is loading the dataset in memory\r\n");
    assert!(h.take().is_empty(), "LOADING is not the answer: the command will be sent again");
    assert_eq!(h.conn.retrying_len(), 1);
    h.advance(Duration::from_millis(49));
    assert!(h.take_wire().is_empty());
    h.advance(Duration::from_millis(1));
    assert_eq!(h.take_wire(), b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", "sent again after 50 ms");
    h.feed(b"-LOADING again\r\n");
    h.advance(Duration::from_millis(99));
    assert!(h.take_wire().is_empty());
    h.advance(Duration::from_millis(1));
    assert_eq!(h.take_wire().len(), 27, "then after 100 ms");
    h.feed(b"+OK\r\n");
    assert_eq!(reply_text(&h.take()[0]), (1, "OK".into()));
}

#[test]
fn retries_stop_at_the_deadline() {
    let mut c = cfg();
    c.request_timeout = Some(Duration::from_millis(120));
    let mut h = H::ready(c);
    h.submit(1, &["GET", "k"]);
    h.feed(b"-BUSY Redis is busy running a script\r\n");
    h.advance(Duration::from_millis(50));
    h.feed(b"-BUSY still\r\n");
    // The next retry would be due at 150 ms, after the 120 ms deadline: the BUSY is the answer.
    let (tok, text) = reply_text(&h.take()[0]);
    assert_eq!((tok, text.as_str()), (1, "ERR:BUSY still"));
}

#[test]
fn a_retried_command_keeps_its_original_deadline() {
    let mut c = cfg();
    c.request_timeout = Some(Duration::from_millis(100));
    c.retry.delay = Duration::from_millis(60);
    let mut h = H::ready(c);
    h.submit(1, &["GET", "k"]);
    h.advance(Duration::from_millis(30));
    h.feed(b"-LOADING\r\n");
    h.take_wire();
    h.advance(Duration::from_millis(60));
    assert_eq!(h.take_wire(), b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "retried at 90 ms");
    h.advance(Duration::from_millis(10));
    let (tok, kind, _) = failure(&h.take()[0]);
    assert_eq!((tok, kind), (1, ErrorKind::Timeout), "the deadline counts from the first submission");
    assert_eq!(h.conn.retrying_len(), 0);
}

#[test]
fn errors_that_retrying_cannot_fix_are_delivered_at_once() {
    let mut h = H::ready(cfg());
    h.submit(1, &["INCR", "k"]);
    h.feed(b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    h.submit(2, &["EVALSHA", "abc", "0"]);
    h.feed(b"-NOSCRIPT No matching script\r\n");
    h.submit(3, &["SET", "k", "v"]);
    h.feed(b"-OOM command not allowed when used memory > 'maxmemory'.\r\n");
    h.submit(4, &["SET", "k", "v"]);
    h.feed(b"-BUSYKEY Target key name already exists.\r\n");
    assert_eq!(h.take().len(), 4);
    assert_eq!(h.conn.retrying_len(), 0);
}

#[test]
fn retries_are_bounded_without_a_deadline() {
    let mut c = cfg();
    c.request_timeout = None;
    c.retry.max_attempts = 3;
    let mut h = H::ready(c);
    h.submit(1, &["GET", "k"]);
    for _ in 0..3 {
        h.feed(b"-LOADING\r\n");
        h.advance(Duration::from_secs(2));
    }
    assert!(h.take().is_empty());
    h.feed(b"-LOADING\r\n");
    assert_eq!(reply_text(&h.take()[0]), (1, "ERR:LOADING".into()));
}

#[test]
fn retry_off_delivers_loading() {
    let mut c = cfg();
    c.retry.enabled = false;
    let mut h = H::ready(c);
    h.submit(1, &["GET", "k"]);
    h.feed(b"-LOADING\r\n");
    assert_eq!(reply_text(&h.take()[0]), (1, "ERR:LOADING".into()));
}

#[test]
fn a_lost_connection_resends_written_reads_but_not_written_writes() {
    let mut h = H::ready(cfg());
    h.submit(1, &["GET", "a"]);
    h.submit(2, &["INCR", "n"]);
    h.submit(3, &["MGET", "a", "b"]);
    h.take_wire();
    h.conn.io_error("Connection reset by peer".into(), h.now);
    h.pump();
    assert_eq!(failures(&h.take()), vec![(2, ErrorKind::Connection)], "INCR may have run: not sent twice");
    h.advance(Duration::from_millis(100));
    h.up();
    assert_eq!(
        h.take_wire(),
        [&b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n"[..], b"*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n"].concat(),
        "the reads are sent again, in order"
    );
    h.feed(b"$1\r\nA\r\n*2\r\n$1\r\nA\r\n$-1\r\n");
    let got: Vec<_> = h.take().iter().filter(|c| matches!(c, Completion::Reply { .. })).map(reply_text).collect();
    assert_eq!(got, vec![(1, "A".into()), (3, "array(2)".into())]);
}

#[test]
fn a_reset_for_a_deadline_does_not_resend_reads() {
    let mut c = cfg();
    c.request_timeout = Some(Duration::from_millis(100));
    let mut h = H::ready(c);
    h.conn.submit(Request::new(1, &args(&["DEBUG", "SLEEP", "1"]), Deadline::After(Duration::from_millis(50))), h.now);
    h.submit(2, &["GET", "k"]);
    h.advance(Duration::from_millis(50));
    assert_eq!(failures(&h.take()), vec![(1, ErrorKind::Timeout), (2, ErrorKind::Connection)]);
}

#[test]
fn a_first_connect_takes_every_command_issued_meanwhile() {
    let mut c = cfg();
    c.queue_size = 2;
    let mut h = H::new(c);
    for t in 0..5 {
        h.submit(t, &["PING"]);
    }
    assert!(h.take().is_empty(), "queue_size bounds outages, not the first connect");
    assert_eq!(h.conn.queued_len(), 5);
}

#[test]
fn a_released_connection_finishes_its_commands_then_closes() {
    let mut h = H::ready(cfg());
    h.submit(1, &["GET", "a"]);
    h.conn.release(h.now);
    h.pump();
    assert!(!h.conn.is_released(), "a command still waits");
    assert!(!h.actions.contains(&Action::Disconnect));
    h.feed(b"$1\r\nA\r\n");
    h.pump(); // the runtime drops the transport of a released connection; here, see the action
    assert_eq!(reply_text(&h.take()[0]), (1, "A".into()));
    assert!(h.conn.is_released());
    assert_eq!(h.actions.last(), Some(&Action::Disconnect));
}

#[test]
fn an_idle_released_connection_closes_at_once() {
    let mut h = H::ready(cfg());
    h.conn.release(h.now);
    h.pump();
    assert!(h.conn.is_released());
    assert!(h.take().is_empty(), "no events for a client that is gone");
}

fn echo_cmd(p: &str) -> Vec<u8> {
    format!("*2\r\n$4\r\nECHO\r\n${}\r\n{p}\r\n", p.len()).into_bytes()
}

fn bulk(p: &str) -> Vec<u8> {
    format!("${}\r\n{p}\r\n", p.len()).into_bytes()
}

#[test]
fn pipeline_depth_bounds_what_is_written_and_keeps_the_order() {
    let mut c = cfg();
    c.pipeline_depth = 2;
    let mut h = H::ready(c);
    for t in 1..=5 {
        h.submit(t, &["ECHO", &format!("p{t}")]);
    }
    assert_eq!(h.take_wire(), [echo_cmd("p1"), echo_cmd("p2")].concat(), "only two are written");
    assert_eq!(h.conn.queued_len(), 3);
    // Each reply makes room for the next one.
    h.feed(&bulk("p1"));
    assert_eq!(h.take_wire(), echo_cmd("p3"));
    // Two replies in one read make room for two.
    h.feed(&[bulk("p2"), bulk("p3")].concat());
    assert_eq!(h.take_wire(), [echo_cmd("p4"), echo_cmd("p5")].concat());
    h.submit(6, &["ECHO", "p6"]);
    assert!(h.take_wire().is_empty(), "the window is full");
    h.feed(&[bulk("p4"), bulk("p5")].concat());
    assert_eq!(h.take_wire(), echo_cmd("p6"));
    h.feed(&bulk("p6"));
    let got: Vec<_> = h.take().iter().map(reply_text).collect();
    assert_eq!(got, (1..=6).map(|t| (t, format!("p{t}"))).collect::<Vec<_>>());
    assert_eq!(h.conn.queued_len(), 0);
}

#[test]
fn pipeline_depth_waiting_commands_time_out_alone_and_survive_a_reconnect() {
    let mut c = cfg();
    c.pipeline_depth = 1;
    let mut h = H::ready(c);
    h.conn.submit(Request::new(1, &args(&["ECHO", "slow"]), Deadline::After(Duration::from_secs(60))), h.now);
    h.submit(2, &["ECHO", "b"]); // default request_timeout: 5 s
    h.submit(3, &["ECHO", "c"]);
    h.conn.submit(Request::new(4, &args(&["ECHO", "d"]), Deadline::After(Duration::from_secs(60))), h.now);
    h.pump();
    assert_eq!(h.take_wire(), echo_cmd("slow"));
    // The two with the default deadline expire while waiting for room: they fail alone, the
    // connection is not reset (nothing of theirs was written).
    h.advance(Duration::from_secs(5));
    let done = h.take();
    assert_eq!(failures(&done), vec![(2, ErrorKind::Timeout), (3, ErrorKind::Timeout)]);
    assert!(failure(&done[0]).2.contains("waiting to be sent (pipeline_depth)"), "{:?}", failure(&done[0]));
    assert!(events(&done).is_empty() && h.conn.is_ready());
    // The connection drops: the written ECHO (read-only) and the waiting one go out again, in
    // order, after the reconnect, still one at a time.
    h.conn.eof(h.now);
    h.pump();
    h.take();
    h.advance(Duration::from_millis(100));
    h.up();
    assert_eq!(h.take_wire(), echo_cmd("slow"));
    h.feed(&bulk("slow"));
    assert_eq!(h.take_wire(), echo_cmd("d"));
    h.feed(&bulk("d"));
    let got: Vec<_> = h.take().iter().filter(|c| matches!(c, Completion::Reply { .. })).map(reply_text).collect();
    assert_eq!(got, vec![(1, "slow".into()), (4, "d".into())]);
}

// ----- session state replayed on reconnect ----------------------------------------------------

const OK: &[u8] = b"+OK\r\n";

fn select(db: &str) -> Vec<u8> {
    encode_command(&[&b"SELECT"[..], db.as_bytes()])
}

fn setname(name: &str) -> Vec<u8> {
    encode_command(&[&b"CLIENT"[..], b"SETNAME", name.as_bytes()])
}

impl H {
    /// Answer each of `replies` in turn to commands submitted one by one.
    fn run(&mut self, token: u64, a: &[&str], reply: &[u8]) {
        self.submit(token, a);
        self.take_wire();
        self.feed(reply);
    }

    /// The server drops the connection; after the reconnect delay a new transport comes up.
    /// Returns what the handshake wrote on it.
    fn bounce(&mut self) -> Vec<u8> {
        self.conn.eof(self.now);
        self.pump();
        self.take_wire();
        self.advance(Duration::from_millis(100));
        assert_eq!(self.actions.last(), Some(&Action::Connect), "reconnecting");
        self.conn.transport_ready(self.now);
        self.pump();
        self.take_wire()
    }
}

#[test]
fn a_select_is_replayed_on_every_reconnect() {
    let mut h = H::ready(cfg());
    h.run(1, &["select", "3"], OK);
    assert_eq!(h.conn.database(), 3);
    assert_eq!(h.bounce(), select("3"), "the handshake selects db 3, not the configured default");
    h.feed(OK);
    assert!(h.conn.is_ready());
    // And again: the replayed SELECT does not make the state forget itself.
    assert_eq!(h.bounce(), select("3"));
    h.feed(OK);
    // Commands issued during the outage go out after the SELECT was accepted.
    h.conn.eof(h.now);
    h.pump();
    h.submit(2, &["SET", "k", "v"]);
    h.advance(Duration::from_millis(100));
    h.take_wire();
    h.conn.transport_ready(h.now);
    h.pump();
    assert_eq!(h.take_wire(), select("3"));
    h.feed(OK);
    assert_eq!(h.take_wire(), encode_command(&["SET", "k", "v"]));
}

#[test]
fn a_refused_select_is_not_recorded() {
    let mut c = cfg();
    c.handshake.database = Some(2);
    let mut h = H::new(c);
    h.conn.connect(1, h.now);
    h.conn.transport_ready(h.now);
    h.pump();
    h.feed(OK);
    assert!(h.conn.is_ready());
    h.run(2, &["SELECT", "99"], b"-ERR DB index is out of range\r\n");
    assert_eq!(reply_text(h.take().last().unwrap()), (2, "ERR:ERR DB index is out of range".into()));
    assert_eq!(h.bounce(), select("2"), "the configured database still applies");
    h.feed(OK);
    // A SELECT whose reply never came (connection lost first) is not recorded either: the new
    // connection starts from what the server last confirmed.
    h.submit(3, &["SELECT", "7"]);
    assert_eq!(h.bounce(), select("2"));
    assert_eq!(failures(&h.take()), vec![(3, ErrorKind::Connection)]);
    assert_eq!(h.conn.database(), 2);
}

#[test]
fn select_0_after_a_configured_database_means_no_select() {
    let mut c = cfg();
    c.handshake.database = Some(4);
    let mut h = H::new(c);
    h.conn.connect(1, h.now);
    h.conn.transport_ready(h.now);
    h.pump();
    h.feed(OK);
    h.run(2, &["SELECT", "0"], OK);
    assert_eq!(h.bounce(), PING, "db 0 needs no SELECT: the probe PING goes instead");
    h.feed(b"+PONG\r\n");
    assert!(h.conn.is_ready());
}

#[test]
fn pipelined_selects_are_recorded_in_reply_order() {
    let mut h = H::ready(cfg());
    h.submit(1, &["SELECT", "5"]);
    h.submit(2, &["SELECT", "6"]);
    h.submit(3, &["SELECT", "77"]);
    h.take_wire();
    h.feed(b"+OK\r\n+OK\r\n-ERR DB index is out of range\r\n");
    assert_eq!(h.conn.database(), 6);
    assert_eq!(h.bounce(), select("6"));
}

#[test]
fn a_client_name_is_replayed_and_an_empty_one_clears_it() {
    let mut h = H::ready(cfg());
    h.run(1, &["CLIENT", "SETNAME", "worker-1"], OK);
    assert_eq!(h.bounce(), setname("worker-1"));
    h.feed(OK);
    h.run(2, &["client", "setname", "worker-2"], OK);
    h.run(3, &["CLIENT", "SETNAME", "bad name"], b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    assert_eq!(h.conn.client_name(), Some(&b"worker-2"[..]));
    h.run(4, &["SELECT", "1"], OK);
    assert_eq!(h.bounce(), [select("1"), setname("worker-2")].concat(), "SELECT, then the name");
    h.feed(b"+OK\r\n+OK\r\n");
    h.run(5, &["CLIENT", "SETNAME", ""], OK);
    assert_eq!(h.conn.client_name(), None);
    assert_eq!(h.bounce(), select("1"));
}

#[test]
fn a_configured_name_is_replaced_by_setname() {
    let mut c = cfg();
    c.handshake.client_name = Some(b"configured".to_vec());
    let mut h = H::new(c);
    h.conn.connect(1, h.now);
    h.conn.transport_ready(h.now);
    h.pump();
    assert_eq!(h.take_wire(), setname("configured"));
    h.feed(OK);
    assert_eq!(h.bounce(), setname("configured"));
    h.feed(OK);
    h.run(2, &["CLIENT", "SETNAME", "mine"], OK);
    assert_eq!(h.bounce(), setname("mine"));
}

#[test]
fn reset_returns_to_db_0_without_a_name() {
    let mut c = cfg();
    c.handshake.database = Some(2);
    c.handshake.client_name = Some(b"configured".to_vec());
    let mut h = H::new(c);
    h.conn.connect(1, h.now);
    h.conn.transport_ready(h.now);
    h.pump();
    h.feed(b"+OK\r\n+OK\r\n");
    h.run(2, &["SELECT", "5"], OK);
    h.run(3, &["RESET"], b"+RESET\r\n");
    assert_eq!((h.conn.database(), h.conn.client_name()), (0, None), "what the server did, not the configuration");
    assert_eq!(h.bounce(), PING);
    h.feed(b"+PONG\r\n");
    // A RESET the server refused (say, an ACL) changes nothing.
    h.run(4, &["SELECT", "6"], OK);
    h.run(5, &["reset"], b"-NOPERM this user has no permissions to run the 'reset' command\r\n");
    assert_eq!(h.conn.database(), 6);
}

#[test]
fn a_select_inside_multi_counts_only_when_exec_ran_it() {
    let mut h = H::ready(cfg());
    // EXEC runs it.
    h.run(1, &["MULTI"], OK);
    h.run(2, &["SELECT", "4"], b"+QUEUED\r\n");
    assert_eq!(h.conn.database(), 0, "queued, not run");
    h.run(3, &["SET", "k", "v"], b"+QUEUED\r\n");
    h.run(4, &["EXEC"], b"*2\r\n+OK\r\n+OK\r\n");
    assert_eq!(h.conn.database(), 4);
    // DISCARD drops it.
    h.run(5, &["MULTI"], OK);
    h.run(6, &["SELECT", "5"], b"+QUEUED\r\n");
    h.run(7, &["DISCARD"], OK);
    assert_eq!(h.conn.database(), 4);
    // A nil EXEC (a WATCHed key changed) ran nothing.
    h.run(8, &["MULTI"], OK);
    h.run(9, &["SELECT", "6"], b"+QUEUED\r\n");
    h.run(10, &["EXEC"], b"*-1\r\n");
    assert_eq!(h.conn.database(), 4);
    // EXECABORT (a command was refused while queueing) ran nothing.
    h.run(11, &["MULTI"], OK);
    h.run(12, &["SELECT", "7"], b"+QUEUED\r\n");
    h.run(13, &["NOSUCHCMD"], b"-ERR unknown command 'NOSUCHCMD'\r\n");
    h.run(14, &["EXEC"], b"-EXECABORT Transaction discarded because of previous errors.\r\n");
    assert_eq!(h.conn.database(), 4);
    // Inside EXEC's reply, each SELECT is matched to its own slot, nested arrays skipped.
    h.run(15, &["MULTI"], OK);
    h.run(16, &["LRANGE", "l", "0", "-1"], b"+QUEUED\r\n");
    h.run(17, &["SELECT", "8"], b"+QUEUED\r\n");
    h.run(18, &["SELECT", "99"], b"+QUEUED\r\n");
    h.run(19, &["CLIENT", "SETNAME", "tx"], b"+QUEUED\r\n");
    h.run(20, &["EXEC"], b"*4\r\n*2\r\n+OK\r\n*1\r\n+OK\r\n+OK\r\n-ERR DB index is out of range\r\n+OK\r\n");
    assert_eq!((h.conn.database(), h.conn.client_name()), (8, Some(&b"tx"[..])));
    // RESET inside MULTI runs at once and ends the transaction.
    h.run(21, &["MULTI"], OK);
    h.run(22, &["SELECT", "9"], b"+QUEUED\r\n");
    h.run(23, &["RESET"], b"+RESET\r\n");
    assert_eq!(h.conn.database(), 0);
    h.run(24, &["SELECT", "3"], OK);
    assert_eq!(h.conn.database(), 3, "after RESET commands run at once again");
    // A connection lost inside MULTI: the new one has no transaction, and the rest of the lost
    // one is refused (not run alone) until DISCARD (answered here) ends it.
    h.run(25, &["MULTI"], OK);
    assert_eq!(h.bounce(), select("3"));
    h.feed(OK);
    h.take();
    h.submit(26, &["SELECT", "2"]);
    assert_eq!(h.take_wire(), b"", "not sent");
    assert_eq!(failures(&h.take()), vec![(26, ErrorKind::Connection)]);
    h.submit(27, &["DISCARD"]);
    assert_eq!(h.take_wire(), b"");
    assert_eq!(reply_text(&h.take()[0]), (27, "OK".into()));
    h.run(28, &["SELECT", "2"], OK);
    assert_eq!(h.conn.database(), 2);
}

// ----- subscribe mode ----------------------------------------------------------------------------

fn bulk_text(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

fn confirm(kind: &str, name: Option<&str>, count: i64) -> String {
    let name = name.map_or_else(|| "$-1\r\n".to_string(), bulk_text);
    format!("*3\r\n{}{}:{}\r\n", bulk_text(kind), name, count)
}

fn message(channel: &str, data: &str) -> String {
    format!("*3\r\n{}{}{}", bulk_text("message"), bulk_text(channel), bulk_text(data))
}

fn pmessage(pattern: &str, channel: &str, data: &str) -> String {
    format!("*4\r\n{}{}{}{}", bulk_text("pmessage"), bulk_text(pattern), bulk_text(channel), bulk_text(data))
}

/// A message as (kind, pattern, channel, data).
type MessageParts = (MessageKind, Option<String>, String, String);

/// Messages, and the other completions as reply text.
fn sorted_out(cs: &[Completion]) -> (Vec<MessageParts>, Vec<(u64, String)>) {
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut msgs = Vec::new();
    let mut replies = Vec::new();
    for c in cs {
        match c {
            Completion::Message(m) => msgs.push((m.kind, m.pattern().map(s), s(m.channel()), s(m.data()))),
            Completion::Reply { .. } => replies.push(reply_text(c)),
            _ => {}
        }
    }
    (msgs, replies)
}

#[test]
fn confirmations_complete_their_request_and_messages_are_routed_at_every_split() {
    let stream = [
        confirm("subscribe", Some("a"), 1),
        message("a", "early"),
        confirm("subscribe", Some("b"), 2),
        confirm("subscribe", Some("c"), 3),
        pmessage("n*", "news", "p1"),
        confirm("psubscribe", Some("n*"), 4),
        message("b", "x"),
        "*2\r\n$4\r\npong\r\n$0\r\n\r\n".to_string(),
        message("c", "y"),
    ]
    .concat();
    let stream = stream.as_bytes();
    for split in 0..=stream.len() {
        let mut h = H::ready(cfg());
        h.submit(1, &["SUBSCRIBE", "a", "b", "c"]);
        h.submit(2, &["PSUBSCRIBE", "n*"]);
        h.submit(3, &["PING"]);
        assert!(h.conn.is_subscribed());
        h.feed(&stream[..split]);
        h.feed(&stream[split..]);
        let (msgs, replies) = sorted_out(&h.take());
        assert_eq!(replies, vec![(1, "3".into()), (2, "1".into()), (3, "PONG".into())], "split at {split}");
        let m = |k, p: Option<&str>, c: &str, d: &str| (k, p.map(String::from), c.to_string(), d.to_string());
        assert_eq!(
            msgs,
            vec![
                m(MessageKind::Message, None, "a", "early"),
                m(MessageKind::PMessage, Some("n*"), "news", "p1"),
                m(MessageKind::Message, None, "b", "x"),
                m(MessageKind::Message, None, "c", "y"),
            ],
            "split at {split}"
        );
        let chans: Vec<&[u8]> = h.conn.subscriptions().of(Family::Channel).iter().map(|v| v.as_slice()).collect();
        assert_eq!(chans, vec![&b"a"[..], b"b", b"c"]);
    }
}

#[test]
fn unsubscribe_without_names_waits_for_one_confirmation_per_subscription() {
    let mut h = H::ready(cfg());
    h.submit(1, &["SUBSCRIBE", "a", "b"]);
    h.feed([confirm("subscribe", Some("a"), 1), confirm("subscribe", Some("b"), 2)].concat().as_bytes());
    h.submit(2, &["UNSUBSCRIBE", "a"]);
    h.feed(confirm("unsubscribe", Some("a"), 1).as_bytes());
    h.submit(3, &["UNSUBSCRIBE"]);
    h.feed(confirm("unsubscribe", Some("b"), 0).as_bytes());
    let (_, replies) = sorted_out(&h.take());
    assert_eq!(replies, vec![(1, "2".into()), (2, "1".into()), (3, "0".into())]);
    assert!(h.conn.subscriptions().is_empty());
    assert!(!h.conn.is_subscribed(), "no subscription left: an ordinary connection again");
    // None left: the server answers with one nil-name confirmation.
    h.submit(4, &["PUNSUBSCRIBE"]);
    assert!(h.conn.is_subscribed());
    h.feed(confirm("punsubscribe", None, 0).as_bytes());
    let (_, replies) = sorted_out(&h.take());
    assert_eq!(replies, vec![(4, "0".into())]);
    assert!(!h.conn.is_subscribed());
    h.take_wire();
    h.submit(5, &["GET", "k"]);
    assert_eq!(h.take_wire(), b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
}

#[test]
fn other_commands_are_refused_while_subscribed_and_never_written() {
    let mut h = H::ready(cfg());
    h.submit(1, &["SUBSCRIBE", "a"]);
    h.take_wire();
    h.submit(2, &["GET", "k"]);
    h.submit(3, &["ping"]);
    let (token, kind, msg) = failure(&h.take()[0]);
    assert_eq!((token, kind), (2, ErrorKind::PubSub));
    assert!(msg.contains("GET cannot be sent on a subscribed connection"), "{msg}");
    assert_eq!(h.take_wire(), b"*1\r\n$4\r\nping\r\n", "only PING went out");
    h.feed([confirm("subscribe", Some("a"), 1), message("a", "m"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n".into()].concat().as_bytes());
    let (msgs, replies) = sorted_out(&h.take());
    assert_eq!(replies, vec![(1, "1".into()), (3, "PONG".into())]);
    assert_eq!(msgs.len(), 1);
}

#[test]
fn ping_while_subscribed_answers_as_it_does_on_a_normal_connection() {
    let mut h = H::ready(cfg());
    h.submit(1, &["SUBSCRIBE", "a"]);
    h.submit(2, &["PING"]);
    h.submit(3, &["PING", "hello"]);
    h.submit(4, &["PING", ""]);
    h.take_wire();
    let pong = |arg: &str| format!("*2\r\n{}{}", bulk_text("pong"), bulk_text(arg));
    h.feed([confirm("subscribe", Some("a"), 1), pong(""), message("a", "pong"), pong("hello"), pong("")].concat().as_bytes());
    let (msgs, replies) = sorted_out(&h.take());
    assert_eq!(replies, vec![(1, "1".into()), (2, "PONG".into()), (3, "hello".into()), (4, "".into())]);
    assert_eq!(msgs.len(), 1, "a message whose data is 'pong' stays a message");
    // An error reply to PING is left as it is.
    h.submit(5, &["PING"]);
    h.feed(b"-ERR something\r\n");
    assert_eq!(reply_text(&h.take()[0]), (5, "ERR:ERR something".into()));
}

#[test]
fn a_reconnect_subscribes_again_and_reports_it() {
    let mut h = H::ready(cfg());
    h.submit(1, &["SUBSCRIBE", "a", "b"]);
    h.submit(2, &["PSUBSCRIBE", "p*"]);
    h.submit(3, &["SSUBSCRIBE", "s"]);
    h.feed(
        [
            confirm("subscribe", Some("a"), 1),
            confirm("subscribe", Some("b"), 2),
            confirm("psubscribe", Some("p*"), 3),
            confirm("ssubscribe", Some("s"), 1),
        ]
        .concat()
        .as_bytes(),
    );
    h.take();
    h.conn.eof(h.now);
    h.pump();
    h.advance(Duration::from_millis(100));
    h.take_wire();
    h.conn.transport_ready(h.now);
    h.pump();
    assert_eq!(
        h.take_wire(),
        b"*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n*2\r\n$10\r\nPSUBSCRIBE\r\n$2\r\np*\r\n*2\r\n$10\r\nSSUBSCRIBE\r\n$1\r\ns\r\n",
        "no probing PING: the subscriptions are the handshake"
    );
    assert!(!h.conn.is_ready());
    h.feed(
        [
            confirm("subscribe", Some("a"), 1),
            message("a", "during"),
            confirm("subscribe", Some("b"), 2),
            confirm("psubscribe", Some("p*"), 3),
        ]
        .concat()
        .as_bytes(),
    );
    assert!(!h.conn.is_ready());
    h.feed(confirm("ssubscribe", Some("s"), 1).as_bytes());
    assert!(h.conn.is_ready());
    let done = h.take();
    let evs = events(&done);
    assert!(matches!(evs[..], [ConnEvent::Disconnected { .. }, ConnEvent::Connected, ConnEvent::Resubscribed]), "{evs:?}");
    assert_eq!(sorted_out(&done).0.len(), 1);
    // A plain reconnect (nothing subscribed) reports no resubscription.
    h.conn.close(None, h.now);
    assert!(!h.conn.is_subscribed() && h.conn.subscriptions().is_empty());
}

#[test]
fn a_subscribe_in_flight_when_the_connection_drops_fails_and_is_not_replayed() {
    let mut h = H::ready(cfg());
    h.submit(1, &["SUBSCRIBE", "a", "b"]);
    h.feed(confirm("subscribe", Some("a"), 1).as_bytes());
    h.conn.eof(h.now);
    h.pump();
    assert_eq!(failures(&h.take()), vec![(1, ErrorKind::Connection)]);
    h.advance(Duration::from_millis(100));
    h.take_wire();
    h.conn.transport_ready(h.now);
    h.pump();
    assert_eq!(h.take_wire(), b"*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n", "only what the server confirmed");
}

#[test]
fn an_error_reply_to_a_subscribe_completes_it() {
    let mut h = H::ready(cfg());
    h.submit(1, &["SSUBSCRIBE", "a"]);
    h.feed(b"-ERR unknown command 'SSUBSCRIBE'\r\n");
    let (_, replies) = sorted_out(&h.take());
    assert_eq!(replies, vec![(1, "ERR:ERR unknown command 'SSUBSCRIBE'".into())]);
}

#[test]
fn session_flags_follow_multi_watch_and_pending_commands() {
    use session_flags::*;
    let h = H::new(cfg());
    assert_eq!(h.conn.session_flags(), NOT_CONNECTED, "never connected");
    let mut h = H::ready(cfg());
    assert_eq!(h.conn.session_flags(), 0, "ready and quiet");
    // A command in flight, until its reply.
    h.submit(1, &["GET", "k"]);
    assert_eq!(h.conn.session_flags(), PENDING);
    h.feed(b"$-1\r\n");
    assert_eq!(h.conn.session_flags(), 0);
    // MULTI counts once the server accepted it (open as soon as submitted); EXEC ends it.
    h.submit(2, &["MULTI"]);
    assert_eq!(h.conn.session_flags(), MULTI_OPEN | PENDING);
    h.feed(OK);
    assert_eq!(h.conn.session_flags(), IN_MULTI | MULTI_OPEN);
    h.run(3, &["INCR", "a"], b"+QUEUED\r\n");
    h.run(4, &["EXEC"], b"*1\r\n:1\r\n");
    assert_eq!(h.conn.session_flags(), 0);
    // A refused MULTI opens nothing; a nested MULTI (refused) does not end one.
    h.run(5, &["MULTI"], b"-NOPERM no\r\n");
    assert_eq!(h.conn.session_flags(), 0);
    h.run(6, &["MULTI"], OK);
    h.run(7, &["MULTI"], b"-ERR MULTI calls can not be nested\r\n");
    assert_eq!(h.conn.session_flags(), IN_MULTI | MULTI_OPEN);
    h.run(8, &["DISCARD"], OK);
    assert_eq!(h.conn.session_flags(), 0);
    // WATCH: cleared by UNWATCH ...
    h.run(9, &["WATCH", "a", "b"], OK);
    assert_eq!(h.conn.session_flags(), WATCHING);
    h.run(10, &["UNWATCH"], OK);
    assert_eq!(h.conn.session_flags(), 0);
    // ... by EXEC, whatever it answers (nil: a watched key changed; EXECABORT) ...
    for (t, exec_reply) in [(11u64, &b"*-1\r\n"[..]), (15, b"*0\r\n"), (19, b"-EXECABORT Transaction discarded\r\n")] {
        h.run(t, &["WATCH", "a"], OK);
        h.run(t + 1, &["MULTI"], OK);
        assert_eq!(h.conn.session_flags(), WATCHING | IN_MULTI | MULTI_OPEN);
        h.run(t + 2, &["EXEC"], exec_reply);
        assert_eq!(h.conn.session_flags(), 0, "after EXEC answering {:?}", String::from_utf8_lossy(exec_reply));
    }
    // ... by DISCARD, and by RESET; not by an EXEC or DISCARD without MULTI (refused).
    h.run(30, &["WATCH", "a"], OK);
    h.run(31, &["EXEC"], b"-ERR EXEC without MULTI\r\n");
    h.run(32, &["DISCARD"], b"-ERR DISCARD without MULTI\r\n");
    assert_eq!(h.conn.session_flags(), WATCHING);
    h.run(33, &["MULTI"], OK);
    h.run(34, &["DISCARD"], OK);
    assert_eq!(h.conn.session_flags(), 0);
    h.run(35, &["WATCH", "a"], OK);
    h.run(36, &["MULTI"], OK);
    h.run(37, &["RESET"], b"+RESET\r\n");
    assert_eq!(h.conn.session_flags(), 0);
    // WATCH inside MULTI is refused by the server and watches nothing.
    h.run(38, &["MULTI"], OK);
    h.run(39, &["WATCH", "a"], b"-ERR WATCH inside MULTI is not allowed\r\n");
    assert_eq!(h.conn.session_flags(), IN_MULTI | MULTI_OPEN);
    h.run(40, &["DISCARD"], OK);
    // A refused WATCH (wrong arguments, ACL) watches nothing.
    h.run(41, &["WATCH", "a"], b"-NOPERM no\r\n");
    assert_eq!(h.conn.session_flags(), 0);
}

#[test]
fn session_flags_name_a_blocking_command_and_a_lost_connection() {
    use session_flags::*;
    let mut h = H::ready(cfg());
    h.submit(1, &["BLPOP", "q", "0"]);
    h.submit(2, &["GET", "k"]);
    assert_eq!(h.conn.session_flags(), PENDING | BLOCKING_COMMAND);
    h.feed(b"*2\r\n$1\r\nq\r\n$1\r\nv\r\n");
    assert_eq!(h.conn.session_flags(), PENDING, "the GET still waits");
    h.feed(b"$-1\r\n");
    assert_eq!(h.conn.session_flags(), 0);
    // Lost inside MULTI with keys watched: not connected until the new connection is ready,
    // and the new connection has neither.
    h.run(3, &["WATCH", "a"], OK);
    h.run(4, &["MULTI"], OK);
    h.conn.eof(h.now);
    h.pump();
    assert_eq!(h.conn.session_flags() & NOT_CONNECTED, NOT_CONNECTED);
    h.take_wire();
    h.advance(Duration::from_millis(100));
    h.pump();
    h.up();
    assert_eq!(h.conn.session_flags(), IN_MULTI | MULTI_OPEN, "the lost transaction is still open to the application");
    h.submit(5, &["DISCARD"]);
    h.take();
    assert_eq!(h.conn.session_flags(), 0);
    // A command waiting for the connection is pending too.
    h.conn.close(None, h.now);
    h.pump();
    h.conn.connect(5, h.now);
    h.submit(6, &["BRPOP", "q", "1"]);
    assert_eq!(h.conn.session_flags(), NOT_CONNECTED | PENDING | BLOCKING_COMMAND);
}

// ----- transactions ------------------------------------------------------------------------------

fn cmd(a: &[&str]) -> Vec<u8> {
    encode_command(&args(a))
}

#[test]
fn a_transaction_cut_by_a_lost_connection_never_runs_its_commands_elsewhere() {
    let mut h = H::ready(cfg());
    for (t, a) in [(1, &["MULTI"][..]), (2, &["INCR", "a"]), (3, &["GET", "a"]), (4, &["INCR", "b"]), (5, &["EXEC"])] {
        h.conn.submit(Request::new(t, &args(a), Deadline::Default), h.now);
    }
    // Only MULTI and INCR a reach the socket before it breaks.
    let n = cmd(&["MULTI"]).len() + cmd(&["INCR", "a"]).len();
    h.conn.wrote(n, h.now);
    h.conn.eof(h.now);
    h.pump();
    let done = h.take();
    assert_eq!(
        failures(&done),
        vec![(1, ErrorKind::Connection), (2, ErrorKind::Connection), (3, ErrorKind::Disconnected), (4, ErrorKind::Disconnected), (5, ErrorKind::Disconnected)],
        "written: may have been queued; unwritten: never sent (the read-only GET is not retried either)"
    );
    h.take_wire();
    h.advance(Duration::from_millis(100));
    h.up();
    assert_eq!(h.take_wire(), b"", "nothing of the transaction on the new connection");
    assert_eq!(h.conn.session_flags(), 0, "EXEC was submitted: the transaction is over for the application too");
}

#[test]
fn a_transaction_the_server_never_saw_waits_whole_for_the_next_connection() {
    let mut h = H::ready(cfg());
    for (t, a) in [(1, &["MULTI"][..]), (2, &["INCR", "a"]), (3, &["EXEC"])] {
        h.conn.submit(Request::new(t, &args(a), Deadline::Default), h.now);
    }
    // Nothing written before the connection broke.
    h.conn.eof(h.now);
    h.pump();
    assert!(h.take().iter().all(|c| matches!(c, Completion::Event(_))), "nothing failed");
    h.take_wire();
    h.advance(Duration::from_millis(100));
    h.up();
    h.take();
    let mut want = cmd(&["MULTI"]);
    want.extend(cmd(&["INCR", "a"]));
    want.extend(cmd(&["EXEC"]));
    assert_eq!(h.take_wire(), want, "the whole transaction, in one piece");
    h.feed(b"+OK\r\n+QUEUED\r\n*1\r\n:1\r\n");
    assert_eq!(h.take().iter().map(reply_text).collect::<Vec<_>>(), vec![(1, "OK".into()), (2, "QUEUED".into()), (3, "array(1)".into())]);
}

#[test]
fn commands_inside_a_transaction_are_not_retried() {
    let mut h = H::ready(cfg());
    h.run(1, &["MULTI"], OK);
    // LOADING would normally be retried later, alone: inside MULTI that would run it outside
    // the transaction.
    h.run(2, &["INCR", "a"], b"-LOADING loading\r\n");
    assert_eq!(h.conn.retrying_len(), 0);
    assert_eq!(reply_text(&h.take().pop().unwrap()), (2, "ERR:LOADING loading".into()));
    h.run(3, &["EXEC"], b"-EXECABORT Transaction discarded because of previous errors.\r\n");
    // Outside a transaction it is retried as before.
    h.run(4, &["INCR", "a"], b"-LOADING loading\r\n");
    assert_eq!(h.conn.retrying_len(), 1);
}

#[test]
fn a_transaction_lost_between_its_commands_refuses_the_rest_until_exec_or_discard() {
    let mut h = H::ready(cfg());
    h.run(1, &["MULTI"], OK);
    h.run(2, &["INCR", "a"], b"+QUEUED\r\n");
    h.bounce();
    h.feed(b"+PONG\r\n");
    h.take();
    h.submit(3, &["INCR", "b"]);
    h.submit(4, &["EXEC"]);
    assert_eq!(h.take_wire(), b"", "neither is sent");
    assert_eq!(failures(&h.take()), vec![(3, ErrorKind::Connection), (4, ErrorKind::Connection)]);
    assert_eq!(h.conn.session_flags(), 0);
    h.run(5, &["INCR", "b"], b":1\r\n");
    assert_eq!(reply_text(&h.take().pop().unwrap()), (5, "1".into()));
}

#[test]
fn an_explicit_close_ends_the_transaction_and_the_watches() {
    use session_flags::*;
    let mut h = H::ready(cfg());
    h.run(1, &["WATCH", "a"], OK);
    h.run(2, &["MULTI"], OK);
    assert_eq!(h.conn.session_flags(), WATCHING | IN_MULTI | MULTI_OPEN);
    h.conn.close(None, h.now);
    h.pump();
    assert_eq!(h.conn.session_flags(), NOT_CONNECTED, "the server forgets both with the connection");
    h.conn.connect(3, h.now);
    h.pump();
    h.up();
    h.take();
    h.run(4, &["INCR", "a"], b":1\r\n");
    assert_eq!(reply_text(&h.take().pop().unwrap()), (4, "1".into()), "sent at once: no transaction left");
}

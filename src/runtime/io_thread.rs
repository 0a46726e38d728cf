//! The IO thread: one mio poll over every connection's socket and the wake pipe, plus a timer
//! set. It moves bytes between sockets and `Conn`s and does nothing else.

use super::engine::{Shared, Submission};
use super::fds::FdRegistry;
use super::tls::Handshake;
use super::transport::{literal_addrs, Progress, Target, TlsClient, Transport};
use crate::conn::{Action, Address, ClientError, Completion, Conn, ConnectPhase, ErrorKind};
use crossbeam_channel::{Receiver, Sender};
use mio::{Events, Poll, Registry, Token};
use super::outstanding::TokenHasher;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::BuildHasherDefault;
use std::io::{self, IoSlice};
use std::net::ToSocketAddrs;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

const WAKE: Token = Token(usize::MAX);
const MAX_IOVECS: usize = 64;
const SCRATCH: usize = 64 * 1024;

/// A name resolution's result: connection, attempt, addresses or error text.
type Resolved = (u64, u64, Result<Vec<Target>, String>);

/// A connect attempt in progress.
enum Attempt {
    None,
    Resolving,
    /// A socket is connecting to one target; the others are tried if it fails.
    Connecting { remaining: VecDeque<Target> },
    /// The socket is connected; the TLS handshake runs.
    TlsHandshake,
}

struct Entry {
    conn: Conn,
    /// TLS settings, when the connection speaks TLS.
    tls: Option<TlsClient>,
    transport: Option<Transport>,
    attempt: Attempt,
    /// Counts attempts, so that late results of abandoned ones are recognised.
    attempt_id: u64,
    /// The transport finished connecting.
    connected: bool,
    timer: Option<Instant>,
    /// Touched by a submission since the last `service`.
    dirty: bool,
}

pub(super) struct IoThread {
    poll: Poll,
    submissions: Receiver<Submission>,
    wake_rx: mio::unix::pipe::Receiver,
    completions: Sender<Vec<(u64, Completion)>>,
    shared: Arc<Shared>,
    resolved_tx: Sender<Resolved>,
    resolved_rx: Receiver<Resolved>,
    conns: HashMap<u64, Entry, BuildHasherDefault<TokenHasher>>,
    timers: BTreeSet<(Instant, u64)>,
    batch: Vec<(u64, Completion)>,
    done: Vec<Completion>,
    /// Connections touched by the submissions being drained, serviced once afterwards, so that
    /// a burst of commands leaves in one write.
    dirty: Vec<u64>,
    scratch: Vec<u8>,
    shutting_down: bool,
}

/// Marks the engine stopped and wakes Perl however the IO thread exits, panics included.
struct StopGuard(Arc<Shared>);

impl Drop for StopGuard {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::Release);
        self.0.notify.signal_always();
    }
}

impl IoThread {
    pub fn new(
        submissions: Receiver<Submission>,
        mut wake_rx: mio::unix::pipe::Receiver,
        completions: Sender<Vec<(u64, Completion)>>,
        shared: Arc<Shared>,
    ) -> io::Result<IoThread> {
        let poll = Poll::new()?;
        shared.fds.mark(poll.as_raw_fd());
        poll.registry().register(&mut wake_rx, WAKE, mio::Interest::READABLE)?;
        let (resolved_tx, resolved_rx) = crossbeam_channel::unbounded();
        Ok(IoThread {
            poll,
            submissions,
            wake_rx,
            completions,
            shared,
            resolved_tx,
            resolved_rx,
            conns: HashMap::default(),
            timers: BTreeSet::new(),
            batch: Vec::new(),
            done: Vec::new(),
            dirty: Vec::new(),
            scratch: vec![0; SCRATCH],
            shutting_down: false,
        })
    }

    pub fn run(mut self) {
        let _guard = StopGuard(self.shared.clone());
        let mut events = Events::with_capacity(1024);
        while !self.shutting_down {
            let timeout = self.timers.first().map(|(t, _)| t.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                break; // The poll itself is broken; the guard tells Perl.
            }
            let now = Instant::now();
            let mut woken = false;
            for ev in events.iter() {
                match ev.token() {
                    WAKE => woken = true,
                    Token(id) => {
                        let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
                        let writable = ev.is_writable() || ev.is_error();
                        let closing = ev.is_read_closed() || ev.is_error();
                        self.socket_event(id as u64, readable, writable, closing, now);
                    }
                }
            }
            if woken {
                self.shared.wake.acknowledge(&mut self.wake_rx);
                self.take_submissions(now);
                self.take_resolutions(now);
            }
            self.fire_timers(Instant::now());
            self.publish();
        }
        let now = Instant::now();
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        for id in ids {
            if let Some(e) = self.conns.get_mut(&id) {
                e.conn.close(None, now);
            }
            self.service(id, now);
        }
        self.publish();
    }

    fn publish(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            if self.completions.send(batch).is_ok() {
                self.shared.notify.signal();
            }
        }
    }

    fn take_submissions(&mut self, now: Instant) {
        while let Ok(s) = self.submissions.try_recv() {
            match s {
                Submission::Open { conn, config, tls } => {
                    let seed = conn.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ clock_seed();
                    let entry = Entry {
                        conn: Conn::new(Arc::new(*config), now, seed),
                        tls,
                        transport: None,
                        attempt: Attempt::None,
                        attempt_id: 0,
                        connected: false,
                        timer: None,
                        dirty: false,
                    };
                    self.conns.insert(conn, entry);
                }
                Submission::Connect { conn, token } => self.apply(conn, &[token], now, |c, now| c.connect(token, now)),
                Submission::Command { conn, request } => {
                    let token = request.token;
                    self.apply(conn, &[token], now, move |c, now| c.submit(request, now))
                }
                Submission::Commands { conn, requests } => {
                    let tokens: Vec<u64> = if self.conns.contains_key(&conn) {
                        Vec::new()
                    } else {
                        requests.iter().map(|r| r.token).collect()
                    };
                    self.apply(conn, &tokens, now, move |c, now| {
                        for r in requests {
                            c.submit(r, now);
                        }
                    })
                }
                Submission::Close { conn, token } => {
                    let tokens: Vec<u64> = token.into_iter().collect();
                    self.apply(conn, &tokens, now, |c, now| c.close(token, now))
                }
                Submission::Drop { conn } => self.apply(conn, &[], now, |c, now| c.release(now)),
                Submission::Shutdown => self.shutting_down = true,
            }
        }
        for id in std::mem::take(&mut self.dirty) {
            self.service(id, now);
        }
    }

    /// Apply `f` to connection `id`, to be serviced once the current burst of submissions is
    /// drained. If there is no such connection (it was dropped), the `tokens` waiting on `f`
    /// fail instead.
    fn apply(&mut self, id: u64, tokens: &[u64], now: Instant, f: impl FnOnce(&mut Conn, Instant)) {
        match self.conns.get_mut(&id) {
            Some(e) => {
                f(&mut e.conn, now);
                if !e.dirty {
                    e.dirty = true;
                    self.dirty.push(id);
                }
            }
            None => {
                for &token in tokens {
                    let error = ClientError::new(ErrorKind::Disconnected, "the connection was closed and released");
                    self.batch.push((id, Completion::Failed { token, error }));
                }
            }
        }
    }

    fn take_resolutions(&mut self, now: Instant) {
        while let Ok((id, attempt, result)) = self.resolved_rx.try_recv() {
            let Some(e) = self.conns.get_mut(&id) else { continue };
            if e.attempt_id != attempt || !matches!(e.attempt, Attempt::Resolving) {
                continue; // an abandoned attempt
            }
            match result {
                Ok(targets) => {
                    e.attempt = Attempt::Connecting { remaining: targets.into() };
                    self.next_target(id, None, now);
                }
                Err(msg) => {
                    e.attempt = Attempt::None;
                    e.conn.transport_failed(msg, now);
                }
            }
            self.service(id, now);
        }
    }

    /// `closing`: the event also reported the peer's close (or an error), which will not be
    /// reported again: read to the end now.
    fn socket_event(&mut self, id: u64, readable: bool, writable: bool, closing: bool, now: Instant) {
        let Some(e) = self.conns.get_mut(&id) else { return };
        let Some(t) = e.transport.as_mut() else { return };
        if e.connected {
            if writable {
                if let Err(err) = t.flush() {
                    if err.kind() != io::ErrorKind::WouldBlock {
                        let msg = format!("write to {} failed: {err}", e.conn.config().address);
                        e.conn.io_error(msg, now);
                    }
                }
            }
            if readable {
                self.read(id, closing, now);
            }
            return self.service(id, now);
        }
        if !(readable || writable) {
            return;
        }
        if matches!(e.attempt, Attempt::TlsHandshake) {
            return self.tls_progress(id, now);
        }
        match t.progress() {
            Progress::Pending => return,
            Progress::Connected => {
                t.tune();
                match e.tls.clone() {
                    None => return self.transport_up(id, now),
                    Some(tls) => {
                        let plain = e.transport.take().expect("checked above");
                        let fd = plain.fd();
                        match plain.start_tls(&tls) {
                            Ok(t) => {
                                e.transport = Some(t);
                                e.attempt = Attempt::TlsHandshake;
                                e.conn.set_connect_phase(ConnectPhase::Tls);
                                return self.tls_progress(id, now);
                            }
                            Err(msg) => {
                                self.shared.fds.clear(fd);
                                e.attempt = Attempt::None;
                                e.conn.transport_failed(msg, now);
                            }
                        }
                    }
                }
            }
            Progress::Failed(err) => self.next_target(id, Some(err), now),
        }
        self.service(id, now);
    }

    /// The transport (TLS included) is up: hand it to the connection.
    fn transport_up(&mut self, id: u64, now: Instant) {
        if let Some(e) = self.conns.get_mut(&id) {
            e.connected = true;
            e.attempt = Attempt::None;
            e.conn.transport_ready(now);
        }
        self.service(id, now);
    }

    /// Move a TLS handshake forward after a socket event.
    fn tls_progress(&mut self, id: u64, now: Instant) {
        let Some(e) = self.conns.get_mut(&id) else { return };
        let Some(t) = e.transport.as_mut() else { return };
        match t.handshake() {
            Handshake::Pending => {}
            Handshake::Done => return self.transport_up(id, now),
            Handshake::Failed(why) => {
                let msg = format!("connect to {} failed: {why}", e.conn.config().address);
                if let Some(mut t) = e.transport.take() {
                    t.deregister(self.poll.registry());
                    self.shared.fds.clear(t.fd());
                }
                e.attempt = Attempt::None;
                e.conn.transport_failed(msg, now);
            }
        }
        self.service(id, now);
    }

    /// Read until the socket would block (or, when `to_end`, to the end of the stream), feeding
    /// the connection as bytes arrive.
    fn read(&mut self, id: u64, to_end: bool, now: Instant) {
        let Some(Entry { conn, transport: Some(t), .. }) = self.conns.get_mut(&id) else { return };
        loop {
            match t.read(&mut self.scratch) {
                Ok(0) => return conn.eof(now),
                Ok(n) => {
                    conn.read_buf().extend_from_slice(&self.scratch[..n]);
                    conn.bytes_read(now);
                    if conn.has_actions() {
                        return; // it reset itself: stop reading from this transport
                    }
                    if n < self.scratch.len() && t.short_read_drains() && !to_end {
                        // A short read drained the socket: stream sockets report new data with
                        // a new edge, so another read now would only return WouldBlock.
                        return;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    let msg = format!("read from {} failed: {err}", conn.config().address);
                    return conn.io_error(msg, now);
                }
            }
        }
    }

    /// Write as much as the socket takes.
    fn flush(&mut self, id: u64, now: Instant) {
        let Some(Entry { conn, transport: Some(t), connected: true, .. }) = self.conns.get_mut(&id) else {
            return;
        };
        while !conn.write_buf().is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let n = conn.write_buf().fill_slices(&mut slices);
            match t.write_vectored(&slices[..n]) {
                Ok(0) => {
                    let msg = format!("write to {} failed: wrote 0 bytes", conn.config().address);
                    return conn.io_error(msg, now);
                }
                Ok(written) => conn.wrote(written, now),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    let msg = format!("write to {} failed: {err}", conn.config().address);
                    return conn.io_error(msg, now);
                }
            }
        }
    }

    /// Carry out the connection's actions, write what it wants written, collect its
    /// completions and keep its timer current. Call after every input to a connection.
    fn service(&mut self, id: u64, now: Instant) {
        if let Some(e) = self.conns.get_mut(&id) {
            e.dirty = false;
        }
        loop {
            let Some(e) = self.conns.get_mut(&id) else { return };
            match e.conn.poll_action() {
                Some(Action::Connect) => self.start_connect(id, now),
                Some(Action::Disconnect) => drop_transport(self.poll.registry(), &self.shared.fds, e),
                None => {
                    if !e.connected || e.conn.write_buf().is_empty() {
                        break;
                    }
                    self.flush(id, now);
                    match self.conns.get(&id) {
                        Some(e) if e.conn.has_actions() => continue,
                        _ => break,
                    }
                }
            }
        }
        let Some(e) = self.conns.get_mut(&id) else { return };
        e.conn.take_completions(&mut self.done, now);
        self.batch.extend(self.done.drain(..).map(|c| (id, c)));
        if e.conn.is_released() {
            if let Some(mut e) = self.conns.remove(&id) {
                drop_transport(self.poll.registry(), &self.shared.fds, &mut e);
                if let Some(t) = e.timer.take() {
                    self.timers.remove(&(t, id));
                }
            }
            return;
        }
        let t = e.conn.poll_timeout();
        if t != e.timer {
            if let Some(old) = e.timer {
                self.timers.remove(&(old, id));
            }
            if let Some(new) = t {
                self.timers.insert((new, id));
            }
            e.timer = t;
        }
    }

    fn start_connect(&mut self, id: u64, now: Instant) {
        let registry = self.poll.registry();
        let Some(e) = self.conns.get_mut(&id) else { return };
        drop_transport(registry, &self.shared.fds, e);
        match e.conn.config().address.clone() {
            Address::Unix { path } => {
                e.attempt = Attempt::Connecting { remaining: VecDeque::from([Target::Unix(path)]) };
                self.next_target(id, None, now);
            }
            address @ Address::Tcp { .. } => {
                if let Some(addrs) = literal_addrs(&address) {
                    e.attempt = Attempt::Connecting { remaining: addrs.into_iter().map(Target::Tcp).collect() };
                    self.next_target(id, None, now);
                    return;
                }
                e.attempt = Attempt::Resolving;
                let (tx, shared, attempt) = (self.resolved_tx.clone(), self.shared.clone(), e.attempt_id);
                let lookup = address.clone();
                let spawned = std::thread::Builder::new().name("fior-resolve".into()).spawn(move || {
                    let _ = tx.send((id, attempt, resolve(&lookup)));
                    shared.wake.wake();
                });
                if let Err(err) = spawned {
                    e.attempt = Attempt::None;
                    e.conn.transport_failed(format!("cannot resolve {address}: {err}"), now);
                }
            }
        }
    }

    /// Start connecting to the next target of the attempt, after `last_err` ended the previous
    /// one; report failure when none is left.
    fn next_target(&mut self, id: u64, mut last_err: Option<io::Error>, now: Instant) {
        let registry = self.poll.registry();
        let Some(e) = self.conns.get_mut(&id) else { return };
        if let Some(mut t) = e.transport.take() {
            t.deregister(registry);
            self.shared.fds.clear(t.fd());
        }
        loop {
            let Attempt::Connecting { remaining } = &mut e.attempt else { return };
            let Some(target) = remaining.pop_front() else {
                e.attempt = Attempt::None;
                let why = last_err.map(|e| e.to_string()).unwrap_or_else(|| "no address to connect to".into());
                let msg = format!("connect to {} failed: {why}", e.conn.config().address);
                return e.conn.transport_failed(msg, now);
            };
            match Transport::connect(&target) {
                Ok(mut t) => {
                    self.shared.fds.mark(t.fd());
                    match t.register(registry, Token(id as usize)) {
                        Ok(()) => {
                            e.transport = Some(t);
                            return;
                        }
                        Err(err) => {
                            self.shared.fds.clear(t.fd());
                            last_err = Some(err);
                        }
                    }
                }
                Err(err) => last_err = Some(err),
            }
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        let mut due = Vec::new();
        while let Some(&(t, id)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.pop_first();
            due.push(id);
        }
        for id in due {
            if let Some(e) = self.conns.get_mut(&id) {
                e.timer = None;
                e.conn.handle_timeout(now);
                self.service(id, now);
            }
        }
    }
}

/// Close the transport (or abandon the connect attempt) of `e`.
fn drop_transport(registry: &Registry, fds: &FdRegistry, e: &mut Entry) {
    if let Some(mut t) = e.transport.take() {
        t.deregister(registry);
        fds.clear(t.fd());
    }
    e.connected = false;
    e.attempt = Attempt::None;
    e.attempt_id += 1;
}

/// Resolve a host name (on a resolver thread: getaddrinfo blocks).
fn resolve(address: &Address) -> Result<Vec<Target>, String> {
    let Address::Tcp { host, port } = address else {
        return Err(format!("{address} is not a host name"));
    };
    match (host.as_str(), *port).to_socket_addrs() {
        Ok(addrs) => {
            let v: Vec<Target> = addrs.map(Target::Tcp).collect();
            if v.is_empty() {
                Err(format!("cannot resolve {host}: no addresses"))
            } else {
                Ok(v)
            }
        }
        Err(err) => Err(format!("cannot resolve {host}: {err}")),
    }
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

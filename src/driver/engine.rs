//! The engine of one Perl interpreter: a mio Poll over every connection's socket, one wake-up
//! source and one timer, turned by the interpreter's own event loop.
//!
//! Calling order (all on the interpreter's thread; nothing here ever blocks):
//! - `open`, `connect`, `submit`, `submit_batch`, `close`, `release`: application inputs. A
//!   command for an idle, ready connection is written in the call itself; anything else is
//!   left for the next turn (until `FLUSH_WHEN_BUSY` bytes wait: then they are written at
//!   once), and the engine wakes itself so that the next turn comes.
//! - when the Poll fd (`fd`) is readable: `turn`, then `next_completion` until `None`.
//! - `busy`: whether Perl must keep waiting on the fd (something is outstanding, or a
//!   connection is connecting or waiting to reconnect).

use super::batch::{Batches, MAX_BATCH};
use super::fds::FdRegistry;
use super::outstanding::{Outstanding, TokenHasher};
use super::tls::Handshake;
use super::transport::{literal_addrs, Progress, Target, TlsClient, Transport};
use super::wake::{Timer, Wake};
use crate::conn::{Action, Address, ClientError, Completion, Conn, ConnConfig, ConnectPhase, ErrorKind, Request};
use mio::{Events, Poll, Registry, Token};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::BuildHasherDefault;
use std::io::{self, IoSlice};
use std::net::ToSocketAddrs;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAKE: Token = Token(usize::MAX);
const TIMER: Token = Token(usize::MAX - 1);
const MAX_IOVECS: usize = 64;
/// Events taken from the Poll at once; more stay ready in the kernel (and the fd readable).
const EVENTS: usize = 256;
const SCRATCH: usize = 64 * 1024;
/// A reply missing at least this many bytes (as its headers tell) is read straight into the
/// decoder's buffer instead of through `scratch` (one copy less). Smaller reads go through
/// `scratch`: the direct read ends with one more `read` call (the one that would block), which
/// a short read of a small reply does without.
const DIRECT_READ: usize = SCRATCH;
/// Bytes read from one socket in one turn, at most: a 100 MB reply arrives over many turns, and
/// the event loop runs its timers and other watchers in between.
pub const READ_PER_TURN: usize = 1 << 20;
/// A submission on an idle connection first looks for events (a close by the server, say) when
/// no turn has run for this long, so that a command is not written to a connection that is
/// already gone.
const STALE_AFTER: Duration = Duration::from_millis(1);

/// Commands submitted on a busy connection wait for the next turn, to leave in one write with
/// the others of this turn; once this many bytes wait, they are written at once instead, so that
/// the server starts on a large burst while the application is still submitting the rest of it.
pub const FLUSH_WHEN_BUSY: usize = 4 * 1024;

/// Without a timer descriptor: the longest Perl waits between turns while the engine is busy.
const EXTERNAL_TICK: Duration = Duration::from_millis(100);

/// A name resolution's result: connection, attempt, addresses or error text.
type Resolved = (u64, u64, Result<Vec<Target>, String>);

/// The engine belongs to another process (a fork child holds a copy of its parent's): it
/// refuses work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineGone;

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
    /// In `Engine::dirty`: to be serviced (written) at the next turn.
    dirty: bool,
    /// In `Engine::carry`: bytes may be left unread (the per-turn limit).
    carry: bool,
    /// The last write would have blocked: the socket has no room until it reports writable.
    write_blocked: bool,
    /// Bytes this connection may still read in turn number `budget_turn`.
    budget: usize,
    budget_turn: u64,
}

pub struct Engine {
    poll: Poll,
    events: Events,
    /// `events` holds what `wait_readable` got, not yet handled by a turn.
    stashed: bool,
    wake: Arc<Wake>,
    timer: Timer,
    /// Boxed: the fork handler keeps its address.
    fds: Box<FdRegistry>,
    conns: HashMap<u64, Entry, BuildHasherDefault<TokenHasher>>,
    /// Every connection's next deadline.
    timers: BTreeSet<(Instant, u64)>,
    completions: VecDeque<(u64, Completion)>,
    /// Connections with commands left for the next turn.
    dirty: Vec<u64>,
    /// Connections whose socket may hold bytes the last turn left unread.
    carry: Vec<u64>,
    resolved_tx: Sender<Resolved>,
    resolved_rx: Receiver<Resolved>,
    resolving: usize,
    scratch: Vec<u8>,
    outstanding: Outstanding,
    next_conn: u64,
    last_turn: Instant,
    /// Counts turns (for the per-turn read budgets).
    turns: u64,
    pid: u32,
    /// `super::fork_generation()` when the engine started.
    generation: u32,
    /// Batches (`submit_batch`) waiting for some of their commands.
    batches: Batches,
}

impl Engine {
    pub fn new() -> io::Result<Engine> {
        let poll = Poll::new()?;
        let fds = Box::<FdRegistry>::default();
        fds.mark(poll.as_raw_fd());
        let wake = Arc::new(Wake::new(poll.registry(), WAKE, &fds)?);
        let timer = Timer::new(poll.registry(), TIMER, &fds)?;
        let (resolved_tx, resolved_rx) = mpsc::channel();
        Ok(Engine {
            poll,
            events: Events::with_capacity(EVENTS),
            stashed: false,
            wake,
            timer,
            fds,
            conns: HashMap::default(),
            timers: BTreeSet::new(),
            completions: VecDeque::new(),
            dirty: Vec::new(),
            carry: Vec::new(),
            resolved_tx,
            resolved_rx,
            resolving: 0,
            scratch: vec![0; SCRATCH],
            outstanding: Outstanding::default(),
            next_conn: 1,
            last_turn: Instant::now(),
            turns: 0,
            pid: std::process::id(),
            generation: super::fork_generation(),
            batches: Batches::default(),
        })
    }

    // ----- getters ---------------------------------------------------------------------------

    /// The descriptor Perl's event loop watches: readable when a turn has work.
    pub fn fd(&self) -> RawFd {
        self.poll.as_raw_fd()
    }

    /// Block until `fd` is readable or `timeout` passes (None: no limit); true if readable.
    /// Not part of a turn (a turn never waits): for an event loop that reports the fd ready
    /// without asking the kernel (Future::IO's default implementation with one reader), and
    /// for tests.
    ///
    /// The wait is the Poll's own: the events it returns are kept for the next turn, which
    /// then needs no poll of its own (one syscall less per wake-up).
    pub fn wait_readable(&mut self, timeout: Option<Duration>) -> bool {
        if self.stashed {
            return true;
        }
        loop {
            match self.poll.poll(&mut self.events, timeout) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted && timeout.is_none() => continue,
                Err(_) => return false,
            }
        }
        self.stashed = !self.events.is_empty();
        self.stashed
    }

    /// The process that started this engine.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// False in a fork child (the engine is its parent's).
    pub fn is_running(&self) -> bool {
        self.generation == super::fork_generation()
    }

    /// The engine's fd registry (for the fork handler).
    pub fn fds(&self) -> &FdRegistry {
        &self.fds
    }

    /// How many submitted tokens have not come out of `next_completion` yet.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// Whether Perl must keep waiting on `fd`: tokens are outstanding, completions wait, a name
    /// is being resolved, or a connection is connecting, in its handshake or waiting to
    /// reconnect. A ready, quiet connection needs no wait: a close by the server while nobody
    /// watches is found by the next submission (see `STALE_AFTER`), and clients that want
    /// connection events keep the pump armed on the Perl side. A subscribed connection needs the
    /// wait: messages come unasked.
    pub fn busy(&self) -> bool {
        self.outstanding.len() > 0
            || !self.completions.is_empty()
            || self.resolving > 0
            || self.conns.values().any(|e| e.conn.needs_turns() || e.conn.is_subscribed())
    }

    /// What of connection `conn`'s state its next user would not expect (bits of
    /// `conn::session_flags`), as of the last turn; None when the engine holds no such
    /// connection.
    pub fn conn_flags(&self, conn: u64) -> Option<u32> {
        self.conns.get(&conn).map(|e| e.conn.session_flags())
    }

    /// Connection `conn`'s commands without their reply yet: (written and waiting for it,
    /// waiting to be written: for the connection, for room under pipeline_depth, or out a
    /// retry delay); None when the engine holds no such connection.
    pub fn conn_pending(&self, conn: u64) -> Option<(usize, usize)> {
        self.conns.get(&conn).map(|e| (e.conn.inflight_len(), e.conn.queued_len() + e.conn.retrying_len()))
    }

    /// Where the timer cannot wake the Poll fd by itself (systems without timerfd): how long
    /// Perl may wait before the next turn, the next deadline or `EXTERNAL_TICK`, whichever is
    /// sooner (a deadline set by a later submission is then late by at most the tick). None
    /// where the timer is a descriptor in the Poll.
    pub fn external_timeout(&self) -> Option<Duration> {
        if self.timer.fd_backed() {
            return None;
        }
        let next = self.timers.first().map(|(t, _)| t.saturating_duration_since(Instant::now()));
        Some(next.map_or(EXTERNAL_TICK, |d| d.min(EXTERNAL_TICK)))
    }

    // ----- application inputs ----------------------------------------------------------------

    /// Register a connection (speaking TLS when `tls` is given); it connects on `connect` or on
    /// its first command.
    pub fn open(&mut self, config: ConnConfig, tls: Option<TlsClient>) -> Result<u64, EngineGone> {
        self.check()?;
        let id = self.next_conn;
        self.next_conn += 1;
        let seed = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ clock_seed();
        let conn = Conn::new(Arc::new(config), Instant::now(), seed);
        self.conns.insert(
            id,
            Entry {
                conn,
                tls,
                transport: None,
                attempt: Attempt::None,
                attempt_id: 0,
                connected: false,
                timer: None,
                dirty: false,
                carry: false,
                write_blocked: false,
                budget: READ_PER_TURN,
                budget_turn: 0,
            },
        );
        Ok(id)
    }

    /// Connect; `token` completes (Done or Failed) when the connection is ready or the attempt
    /// failed.
    pub fn connect(&mut self, conn: u64, token: u64) -> Result<(), EngineGone> {
        self.check()?;
        self.outstanding.add(token);
        self.apply(conn, &[token], true, |c, now| c.connect(token, now));
        self.after_call();
        Ok(())
    }

    /// Submit one command. On an idle, ready connection it is written before this returns.
    pub fn submit(&mut self, conn: u64, request: Request) -> Result<(), EngineGone> {
        self.check()?;
        self.outstanding.add(request.token);
        let token = request.token;
        if self.idle(conn) && self.last_turn.elapsed() >= STALE_AFTER {
            // Learn about anything that happened while nobody turned (a closed connection)
            // before writing to it.
            self.turn();
        }
        let through = self.idle(conn);
        self.apply(conn, &[token], through, |c, now| c.submit(request, now));
        self.after_call();
        Ok(())
    }

    /// Submit commands to be written together, in order, that complete together: `token`
    /// completes once, with `Completion::Batch` holding every command's result in order (the
    /// requests' own tokens are not used). At most `MAX_BATCH` requests; none completes at once.
    pub fn submit_batch(&mut self, conn: u64, token: u64, mut requests: Vec<Request>) -> Result<(), EngineGone> {
        self.check()?;
        assert!(requests.len() <= MAX_BATCH, "a batch holds at most {MAX_BATCH} commands");
        self.outstanding.add(token);
        if requests.is_empty() {
            self.completions.push_back((conn, Completion::Batch { token, results: Vec::new() }));
            self.after_call();
            return Ok(());
        }
        let base = self.batches.start(token, requests.len());
        let tokens: Vec<u64> = (0..requests.len() as u64).map(|i| base | i).collect();
        for (r, &t) in requests.iter_mut().zip(&tokens) {
            r.token = t;
        }
        let through = self.idle(conn);
        self.apply(conn, &tokens, through, move |c, now| {
            for r in requests {
                c.submit(r, now);
            }
        });
        self.after_call();
        Ok(())
    }

    /// Close now; `token` (if any) completes with Done once closed.
    pub fn close(&mut self, conn: u64, token: Option<u64>) -> Result<(), EngineGone> {
        self.check()?;
        let tokens: Vec<u64> = token.into_iter().collect();
        tokens.iter().for_each(|t| self.outstanding.add(*t));
        self.apply(conn, &tokens, true, |c, now| c.close(token, now));
        self.after_call();
        Ok(())
    }

    /// The application let go of the connection: what was issued still completes, then it
    /// closes and is forgotten.
    pub fn release(&mut self, conn: u64) -> Result<(), EngineGone> {
        self.check()?;
        self.apply(conn, &[], true, |c, now| c.release(now));
        self.after_call();
        Ok(())
    }

    // ----- the turn --------------------------------------------------------------------------

    /// Do whatever is ready, without waiting: read and decode what the sockets hold (at most
    /// `READ_PER_TURN` bytes each), write what waits, expire deadlines, re-arm the timer.
    /// Completions are then collected with `next_completion`.
    pub fn turn(&mut self) {
        if !self.is_running() {
            return;
        }
        self.wake.seen();
        let now = Instant::now();
        self.last_turn = now;
        self.turns += 1;
        for id in std::mem::take(&mut self.carry) {
            if let Some(e) = self.conns.get_mut(&id) {
                e.carry = false;
                self.read(id, true, now);
                self.service(id, now);
            }
        }
        self.poll_events(now);
        self.take_resolutions(now);
        let now = Instant::now();
        self.fire_timers(now);
        for id in std::mem::take(&mut self.dirty) {
            self.service(id, now);
        }
        self.timer.arm(self.timers.first().map(|(t, _)| *t), now);
        if !self.carry.is_empty() || !self.dirty.is_empty() {
            self.wake.wake();
        }
    }

    /// The next completion, tagged with its connection id. None in a fork child (they belong
    /// to the parent).
    pub fn next_completion(&mut self) -> Option<(u64, Completion)> {
        if !self.is_running() {
            return None;
        }
        let c = loop {
            let (conn, c) = self.completions.pop_front()?;
            // A batch's commands are gathered into one completion (`super::batch`).
            if let Some(c) = self.batches.gather(c) {
                break (conn, c);
            }
        };
        if let Completion::Reply { token, .. }
        | Completion::Done { token }
        | Completion::Failed { token, .. }
        | Completion::Batch { token, .. } = &c.1
        {
            self.outstanding.done(*token);
        }
        Some(c)
    }

    /// Tokens submitted whose completion has not come out of `next_completion`: in a fork
    /// child, nobody will complete these.
    pub fn take_orphans(&mut self) -> Vec<u64> {
        self.completions.clear();
        self.batches.clear();
        self.outstanding.take()
    }

    /// Forget this engine without touching its sockets or its Poll (a fork child shares the
    /// parent's epoll instance: deregistering would change the parent's). Returns the fds the
    /// child inherited for the caller to close.
    pub fn abandon(self) -> Vec<i32> {
        let fds = self.fds.marked();
        std::mem::forget(self);
        fds
    }

    // ----- internals -------------------------------------------------------------------------

    fn check(&self) -> Result<(), EngineGone> {
        if self.is_running() {
            Ok(())
        } else {
            Err(EngineGone)
        }
    }

    /// Whether a command for `conn` would be written at once: connected, ready, nothing in
    /// flight or waiting.
    fn idle(&self, conn: u64) -> bool {
        self.conns.get(&conn).is_some_and(|e| e.connected && e.conn.is_idle())
    }

    /// Apply `f` to connection `id`; service it now when `now_` (write-through), else at the
    /// next turn. Without such a connection (released), the `tokens` fail instead.
    fn apply(&mut self, id: u64, tokens: &[u64], service_now: bool, f: impl FnOnce(&mut Conn, Instant)) {
        let now = Instant::now();
        match self.conns.get_mut(&id) {
            Some(e) => {
                f(&mut e.conn, now);
                let flush = service_now
                    || (e.connected && !e.write_blocked && e.conn.write_buf().len() >= FLUSH_WHEN_BUSY);
                if flush || e.conn.has_actions() || !e.connected {
                    self.service(id, now);
                } else if !e.dirty {
                    e.dirty = true;
                    self.dirty.push(id);
                }
            }
            None => {
                for &token in tokens {
                    let error = ClientError::new(ErrorKind::Disconnected, "the connection was closed and released");
                    self.completions.push_back((id, Completion::Failed { token, error: Box::new(error) }));
                }
            }
        }
    }

    /// Outside a turn: make sure a turn comes for what was left (completions to deliver,
    /// commands to write) and that the timer covers new deadlines.
    fn after_call(&mut self) {
        if !self.completions.is_empty() || !self.dirty.is_empty() {
            self.wake.wake();
        }
        self.timer.arm(self.timers.first().map(|(t, _)| *t), Instant::now());
    }

    fn poll_events(&mut self, now: Instant) {
        if std::mem::take(&mut self.stashed) {
            // Events from `wait_readable`, moments ago. Those that came since make the fd
            // readable again, and the loop comes back for them.
        } else {
            loop {
                match self.poll.poll(&mut self.events, Some(Duration::ZERO)) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => return,
                }
            }
        }
        let ready: Vec<(Token, bool, bool, bool)> = self
            .events
            .iter()
            .map(|ev| {
                let closing = ev.is_read_closed() || ev.is_error();
                (ev.token(), ev.is_readable() || closing, ev.is_writable() || ev.is_error(), closing)
            })
            .collect();
        for (token, readable, writable, closing) in ready {
            match token {
                WAKE => {}
                TIMER => self.timer.fired(),
                Token(id) => self.socket_event(id as u64, readable, writable, closing, now),
            }
        }
    }

    fn take_resolutions(&mut self, now: Instant) {
        while let Ok((id, attempt, result)) = self.resolved_rx.try_recv() {
            self.resolving = self.resolving.saturating_sub(1);
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
                        io_failed(&mut e.conn, "write to", err, now);
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
                                self.fds.clear(fd);
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
                    self.fds.clear(t.fd());
                }
                e.attempt = Attempt::None;
                e.conn.transport_failed(msg, now);
            }
        }
        self.service(id, now);
    }

    /// Read until the socket would block (or, when `to_end`, to the end of the stream), at most
    /// `READ_PER_TURN` bytes, feeding the connection as bytes arrive. A socket left with bytes
    /// possibly unread goes on `carry` for the next turn.
    fn read(&mut self, id: u64, to_end: bool, now: Instant) {
        let Some(Entry { conn, transport: Some(t), carry, budget, budget_turn, .. }) = self.conns.get_mut(&id) else {
            return;
        };
        if *budget_turn != self.turns {
            *budget_turn = self.turns;
            *budget = READ_PER_TURN;
        }
        loop {
            if *budget == 0 {
                if !*carry {
                    *carry = true;
                    self.carry.push(id);
                }
                return;
            }
            if t.reads_into_spare() && conn.bytes_missing() >= DIRECT_READ {
                // The rest of a large reply: read it straight into the decoder's buffer, up to
                // its end (the buffer has room for it once it has grown) or the budget.
                let buf = conn.read_buf();
                let limit = (buf.capacity() - buf.len()).min(*budget);
                let (n, how) = t.read_append(buf, limit);
                if n > 0 {
                    *budget -= n;
                    conn.bytes_read(now);
                    if conn.has_actions() {
                        return;
                    }
                }
                match how {
                    Ok(true) => continue,
                    Ok(false) => return conn.eof(now),
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    Err(err) => return io_failed(conn, "read from", err, now),
                }
            }
            let want = self.scratch.len().min(*budget);
            match t.read(&mut self.scratch[..want]) {
                Ok(0) => return conn.eof(now),
                Ok(n) => {
                    *budget -= n;
                    conn.read_buf().extend_from_slice(&self.scratch[..n]);
                    conn.bytes_read(now);
                    if conn.has_actions() {
                        return; // it reset itself: stop reading from this transport
                    }
                    if n < want && t.short_read_drains() && !to_end {
                        // A short read drained the socket: stream sockets report new data with
                        // a new edge, so another read now would only return WouldBlock.
                        return;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return io_failed(conn, "read from", err, now),
            }
        }
    }

    /// Write as much as the socket takes.
    fn flush(&mut self, id: u64, now: Instant) {
        let Some(Entry { conn, transport: Some(t), connected: true, write_blocked, .. }) = self.conns.get_mut(&id) else {
            return;
        };
        *write_blocked = false;
        while !conn.write_buf().is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let n = conn.write_buf().fill_slices(&mut slices);
            match t.write_vectored(&slices[..n]) {
                Ok(0) => {
                    let msg = format!("write to {} failed: wrote 0 bytes", conn.config().address);
                    return conn.io_error(msg, now);
                }
                Ok(written) => conn.wrote(written, now),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    *write_blocked = true;
                    return;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return io_failed(conn, "write to", err, now),
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
                Some(Action::Disconnect) => drop_transport(self.poll.registry(), &self.fds, e),
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
        self.completions.extend(e.conn.take_completions(now).map(|c| (id, c)));
        if e.conn.is_released() {
            if let Some(mut e) = self.conns.remove(&id) {
                drop_transport(self.poll.registry(), &self.fds, &mut e);
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
        drop_transport(registry, &self.fds, e);
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
                // getaddrinfo blocks: a helper thread resolves and reports through the Wake.
                e.attempt = Attempt::Resolving;
                let (tx, wake, attempt) = (self.resolved_tx.clone(), self.wake.clone(), e.attempt_id);
                let lookup = address.clone();
                let spawned = std::thread::Builder::new().name("fior-resolve".into()).spawn(move || {
                    let _ = tx.send((id, attempt, resolve(&lookup)));
                    wake.wake();
                });
                match spawned {
                    Ok(_) => self.resolving += 1,
                    Err(err) => {
                        e.attempt = Attempt::None;
                        e.conn.transport_failed(format!("cannot resolve {address}: {err}"), now);
                    }
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
            self.fds.clear(t.fd());
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
                    self.fds.mark(t.fd());
                    match t.register(registry, Token(id as usize)) {
                        Ok(()) => {
                            e.transport = Some(t);
                            return;
                        }
                        Err(err) => {
                            self.fds.clear(t.fd());
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

impl Drop for Engine {
    fn drop(&mut self) {
        if std::process::id() != self.pid || !self.is_running() {
            // A fork child's copy: its descriptors were closed at the fork, and the Poll is the
            // parent's too. Touch nothing.
            let conns = std::mem::take(&mut self.conns);
            std::mem::forget(conns);
            return;
        }
        let registry = self.poll.registry();
        for e in self.conns.values_mut() {
            drop_transport(registry, &self.fds, e);
        }
    }
}

/// Tell `conn` that an operation on its transport failed ("read from" / "write to" its address).
fn io_failed(conn: &mut Conn, op: &str, err: impl std::fmt::Display, now: Instant) {
    let msg = format!("{op} {} failed: {err}", conn.config().address);
    conn.io_error(msg, now);
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

/// Resolve a host name (on a helper thread: getaddrinfo blocks).
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

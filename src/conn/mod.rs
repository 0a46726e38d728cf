//! One Redis connection as a sans-IO state machine.
//!
//! `Conn` owns no socket and reads no clock. The runtime feeds it application requests,
//! transport events, bytes read and the current time; it answers with bytes to write
//! ([`Conn::write_buf`]), actions on the transport ([`Conn::poll_action`]), completions
//! ([`Conn::take_completions`]) and when it next needs to be woken ([`Conn::poll_timeout`]).
//! Calling order after any input: act on `poll_action` until `None`, write `write_buf`, then
//! collect completions and `poll_timeout`.
//!
//! Invariants:
//! - every request gets exactly one completion: a reply, or a typed failure;
//! - replies are matched to requests by order (RESP2 has no ids): `inflight` is a FIFO;
//! - while `Ready` the queue is empty: requests go straight to the write buffer;
//! - a request whose bytes were (even partly) written is never written again.

mod backoff;
mod commands;
mod completion;
mod config;
mod deadlines;
mod options;
mod pubsub;
mod readonly;
mod request;
mod write_buf;

pub use completion::{BatchItem, ClientError, Completion, ConnEvent, DisconnectReason, ErrorKind, TimeoutKind};
pub use config::{Address, ConnConfig, Handshake, Reconnect, Retry};
pub use options::{parse as parse_options, Options, RawOption, TlsOptions};
pub use pubsub::{Family, Message, MessageKind, PubSubRequest, Subscriptions};
pub use request::{blocking_wait, unsupported_mode, Blocking, CommandName, Deadline, Request, SessionEffect};
pub use write_buf::WriteBuf;

use crate::protocol::{encode_command, Decoder, Node, ProtocolError, Reply};
use backoff::Backoff;
use bytes::Bytes;
use deadlines::Deadlines;
use pubsub::{Expect, Push};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bits of [`Conn::session_flags`]: the state of a connection that its next user would not
/// expect, which a pool must not hand on as it is. The C ABI mirrors them (`FiorConnFlag`).
pub mod session_flags {
    /// Between an accepted MULTI and its EXEC, DISCARD or RESET: commands would be queued.
    pub const IN_MULTI: u32 = 1 << 0;
    /// Keys are watched (an accepted WATCH, not yet cleared by EXEC, DISCARD, UNWATCH or RESET).
    pub const WATCHING: u32 = 1 << 1;
    /// In subscribe mode. Reserved: this version refuses the SUBSCRIBE family.
    pub const SUBSCRIBED: u32 = 1 << 2;
    /// Commands in flight, waiting for the connection, or waiting out a retry delay.
    pub const PENDING: u32 = 1 << 3;
    /// One of those is a blocking command (BLPOP, XREAD BLOCK, WAIT, ...).
    pub const BLOCKING_COMMAND: u32 = 1 << 4;
    /// Not connected and ready (never connected, closed, lost, reconnecting, in its handshake).
    pub const NOT_CONNECTED: u32 = 1 << 5;
    /// The application opened a transaction: a MULTI was submitted and no EXEC, DISCARD or
    /// RESET after it yet (whether or not the server answered it).
    pub const MULTI_OPEN: u32 = 1 << 6;
}

/// What the runtime is doing to establish the transport (for error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectPhase {
    /// Resolving, connecting the socket.
    Transport,
    /// The TLS handshake.
    Tls,
}

/// What the connection asks of its transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Open a transport to the configured address (after closing any current one); answer
    /// with `transport_ready` or `transport_failed`.
    Connect,
    /// Close the current transport or abandon the attempt in progress.
    Disconnect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No transport, not trying to get one.
    Idle,
    /// Waiting for the runtime to establish the transport (resolve, connect, TLS).
    Connecting,
    /// Transport up; AUTH / SELECT / CLIENT SETNAME in flight.
    Handshake,
    Ready,
    /// Waiting out a reconnect delay.
    Waiting { until: Instant },
}

/// The handshake command an internal inflight entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Auth,
    Select,
    SetName,
    /// When nothing else is sent: proves the server speaks RESP before `connect` succeeds (a
    /// plain connection to a TLS port fails here instead of at the first command).
    Ping,
    /// Subscribing again, after a reconnect, to what the connection was subscribed to.
    Resubscribe(Family),
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::Auth => "AUTH",
            Step::Select => "SELECT",
            Step::SetName => "CLIENT SETNAME",
            Step::Ping => "PING",
            Step::Resubscribe(f) => f.subscribe_command(),
        }
    }
}

/// A user request, from submission to completion.
struct Req {
    seq: u64,
    token: u64,
    /// Its encoding, kept until it completes: it may have to be written again (a retry, or a
    /// reconnect before it was sent). Shared with the write buffer, not copied, when large.
    bytes: Bytes,
    name: CommandName,
    /// Expected to take long (blocking command or own timeout): read_timeout does not apply.
    patient: bool,
    timeout: Option<Duration>,
    deadline: Option<Instant>,
    /// Read-only, hence safe to send again after its connection was lost.
    idempotent: bool,
    /// How many times it was sent again (retries).
    attempt: u32,
    /// What it changes of `Conn::session` (or of the MULTI bookkeeping) once accepted.
    effect: SessionEffect,
    /// A SUBSCRIBE-family command: what it waits for.
    pubsub: Option<PubSubRequest>,
    /// A blocking command (see [`Blocking`]).
    blocking: bool,
    /// Part of a transaction: the seq of the MULTI it follows (or is), submitted before the
    /// EXEC, DISCARD or RESET that ends it (which belongs to it too). See [`Conn::tx_open`].
    tx: Option<u64>,
}

enum Slot {
    User(Req),
    Handshake { seq: u64, step: Step },
}

/// A request written (or being written) and waiting for its reply.
struct Inflight {
    /// Where its bytes lie in the write stream.
    start: u64,
    end: u64,
    slot: Slot,
    /// One reply, or confirmations (SUBSCRIBE family).
    expect: Expect,
}

impl Inflight {
    fn seq(&self) -> u64 {
        match &self.slot {
            Slot::User(r) => r.seq,
            Slot::Handshake { seq, .. } => *seq,
        }
    }

    fn name(&self) -> CommandName {
        match &self.slot {
            Slot::User(r) => r.name,
            Slot::Handshake { step, .. } => CommandName::new(&[step.as_str().as_bytes()]),
        }
    }

    fn patient(&self) -> bool {
        matches!(&self.slot, Slot::User(r) if r.patient)
    }

    fn timeout(&self) -> Option<Duration> {
        match &self.slot {
            Slot::User(r) => r.timeout,
            Slot::Handshake { .. } => None,
        }
    }
}

/// What the user changed of the connection's state through commands, replayed by the handshake
/// on every reconnect: without it a reconnect after `SELECT 3` would send every later command to
/// database 0. Starts from the configured `database` and `client_name`; changes only when the
/// server accepts a command (in reply order, which is the order the server ran them).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Session {
    database: u32,
    client_name: Option<Vec<u8>>,
}

/// Whether `node` of `reply` is the simple string `want` (+OK, +QUEUED, +RESET).
fn is_simple(reply: &Reply, node: &Node, want: &[u8]) -> bool {
    matches!(node, Node::Simple(r) if reply.bytes(r) == want)
}

/// The top-level elements of an array reply (pre-order nodes, nested arrays skipped).
fn top_level(reply: &Reply) -> impl Iterator<Item = &Node> {
    let mut skip = 0usize;
    reply.nodes().skip(1).filter(move |node| {
        let top = skip == 0;
        if !top {
            skip -= 1;
        }
        if let Node::Array(n) = node {
            skip += n;
        }
        top
    })
}

/// Error replies that mean "not executed, try again later".
fn transient_error(message: &[u8]) -> bool {
    let code = message.split(|b| *b == b' ').next().unwrap_or_default();
    matches!(code, b"LOADING" | b"BUSY" | b"MASTERDOWN" | b"TRYAGAIN")
}

pub struct Conn {
    cfg: Arc<ConnConfig>,
    state: State,
    /// Deadline for the current connect attempt (transport + handshake).
    connect_deadline: Option<Instant>,
    connect_phase: ConnectPhase,
    /// Whether a command may start a connection by itself (false after `close`, or after a
    /// loss with reconnect disabled, until the next `connect`).
    auto_connect: bool,
    /// The application let go of the connection: close once nothing waits any more.
    releasing: bool,
    /// Closed for good after a release: the runtime may forget it.
    released: bool,
    ever_ready: bool,
    queue: VecDeque<Req>,
    inflight: VecDeque<Inflight>,
    /// Requests waiting out a retry delay (after LOADING, BUSY, ...), with when to send them.
    retries: Vec<(Instant, Req)>,
    wbuf: WriteBuf,
    decoder: Decoder,
    read_hint: Option<usize>,
    deadlines: Deadlines,
    next_seq: u64,
    connect_waiters: Vec<u64>,
    out: Vec<Completion>,
    actions: VecDeque<Action>,
    last_read: Instant,
    last_write: Instant,
    backoff: Backoff,
    /// Replayed by the handshake: see [`Session`].
    session: Session,
    /// Between an accepted MULTI and its EXEC / DISCARD: the effects of the commands the server
    /// answered QUEUED, in order, applied when EXEC's reply says each of them succeeded.
    multi: Option<Vec<SessionEffect>>,
    /// Used for subscribing (see `pubsub`): modal until every subscription is gone.
    subscribed: bool,
    /// What the server confirmed; replayed on reconnect.
    subs: Subscriptions,
    /// The handshake under way subscribes again: report it once ready.
    resubscribing: bool,
    /// Keys are watched on the server connection (WATCH accepted, not cleared since).
    watching: bool,
    /// The transaction the application is building, as submitted: the seq of its MULTI, until
    /// an EXEC, DISCARD or RESET is submitted. Every request submitted meanwhile belongs to it
    /// (`Req::tx`): none is retried or sent again on another connection, since the server drops
    /// a transaction with its connection and a command of it sent alone would run outside it.
    tx_open: Option<u64>,
    /// The connection was lost after the open transaction's MULTI was written: the server
    /// discarded it. Its later commands are refused (DISCARD is answered OK) until EXEC,
    /// DISCARD or RESET ends it.
    tx_lost: bool,
}

impl Conn {
    pub fn new(cfg: Arc<ConnConfig>, now: Instant, seed: u64) -> Self {
        let decoder = Decoder::with_limits(cfg.read_buffer_size, cfg.max_bulk_len);
        let session = Session {
            database: cfg.handshake.database.unwrap_or(0),
            client_name: cfg.handshake.client_name.clone(),
        };
        let wbuf = WriteBuf::new((cfg.write_buffer_size / 4).clamp(1024, 1 << 20));
        Conn {
            cfg,
            state: State::Idle,
            connect_deadline: None,
            connect_phase: ConnectPhase::Transport,
            auto_connect: true,
            releasing: false,
            released: false,
            ever_ready: false,
            queue: VecDeque::new(),
            inflight: VecDeque::new(),
            retries: Vec::new(),
            wbuf,
            decoder,
            read_hint: None,
            deadlines: Deadlines::default(),
            next_seq: 0,
            connect_waiters: Vec::new(),
            out: Vec::new(),
            actions: VecDeque::new(),
            last_read: now,
            last_write: now,
            backoff: Backoff::new(seed),
            session,
            multi: None,
            subscribed: false,
            subs: Subscriptions::default(),
            resubscribing: false,
            watching: false,
            tx_open: None,
            tx_lost: false,
        }
    }

    // ----- getters -------------------------------------------------------------------------

    pub fn config(&self) -> &ConnConfig {
        &self.cfg
    }

    pub fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    /// Ready with nothing in flight, queued or buffered: a command now would be written at
    /// once, alone.
    pub fn is_idle(&self) -> bool {
        self.state == State::Ready && self.inflight.is_empty() && self.queue.is_empty() && self.wbuf.is_empty()
    }

    /// Something is under way that only turns can finish: requests in flight, queued or
    /// retrying, bytes to write, completions to collect, or a connect, handshake or reconnect
    /// back-off. A ready connection with nothing of that kind is quiet.
    pub fn needs_turns(&self) -> bool {
        !matches!(self.state, State::Idle | State::Ready)
            || !self.out.is_empty()
            || !self.inflight.is_empty()
            || !self.queue.is_empty()
            || !self.retries.is_empty()
            || !self.wbuf.is_empty()
    }

    /// Requests written and waiting for their replies (handshake commands excluded).
    pub fn inflight_len(&self) -> usize {
        self.inflight.iter().filter(|e| matches!(e.slot, Slot::User(_))).count()
    }

    /// Requests waiting out a retry delay.
    pub fn retrying_len(&self) -> usize {
        self.retries.len()
    }

    /// Requests waiting for a connection.
    pub fn queued_len(&self) -> usize {
        self.queue.len()
    }

    /// The database the handshake selects on the next (re)connect: the configured one until the
    /// server accepts a SELECT (or RESET).
    pub fn database(&self) -> u32 {
        self.session.database
    }

    /// The name the handshake sets on the next (re)connect, if any.
    pub fn client_name(&self) -> Option<&[u8]> {
        self.session.client_name.as_deref()
    }

    /// In subscribe mode: a SUBSCRIBE-family command was issued and not every subscription has
    /// ended since. Only that family, PING, QUIT and RESET may be sent; messages may arrive at
    /// any time, so the runtime keeps watching the connection.
    pub fn is_subscribed(&self) -> bool {
        self.subscribed
    }

    /// The channels, patterns and shard channels the server confirmed (replayed on reconnect).
    pub fn subscriptions(&self) -> &Subscriptions {
        &self.subs
    }

    /// What of this connection's state its next user would not expect: bits of
    /// [`session_flags`]. Empty for a ready connection with nothing outstanding, no
    /// transaction and no watched keys.
    pub fn session_flags(&self) -> u32 {
        use session_flags::*;
        let mut flags = 0;
        if self.multi.is_some() || self.tx_lost {
            flags |= IN_MULTI;
        }
        if self.tx_open.is_some() {
            flags |= MULTI_OPEN;
        }
        if self.subscribed {
            flags |= SUBSCRIBED;
        }
        if self.watching {
            flags |= WATCHING;
        }
        if self.state != State::Ready {
            flags |= NOT_CONNECTED;
        }
        let inflight = self.inflight.iter().filter_map(|e| match &e.slot {
            Slot::User(r) => Some(r),
            Slot::Handshake { .. } => None,
        });
        for r in inflight.chain(self.queue.iter()).chain(self.retries.iter().map(|(_, r)| r)) {
            flags |= PENDING;
            if r.blocking {
                flags |= BLOCKING_COMMAND;
                break;
            }
        }
        flags
    }

    /// Reconnect attempts since the connection was last ready.
    pub fn reconnect_attempts(&self) -> u32 {
        self.backoff.attempt()
    }

    // ----- application inputs ----------------------------------------------------------------

    /// Connect (if not already connected or connecting); `token` completes with `Done` when the
    /// connection is ready, or `Failed` if this attempt fails.
    pub fn connect(&mut self, token: u64, now: Instant) {
        self.auto_connect = true;
        match self.state {
            State::Ready => self.out.push(Completion::Done { token }),
            State::Connecting | State::Handshake => self.connect_waiters.push(token),
            State::Idle | State::Waiting { .. } => {
                self.connect_waiters.push(token);
                self.start_connect(now);
            }
        }
    }

    pub fn submit(&mut self, req: Request, now: Instant) {
        if req.pubsub.is_some() {
            self.subscribed = true;
        } else if self.subscribed && !pubsub::allowed_while_subscribed(&req.name) {
            let err = ClientError::new(
                ErrorKind::PubSub,
                format!(
                    "{} cannot be sent on a subscribed connection: only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET can (use another client for commands)",
                    req.name
                ),
            )
            .with_command(req.name);
            self.fail(req.token, err);
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let lost = self.tx_lost && req.effect != SessionEffect::Reset;
        let tx = self.track_transaction(seq, &req.effect);
        if lost {
            // A command of a transaction the server already discarded with its connection.
            if req.effect == SessionEffect::Discard {
                self.out.push(Completion::Reply { token: req.token, reply: Reply::simple("OK") });
            } else {
                let err = ClientError::new(
                    ErrorKind::Connection,
                    format!(
                        "{} was not sent: the connection was lost inside MULTI, so the server discarded the transaction and ran none of its commands (EXEC or DISCARD ends it)",
                        req.name
                    ),
                )
                .with_command(req.name);
                self.fail(req.token, err);
            }
            return;
        }
        let timeout = self.timeout_for(&req);
        let deadline = timeout.map(|t| now + t);
        // read_timeout does not apply while a command that is expected to take long (a blocking
        // command, or one with its own timeout) waits at the head.
        let patient = req.blocking.is_some() || req.deadline != Deadline::Default || self.has_own_timeout(&req);
        let r = Req {
            seq,
            token: req.token,
            bytes: Bytes::from(req.bytes),
            name: req.name,
            patient,
            timeout,
            deadline,
            idempotent: req.idempotent,
            attempt: 0,
            effect: req.effect,
            pubsub: req.pubsub,
            blocking: req.blocking.is_some(),
            tx,
        };
        match self.state {
            State::Ready => {
                if let Some(at) = deadline {
                    self.deadlines.insert(at, seq, !patient);
                }
                if self.queue.is_empty() && self.has_room() {
                    self.write_user(r, now);
                } else {
                    // Behind others that wait for room (pipeline_depth); not an outage, so
                    // queue_size does not apply.
                    self.queue.push_back(r);
                }
                return;
            }
            State::Idle if !self.auto_connect => {
                let mut err = ClientError::new(ErrorKind::Disconnected, "not connected (call connect first)")
                    .with_command(r.name);
                err.queue_size = Some(self.queue.len());
                self.fail(r.token, err);
                return;
            }
            _ => {}
        }
        // The bound is for outages: a first connect (explicit or by the first commands) takes
        // whatever is issued meanwhile, bounded by connect_timeout.
        if self.ever_ready && self.queue.len() >= self.cfg.queue_size {
            let mut err = ClientError::new(
                ErrorKind::Disconnected,
                format!("not connected and {} commands already wait (queue_size)", self.queue.len()),
            )
            .with_command(r.name);
            err.queue_size = Some(self.queue.len());
            self.fail(r.token, err);
            return;
        }
        if let Some(at) = deadline {
            self.deadlines.insert(at, seq, !patient);
        }
        self.queue.push_back(r);
        if self.state == State::Idle {
            self.start_connect(now);
        }
    }

    /// Close now. Written requests fail with `Connection`, unwritten ones and pending connects
    /// with `Disconnected`; `token` (if any) completes with `Done`. No reconnect follows by
    /// itself. With reconnect enabled the next command connects again (as on a connection never
    /// used); without, commands fail until the next `connect`.
    pub fn close(&mut self, token: Option<u64>, now: Instant) {
        let _ = now;
        self.auto_connect = self.cfg.reconnect.enabled;
        // The next connect is a first one again: its failure is reported, not retried.
        self.ever_ready = false;
        let was_ready = self.state == State::Ready;
        if matches!(self.state, State::Connecting | State::Handshake | State::Ready) {
            self.actions.push_back(Action::Disconnect);
        }
        let msg = "connection closed by client";
        self.fail_inflight(msg, DisconnectReason::Client, false, false);
        self.fail_queue(ErrorKind::Disconnected, msg, None);
        // An explicit close ends the subscriptions (nothing is replayed on a later connect) and
        // any transaction being built.
        self.tx_open = None;
        self.tx_lost = false;
        // The server forgets the transaction and the watched keys with the connection.
        self.multi = None;
        self.watching = false;
        self.subs.clear();
        self.subscribed = false;
        for t in std::mem::take(&mut self.connect_waiters) {
            self.fail(t, ClientError::new(ErrorKind::Disconnected, msg));
        }
        self.decoder.reset();
        self.deadlines.clear();
        self.state = State::Idle;
        self.connect_deadline = None;
        if was_ready {
            self.out.push(Completion::Event(ConnEvent::Disconnected {
                reason: DisconnectReason::Client,
                message: msg.into(),
            }));
        }
        if let Some(token) = token {
            self.out.push(Completion::Done { token });
        }
    }

    /// The application let go of this connection (its client object is gone): commands already
    /// issued still complete -- someone may await them -- then it closes. Afterwards
    /// `is_released` is true and the runtime forgets it.
    pub fn release(&mut self, now: Instant) {
        self.releasing = true;
        self.close_if_released(now);
    }

    /// Closed after `release`: nothing of it is needed any more.
    pub fn is_released(&self) -> bool {
        self.released
    }

    /// After `release`, close as soon as no request waits.
    fn close_if_released(&mut self, now: Instant) {
        if self.releasing && !self.released && self.inflight.is_empty() && self.queue.is_empty() && self.retries.is_empty() {
            self.close(None, now);
            self.out.retain(|c| !matches!(c, Completion::Event(_)));
            self.released = true;
        }
    }

    // ----- transport inputs ------------------------------------------------------------------

    /// The transport asked for by `Action::Connect` is up (TLS included).
    pub fn transport_ready(&mut self, now: Instant) {
        if self.state != State::Connecting {
            return;
        }
        self.last_read = now;
        self.last_write = now;
        // A new server-side connection: no transaction open on it, no keys watched.
        self.multi = None;
        self.watching = false;
        let cfg = Arc::clone(&self.cfg);
        let hs = &cfg.handshake;
        if let Some(pass) = &hs.password {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &hs.username {
                args.push(user);
            }
            args.push(pass);
            self.write_internal(Step::Auth, encode_command(&args));
        }
        // The session as the user last left it (the configured database and name until a
        // command changed them), so that a reconnect is invisible to later commands.
        if self.session.database != 0 {
            let db = self.session.database.to_string();
            self.write_internal(Step::Select, encode_command(&[&b"SELECT"[..], db.as_bytes()]));
        }
        if let Some(name) = self.session.client_name.clone() {
            self.write_internal(Step::SetName, encode_command(&[&b"CLIENT"[..], b"SETNAME", &name]));
        }
        // The subscriptions the server confirmed before the connection was lost: their
        // confirmations end the handshake, and messages may arrive in between.
        self.resubscribing = false;
        for family in Family::ALL {
            let names = self.subs.of(family);
            if names.is_empty() {
                continue;
            }
            let mut args: Vec<&[u8]> = Vec::with_capacity(names.len() + 1);
            args.push(family.subscribe_command().as_bytes());
            args.extend(names.iter().map(|n| n.as_slice()));
            let expect = Expect::Confirmations { op: pubsub::Op { family, subscribe: true }, left: names.len() };
            let bytes = encode_command(&args);
            self.write_internal(Step::Resubscribe(family), bytes);
            if let Some(e) = self.inflight.back_mut() {
                e.expect = expect;
            }
            self.resubscribing = true;
        }
        if self.inflight.is_empty() {
            self.write_internal(Step::Ping, encode_command(&[&b"PING"[..]]));
        }
        self.state = State::Handshake;
    }

    /// The runtime moved on to another phase of establishing the transport.
    pub fn set_connect_phase(&mut self, phase: ConnectPhase) {
        self.connect_phase = phase;
    }

    /// The connect attempt failed (resolution, refused, TLS, ...).
    pub fn transport_failed(&mut self, message: String, now: Instant) {
        if self.state == State::Connecting {
            self.connect_failed(ClientError::new(ErrorKind::Connection, message), now);
        }
    }

    /// Space to read into; call `bytes_read` after appending to it.
    pub fn read_buf(&mut self) -> &mut Vec<u8> {
        self.decoder.read_buf(self.read_hint)
    }

    /// Bytes still missing from the reply being read, as far as its headers tell (0 when
    /// unknown): a large count is worth reading straight into `read_buf`.
    pub fn bytes_missing(&self) -> usize {
        self.decoder.missing(self.read_hint)
    }

    /// Bytes were appended to `read_buf`: match every complete reply to its request.
    pub fn bytes_read(&mut self, now: Instant) {
        self.last_read = now;
        while matches!(self.state, State::Ready | State::Handshake) {
            match self.decoder.next_reply() {
                Ok(Ok(reply)) => self.on_reply(reply, now),
                Ok(Err(hint)) => {
                    self.read_hint = hint;
                    return;
                }
                Err(e) => return self.protocol_failure(e, now),
            }
        }
    }

    /// The server closed the connection (read returned 0).
    pub fn eof(&mut self, now: Instant) {
        match self.state {
            State::Ready => self.lost(DisconnectReason::ServerClosed, "server closed the connection".into(), true, now),
            State::Handshake | State::Connecting => self.connect_failed(
                ClientError::new(ErrorKind::Connection, "server closed the connection during the handshake"),
                now,
            ),
            _ => {}
        }
    }

    /// Reading or writing failed.
    pub fn io_error(&mut self, message: String, now: Instant) {
        match self.state {
            State::Ready => self.lost(DisconnectReason::ConnectionLost, message, true, now),
            State::Handshake | State::Connecting => {
                self.connect_failed(ClientError::new(ErrorKind::Connection, message), now)
            }
            _ => {}
        }
    }

    /// `n` bytes from the front of `write_buf` were written.
    pub fn wrote(&mut self, n: usize, now: Instant) {
        if n > 0 {
            self.wbuf.consume(n);
            self.last_write = now;
        }
    }

    /// Time passed: fire whatever deadline is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Connecting | State::Handshake if self.connect_deadline.is_some_and(|d| d <= now) => {
                let after = self.cfg.connect_timeout.unwrap_or_default();
                let err = if self.state == State::Connecting && self.connect_phase == ConnectPhase::Tls {
                    // Silence during a TLS handshake is what a plain (non-TLS) port gives: say so.
                    ClientError::new(
                        ErrorKind::Connection,
                        format!(
                            "TLS handshake with {} did not complete within {} (does the port serve TLS?)",
                            self.cfg.address,
                            secs(after)
                        ),
                    )
                } else {
                    ClientError::timeout(
                        TimeoutKind::Connect,
                        after,
                        format!("connect to {} timed out after {}", self.cfg.address, secs(after)),
                    )
                };
                self.connect_failed(err, now);
            }
            State::Waiting { until } if until <= now => self.start_connect(now),
            _ => {}
        }
        self.send_due_retries(now);
        while let Some(seq) = self.deadlines.pop_due(now) {
            if let Some(i) = find(&self.inflight, seq, |e| e.seq()) {
                let e = &self.inflight[i];
                let after = e.timeout().unwrap_or_default();
                let err = ClientError::timeout(
                    TimeoutKind::Request,
                    after,
                    format!("{} timed out after {} waiting for its reply", e.name(), secs(after)),
                )
                .with_command(e.name());
                let err = self.about_inflight(i, err);
                self.reset_after(i, err, now);
            } else if let Some(i) = find(&self.queue, seq, |q| q.seq) {
                let q = self.queue.remove(i).expect("index from find");
                let while_ = if self.state == State::Ready {
                    "waiting to be sent (pipeline_depth)"
                } else {
                    "waiting for a connection"
                };
                self.request_timed_out(q, while_);
            } else if let Some(i) = self.retries.iter().position(|(_, r)| r.seq == seq) {
                let (_, r) = self.retries.remove(i);
                self.request_timed_out(r, "retrying (the server answered LOADING, BUSY or similar)");
            }
        }
        if self.state != State::Ready {
            return;
        }
        if let (Some(at), Some(rt)) = (self.read_deadline(), self.cfg.read_timeout) {
            if at <= now {
                let name = self.inflight[0].name();
                let err = ClientError::timeout(
                    TimeoutKind::Read,
                    rt,
                    format!("no data from the server for {} while {} waited (read_timeout)", secs(rt), name),
                )
                .with_command(name);
                let err = self.about_inflight(0, err);
                return self.reset_after(0, err, now);
            }
        }
        if let (Some(at), Some(wt)) = (self.write_deadline(), self.cfg.write_timeout) {
            if at <= now {
                let i = self.first_unwritten();
                let name = self.inflight.get(i).map(|e| e.name());
                let mut err = ClientError::timeout(
                    TimeoutKind::Write,
                    wt,
                    format!("could not write to the server for {} (write_timeout)", secs(wt)),
                );
                err.command = name;
                let i = i.min(self.inflight.len().saturating_sub(1));
                let err = self.about_inflight(i, err);
                self.reset_after(i, err, now);
            }
        }
    }

    // ----- outputs -----------------------------------------------------------------------------

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Bytes to write, in order.
    pub fn write_buf(&self) -> &WriteBuf {
        &self.wbuf
    }

    /// The completions produced so far, in order. Consume the iterator whole: dropping it drops
    /// what it has not yielded.
    pub fn take_completions(&mut self, now: Instant) -> std::vec::Drain<'_, Completion> {
        self.close_if_released(now);
        // Connection errors name the server they are about.
        for c in self.out.iter_mut() {
            if let Completion::Failed { error, .. } | Completion::Event(ConnEvent::Error(error)) = c {
                if error.kind == ErrorKind::Connection && error.address.is_none() {
                    error.address = Some(self.cfg.address.clone());
                }
            }
        }
        self.out.drain(..)
    }

    /// Whether `poll_action` has something: the caller should act before reading on.
    pub fn has_actions(&self) -> bool {
        !self.actions.is_empty()
    }

    /// When `handle_timeout` must next be called, if ever.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let mut t = match self.state {
            State::Connecting | State::Handshake => self.connect_deadline,
            State::Waiting { until } => Some(until),
            _ => None,
        };
        let (inflight, queue, retries) = (&self.inflight, &self.queue, &self.retries);
        let live = |seq| {
            find(inflight, seq, |e| e.seq()).is_some()
                || find(queue, seq, |q| q.seq).is_some()
                || retries.iter().any(|(_, r)| r.seq == seq)
        };
        t = earliest(t, self.deadlines.earliest(live));
        t = earliest(t, self.retries.iter().map(|(at, _)| *at).min());
        if self.state == State::Ready {
            t = earliest(t, self.read_deadline());
            t = earliest(t, self.write_deadline());
        }
        t
    }

    // ----- internals -------------------------------------------------------------------------

    /// The transaction a request submitted now belongs to (see `tx_open`), opening one at MULTI
    /// and ending it at EXEC, DISCARD or RESET. A nested MULTI (refused by the server) belongs
    /// to the open one.
    fn track_transaction(&mut self, seq: u64, effect: &SessionEffect) -> Option<u64> {
        match effect {
            SessionEffect::Multi if self.tx_open.is_none() => {
                self.tx_open = Some(seq);
                self.tx_open
            }
            SessionEffect::Exec | SessionEffect::Discard | SessionEffect::Reset => {
                self.tx_lost = false;
                self.tx_open.take()
            }
            _ => self.tx_open,
        }
    }

    fn timeout_for(&self, req: &Request) -> Option<Duration> {
        if req.deadline == Deadline::Default && !self.cfg.timeouts.is_empty() {
            let full = req.name.as_str();
            let first = full.split(' ').next().unwrap_or(full);
            if let Some(t) = self.cfg.timeouts.get(full).or_else(|| self.cfg.timeouts.get(first)) {
                return *t;
            }
        }
        match (req.deadline, req.blocking) {
            (Deadline::After(d), _) => Some(d),
            (Deadline::Never, _) => None,
            (Deadline::Default, Some(Blocking::Forever)) => None,
            (Deadline::Default, Some(Blocking::For(d))) => Some(d + self.cfg.blocking_timeout_buffer),
            (Deadline::Default, None) => self.cfg.request_timeout,
        }
    }

    fn has_own_timeout(&self, req: &Request) -> bool {
        if self.cfg.timeouts.is_empty() {
            return false;
        }
        let full = req.name.as_str();
        let first = full.split(' ').next().unwrap_or(full);
        self.cfg.timeouts.contains_key(full) || self.cfg.timeouts.contains_key(first)
    }

    fn read_deadline(&self) -> Option<Instant> {
        let rt = self.cfg.read_timeout?;
        let head = self.inflight.front()?;
        (!head.patient()).then(|| self.last_read + rt)
    }

    fn write_deadline(&self) -> Option<Instant> {
        let wt = self.cfg.write_timeout?;
        (!self.wbuf.is_empty()).then(|| self.last_write + wt)
    }

    /// Whether one more command may be written now (pipeline_depth). Only while ready, when
    /// every inflight entry is a user command.
    fn has_room(&self) -> bool {
        self.cfg.pipeline_depth == 0 || self.inflight.len() < self.cfg.pipeline_depth
    }

    /// Write waiting commands, in order, while there is room.
    fn send_queued(&mut self, now: Instant) {
        while self.has_room() {
            let Some(q) = self.queue.pop_front() else { break };
            self.write_user(q, now);
        }
    }

    fn start_connect(&mut self, now: Instant) {
        self.state = State::Connecting;
        self.connect_phase = ConnectPhase::Transport;
        self.connect_deadline = self.cfg.connect_timeout.map(|t| now + t);
        self.actions.push_back(Action::Connect);
    }

    fn write_user(&mut self, r: Req, now: Instant) {
        if self.wbuf.is_empty() {
            self.last_write = now;
        }
        if self.inflight.is_empty() {
            self.last_read = now;
        }
        let len = r.bytes.len() as u64;
        let start = self.wbuf.push(&r.bytes);
        let expect = Expect::of(r.pubsub);
        self.inflight.push_back(Inflight { start, end: start + len, slot: Slot::User(r), expect });
    }

    fn write_internal(&mut self, step: Step, bytes: Vec<u8>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let len = bytes.len() as u64;
        let start = self.wbuf.push(&Bytes::from(bytes));
        self.inflight.push_back(Inflight { start, end: start + len, slot: Slot::Handshake { seq, step }, expect: Expect::Reply });
    }

    /// Send `r` again after the policy's delay, if its deadline allows it and it has attempts
    /// left; otherwise hand it back.
    fn retry_later(&mut self, mut r: Req, now: Instant) -> Option<Req> {
        let policy = &self.cfg.retry;
        if !policy.enabled || r.attempt >= policy.max_attempts {
            return Some(r);
        }
        let at = now + policy.delay(r.attempt);
        if r.deadline.is_some_and(|d| at >= d) {
            return Some(r);
        }
        r.attempt += 1;
        self.retries.push((at, r));
        None
    }

    /// Retries whose delay is over go out now (or wait for the connection in the queue).
    fn send_due_retries(&mut self, now: Instant) {
        if self.retries.iter().all(|(at, _)| *at > now) {
            return;
        }
        let (mut due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.retries).into_iter().partition(|(at, _)| *at <= now);
        self.retries = later;
        due.sort_by_key(|(_, r)| r.seq);
        for (_, r) in due {
            let at = self.queue.partition_point(|q| q.seq < r.seq);
            self.queue.insert(at, r);
        }
        if self.state == State::Ready {
            self.send_queued(now);
        }
    }

    /// Complete `token` with `error`.
    fn fail(&mut self, token: u64, error: ClientError) {
        self.out.push(Completion::Failed { token, error: Box::new(error) });
    }

    fn request_timed_out(&mut self, r: Req, while_: &str) {
        let after = r.timeout.unwrap_or_default();
        let err = ClientError::timeout(
            TimeoutKind::Request,
            after,
            format!("{} timed out after {} {while_}", r.name, secs(after)),
        )
        .with_command(r.name);
        let mut err = err;
        err.words = Some(request::command_words(&r.bytes));
        self.fail(r.token, err);
    }

    /// Complete a timeout error about inflight entry `i`: its command's words, and whether all
    /// of it was written (the server may have run it).
    fn about_inflight(&self, i: usize, mut err: ClientError) -> ClientError {
        if let Some(e) = self.inflight.get(i) {
            if let Slot::User(r) = &e.slot {
                err.words = Some(request::command_words(&r.bytes));
                err.maybe_executed = e.end <= self.wbuf.written();
            }
        }
        err
    }

    fn on_reply(&mut self, reply: Reply, now: Instant) {
        let subscribed_reply = self.subscribed;
        let reply = if subscribed_reply {
            match pubsub::classify(reply) {
                Push::Message(m) => return self.out.push(Completion::Message(m)),
                Push::Confirmation { op, name } => return self.on_confirmation(op, name, now),
                Push::Reply(r) => r,
            }
        } else {
            reply
        };
        let Some(entry) = self.inflight.pop_front() else {
            return self.protocol_failure(ProtocolError("a reply arrived with no command waiting for it".into()), now);
        };
        let reply = match &entry.slot {
            Slot::User(r) if subscribed_reply && r.name.as_str() == "PING" => {
                pubsub::ping_reply(reply, !r.bytes.starts_with(b"*1\r\n"))
            }
            _ => reply,
        };
        match entry.slot {
            Slot::User(mut r) => {
                if r.effect == SessionEffect::Multi && reply.is_error() && self.tx_open == Some(r.seq) {
                    // A refused MULTI opened no transaction.
                    self.tx_open = None;
                }
                if r.effect != SessionEffect::None || self.multi.is_some() {
                    self.track_session(std::mem::take(&mut r.effect), &reply);
                }
                // Not inside a transaction: the commands around it went on without it.
                if r.tx.is_none() && reply.error_message().is_some_and(transient_error) {
                    if let Some(r) = self.retry_later(r, now) {
                        self.out.push(Completion::Reply { token: r.token, reply });
                    }
                } else {
                    self.out.push(Completion::Reply { token: r.token, reply });
                }
                // A reply makes room under pipeline_depth.
                if !self.queue.is_empty() {
                    self.send_queued(now);
                }
            }
            Slot::Handshake { step, .. } => {
                if let Some(msg) = reply.error_message() {
                    // The server's words first, so the error's code is the server's (WRONGPASS,
                    // NOAUTH, ERR ...).
                    let err = ClientError::new(
                        ErrorKind::Redis,
                        format!("{} (the reply to {} while connecting)", String::from_utf8_lossy(msg), step.as_str()),
                    );
                    self.connect_failed(err, now);
                } else if self.inflight.is_empty() {
                    self.become_ready(now);
                }
            }
        }
    }

    /// A subscribe-mode confirmation: record it, and count it for the request at the head that
    /// asked for it. One that no request asked for (the server unsubscribing by itself, as it
    /// does for shard channels whose slot moved) only updates the subscriptions.
    fn on_confirmation(&mut self, op: pubsub::Op, name: Option<Vec<u8>>, now: Instant) {
        self.subs.confirmed(op, name.as_deref());
        let Some(head) = self.inflight.front_mut() else { return self.maybe_leave_subscribe_mode() };
        let left = match head.expect {
            Expect::Confirmations { op: o, left } if o == op => left - 1,
            // The subscriptions of its family when the server ran it are the ones confirmed so
            // far (confirmations come in the order the server ran the commands).
            Expect::All(o) if o == op => {
                if name.is_none() {
                    0
                } else {
                    self.subs.of(op.family).len()
                }
            }
            _ => return self.maybe_leave_subscribe_mode(),
        };
        if left > 0 {
            head.expect = Expect::Confirmations { op, left };
            return;
        }
        let entry = self.inflight.pop_front().expect("the head was just seen");
        match entry.slot {
            Slot::User(r) => {
                let count = self.subs.of(op.family).len();
                self.out.push(Completion::Reply { token: r.token, reply: Reply::integer(count as i64) });
                if !self.queue.is_empty() {
                    self.send_queued(now);
                }
            }
            Slot::Handshake { .. } => {
                if self.inflight.is_empty() {
                    self.become_ready(now);
                }
            }
        }
        self.maybe_leave_subscribe_mode();
    }

    /// Every subscription has ended and no SUBSCRIBE-family command waits: the server has left
    /// subscribe mode, and so does the connection (it takes any command again).
    fn maybe_leave_subscribe_mode(&mut self) {
        let pending = self.inflight.iter().any(|e| e.expect != Expect::Reply)
            || self.queue.iter().any(|r| r.pubsub.is_some())
            || self.retries.iter().any(|(_, r)| r.pubsub.is_some());
        if self.subscribed && self.subs.is_empty() && !pending {
            self.subscribed = false;
        }
    }

    /// The server answered a command that may change the session (or any command inside
    /// MULTI): record what the server did, and only that.
    ///
    /// Inside MULTI a command only runs at EXEC: its effect is kept while the server answers
    /// QUEUED and applied if EXEC's reply has +OK in its place (a nil EXEC, WATCH failed, or an
    /// EXECABORT error applies nothing; DISCARD drops them). RESET is never queued: it runs at
    /// once and ends the transaction.
    fn track_session(&mut self, effect: SessionEffect, reply: &Reply) {
        if let Some(queued) = &mut self.multi {
            match effect {
                SessionEffect::Exec => {
                    // The server unwatches at EXEC whatever EXEC answers (nil, EXECABORT).
                    self.watching = false;
                    let queued = self.multi.take().unwrap_or_default();
                    if matches!(reply.root(), Node::Array(_)) {
                        let accepted: Vec<SessionEffect> = top_level(reply)
                            .zip(queued)
                            .filter(|(node, _)| is_simple(reply, node, b"OK"))
                            .map(|(_, e)| e)
                            .collect();
                        for e in accepted {
                            self.apply_session(e);
                        }
                    }
                }
                SessionEffect::Discard => {
                    if !reply.is_error() {
                        self.multi = None;
                        self.watching = false;
                    }
                }
                SessionEffect::Reset => {
                    if is_simple(reply, reply.root(), b"RESET") {
                        self.multi = None;
                        self.apply_session(SessionEffect::Reset);
                    }
                }
                // Refused at queue time (nested MULTI, unknown command, ...): not queued, and
                // EXEC will answer EXECABORT.
                _ if !is_simple(reply, reply.root(), b"QUEUED") => {}
                other => queued.push(other),
            }
            return;
        }
        match effect {
            SessionEffect::Multi if is_simple(reply, reply.root(), b"OK") => self.multi = Some(Vec::new()),
            SessionEffect::Reset if is_simple(reply, reply.root(), b"RESET") => self.apply_session(effect),
            // HELLO answers with a map (an array in RESP2), the others with +OK.
            SessionEffect::SetName(_) if !reply.is_error() => self.apply_session(effect),
            SessionEffect::Select(_) if is_simple(reply, reply.root(), b"OK") => self.apply_session(effect),
            SessionEffect::Watch | SessionEffect::Unwatch if is_simple(reply, reply.root(), b"OK") => {
                self.apply_session(effect)
            }
            _ => {}
        }
    }

    fn apply_session(&mut self, effect: SessionEffect) {
        match effect {
            SessionEffect::Select(db) => self.session.database = db,
            SessionEffect::SetName(name) => self.session.client_name = name.map(Vec::from),
            // What the server does: SELECT 0 and no name (not the configured ones).
            SessionEffect::Reset => {
                self.session.database = 0;
                self.session.client_name = None;
                // And leaves subscribe mode.
                self.subs.clear();
                self.subscribed = false;
                self.watching = false;
            }
            SessionEffect::Watch => self.watching = true,
            SessionEffect::Unwatch => self.watching = false,
            SessionEffect::None | SessionEffect::Multi | SessionEffect::Exec | SessionEffect::Discard => {}
        }
    }

    fn become_ready(&mut self, now: Instant) {
        self.state = State::Ready;
        self.connect_deadline = None;
        self.ever_ready = true;
        self.backoff.reset();
        // The event first, so that on_connect runs before code awaiting `connect` resumes.
        self.out.push(Completion::Event(ConnEvent::Connected));
        if std::mem::take(&mut self.resubscribing) {
            self.out.push(Completion::Event(ConnEvent::Resubscribed));
        }
        for token in std::mem::take(&mut self.connect_waiters) {
            self.out.push(Completion::Done { token });
        }
        self.send_queued(now);
    }

    /// The attempt to (re)connect failed: retry later if this connection has been up before and
    /// reconnect is on; otherwise stop and fail what waits.
    fn connect_failed(&mut self, err: ClientError, now: Instant) {
        self.actions.push_back(Action::Disconnect);
        self.decoder.reset();
        self.wbuf.clear();
        self.inflight.clear();
        self.connect_deadline = None;
        let err = if err.kind == ErrorKind::Connection { err.with_reason(DisconnectReason::ConnectFailed) } else { err };
        for token in std::mem::take(&mut self.connect_waiters) {
            self.fail(token, err.clone());
        }
        self.out.push(Completion::Event(ConnEvent::Error(Box::new(err.clone()))));
        if self.cfg.reconnect.enabled && self.ever_ready {
            self.schedule_retry(now);
        } else {
            self.state = State::Idle;
            // A refusal by the server (AUTH, SELECT) is what it would have answered to the
            // waiting commands too; anything else is a connection failure for them.
            if err.kind == ErrorKind::Redis {
                self.fail_queue(ErrorKind::Redis, &err.message, None);
            } else {
                self.fail_queue(ErrorKind::Connection, &format!("not connected: {}", err.message), Some(DisconnectReason::ConnectFailed));
            }
        }
    }

    fn schedule_retry(&mut self, now: Instant) {
        let delay = self.backoff.next_delay(&self.cfg.reconnect);
        self.state = State::Waiting { until: now + delay };
    }

    /// An established connection is gone. Commands the server never saw wait for the
    /// reconnect; read-only commands it may have seen are sent again when `retry_written` (the
    /// connection broke) but not after a reset for a deadline (the server may be stuck).
    fn lost(&mut self, reason: DisconnectReason, message: String, retry_written: bool, now: Instant) {
        self.actions.push_back(Action::Disconnect);
        let failure = format!("connection lost: {message}");
        let requeued = self.fail_inflight(&failure, reason, true, retry_written);
        self.decoder.reset();
        self.read_hint = None;
        self.out.push(Completion::Event(ConnEvent::Disconnected { reason, message }));
        for q in requeued.into_iter().rev() {
            self.queue.push_front(q);
        }
        if self.cfg.reconnect.enabled {
            self.schedule_retry(now);
        } else {
            self.state = State::Idle;
            self.auto_connect = false;
            self.fail_queue(ErrorKind::Disconnected, &format!("{failure} (reconnect is off)"), None);
        }
    }

    /// Fail inflight entry `i` with `err` and reset the connection (RESP2 cannot resync).
    fn reset_after(&mut self, i: usize, err: ClientError, now: Instant) {
        if let Some(e) = self.inflight.remove(i) {
            if let Slot::User(r) = e.slot {
                self.fail(r.token, err.clone());
            }
        }
        let reason = match err.kind {
            ErrorKind::Timeout => DisconnectReason::Timeout,
            ErrorKind::Protocol => DisconnectReason::ProtocolError,
            _ => DisconnectReason::ConnectionLost,
        };
        self.lost(reason, format!("reset after: {}", err.message), false, now);
    }

    fn protocol_failure(&mut self, e: ProtocolError, now: Instant) {
        let mut err = ClientError::new(ErrorKind::Protocol, format!("protocol error: {}", e.0));
        err.data = self.decoder.error_excerpt();
        match self.state {
            State::Ready if !self.inflight.is_empty() => self.reset_after(0, err, now),
            State::Ready => self.lost(DisconnectReason::ProtocolError, err.message, false, now),
            _ => self.connect_failed(err, now),
        }
    }

    /// Empty `inflight`. Entries the server never saw (no byte written) are returned for
    /// requeueing when `requeue`, else fail with `Disconnected`. Entries at least partly written
    /// may have run: read-only ones are requeued too when `retry_written` and the retry policy
    /// allows another attempt; the others fail with `Connection` -- never sent twice.
    ///
    /// A transaction whose MULTI was written is gone with the connection (the server discards
    /// it): none of its commands is sent again or later -- unwritten ones fail with
    /// `Disconnected`, here and in the queue -- and the rest of it, if the application is still
    /// building it, is refused (`tx_lost`). A transaction not written at all waits whole.
    fn fail_inflight(&mut self, message: &str, reason: DisconnectReason, requeue: bool, retry_written: bool) -> Vec<Req> {
        let written = self.wbuf.written();
        // Transactions whose MULTI the server never saw: they may go, whole, to the next
        // connection.
        let mut unsent: Vec<u64> = self.queue.iter().filter(|r| r.effect == SessionEffect::Multi).map(|r| r.seq).collect();
        if requeue {
            for e in &self.inflight {
                if let Slot::User(r) = &e.slot {
                    if r.effect == SessionEffect::Multi && e.start >= written {
                        unsent.push(r.seq);
                    }
                }
            }
        }
        let gone = |tx: Option<u64>| tx.is_some_and(|t| !unsent.contains(&t));
        if requeue {
            self.tx_lost = gone(self.tx_open);
        }
        let mut back = Vec::new();
        let cfg = Arc::clone(&self.cfg);
        let retry = &cfg.retry;
        let tx_message = format!("{message} inside MULTI before the command was sent: the server discarded the transaction");
        for e in std::mem::take(&mut self.inflight) {
            let Slot::User(mut r) = e.slot else { continue };
            if gone(r.tx) {
                let error = if e.start >= written {
                    ClientError::new(ErrorKind::Disconnected, tx_message.as_str())
                } else {
                    ClientError::new(ErrorKind::Connection, message).with_reason(reason)
                };
                self.fail(r.token, error.with_command(r.name));
            } else if e.start >= written && requeue {
                back.push(r);
            } else if e.start >= written {
                let error = ClientError::new(ErrorKind::Disconnected, format!("{message} before the command was sent"))
                    .with_command(r.name);
                self.fail(r.token, error);
            } else if retry_written && r.idempotent && r.tx.is_none() && retry.enabled && r.attempt < retry.max_attempts {
                r.attempt += 1;
                back.push(r);
            } else {
                let error = ClientError::new(ErrorKind::Connection, message).with_command(r.name).with_reason(reason);
                self.fail(r.token, error);
            }
        }
        self.wbuf.clear();
        if self.queue.iter().any(|r| gone(r.tx)) {
            let (dead, keep): (VecDeque<Req>, VecDeque<Req>) = std::mem::take(&mut self.queue).into_iter().partition(|r| gone(r.tx));
            self.queue = keep;
            for r in dead {
                let error = ClientError::new(ErrorKind::Disconnected, tx_message.as_str()).with_command(r.name);
                self.fail(r.token, error);
            }
        }
        back
    }

    /// Fail every request that waits for a connection or a retry.
    fn fail_queue(&mut self, kind: ErrorKind, message: &str, reason: Option<DisconnectReason>) {
        let queued = self.queue.len();
        let waiting = std::mem::take(&mut self.queue).into_iter().chain(self.retries.drain(..).map(|(_, r)| r));
        let mut waiting: Vec<Req> = waiting.collect();
        waiting.sort_by_key(|r| r.seq);
        for r in waiting {
            let mut error = ClientError::new(kind, message).with_command(r.name);
            error.reason = reason;
            if kind == ErrorKind::Disconnected {
                error.queue_size = Some(queued);
            }
            self.fail(r.token, error);
        }
    }

    /// Index of the first inflight entry whose bytes are not completely written.
    fn first_unwritten(&self) -> usize {
        let written = self.wbuf.written();
        self.inflight.iter().position(|e| e.end > written).unwrap_or(0)
    }
}

fn find<T>(q: &VecDeque<T>, seq: u64, key: impl Fn(&T) -> u64) -> Option<usize> {
    q.binary_search_by_key(&seq, key).ok()
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests;

//! Types shared with C.

use crate::conn::{DisconnectReason, ErrorKind, TimeoutKind};
use std::os::raw::c_char;

/// Result of a call. Numbers are never reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiorResult {
    Ok = 0,
    NullArgument = 1,
    Panic = 2,
    InvalidArgument = 3,
    /// The engine belongs to the parent of this (forked) process: start a new one.
    EngineStopped = 4,
    /// The engine could not start (its Poll, timer or wake-up descriptor could not be made).
    Io = 5,
    /// An earlier call panicked; the handle must not be used any more.
    Poisoned = 6,
}

/// Bits of the state that `fior_conn_flags` reports: what of a connection's state its next
/// user would not expect. Numbers are never reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiorConnFlag {
    /// In a transaction: an accepted MULTI without its EXEC, DISCARD or RESET yet.
    InMulti = 1,
    /// Keys are watched: an accepted WATCH not cleared by EXEC, DISCARD, UNWATCH or RESET.
    Watching = 2,
    /// In subscribe mode (reserved: this version refuses the SUBSCRIBE family).
    Subscribed = 4,
    /// Commands in flight, waiting for the connection or waiting out a retry delay.
    Pending = 8,
    /// One of those is a blocking command (BLPOP, XREAD BLOCK, WAIT, ...).
    Blocking = 16,
    /// Not connected and ready: never connected, closed, lost, reconnecting or in its handshake.
    NotConnected = 32,
    /// The application opened a transaction: a MULTI was submitted and no EXEC, DISCARD or RESET
    /// after it yet (whether or not the server answered it).
    MultiOpen = 64,
}

/// A byte string whose allocation passes to the caller (`fior_engine_take_bulk`): `len` bytes
/// at `ptr`, followed by a NUL byte, in an allocation of `malloc` of `capacity` bytes that
/// starts at `ptr` and that the caller releases with `free` (once).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FiorOwnedBytes {
    pub ptr: *mut u8,
    pub len: usize,
    pub capacity: usize,
}

/// A borrowed byte string. A NULL `ptr` means "absent" (distinct from empty).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FiorSlice {
    pub ptr: *const u8,
    pub len: usize,
}

impl FiorSlice {
    pub const EMPTY: FiorSlice = FiorSlice { ptr: std::ptr::null(), len: 0 };

    pub fn of(b: &[u8]) -> FiorSlice {
        FiorSlice { ptr: b.as_ptr(), len: b.len() }
    }
}

/// One connection option as the user gave it: its name (`port`, `tls.ca_file`,
/// `timeout.DEBUG SLEEP`, ...) and value as bytes. `is_ref`: the value was a reference where
/// the user gave it (refused for every option but the flattened hashes).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FiorOption {
    pub name: FiorSlice,
    pub value: FiorSlice,
    pub is_ref: bool,
}

/// One command of a batch (`fior_conn_submit_batch`): the engine names it itself.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FiorBatchCommand {
    /// Seconds: negative = the connection's default, 0 = no deadline, positive = this long.
    pub timeout: f64,
    pub argc: usize,
    pub argv: *const FiorSlice,
}

#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiorNodeKind {
    Simple = 1,
    Error = 2,
    Integer = 3,
    Bulk = 4,
    Nil = 5,
    /// `len` elements follow, in pre-order.
    Array = 6,
}

/// One value of a reply; a reply is a pre-order sequence of nodes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FiorNode {
    pub kind: FiorNodeKind,
    pub integer: i64,
    pub ptr: *const u8,
    /// Byte length of strings; element count of arrays.
    pub len: usize,
}

#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiorCompletionKind {
    /// A reply (`nodes`), possibly an error reply (first node of kind Error).
    Reply = 1,
    /// A connect or close request finished.
    Done = 2,
    /// The request failed without a reply: see `error_kind`, `message`, `command`, `timeout*`.
    Failed = 3,
    /// A connection event: see `event`.
    Event = 4,
    /// Every command of a batch (`fior_conn_submit_batch`) completed: `item_count` results, one
    /// per command in order, each read with `fior_engine_batch_item`.
    Batch = 5,
    /// A message on a subscribed connection (`token` 0): `message_kind`, `channel`, `data`, and
    /// `pattern` for a pmessage (absent otherwise).
    Message = 6,
}

/// The kind of a message completion.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiorMessageKind {
    None = 0,
    /// Published to a channel (SUBSCRIBE).
    Message = 1,
    /// Published to a channel matching a pattern (PSUBSCRIBE).
    PMessage = 2,
    /// Published to a shard channel (SSUBSCRIBE).
    SMessage = 3,
}

#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiorEvent {
    None = 0,
    Connected = 1,
    /// `reason` says why; `message` has details.
    Disconnected = 2,
    /// Something failed that no request waits for; `error_kind` and `message` describe it.
    Error = 3,
    /// After `Connected`: a reconnect subscribed again to every channel, pattern and shard
    /// channel; messages published while it was down were missed.
    Resubscribed = 4,
}

#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiorErrorKind {
    None = 0,
    Connection = 1,
    Timeout = 2,
    Protocol = 3,
    Redis = 4,
    Disconnected = 5,
    /// Refused on a subscribed connection (never sent).
    PubSub = 6,
}

impl From<ErrorKind> for FiorErrorKind {
    fn from(k: ErrorKind) -> Self {
        match k {
            ErrorKind::Connection => FiorErrorKind::Connection,
            ErrorKind::Timeout => FiorErrorKind::Timeout,
            ErrorKind::Protocol => FiorErrorKind::Protocol,
            ErrorKind::Redis => FiorErrorKind::Redis,
            ErrorKind::Disconnected => FiorErrorKind::Disconnected,
            ErrorKind::PubSub => FiorErrorKind::PubSub,
        }
    }
}

#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiorTimeoutKind {
    None = 0,
    Request = 1,
    Connect = 2,
    Read = 3,
    Write = 4,
}

impl From<TimeoutKind> for FiorTimeoutKind {
    fn from(k: TimeoutKind) -> Self {
        match k {
            TimeoutKind::None => FiorTimeoutKind::None,
            TimeoutKind::Request => FiorTimeoutKind::Request,
            TimeoutKind::Connect => FiorTimeoutKind::Connect,
            TimeoutKind::Read => FiorTimeoutKind::Read,
            TimeoutKind::Write => FiorTimeoutKind::Write,
        }
    }
}

#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiorDisconnectReason {
    None = 0,
    ConnectionLost = 1,
    Timeout = 2,
    ServerClosed = 3,
    ProtocolError = 4,
    Client = 5,
    /// Only as a failed request's `reason`: connecting failed.
    ConnectFailed = 6,
}

impl From<DisconnectReason> for FiorDisconnectReason {
    fn from(r: DisconnectReason) -> Self {
        match r {
            DisconnectReason::ConnectionLost => FiorDisconnectReason::ConnectionLost,
            DisconnectReason::Timeout => FiorDisconnectReason::Timeout,
            DisconnectReason::ServerClosed => FiorDisconnectReason::ServerClosed,
            DisconnectReason::ProtocolError => FiorDisconnectReason::ProtocolError,
            DisconnectReason::Client => FiorDisconnectReason::Client,
            DisconnectReason::ConnectFailed => FiorDisconnectReason::ConnectFailed,
        }
    }
}

/// A completion, as a view valid until the next call on the engine.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FiorCompletion {
    pub conn: u64,
    pub token: u64,
    pub kind: FiorCompletionKind,
    pub error_kind: FiorErrorKind,
    pub event: FiorEvent,
    /// An event's disconnect reason; for a failure of kind `CONNECTION`, why (or `NONE`).
    pub reason: FiorDisconnectReason,
    pub timeout_kind: FiorTimeoutKind,
    /// Seconds of the deadline that passed, or -1.
    pub timeout: f64,
    pub nodes: *const FiorNode,
    pub node_count: usize,
    pub message: FiorSlice,
    /// Command name (never its arguments) of a failed request; absent otherwise.
    pub command: FiorSlice,
    /// How many results a batch completion carries; 0 for other kinds.
    pub item_count: usize,
    /// A message completion's kind; `None` for other kinds.
    pub message_kind: FiorMessageKind,
    /// A message's channel; absent for other kinds.
    pub channel: FiorSlice,
    /// A pmessage's pattern; absent otherwise.
    pub pattern: FiorSlice,
    /// A message's payload; for a failure of kind `PROTOCOL`, a short printable excerpt of the
    /// offending bytes; absent otherwise.
    pub data: FiorSlice,
    /// A request timeout: the command's words (bounded; see `command_words`), `word_count` of
    /// them; NULL and 0 otherwise.
    pub words: *const FiorSlice,
    pub word_count: usize,
    /// A request timeout: the whole command had been written, so the server may have run it.
    pub maybe_executed: bool,
    /// A failure of kind `CONNECTION`: the server's host and port (TCP) or socket path (unix);
    /// absent / 0 otherwise.
    pub host: FiorSlice,
    pub port: u32,
    pub path: FiorSlice,
    /// A failure of kind `DISCONNECTED`: how many commands waited for the connection; -1
    /// otherwise.
    pub queue_size: i64,
}

impl FiorCompletion {
    pub(crate) fn empty() -> Self {
        FiorCompletion {
            conn: 0,
            token: 0,
            kind: FiorCompletionKind::Done,
            error_kind: FiorErrorKind::None,
            event: FiorEvent::None,
            reason: FiorDisconnectReason::None,
            timeout_kind: FiorTimeoutKind::None,
            timeout: -1.0,
            nodes: std::ptr::null(),
            node_count: 0,
            message: FiorSlice::EMPTY,
            command: FiorSlice::EMPTY,
            item_count: 0,
            message_kind: FiorMessageKind::None,
            channel: FiorSlice::EMPTY,
            pattern: FiorSlice::EMPTY,
            data: FiorSlice::EMPTY,
            words: std::ptr::null(),
            word_count: 0,
            maybe_executed: false,
            host: FiorSlice::EMPTY,
            port: 0,
            path: FiorSlice::EMPTY,
            queue_size: -1,
        }
    }
}

/// A static, NUL-terminated description of a result code (any number is accepted).
#[no_mangle]
pub extern "C" fn fior_result_message(code: u32) -> *const c_char {
    let s: &'static [u8] = match code {
        0 => b"ok\0",
        1 => b"a required pointer argument was NULL\0",
        2 => b"internal error (a panic was caught); the engine is unusable\0",
        3 => b"invalid argument\0",
        4 => b"the engine belongs to the parent process (this one forked)\0",
        5 => b"the engine could not make its descriptors (Poll, timer, wake-up)\0",
        6 => b"the engine is unusable after an internal error\0",
        _ => b"unknown result code\0",
    };
    s.as_ptr() as *const c_char
}

//! What a connection reports back: replies, typed failures, and connection events.

use super::config::Address;
use super::pubsub::Message;
use super::request::CommandName;
use crate::protocol::Reply;
use std::time::Duration;

/// The kinds of failure that become `Future::IO::Redis::Error::*` classes in Perl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ErrorKind {
    /// Connecting failed, or the connection was lost after the command was written.
    Connection = 1,
    /// A deadline passed (request, connect, read or write).
    Timeout = 2,
    /// The server sent something that is not RESP.
    Protocol = 3,
    /// The server refused part of the handshake (AUTH, SELECT, CLIENT SETNAME).
    Redis = 4,
    /// The command was never sent: no connection, and it could not wait for one.
    Disconnected = 5,
    /// The command was never sent: the connection is subscribed, where only the SUBSCRIBE
    /// family, PING, QUIT and RESET may be sent.
    PubSub = 6,
}

/// Which deadline a `Timeout` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum TimeoutKind {
    None = 0,
    Request = 1,
    Connect = 2,
    Read = 3,
    Write = 4,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClientError {
    pub kind: ErrorKind,
    pub message: String,
    pub command: Option<CommandName>,
    pub timeout_kind: TimeoutKind,
    pub timeout: Option<Duration>,
    /// A request timeout: the command's words (long arguments shortened, see
    /// `request::command_words`); Perl redacts the secrets among them.
    pub words: Option<Vec<Vec<u8>>>,
    /// A request timeout: every byte of the command had been written, so the server may have run
    /// it.
    pub maybe_executed: bool,
    /// A `Connection` error: why (connect failed, or how the connection was lost).
    pub reason: Option<DisconnectReason>,
    /// A `Connection` error: the server it was about (stamped by the connection on output).
    pub address: Option<Address>,
    /// A `Protocol` error: a short, printable excerpt of the offending bytes.
    pub data: Option<String>,
    /// A `Disconnected` error: how many commands waited for the connection when it was given.
    pub queue_size: Option<usize>,
}

impl ClientError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ClientError {
            kind,
            message: message.into(),
            command: None,
            timeout_kind: TimeoutKind::None,
            timeout: None,
            words: None,
            maybe_executed: false,
            reason: None,
            address: None,
            data: None,
            queue_size: None,
        }
    }

    pub fn timeout(kind: TimeoutKind, after: Duration, message: impl Into<String>) -> Self {
        let mut e = ClientError::new(ErrorKind::Timeout, message);
        e.timeout_kind = kind;
        e.timeout = Some(after);
        e
    }

    pub fn with_command(mut self, name: CommandName) -> Self {
        self.command = Some(name);
        self
    }

    pub fn with_reason(mut self, reason: DisconnectReason) -> Self {
        self.reason = Some(reason);
        self
    }
}

/// Why an established connection went away (`on_disconnect`'s reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum DisconnectReason {
    /// Reading or writing failed (reset, broken pipe, ...).
    ConnectionLost = 1,
    /// A request, read or write deadline passed; the connection was reset.
    Timeout = 2,
    /// The server closed the connection.
    ServerClosed = 3,
    /// The server sent bytes that are not RESP; the connection was reset.
    ProtocolError = 4,
    /// The application called `disconnect`.
    Client = 5,
    /// Not a disconnect: a `Connection` error's reason when connecting failed (never given to
    /// `on_disconnect`).
    ConnectFailed = 6,
}

impl DisconnectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ConnectionLost => "connection_lost",
            DisconnectReason::Timeout => "timeout",
            DisconnectReason::ServerClosed => "server_closed",
            DisconnectReason::ProtocolError => "protocol_error",
            DisconnectReason::Client => "client",
            DisconnectReason::ConnectFailed => "connect_failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConnEvent {
    /// The connection (re)reached the ready state: handshake done.
    Connected,
    /// An established connection went away.
    Disconnected { reason: DisconnectReason, message: String },
    /// Something failed that no request is waiting for (a reconnect attempt, ...).
    /// (Boxed, like every error a completion carries: errors are rare, and a completion is
    /// moved several times on its way out, so it stays the size of a reply.)
    Error(Box<ClientError>),
    /// After `Connected`: the reconnect subscribed again to every channel, pattern and shard
    /// channel; messages published while the connection was down are lost.
    Resubscribed,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    /// The server's reply (an error reply included) to the request with this token.
    Reply { token: u64, reply: Reply },
    /// A connect or close request finished.
    Done { token: u64 },
    /// The request with this token failed without a reply.
    Failed { token: u64, error: Box<ClientError> },
    /// Something happened to the connection.
    Event(ConnEvent),
    /// A message on a subscribed connection (no request asked for it).
    Message(Message),
    /// Every command of a batch (`Engine::submit_batch`) completed: one result per command, in
    /// the order they were submitted. The driver makes these; a connection never does.
    Batch { token: u64, results: Vec<BatchItem> },
}

/// The outcome of one command of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchItem {
    /// The server's reply (an error reply included).
    Reply(Reply),
    /// The command failed without a reply.
    Failed(Box<ClientError>),
}

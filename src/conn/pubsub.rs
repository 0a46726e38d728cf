//! Subscribe mode (RESP2): what the SUBSCRIBE family asks for, how pushes are told apart, and
//! the subscriptions a reconnect replays.
//!
//! After a SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE the server sends arrays that answer no request:
//! messages (`message`, `pmessage`, `smessage`) at any time, and one confirmation per name a
//! (un)subscribe command named (`subscribe`, `unsubscribe`, ... with the name and a count). A
//! connection used for subscribing becomes modal: only this family, PING, QUIT and RESET may be
//! sent on it (see [`allowed_while_subscribed`]); the others fail at once and are never written.
//!
//! The connection keeps the names the server confirmed (in confirmation order, which is the
//! order the server ran the commands), so that an UNSUBSCRIBE without names knows how many
//! confirmations to wait for and a reconnect can subscribe to all of them again.

use super::request::CommandName;
use crate::protocol::{Node, Reply};
use std::collections::BTreeSet;

/// Which kind of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// SUBSCRIBE / UNSUBSCRIBE: channels.
    Channel,
    /// PSUBSCRIBE / PUNSUBSCRIBE: patterns.
    Pattern,
    /// SSUBSCRIBE / SUNSUBSCRIBE (Redis 7): shard channels.
    Shard,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::Channel, Family::Pattern, Family::Shard];

    pub fn subscribe_command(self) -> &'static str {
        match self {
            Family::Channel => "SUBSCRIBE",
            Family::Pattern => "PSUBSCRIBE",
            Family::Shard => "SSUBSCRIBE",
        }
    }
}

/// A command of the SUBSCRIBE family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub family: Family,
    pub subscribe: bool,
}

/// What a SUBSCRIBE-family request waits for: one confirmation per name it gives; an
/// unsubscribe without names one per current subscription of its family (or one, with a nil
/// name, when there is none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PubSubRequest {
    pub op: Op,
    pub names: usize,
}

impl PubSubRequest {
    /// `Some` for the six SUBSCRIBE-family commands.
    pub fn of(args: &[&[u8]]) -> Option<PubSubRequest> {
        let name = args.first()?;
        if !(9..=12).contains(&name.len()) {
            return None;
        }
        let op = op_named(name)?;
        Some(PubSubRequest { op, names: args.len() - 1 })
    }
}

/// The operation a command name (or a confirmation's first word) stands for.
fn op_named(name: &[u8]) -> Option<Op> {
    const NAMES: [(&[u8], Family, bool); 6] = [
        (b"SUBSCRIBE", Family::Channel, true),
        (b"PSUBSCRIBE", Family::Pattern, true),
        (b"SSUBSCRIBE", Family::Shard, true),
        (b"UNSUBSCRIBE", Family::Channel, false),
        (b"PUNSUBSCRIBE", Family::Pattern, false),
        (b"SUNSUBSCRIBE", Family::Shard, false),
    ];
    NAMES
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, family, subscribe)| Op { family: *family, subscribe: *subscribe })
}

/// Whether a command other than the SUBSCRIBE family may be sent on a subscribed connection.
pub fn allowed_while_subscribed(name: &CommandName) -> bool {
    matches!(name.as_str(), "PING" | "QUIT" | "RESET")
}

/// The kind of a message push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum MessageKind {
    /// `["message", channel, data]`
    Message = 1,
    /// `["pmessage", pattern, channel, data]`
    PMessage = 2,
    /// `["smessage", channel, data]`
    SMessage = 3,
}

/// A message published to a channel this connection is subscribed to: the push as it came, read
/// through [`Message::channel`], [`Message::pattern`] and [`Message::data`].
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub kind: MessageKind,
    reply: Reply,
}

impl Message {
    /// The `i`-th element (after the kind word) of the push, as bytes.
    fn part(&self, i: usize) -> &[u8] {
        match self.reply.nodes().nth(2 + i) {
            Some(Node::Bulk(r)) | Some(Node::Simple(r)) => self.reply.bytes(r),
            _ => b"",
        }
    }

    pub fn channel(&self) -> &[u8] {
        self.part(if self.kind == MessageKind::PMessage { 1 } else { 0 })
    }

    /// The pattern that matched (pmessage only).
    pub fn pattern(&self) -> Option<&[u8]> {
        (self.kind == MessageKind::PMessage).then(|| self.part(0))
    }

    pub fn data(&self) -> &[u8] {
        self.part(if self.kind == MessageKind::PMessage { 2 } else { 1 })
    }
}

/// What an array received on a subscribed connection is.
pub(super) enum Push {
    Message(Message),
    /// A confirmation: which operation, and the name it confirms (nil when an unsubscribe without
    /// names found nothing to unsubscribe from).
    Confirmation { op: Op, name: Option<Vec<u8>> },
    /// Anything else: a reply to its request (PING's `["pong", ...]`, an error reply).
    Reply(Reply),
}

/// Tell a push from a reply. Only arrays of bulk strings whose first word is a push kind are
/// pushes; on a subscribed connection no allowed command has such a reply.
pub(super) fn classify(reply: Reply) -> Push {
    match shape(&reply) {
        Shape::Message(kind) => Push::Message(Message { kind, reply }),
        Shape::Confirmation(op, name) => Push::Confirmation { op, name },
        Shape::Reply => Push::Reply(reply),
    }
}

enum Shape {
    Message(MessageKind),
    Confirmation(Op, Option<Vec<u8>>),
    Reply,
}

fn shape(reply: &Reply) -> Shape {
    let Node::Array(n) = *reply.root() else { return Shape::Reply };
    if !(3..=4).contains(&n) || reply.node_count() != n + 1 {
        return Shape::Reply;
    }
    let mut nodes = reply.nodes().skip(1);
    let Some(Node::Bulk(kind)) = nodes.next() else { return Shape::Reply };
    let kind = reply.bytes(kind);
    let message = match (kind, n) {
        (b"message", 3) => Some(MessageKind::Message),
        (b"pmessage", 4) => Some(MessageKind::PMessage),
        (b"smessage", 3) => Some(MessageKind::SMessage),
        _ => None,
    };
    if let Some(kind) = message {
        if reply.nodes().skip(2).all(|n| matches!(n, Node::Bulk(_))) {
            return Shape::Message(kind);
        }
        return Shape::Reply;
    }
    if n != 3 || !(9..=12).contains(&kind.len()) {
        return Shape::Reply;
    }
    let Some(op) = op_named(kind) else { return Shape::Reply };
    let name = match nodes.next() {
        Some(Node::Bulk(r)) => Some(reply.bytes(r).to_vec()),
        Some(Node::Nil) => None,
        _ => return Shape::Reply,
    };
    if !matches!(nodes.next(), Some(Node::Integer(_))) {
        return Shape::Reply;
    }
    Shape::Confirmation(op, name)
}

/// PING's reply on a subscribed connection, `["pong", argument]`, given the shape PING has on a
/// normal connection: `PONG` when it was sent without an argument, else the argument itself. So
/// that code checking a connection with PING need not know whether it is subscribed. Any other
/// reply (an error) is left as it is.
pub(super) fn ping_reply(reply: Reply, had_argument: bool) -> Reply {
    let arg = {
        let mut nodes = reply.nodes();
        match (nodes.next(), nodes.next(), nodes.next(), nodes.next()) {
            (Some(Node::Array(2)), Some(Node::Bulk(word)), Some(Node::Bulk(arg)), None)
                if reply.bytes(word).eq_ignore_ascii_case(b"pong") =>
            {
                Some(arg.clone())
            }
            _ => None,
        }
    };
    match arg {
        Some(arg) if had_argument => Reply::bulk(reply.bytes(&arg)),
        Some(_) => Reply::simple("PONG"),
        None => reply,
    }
}

/// The names the server confirmed, per family: what a reconnect subscribes to again.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Subscriptions {
    channels: BTreeSet<Vec<u8>>,
    patterns: BTreeSet<Vec<u8>>,
    shard: BTreeSet<Vec<u8>>,
}

impl Subscriptions {
    pub fn of(&self, family: Family) -> &BTreeSet<Vec<u8>> {
        match family {
            Family::Channel => &self.channels,
            Family::Pattern => &self.patterns,
            Family::Shard => &self.shard,
        }
    }

    fn of_mut(&mut self, family: Family) -> &mut BTreeSet<Vec<u8>> {
        match family {
            Family::Channel => &mut self.channels,
            Family::Pattern => &mut self.patterns,
            Family::Shard => &mut self.shard,
        }
    }

    /// Record a confirmation.
    pub(super) fn confirmed(&mut self, op: Op, name: Option<&[u8]>) {
        let Some(name) = name else { return };
        let set = self.of_mut(op.family);
        if op.subscribe {
            set.insert(name.to_vec());
        } else {
            set.remove(name);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty()
    }

    pub(super) fn clear(&mut self) {
        *self = Subscriptions::default();
    }
}

/// What an inflight entry waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    /// One reply (every command outside the SUBSCRIBE family).
    Reply,
    /// This many more confirmations of `op`.
    Confirmations { op: Op, left: usize },
    /// An unsubscribe without names: as many confirmations as there are subscriptions of its
    /// family when the first one arrives.
    All(Op),
}

impl Expect {
    pub(super) fn of(request: Option<PubSubRequest>) -> Expect {
        match request {
            Some(PubSubRequest { op, names: 0 }) if !op.subscribe => Expect::All(op),
            // A subscribe without names is an error reply.
            Some(PubSubRequest { names: 0, .. }) | None => Expect::Reply,
            Some(PubSubRequest { op, names }) => Expect::Confirmations { op, left: names },
        }
    }
}

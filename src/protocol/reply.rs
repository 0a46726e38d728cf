//! A decoded reply as a flat, pre-order list of nodes over one buffer of its own.
//!
//! Flat rather than a tree so that a reply of any depth is built, walked and dropped without
//! recursion, and so that a scalar reply costs no allocation beyond its buffer. The buffer holds
//! the reply's wire bytes (node ranges index into it) and is sized to the reply: the decoder
//! copies small replies out of its read buffer, and hands over the read buffer's allocation only
//! to a reply that fills at least half of it (see `Decoder`), so holding replies never holds
//! memory out of proportion to them.

use bytes::Bytes;
use std::ops::Range;

/// One value of a reply. Arrays are followed by their elements (pre-order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Simple(Range<usize>),
    Error(Range<usize>),
    Integer(i64),
    Bulk(Range<usize>),
    /// Nil bulk string or nil array (RESP2 `$-1` / `*-1`).
    Nil,
    /// An array of this many elements; they follow in pre-order.
    Array(usize),
}

/// Where a reply's bytes live: shared (an exact copy, or a slice of a buffer), or the whole
/// read buffer the decoder handed over (from `from` on), which can be handed on in turn
/// ([`Reply::take_bulk_buffer`]).
#[derive(Debug, Clone)]
pub(crate) enum Data {
    Shared(Bytes),
    Whole { buf: Vec<u8>, from: usize },
}

impl Data {
    fn as_slice(&self) -> &[u8] {
        match self {
            Data::Shared(b) => b,
            Data::Whole { buf, from } => &buf[*from..],
        }
    }
}

#[derive(Debug, Clone)]
pub struct Reply {
    data: Data,
    root: Node,
    rest: Vec<Node>,
    /// Size of the allocation `data` keeps alive (`data.len()` when it owns an exact copy).
    backing: usize,
}

/// Replies are equal when their bytes and nodes are; where the bytes live does not matter.
impl PartialEq for Reply {
    fn eq(&self, other: &Self) -> bool {
        self.data.as_slice() == other.data.as_slice() && self.root == other.root && self.rest == other.rest
    }
}

impl Eq for Reply {}

impl Reply {
    /// A reply over `data`, which is taken to own an allocation of its own length.
    pub fn new(data: Bytes, root: Node, rest: Vec<Node>) -> Self {
        let backing = data.len();
        Reply { data: Data::Shared(data), root, rest, backing }
    }

    /// A reply whose `data` keeps an allocation of `backing` bytes alive.
    pub(crate) fn with_backing(data: Data, root: Node, rest: Vec<Node>, backing: usize) -> Self {
        Reply { data, root, rest, backing }
    }

    /// For a reply that is one bulk string held in a read buffer of its own (a large one: see
    /// `Decoder`), hand that buffer over instead of a copy of the string: the buffer, with the
    /// string moved to its start and a NUL byte after it, shrunk to the string's length plus 2,
    /// and the string's length. (Moved within the buffer, not copied to a new one: no
    /// allocation, no fresh pages. Perl shares strings copy-on-write only when they start their
    /// buffer, and the Futures a reply passes through copy their values.) The reply is left as a nil reply holding nothing. None for any other
    /// reply (nothing changes).
    pub fn take_bulk_buffer(&mut self) -> Option<(Vec<u8>, usize)> {
        let Node::Bulk(r) = &self.root else { return None };
        let Data::Whole { buf, from } = &mut self.data else { return None };
        let (offset, len) = (*from + r.start, r.len());
        let mut buf = std::mem::take(buf);
        buf[offset + len] = 0;
        if offset > 0 {
            buf.copy_within(offset..offset + len + 1, 0);
        }
        buf.truncate(len + 1);
        // Give the rest back (in place, the allocator splits the block): the string's buffer
        // is then its own size, as Perl's are, and Perl shares strings copy-on-write only when
        // their buffer has little room to spare.
        buf.shrink_to(len + 2);
        self.data = Data::Shared(Bytes::new());
        self.root = Node::Nil;
        self.backing = 0;
        Some((buf, len))
    }

    /// A reply made up in the client (tests, handshake bookkeeping).
    pub fn simple(text: &str) -> Self {
        Reply::new(Bytes::copy_from_slice(text.as_bytes()), Node::Simple(0..text.len()), Vec::new())
    }

    /// A bulk string reply made up in the client (a copy of `bytes`).
    pub fn bulk(bytes: &[u8]) -> Self {
        Reply::new(Bytes::copy_from_slice(bytes), Node::Bulk(0..bytes.len()), Vec::new())
    }

    /// An integer reply made up in the client (the subscription count a SUBSCRIBE-family
    /// command completes with).
    pub fn integer(n: i64) -> Self {
        Reply::new(Bytes::new(), Node::Integer(n), Vec::new())
    }

    /// Heap memory this reply keeps alive: the allocation its bytes live in plus its node list.
    /// A decoded reply's is at most about twice its wire size plus its nodes.
    pub fn retained_bytes(&self) -> usize {
        self.backing + self.rest.capacity() * std::mem::size_of::<Node>()
    }

    pub fn root(&self) -> &Node {
        &self.root
    }

    /// All nodes in pre-order, the root first.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        std::iter::once(&self.root).chain(self.rest.iter())
    }

    pub fn node_count(&self) -> usize {
        1 + self.rest.len()
    }

    pub fn bytes(&self, range: &Range<usize>) -> &[u8] {
        &self.data.as_slice()[range.clone()]
    }

    /// The message of a top-level error reply.
    pub fn error_message(&self) -> Option<&[u8]> {
        match &self.root {
            Node::Error(r) => Some(self.bytes(r)),
            _ => None,
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self.root, Node::Error(_))
    }

    /// The text of a top-level simple-string or bulk reply.
    pub fn as_text(&self) -> Option<&[u8]> {
        match &self.root {
            Node::Simple(r) | Node::Bulk(r) => Some(self.bytes(r)),
            _ => None,
        }
    }
}

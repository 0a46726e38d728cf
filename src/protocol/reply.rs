//! A decoded reply as a flat, pre-order list of nodes over one shared buffer.
//!
//! Flat rather than a tree so that a reply of any depth is built, walked and dropped without
//! recursion, and so that a scalar reply costs no allocation beyond its buffer.

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    data: Bytes,
    root: Node,
    rest: Vec<Node>,
}

impl Reply {
    pub fn new(data: Bytes, root: Node, rest: Vec<Node>) -> Self {
        Reply { data, root, rest }
    }

    /// A reply made up in the client (tests, handshake bookkeeping).
    pub fn simple(text: &str) -> Self {
        let data = Bytes::copy_from_slice(text.as_bytes());
        Reply { root: Node::Simple(0..data.len()), data, rest: Vec::new() }
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
        &self.data[range.clone()]
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

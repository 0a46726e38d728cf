//! Batches: commands submitted together under one token (a pipeline) that complete together,
//! as one `Completion::Batch` carrying every command's result in order.
//!
//! Each command of a batch travels through its connection under an internal sub-token:
//! `BATCH_BIT | number << 32 | index`, where `number` names the batch among the live ones and
//! `index` is the command's place in it. Gathering a completion is one hash lookup and one slot
//! store; the batch's completion is made when its last command completed. Tokens with
//! `BATCH_BIT` set are therefore reserved: the C ABI refuses them from callers.

use super::outstanding::TokenHasher;
use crate::conn::{BatchItem, ClientError, Completion, ErrorKind};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// Set in every sub-token, and in no token a caller may submit.
pub const BATCH_BIT: u64 = 1 << 63;
/// The most commands one batch can hold (the index has 32 bits).
pub const MAX_BATCH: usize = u32::MAX as usize;
const NUMBER_MASK: u64 = (1 << 31) - 1;

struct Batch {
    token: u64,
    results: Vec<Option<BatchItem>>,
    remaining: usize,
}

/// The batches whose commands have not all completed.
#[derive(Default)]
pub struct Batches {
    live: HashMap<u64, Batch, BuildHasherDefault<TokenHasher>>,
    next: u64,
}

impl Batches {
    /// Start a batch of `count` (1 ..= `MAX_BATCH`) commands that completes as `token`; its
    /// command `i` travels as `base | i`, with `base` returned here.
    pub fn start(&mut self, token: u64, count: usize) -> u64 {
        assert!(count > 0 && count <= MAX_BATCH, "a batch holds 1 to {MAX_BATCH} commands");
        loop {
            self.next = (self.next + 1) & NUMBER_MASK;
            if !self.live.contains_key(&self.next) {
                break;
            }
        }
        let mut results = Vec::with_capacity(count);
        results.resize_with(count, || None);
        self.live.insert(self.next, Batch { token, results, remaining: count });
        BATCH_BIT | self.next << 32
    }

    /// Take a completion off the queue: one that is not a batch command's comes back as it is;
    /// a batch command's is kept in its slot, and the batch's completion comes back once it was
    /// the last. None while the batch waits for others (or for a sub-token of no live batch).
    pub fn gather(&mut self, c: Completion) -> Option<Completion> {
        let (sub, item) = match c {
            Completion::Reply { token, reply } if token & BATCH_BIT != 0 => (token, BatchItem::Reply(reply)),
            Completion::Failed { token, error } if token & BATCH_BIT != 0 => (token, BatchItem::Failed(error)),
            Completion::Done { token } if token & BATCH_BIT != 0 => {
                (token, BatchItem::Failed(Box::new(ClientError::new(ErrorKind::Protocol, "a batch command completed without a reply"))))
            }
            other => return Some(other),
        };
        let number = (sub >> 32) & NUMBER_MASK;
        let batch = self.live.get_mut(&number)?;
        let slot = batch.results.get_mut((sub & u64::from(u32::MAX)) as usize)?;
        if slot.is_some() {
            return None;
        }
        *slot = Some(item);
        batch.remaining -= 1;
        if batch.remaining > 0 {
            return None;
        }
        let batch = self.live.remove(&number)?;
        let results = batch.results.into_iter().map(|r| r.expect("every slot was filled")).collect();
        Some(Completion::Batch { token: batch.token, results })
    }

    /// Forget every batch (a fork child: their commands belong to the parent).
    pub fn clear(&mut self) {
        self.live.clear();
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Reply;

    fn reply(token: u64, text: &str) -> Completion {
        Completion::Reply { token, reply: Reply::simple(text) }
    }

    #[test]
    fn other_completions_pass_through() {
        let mut b = Batches::default();
        let base = b.start(7, 2);
        assert_eq!(b.gather(Completion::Done { token: 4 }), Some(Completion::Done { token: 4 }));
        assert_eq!(b.gather(reply(8, "x")), Some(reply(8, "x")));
        assert!(!b.is_empty());
        assert_ne!(base & BATCH_BIT, 0);
    }

    #[test]
    fn a_batch_completes_once_with_its_results_in_order_whatever_the_arrival_order() {
        let mut b = Batches::default();
        let first = b.start(100, 3);
        let second = b.start(200, 1);
        assert_ne!(first, second);
        assert_eq!(b.gather(reply(first | 2, "c")), None);
        let failed = Completion::Failed { token: first, error: Box::new(ClientError::new(ErrorKind::Connection, "lost")) };
        assert_eq!(b.gather(failed), None);
        // A duplicate, an index out of range and an unknown batch are ignored.
        assert_eq!(b.gather(reply(first, "again")), None);
        assert_eq!(b.gather(reply(first | 9, "out of range")), None);
        assert_eq!(b.gather(reply(BATCH_BIT | 12345 << 32, "nobody's")), None);
        match b.gather(reply(second, "alone")) {
            Some(Completion::Batch { token: 200, results }) => assert_eq!(results.len(), 1),
            other => panic!("{other:?}"),
        }
        match b.gather(reply(first | 1, "b")) {
            Some(Completion::Batch { token: 100, results }) => {
                assert!(matches!(&results[0], BatchItem::Failed(e) if e.kind == ErrorKind::Connection));
                assert!(matches!(&results[1], BatchItem::Reply(r) if r.as_text() == Some(&b"b"[..])));
                assert!(matches!(&results[2], BatchItem::Reply(r) if r.as_text() == Some(&b"c"[..])));
            }
            other => panic!("{other:?}"),
        }
        assert!(b.is_empty());
    }

    #[test]
    fn batch_numbers_wrap_around_past_live_ones() {
        let mut b = Batches { next: NUMBER_MASK - 1, ..Batches::default() };
        let a = b.start(1, 1);
        let c = b.start(2, 1);
        assert_eq!((a >> 32) & NUMBER_MASK, NUMBER_MASK);
        assert_eq!((c >> 32) & NUMBER_MASK, 0);
        b.next = NUMBER_MASK - 1; // the next number is live: it is skipped
        let d = b.start(3, 1);
        assert_eq!((d >> 32) & NUMBER_MASK, 1);
    }
}

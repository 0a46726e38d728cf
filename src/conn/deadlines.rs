//! Per-request deadlines: a min-heap of (deadline, request sequence number). Entries for requests
//! that already completed are dropped lazily when they reach the top.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

#[derive(Default)]
pub struct Deadlines {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
}

impl Deadlines {
    pub fn insert(&mut self, at: Instant, seq: u64) {
        self.heap.push(Reverse((at, seq)));
    }

    /// The earliest deadline of a request for which `live(seq)` holds, dropping dead entries.
    pub fn earliest(&mut self, live: impl Fn(u64) -> bool) -> Option<Instant> {
        while let Some(Reverse((at, seq))) = self.heap.peek().copied() {
            if live(seq) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Remove and return the earliest entry if it is due at `now` (live or not).
    pub fn pop_due(&mut self, now: Instant) -> Option<u64> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse((_, seq))| seq),
            _ => None,
        }
    }

    pub fn clear(&mut self) {
        self.heap.clear();
    }
}

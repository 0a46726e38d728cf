//! Per-request deadlines, earliest first. Entries for requests that already completed are
//! dropped lazily when they reach the front.
//!
//! The deadlines of a connection's usual timeout arrive in order (the same timeout added to a
//! clock that only moves forward): those wait in a FIFO, where dropping the front costs nothing.
//! The others (blocking commands, commands with a timeout of their own) go to a min-heap beside
//! it, so that a long one does not push the usual ones out of the FIFO. The front of the two
//! together is the smaller of their fronts, ordered by (deadline, sequence number) as one heap
//! would order them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

#[derive(Default)]
pub struct Deadlines {
    in_order: VecDeque<(Instant, u64)>,
    out_of_order: BinaryHeap<Reverse<(Instant, u64)>>,
}

/// Which of the two holds the earliest entry.
enum Front {
    InOrder,
    OutOfOrder,
}

impl Deadlines {
    /// `usual`: the deadline comes from the connection's usual timeout (it goes to the FIFO
    /// unless it would be out of order there).
    pub fn insert(&mut self, at: Instant, seq: u64, usual: bool) {
        match self.in_order.back() {
            Some(&last) if (at, seq) < last => self.out_of_order.push(Reverse((at, seq))),
            _ if !usual => self.out_of_order.push(Reverse((at, seq))),
            _ => self.in_order.push_back((at, seq)),
        }
    }

    /// The earliest entry and where it is.
    fn front(&self) -> Option<((Instant, u64), Front)> {
        match (self.in_order.front(), self.out_of_order.peek()) {
            (Some(&a), Some(&Reverse(b))) if b < a => Some((b, Front::OutOfOrder)),
            (Some(&a), _) => Some((a, Front::InOrder)),
            (None, Some(&Reverse(b))) => Some((b, Front::OutOfOrder)),
            (None, None) => None,
        }
    }

    fn pop_front(&mut self, which: Front) -> Option<(Instant, u64)> {
        match which {
            Front::InOrder => self.in_order.pop_front(),
            Front::OutOfOrder => self.out_of_order.pop().map(|Reverse(e)| e),
        }
    }

    /// The earliest deadline of a request for which `live(seq)` holds, dropping dead entries.
    pub fn earliest(&mut self, live: impl Fn(u64) -> bool) -> Option<Instant> {
        while let Some(((at, seq), which)) = self.front() {
            if live(seq) {
                return Some(at);
            }
            self.pop_front(which);
        }
        None
    }

    /// Remove and return the earliest entry if it is due at `now` (live or not).
    pub fn pop_due(&mut self, now: Instant) -> Option<u64> {
        match self.front() {
            Some(((at, _), which)) if at <= now => self.pop_front(which).map(|(_, seq)| seq),
            _ => None,
        }
    }

    pub fn clear(&mut self) {
        self.in_order.clear();
        self.out_of_order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Instants `n` milliseconds after one start.
    fn clock() -> impl Fn(u64) -> Instant {
        let t0 = Instant::now();
        move |n| t0 + Duration::from_millis(n)
    }

    /// Deadlines with (sequence number, milliseconds, usual) inserted in this order.
    fn with(ms: &impl Fn(u64) -> Instant, entries: &[(u64, u64, bool)]) -> Deadlines {
        let mut d = Deadlines::default();
        for &(seq, at, usual) in entries {
            d.insert(ms(at), seq, usual);
        }
        d
    }

    /// Every entry, by pop_due at a time after all of them.
    fn drain(d: &mut Deadlines, now: Instant) -> Vec<u64> {
        std::iter::from_fn(|| d.pop_due(now)).collect()
    }

    #[test]
    fn mixed_order_comes_out_earliest_first_ties_by_sequence() {
        let ms = clock();
        // In order, then shorter ones (usual and not), a tie, and in order again.
        let mut d = with(
            &ms,
            &[(1, 100, true), (2, 100, true), (3, 200, true), (4, 50, true), (5, 150, false), (6, 100, true), (7, 300, true), (8, 20, false)],
        );
        assert_eq!(d.pop_due(ms(10)), None, "nothing is due before the earliest");
        assert_eq!(d.earliest(|_| true), Some(ms(20)));
        assert_eq!(drain(&mut d, ms(1000)), vec![8, 4, 1, 2, 6, 5, 3, 7]);
        assert_eq!(d.earliest(|_| true), None);
    }

    #[test]
    fn earliest_skips_and_drops_dead_entries_of_both_kinds() {
        let ms = clock();
        let mut d = with(&ms, &[(1, 100, true), (2, 200, true), (3, 50, true), (4, 300, false)]);
        let live = |seq| seq == 2 || seq == 4;
        assert_eq!(d.earliest(live), Some(ms(200)));
        // 1 and 3 are gone: only the live ones remain.
        assert_eq!(drain(&mut d, ms(1000)), vec![2, 4]);
    }

    #[test]
    fn a_long_deadline_of_its_own_leaves_the_usual_ones_in_the_fifo() {
        let ms = clock();
        // A blocking command's far deadline between commands of the usual timeout.
        let d = with(&ms, &[(1, 100, true), (2, 60_000, false), (3, 101, true), (4, 102, true)]);
        assert_eq!((d.in_order.len(), d.out_of_order.len()), (3, 1));
    }

    #[test]
    fn pop_due_takes_only_what_is_due_and_clear_empties_both() {
        let ms = clock();
        let mut d = with(&ms, &[(1, 100, true), (2, 30, false), (3, 200, true)]);
        assert_eq!(drain(&mut d, ms(100)), vec![2, 1]);
        assert_eq!(d.earliest(|_| true), Some(ms(200)));
        d.insert(ms(10), 4, true);
        d.clear();
        assert_eq!(d.earliest(|_| true), None);
        assert_eq!(d.pop_due(ms(1000)), None);
    }
}

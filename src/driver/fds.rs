//! A lock-free record of the file descriptors the engine owns, so that a forked child can close
//! its inherited copies without touching any lock or structure, and without asking the Poll to
//! deregister anything (the child's copy of an epoll fd is the parent's epoll instance).
//!
//! Order keeps it sound: an fd is marked after it is opened and cleared before it is closed, so
//! a marked fd is always one of ours.
//!
//! Two sets: fds the engine owns (the child closes them), and fds the Perl side owns that must
//! not stay live in a child (its duplicate of the Poll fd, which a child's event loop would
//! otherwise watch, seeing the parent's readiness): the child points those at a pipe nobody
//! writes, so the number stays valid for the Perl handle that still holds it.

use std::sync::atomic::{AtomicU64, Ordering};

const WORDS: usize = 1024; // fds 0..65535

pub struct FdRegistry {
    owned: Bits,
    guarded: Bits,
}

impl Default for FdRegistry {
    fn default() -> Self {
        FdRegistry { owned: Bits::new(), guarded: Bits::new() }
    }
}

impl FdRegistry {
    /// An fd the engine owns (marked after it is opened, cleared before it is closed).
    pub fn mark(&self, fd: i32) {
        self.owned.set(fd);
    }

    pub fn clear(&self, fd: i32) {
        self.owned.unset(fd);
    }

    /// An fd someone else owns that a fork child must neutralise rather than close.
    pub fn guard(&self, fd: i32) {
        self.guarded.set(fd);
    }

    pub fn unguard(&self, fd: i32) {
        self.guarded.unset(fd);
    }

    /// Clear every mark, calling `close` for each owned fd and `neutralise` for each guarded
    /// one. Allocates nothing (it runs in a fork child handler).
    pub fn drain(&self, close: impl FnMut(i32), neutralise: impl FnMut(i32)) {
        self.owned.drain(close);
        self.guarded.drain(neutralise);
    }

    /// Every owned fd.
    pub fn marked(&self) -> Vec<i32> {
        let mut out = Vec::new();
        self.owned.each(|fd| out.push(fd));
        out
    }
}

struct Bits(Box<[AtomicU64]>);

impl Bits {
    fn new() -> Bits {
        Bits((0..WORDS).map(|_| AtomicU64::new(0)).collect())
    }

    fn set(&self, fd: i32) {
        if let Some((w, b)) = slot(fd) {
            self.0[w].fetch_or(1 << b, Ordering::SeqCst);
        }
    }

    fn unset(&self, fd: i32) {
        if let Some((w, b)) = slot(fd) {
            self.0[w].fetch_and(!(1 << b), Ordering::SeqCst);
        }
    }

    fn drain(&self, f: impl FnMut(i32)) {
        Self::visit(self.0.iter().map(|w| w.swap(0, Ordering::SeqCst)), f);
    }

    fn each(&self, f: impl FnMut(i32)) {
        Self::visit(self.0.iter().map(|w| w.load(Ordering::SeqCst)), f);
    }

    fn visit(words: impl Iterator<Item = u64>, mut f: impl FnMut(i32)) {
        for (w, mut v) in words.enumerate() {
            while v != 0 {
                let b = v.trailing_zeros();
                f((w * 64) as i32 + b as i32);
                v &= v - 1;
            }
        }
    }
}

fn slot(fd: i32) -> Option<(usize, u32)> {
    let fd = usize::try_from(fd).ok()?;
    (fd < WORDS * 64).then_some((fd / 64, (fd % 64) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_and_clears() {
        let r = FdRegistry::default();
        r.mark(3);
        r.mark(64);
        r.mark(65535);
        r.mark(70000);
        r.mark(-1);
        assert_eq!(r.marked(), vec![3, 64, 65535]);
        r.clear(64);
        assert_eq!(r.marked(), vec![3, 65535]);
        r.guard(9);
        let (mut closed, mut neutralised) = (Vec::new(), Vec::new());
        r.drain(|fd| closed.push(fd), |fd| neutralised.push(fd));
        assert_eq!(closed, vec![3, 65535]);
        assert_eq!(neutralised, vec![9]);
        assert!(r.marked().is_empty());
    }
}

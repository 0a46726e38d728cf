//! A lock-free record of the file descriptors the engine owns, so that a forked child can close
//! its inherited copies without touching any lock or structure the parent's IO thread may have
//! been changing at the moment of the fork.
//!
//! Order keeps it sound: an fd is marked after it is opened and cleared before it is closed, so
//! a marked fd is always one of ours.

use std::sync::atomic::{AtomicU64, Ordering};

const WORDS: usize = 1024; // fds 0..65535

pub struct FdRegistry {
    bits: Box<[AtomicU64]>,
}

impl Default for FdRegistry {
    fn default() -> Self {
        FdRegistry { bits: (0..WORDS).map(|_| AtomicU64::new(0)).collect() }
    }
}

impl FdRegistry {
    pub fn mark(&self, fd: i32) {
        if let Some((w, b)) = slot(fd) {
            self.bits[w].fetch_or(1 << b, Ordering::SeqCst);
        }
    }

    pub fn clear(&self, fd: i32) {
        if let Some((w, b)) = slot(fd) {
            self.bits[w].fetch_and(!(1 << b), Ordering::SeqCst);
        }
    }

    /// Clear every mark, calling `f` for each fd that was marked. Allocates nothing (it runs
    /// in a fork child handler).
    pub fn drain(&self, mut f: impl FnMut(i32)) {
        for (w, word) in self.bits.iter().enumerate() {
            let mut v = word.swap(0, Ordering::SeqCst);
            while v != 0 {
                let b = v.trailing_zeros();
                f((w * 64) as i32 + b as i32);
                v &= v - 1;
            }
        }
    }

    /// Every marked fd.
    pub fn marked(&self) -> Vec<i32> {
        let mut out = Vec::new();
        for (w, word) in self.bits.iter().enumerate() {
            let mut v = word.load(Ordering::SeqCst);
            while v != 0 {
                let b = v.trailing_zeros();
                out.push((w * 64) as i32 + b as i32);
                v &= v - 1;
            }
        }
        out
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
        let mut seen = Vec::new();
        r.drain(|fd| seen.push(fd));
        assert_eq!(seen, vec![3, 65535]);
        assert!(r.marked().is_empty());
    }
}

//! Bytes waiting to be written: small commands are packed into one contiguous tail so a burst
//! of them leaves in one write; large ones keep their own buffer and go out by `writev` without
//! being copied again.

use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::io::IoSlice;

/// Default for [`WriteBuf::new`]: commands at least this large are queued as their own chunk
/// instead of being copied into the shared tail.
const OWN_CHUNK: usize = 16 * 1024;

pub struct WriteBuf {
    own_chunk: usize,
    chunks: VecDeque<Bytes>,
    tail: BytesMut,
    len: usize,
    /// Total bytes ever appended (a stream offset), and ever written.
    appended: u64,
    written: u64,
}

impl Default for WriteBuf {
    fn default() -> Self {
        WriteBuf::new(OWN_CHUNK)
    }
}

impl WriteBuf {
    /// Commands of `own_chunk` bytes or more keep their own buffer; smaller ones are packed.
    pub fn new(own_chunk: usize) -> Self {
        WriteBuf {
            own_chunk: own_chunk.max(1),
            chunks: VecDeque::new(),
            tail: BytesMut::new(),
            len: 0,
            appended: 0,
            written: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stream offset of everything written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Appends `bytes` (copied, or shared when large: the caller keeps its own handle, to send
    /// them again after a reconnect); returns the stream offset at which they start.
    pub fn push(&mut self, bytes: &Bytes) -> u64 {
        let at = self.appended;
        self.appended += bytes.len() as u64;
        self.len += bytes.len();
        if bytes.len() >= self.own_chunk {
            if !self.tail.is_empty() {
                self.chunks.push_back(self.tail.split().freeze());
            }
            self.chunks.push_back(bytes.clone());
        } else {
            self.tail.extend_from_slice(bytes);
        }
        at
    }

    /// Fill `out` with slices covering the unwritten bytes, in order; returns how many.
    pub fn fill_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for c in self.chunks.iter() {
            if n == out.len() {
                return n;
            }
            out[n] = IoSlice::new(c);
            n += 1;
        }
        if n < out.len() && !self.tail.is_empty() {
            out[n] = IoSlice::new(&self.tail);
            n += 1;
        }
        n
    }

    /// All unwritten bytes, copied into one buffer.
    pub fn unwritten(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len);
        for c in &self.chunks {
            v.extend_from_slice(c);
        }
        v.extend_from_slice(&self.tail);
        v
    }

    /// `n` bytes from the front were written.
    pub fn consume(&mut self, mut n: usize) {
        debug_assert!(n <= self.len);
        self.len -= n;
        self.written += n as u64;
        while n > 0 {
            match self.chunks.front_mut() {
                Some(c) if c.len() <= n => {
                    n -= c.len();
                    self.chunks.pop_front();
                }
                Some(c) => {
                    let _ = c.split_to(n);
                    n = 0;
                }
                None => {
                    let _ = self.tail.split_to(n);
                    n = 0;
                }
            }
        }
        if self.len == 0 {
            // Keep the tail's allocation for the next burst, but do not let a rare huge burst
            // pin memory forever.
            if self.tail.capacity() > 1 << 20 {
                self.tail = BytesMut::new();
            } else {
                self.tail.clear();
            }
        }
    }

    /// Drop everything unwritten (the connection is gone); the stream offsets restart.
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.tail = BytesMut::new();
        self.len = 0;
        self.appended = 0;
        self.written = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gather(w: &WriteBuf, max: usize) -> Vec<u8> {
        let mut v = vec![IoSlice::new(&[]); max];
        let n = w.fill_slices(&mut v);
        let got: Vec<u8> = v[..n].iter().flat_map(|s| s.iter().copied()).collect();
        if n < max {
            assert_eq!(got, w.unwritten());
        }
        got
    }

    #[test]
    fn keeps_order_across_small_and_large_pushes() {
        let mut w = WriteBuf::default();
        assert_eq!(w.push(&Bytes::from_static(b"ab")), 0);
        assert_eq!(w.push(&Bytes::from(vec![b'x'; OWN_CHUNK])), 2);
        assert_eq!(w.push(&Bytes::from_static(b"cd")), 2 + OWN_CHUNK as u64);
        let all = gather(&w, 64);
        assert_eq!(all.len(), 4 + OWN_CHUNK);
        assert_eq!(&all[..2], b"ab");
        assert_eq!(&all[all.len() - 2..], b"cd");
        w.consume(3);
        assert_eq!(w.written(), 3);
        let rest = gather(&w, 64);
        assert_eq!(rest.len(), 1 + OWN_CHUNK);
        w.consume(rest.len());
        assert!(w.is_empty());
    }
}

//! Turns the bytes read from a socket into replies, in one linear, non-recursive pass: the
//! scanner builds each reply's nodes as its headers arrive, and the decoder owns the read buffer
//! and decides where each finished reply's bytes live.
//!
//! Memory follows the bytes that actually arrived, never what a header claims:
//! - `read_buf` grows the buffer to at most about twice the bytes already buffered (or by the
//!   read size, if larger), so a large reply grows it geometrically as it arrives (each byte is
//!   copied O(1) times, amortised), and a header that claims terabytes reserves nothing.
//!   Bulk strings longer than `max_bulk_len` and arrays longer than [`MAX_ARRAY_LEN`] fail as
//!   soon as their header is read.
//! - A finished reply that fills at least half of the read buffer's allocation takes that
//!   allocation over (no copy) and the decoder starts a fresh buffer; a smaller reply is copied
//!   into an allocation of its own size. Either way a reply keeps at most about twice its own
//!   size alive, however many replies are held at once.
//!
//! - A reply that is one bulk string, with at least a read's worth of its payload still to
//!   come, has its payload moved to the front of a fresh read buffer (the header and whatever
//!   was handed out before stay behind), which then grows under the same rule; the finished
//!   reply takes that buffer. So the string starts its buffer, and Perl adopts the buffer as
//!   the string's own with no copy at all (`Reply::take_bulk_buffer`).
//!
//! Invariant: `buf` is never advanced or split (only appended to, truncated, cleared, or
//! replaced), so its `capacity()` is the size of its whole allocation.

use super::reply::{Data, Node, Reply};
use super::scanner::{ReplyScanner, Scan};
use super::ProtocolError;
use bytes::Bytes;

/// Deepest reply decoded. A real server's deepest replies are Lua tables returned by EVAL, and
/// Redis 7.0 refuses to build those beyond about 8,000 levels ("reached lua stack limit"), so
/// every reply a server can send decodes. Decoding does not recurse, so the limit is not about
/// the stack: it bounds the decoder's per-level state and the work of whoever walks the reply.
/// Deeper replies fail with a protocol error.
pub const MAX_REPLY_DEPTH: usize = 16_384;

/// Default longest bulk string accepted: Redis' own `proto-max-bulk-len` default (512 MB), the
/// longest string value a default server stores.
pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;

/// Most elements an array header may declare: twice the most members a Redis collection holds
/// (2^32 - 1), since HGETALL and WITHSCORES replies have two elements per member. No reply a
/// server can send exceeds it; a larger count means the stream is out of sync (or hostile) and
/// fails at once instead of being waited for. Nothing is reserved from the count either way.
pub const MAX_ARRAY_LEN: u64 = 1 << 33;

/// The most bytes of a protocol error's excerpt (`Decoder::error_excerpt`).
pub const ERROR_EXCERPT_LEN: usize = 32;

pub struct Decoder {
    /// `buf[..start]` was handed out already; `buf[start..]` is the reply being read.
    buf: Vec<u8>,
    start: usize,
    /// The length of the reply being read, when it is a large bulk string whose payload is
    /// gathered in `buf` from its first byte (then `start` is 0 and the header is gone).
    body: Option<usize>,
    scanner: ReplyScanner,
    read_size: usize,
    max_bulk_len: usize,
    /// A protocol error is final until `reset`: the stream cannot be resynchronised.
    failed: Option<ProtocolError>,
}

impl Decoder {
    /// A decoder that reads `read_size` bytes at a time (clamped to 512 B ..= 16 MB) and accepts
    /// bulk strings of up to [`DEFAULT_MAX_BULK_LEN`] bytes.
    pub fn new(read_size: usize) -> Self {
        Self::with_limits(read_size, DEFAULT_MAX_BULK_LEN)
    }

    /// Like `new`, with bulk strings longer than `max_bulk_len` bytes failing with a protocol
    /// error as soon as their header is read.
    pub fn with_limits(read_size: usize, max_bulk_len: usize) -> Self {
        let read_size = read_size.clamp(512, 16 << 20);
        Decoder {
            buf: Vec::with_capacity(read_size),
            start: 0,
            body: None,
            scanner: ReplyScanner::new(),
            read_size,
            max_bulk_len,
            failed: None,
        }
    }

    /// Space to read into: append the bytes read (at most `read_size` of them per call), then
    /// call `next_reply`. `hint` is what the last `next_reply` returned with `Err`.
    ///
    /// Room is made for `read_size` more bytes. When the buffer has to grow, it grows to about
    /// twice the bytes of the unfinished reply (plus `read_size`), so that a large reply arrives
    /// with each byte copied O(1) times, and never more than that: what a header claims does
    /// not count. When the hint says where the reply ends, growth stops there (plus one read).
    ///
    /// Bytes are appended to the buffer's spare capacity (`Vec::extend_from_slice`, or a read
    /// straight into it); the buffer never needs to be initialised beyond its length.
    pub fn read_buf(&mut self, hint: Option<usize>) -> &mut Vec<u8> {
        let pending = self.buf.len() - self.start;
        if self.start > 0 && self.start >= pending {
            // Move the unfinished reply to the front: at most as many bytes as were handed out
            // since the last move, so moving costs O(1) per byte received.
            self.buf.copy_within(self.start.., 0);
            self.buf.truncate(pending);
            self.start = 0;
        }
        if self.buf.capacity() - self.buf.len() < self.read_size {
            let mut cap = pending + pending.max(self.read_size);
            if let Some(end) = hint.filter(|end| *end > pending) {
                cap = cap.min(end + self.read_size);
            }
            let cap = cap.max(pending + self.read_size);
            if self.start == 0 {
                // Grow in place: the allocator may extend the block (or remap its pages)
                // instead of copying the bytes into a new one.
                self.buf.reserve_exact(cap - self.buf.len());
            } else {
                let _ = self.replace_buf(self.start, cap);
                self.start = 0;
            }
        }
        &mut self.buf
    }

    /// Bytes still missing from the reply being read, when its headers tell (`hint` is what
    /// the last `next_reply` returned): a large remainder is worth reading straight into
    /// `read_buf`'s spare capacity.
    pub fn missing(&self, hint: Option<usize>) -> usize {
        hint.map_or(0, |end| end.saturating_sub(self.buffered()))
    }

    /// Bytes received but not yet part of a complete reply.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Size of the read buffer's allocation.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// After a protocol error: a short excerpt of the offending bytes (at most
    /// [`ERROR_EXCERPT_LEN`] bytes from the start of the line that could not be read), printable
    /// ASCII as it is and every other byte as `\xNN`; `None` without an error.
    pub fn error_excerpt(&self) -> Option<String> {
        self.failed.as_ref()?;
        let from = (self.start + self.scanner.line_start).min(self.buf.len());
        let bytes = &self.buf[from..];
        let mut out = String::new();
        for &b in bytes.iter().take(ERROR_EXCERPT_LEN) {
            if b.is_ascii_graphic() || b == b' ' {
                out.push(b as char);
            } else {
                out.push_str(&format!("\\x{b:02X}"));
            }
        }
        if bytes.len() > ERROR_EXCERPT_LEN {
            out.push_str("...");
        }
        Some(out)
    }

    /// Forget everything buffered (the connection was reset).
    pub fn reset(&mut self) {
        if self.buf.capacity() > 4 * self.read_size {
            self.buf = Vec::with_capacity(self.read_size);
        } else {
            self.buf.clear();
        }
        self.start = 0;
        self.body = None;
        self.scanner = ReplyScanner::new();
        self.failed = None;
    }

    /// The next complete reply, or `Err(hint)` when more bytes are needed (pass the hint to
    /// `read_buf`). A protocol error is returned again on every call until `reset`.
    pub fn next_reply(&mut self) -> Result<Result<Reply, Option<usize>>, ProtocolError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if let Some(len) = self.body {
            return self.finish_body(len);
        }
        match self.scanner.scan(&self.buf[self.start..], self.max_bulk_len) {
            Ok(Scan::Complete { len, root, rest }) => {
                let (data, backing) = self.take(len);
                Ok(Ok(Reply::with_backing(data, root, rest, backing)))
            }
            Ok(Scan::Incomplete { need }) => {
                if let Some(payload) = self.scanner.open_top_level_bulk() {
                    let arrived = self.buf.len() - self.start - payload.start;
                    if payload.len() - arrived.min(payload.len()) >= self.read_size {
                        return Ok(Err(Some(self.start_body(payload))));
                    }
                }
                Ok(Err(need))
            }
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// The reply being read is one bulk string with at least a read's worth of payload to come:
    /// move what arrived of the payload (less than `2 * read_size` bytes, usually) to the front
    /// of a fresh buffer, under the same bound as `read_buf`'s, leaving the header and
    /// everything handed out before it behind. Returns the hint: the length the buffer must
    /// reach.
    fn start_body(&mut self, payload: std::ops::Range<usize>) -> usize {
        let from = self.start + payload.start;
        let arrived = self.buf.len() - from;
        let cap = (arrived + arrived.max(self.read_size)).min(payload.len() + 2 + self.read_size);
        let _ = self.replace_buf(from, cap.max(arrived + self.read_size));
        self.start = 0;
        self.scanner = ReplyScanner::new();
        self.body = Some(payload.len());
        payload.len() + 2
    }

    /// The bulk string being gathered at the front of `buf`, once it is complete: it takes the
    /// buffer, and what arrived after it moves to a fresh one.
    fn finish_body(&mut self, len: usize) -> Result<Result<Reply, Option<usize>>, ProtocolError> {
        let end = len + 2;
        if self.buf.len() < end {
            return Ok(Err(Some(end)));
        }
        if &self.buf[len..end] != b"\r\n" {
            let e = ProtocolError("bulk string is not terminated by CRLF".into());
            self.failed = Some(e.clone());
            return Err(e);
        }
        self.body = None;
        let mut whole = self.replace_buf(end, self.read_size);
        whole.truncate(end);
        let capacity = whole.capacity();
        Ok(Ok(Reply::with_backing(Data::Whole { buf: whole, from: 0 }, Node::Bulk(0..len), Vec::new(), capacity)))
    }

    /// Hand out the `len` bytes at `start`, with the size of the allocation they keep alive.
    fn take(&mut self, len: usize) -> (Data, usize) {
        let from = self.start;
        let end = from + len;
        let capacity = self.buf.capacity();
        if 2 * len >= capacity {
            // The reply fills most of the allocation: give it the allocation, and carry what
            // follows it (at most `len` bytes) over to a fresh buffer.
            let mut whole = self.replace_buf(end, self.read_size);
            self.start = 0;
            whole.truncate(end);
            return (Data::Whole { buf: whole, from }, capacity);
        }
        let data = Data::Shared(Bytes::copy_from_slice(&self.buf[from..end]));
        self.start = end;
        let pending = self.buf.len() - end;
        if pending == 0 {
            self.buf.clear();
            self.start = 0;
        } else if capacity > 4 * self.read_size && 4 * pending <= capacity {
            // A large buffer (grown for a reply that is gone) with little left in it: shrink.
            let _ = self.replace_buf(end, self.read_size);
            self.start = 0;
        }
        (data, len)
    }

    /// Move `buf[from..]` into a fresh buffer of `capacity` bytes (at least the read size and
    /// what is moved); returns the old buffer.
    fn replace_buf(&mut self, from: usize, capacity: usize) -> Vec<u8> {
        let tail = &self.buf[from..];
        let mut fresh = Vec::with_capacity(capacity.max(self.read_size).max(tail.len()));
        fresh.extend_from_slice(tail);
        std::mem::replace(&mut self.buf, fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Node;

    /// `size` bytes of a recognisable pattern (byte `i` is `i` mod 251).
    fn pattern(size: usize) -> Vec<u8> {
        (0..size).map(|i| (i % 251) as u8).collect()
    }

    fn is_pattern(bytes: &[u8]) -> bool {
        bytes.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8)
    }

    /// `before`, a bulk string of `pattern(size)`, then `after`.
    fn bulk_frame(before: &[u8], size: usize, after: &[u8]) -> Vec<u8> {
        let mut frame = before.to_vec();
        frame.extend_from_slice(format!("${size}\r\n").as_bytes());
        frame.extend(pattern(size));
        frame.extend_from_slice(b"\r\n");
        frame.extend_from_slice(after);
        frame
    }

    fn feed(dec: &mut Decoder, bytes: &[u8]) {
        dec.read_buf(None).extend_from_slice(bytes);
    }

    /// Move every complete reply into `got`; the size hint for the next read.
    fn collect(d: &mut Decoder, got: &mut Vec<Reply>) -> Option<usize> {
        loop {
            match d.next_reply().unwrap() {
                Ok(r) => got.push(r),
                Err(h) => return h,
            }
        }
    }

    fn all(dec: &mut Decoder) -> Vec<Reply> {
        let mut out = Vec::new();
        while let Ok(r) = dec.next_reply().unwrap() {
            out.push(r);
        }
        out
    }

    #[test]
    fn a_protocol_error_keeps_an_excerpt_of_the_offending_line() {
        let mut d = Decoder::new(4096);
        assert_eq!(d.error_excerpt(), None);
        feed(&mut d, b"+OK\r\n*2\r\n$1\r\na\r\n:x1\r\n");
        assert!(d.next_reply().unwrap().is_ok());
        assert!(d.next_reply().is_err());
        assert_eq!(d.error_excerpt().as_deref(), Some(":x1\\x0D\\x0A"));
        d.reset();
        assert_eq!(d.error_excerpt(), None);
        feed(&mut d, b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n");
        assert!(d.next_reply().is_err());
        let x = d.error_excerpt().unwrap();
        assert!(x.starts_with("HTTP/1.1 200 OK\\x0D\\x0AContent-Type"), "{x}");
        assert!(x.ends_with("..."), "{x}");
    }

    #[test]
    fn decodes_pipelined_replies_in_order() {
        let mut d = Decoder::new(4096);
        feed(&mut d, b"+OK\r\n$5\r\nhello\r\n:42\r\n*2\r\n$1\r\na\r\n$-1\r\n-WRONGTYPE no\r\n$0\r\n\r\n");
        let r = all(&mut d);
        assert_eq!(r.len(), 6);
        assert_eq!(r[0].as_text(), Some(&b"OK"[..]));
        assert_eq!(r[1].as_text(), Some(&b"hello"[..]));
        assert_eq!(r[2].root(), &Node::Integer(42));
        let arr: Vec<_> = r[3].nodes().cloned().collect();
        assert_eq!(arr.len(), 3);
        assert_eq!(arr[0], Node::Array(2));
        assert!(matches!(&arr[1], Node::Bulk(x) if r[3].bytes(x) == b"a"));
        assert_eq!(arr[2], Node::Nil);
        assert_eq!(r[4].error_message(), Some(&b"WRONGTYPE no"[..]));
        assert_eq!(r[5].as_text(), Some(&b""[..]));
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn nested_arrays_flatten_in_preorder() {
        let mut d = Decoder::new(4096);
        feed(&mut d, b"*3\r\n*2\r\n:1\r\n:2\r\n*0\r\n*1\r\n*1\r\n:3\r\n");
        let r = all(&mut d).remove(0);
        let nodes: Vec<_> = r.nodes().cloned().collect();
        assert_eq!(
            nodes,
            vec![
                Node::Array(3),
                Node::Array(2),
                Node::Integer(1),
                Node::Integer(2),
                Node::Array(0),
                Node::Array(1),
                Node::Array(1),
                Node::Integer(3)
            ]
        );
    }

    #[test]
    fn split_at_every_byte() {
        let stream: &[u8] = b"*2\r\n$3\r\nfoo\r\n:7\r\n+PONG\r\n$-1\r\n";
        for cut in 0..=stream.len() {
            let mut d = Decoder::new(512);
            feed(&mut d, &stream[..cut]);
            let mut got = all(&mut d);
            feed(&mut d, &stream[cut..]);
            got.extend(all(&mut d));
            assert_eq!(got.len(), 3, "cut {cut}");
            assert_eq!(got[1].as_text(), Some(&b"PONG"[..]));
            assert_eq!(got[2].root(), &Node::Nil);
        }
    }

    #[test]
    fn deep_reply_within_limit_decodes() {
        // On the test thread's ordinary stack: decoding does not recurse.
        let depth = MAX_REPLY_DEPTH;
        let mut frame = Vec::new();
        for _ in 0..depth {
            frame.extend_from_slice(b"*1\r\n");
        }
        frame.extend_from_slice(b":5\r\n");
        let mut d = Decoder::new(4096);
        feed(&mut d, &frame);
        let r = all(&mut d).remove(0);
        assert_eq!(r.node_count(), depth + 1);
        assert_eq!(r.nodes().last(), Some(&Node::Integer(5)));
        drop(r); // and dropping it does not recurse either
    }

    #[test]
    fn large_bulk_in_small_reads_is_linear_and_exact() {
        let size = 8 << 20;
        let frame = bulk_frame(b"+OK\r\n", size, b":1\r\n"); // the bulk does not start the buffer
        let mut d = Decoder::new(512);
        let mut hint = None;
        let mut fed = 0;
        let mut got = Vec::new();
        // Growth is geometric: few reallocations, and the bytes they move add up to O(size).
        let (mut reallocs, mut moved) = (0, 0);
        for chunk in frame.chunks(4096) {
            let b = d.read_buf(hint);
            let before = b.capacity();
            b.extend_from_slice(chunk);
            if b.capacity() != before {
                reallocs += 1;
                moved += b.len();
            }
            fed += chunk.len();
            assert!(d.capacity() <= 2 * fed + 4096, "capacity {} after {fed}", d.capacity());
            hint = collect(&mut d, &mut got);
        }
        assert_eq!(got.len(), 3);
        let bulk = got[1].as_text().unwrap();
        assert_eq!(bulk.len(), size);
        assert!(is_pattern(bulk));
        assert_eq!(got[2].root(), &Node::Integer(1));
        assert!(reallocs <= 24, "{reallocs} reallocations");
        assert!(moved <= 3 * size, "{moved} bytes moved");
        // The big reply took the buffer over without a copy, and keeps at most twice its size.
        assert!(got[1].retained_bytes() <= 2 * (size + 20), "{}", got[1].retained_bytes());
        assert!(d.buf.capacity() < 64 << 10, "the decoder starts a small buffer again");
    }

    /// Feed `frame` the way the engine's direct reads do: each read fills `read_buf`'s spare
    /// capacity, or `most` bytes of it. Returns the replies; checks the growth bound on the way.
    fn feed_into_spare(d: &mut Decoder, frame: &[u8], most: usize) -> Vec<Reply> {
        let (mut hint, mut fed, mut got) = (None, 0, Vec::new());
        while fed < frame.len() {
            let buf = d.read_buf(hint);
            let n = (buf.capacity() - buf.len()).min(most).min(frame.len() - fed);
            let cap = buf.capacity();
            buf.extend_from_slice(&frame[fed..fed + n]);
            assert_eq!(buf.capacity(), cap, "appending within the spare capacity reallocated");
            fed += n;
            let held = d.capacity();
            assert!(held <= 2 * fed + d.read_size, "capacity {held} after {fed}");
            hint = collect(d, &mut got);
        }
        got
    }

    #[test]
    fn reads_that_fill_the_spare_capacity_decode_large_bulks_exactly() {
        for size in [0, 1, 511, 512, 513, 4096, 100_000, 1 << 20] {
            let frame = bulk_frame(b"+OK\r\n", size, b":1\r\n");
            for most in [1, 7, 512, 4096, usize::MAX] {
                if most < 512 && size > 4096 {
                    continue; // byte by byte is covered by the smaller sizes
                }
                let mut d = Decoder::new(512);
                let got = feed_into_spare(&mut d, &frame, most);
                assert_eq!(got.len(), 3, "size {size}, reads of {most}");
                let bulk = got[1].as_text().unwrap();
                assert_eq!(bulk.len(), size);
                assert!(is_pattern(bulk));
                assert_eq!(got[2].root(), &Node::Integer(1));
                assert!(got[1].retained_bytes() <= 2 * (size + 20) + 512, "{}", got[1].retained_bytes());
            }
        }
    }

    #[test]
    fn a_large_bulk_split_at_any_byte_near_its_edges_decodes() {
        let size = 5000;
        let frame = bulk_frame(b"", size, b"+OK\r\n");
        let edges = (0..12).chain(size - 4..frame.len());
        for cut in edges.chain([size / 2]) {
            let mut d = Decoder::new(512);
            let mut got = Vec::new();
            let mut hint = None;
            for piece in [&frame[..cut], &frame[cut..]] {
                d.read_buf(hint).extend_from_slice(piece);
                hint = collect(&mut d, &mut got);
            }
            assert_eq!(got.len(), 2, "cut {cut}");
            assert_eq!(got[0].as_text().unwrap(), &frame[7..7 + size], "cut {cut}");
            assert_eq!(got[1].as_text(), Some(&b"OK"[..]));
            assert_eq!(d.buffered(), 0);
        }
    }

    #[test]
    fn huge_bulk_header_reserves_nothing() {
        for (limit, header) in [
            (usize::MAX, &b"$1099511627776\r\n"[..]),
            (usize::MAX, b"$8589934592\r\n"),
            (usize::MAX, b"$9223372036854775807\r\n"),
            (DEFAULT_MAX_BULK_LEN, b"$536870912\r\n"),
        ] {
            let mut d = Decoder::with_limits(16 << 10, limit);
            let mut hint = None;
            for round in 0..4 {
                let b = d.read_buf(hint);
                b.extend_from_slice(if round == 0 { header } else { b"abcdefgh" });
                hint = d.next_reply().unwrap().unwrap_err();
                assert!(hint.is_some());
                let cap = d.read_buf(hint).capacity();
                assert!(cap <= 2 * (16 << 10), "{header:?}: capacity {cap}");
            }
        }
    }

    #[test]
    fn bulk_over_the_limit_fails_at_its_header() {
        let mut d = Decoder::new(4096);
        feed(&mut d, b"+OK\r\n$1099511627776\r\nabc");
        assert!(d.next_reply().unwrap().is_ok());
        let err = d.next_reply().unwrap_err();
        assert!(err.0.contains("limit"), "{err}");
        assert_eq!(d.next_reply().unwrap_err(), err, "the error stays until reset");
        d.reset();
        feed(&mut d, b"$536870913\r\n");
        assert!(d.next_reply().is_err(), "one byte over the default");
        let mut d = Decoder::with_limits(4096, 10);
        feed(&mut d, b"$10\r\n0123456789\r\n$11\r\n");
        assert_eq!(d.next_reply().unwrap().unwrap().as_text(), Some(&b"0123456789"[..]));
        assert!(d.next_reply().is_err());
    }

    #[test]
    fn huge_array_header_is_waited_for_or_refused() {
        let mut d = Decoder::new(4096);
        feed(&mut d, b"*8589934592\r\n:1\r\n:2\r\n");
        assert_eq!(d.next_reply(), Ok(Err(None)));
        let mut d = Decoder::new(4096);
        feed(&mut d, b"*8589934593\r\n");
        assert!(d.next_reply().unwrap_err().0.contains("limit"));
    }

    #[test]
    fn empty_error_reply_decodes() {
        let mut d = Decoder::new(4096);
        feed(&mut d, b"-\r\n*3\r\n-\r\n-ERR x\r\n*1\r\n-\r\n");
        let r = all(&mut d);
        assert_eq!(r.len(), 2);
        assert!(r[0].is_error());
        assert_eq!(r[0].root(), &Node::Error(1..1));
        assert_eq!(r[0].error_message(), Some(&b""[..]));
        let nodes: Vec<_> = r[1].nodes().cloned().collect();
        assert_eq!(
            nodes,
            [Node::Array(3), Node::Error(5..5), Node::Error(8..13), Node::Array(1), Node::Error(20..20)]
        );
        assert_eq!(r[1].bytes(&(5..5)), b"");
        assert_eq!(r[1].bytes(&(8..13)), b"ERR x");
        assert_eq!(r[1].bytes(&(20..20)), b"");
    }

    #[test]
    fn held_replies_keep_only_their_own_bytes() {
        // 1,000 small replies decoded out of one 64 KB read buffer, all held at once.
        let count = 1_000;
        let mut stream = Vec::new();
        for i in 0..count {
            stream.extend_from_slice(format!("$5\r\nv{i:04}\r\n").as_bytes());
        }
        let mut d = Decoder::new(64 << 10);
        let mut held = Vec::new();
        for chunk in stream.chunks(2000) {
            d.read_buf(None).extend_from_slice(chunk);
            // Where the read buffer's allocation is while these replies are decoded.
            let base = d.buf.as_ptr() as usize;
            let read_buffer = base..base + d.buf.capacity();
            for r in all(&mut d) {
                let at = r.as_text().unwrap().as_ptr() as usize;
                assert!(!read_buffer.contains(&at), "reply shares the read buffer");
                held.push(r);
            }
        }
        assert_eq!(held.len(), count);
        for (i, r) in held.iter().enumerate() {
            assert_eq!(r.as_text(), Some(format!("v{i:04}").as_bytes()));
            assert_eq!(r.retained_bytes(), 11, "reply {i}");
        }
        let total: usize = held.iter().map(Reply::retained_bytes).sum();
        assert_eq!(total, stream.len());
    }

    #[test]
    fn a_reply_that_fills_the_buffer_takes_it_over() {
        let mut d = Decoder::new(1024);
        let mut frame = b"$1000\r\n".to_vec();
        frame.extend(std::iter::repeat_n(b'x', 1000));
        frame.extend_from_slice(b"\r\n+OK\r\n");
        feed(&mut d, &frame);
        let base = d.buf.as_ptr() as usize;
        let r = all(&mut d);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].as_text().unwrap().len(), 1000);
        assert_eq!(r[0].as_text().unwrap().as_ptr() as usize, base + 7, "not copied");
        assert!(r[0].retained_bytes() <= 2 * 1009);
        assert_eq!(r[1].as_text(), Some(&b"OK"[..]));
        assert_eq!(r[1].retained_bytes(), 5);
    }

    #[test]
    fn a_large_bulk_hands_its_buffer_over_with_the_string_first() {
        // After a small reply in the same read buffer: the large one starts further in.
        let size = 300_000;
        let body = pattern(size);
        let frame = bulk_frame(b"+OK\r\n", size, b"$3\r\nabc\r\n");
        let mut d = Decoder::new(512);
        let mut got = feed_into_spare(&mut d, &frame, usize::MAX);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].take_bulk_buffer(), None, "a simple string");
        assert_eq!(got[2].take_bulk_buffer(), None, "a small bulk has a copy of its own");
        assert_eq!(got[2].as_text(), Some(&b"abc"[..]), "untouched");
        let (buf, len) = got[1].take_bulk_buffer().expect("the large bulk owns its buffer");
        assert_eq!(len, size);
        assert_eq!(&buf[..len], &body[..]);
        assert_eq!(buf[len], 0, "NUL-terminated");
        assert!(buf.capacity() >= len + 2 && buf.capacity() <= len + 64, "capacity {}", buf.capacity());
        assert_eq!(got[1].root(), &Node::Nil, "the reply is left holding nothing");
        assert_eq!(got[1].retained_bytes(), 0);
        assert_eq!(got[1].take_bulk_buffer(), None, "only once");
        // A reply of an array holding a large bulk is not handed over.
        let frame = bulk_frame(b"*1\r\n", size, b"");
        let mut got = feed_into_spare(&mut Decoder::new(512), &frame, usize::MAX);
        assert_eq!(got[0].take_bulk_buffer(), None);
        // A large bulk that arrived in one read, after a small reply: it took the read buffer
        // over, and the string is moved to the buffer's start.
        let frame = bulk_frame(b"+OK\r\n", size, b"");
        let mut d = Decoder::new(512);
        feed(&mut d, &frame);
        let mut got = all(&mut d);
        assert_eq!(got.len(), 2);
        let (buf, len) = got[1].take_bulk_buffer().expect("it took the read buffer over");
        assert_eq!(&buf[..len], &body[..]);
        assert_eq!(buf[len], 0);
        assert!(buf.capacity() >= len + 2);
    }

    #[test]
    fn a_large_bulk_gathers_its_payload_from_its_buffer_start() {
        // Bulk strings with a read's worth or more still to come after their header are read
        // into a buffer that they start; the header and earlier replies stay behind.
        let size = 100_000;
        let frame = bulk_frame(b"+OK\r\n", size, b":7\r\n");
        let mut d = Decoder::new(4096);
        let mut hint = None;
        let mut got = Vec::new();
        for chunk in frame.chunks(1000) {
            d.read_buf(hint).extend_from_slice(chunk);
            hint = collect(&mut d, &mut got);
            if let Some(len) = d.body {
                assert_eq!(len, size);
                assert_eq!(d.buf[0], 0, "the payload's first byte starts the buffer");
            }
        }
        assert_eq!(got.len(), 3);
        let text = got[1].as_text().unwrap();
        assert_eq!(text.len(), size);
        assert!(is_pattern(text));
        assert_eq!(got[2].root(), &Node::Integer(7), "what followed the payload in its last read");
        let at = text.as_ptr();
        let (buf, len) = got[1].take_bulk_buffer().unwrap();
        assert_eq!(len, size);
        assert_eq!(buf.as_ptr(), at, "the string started its buffer already: nothing moved");
        assert!(buf.capacity() <= 2 * (size + 2) + 4096);
        // A bad terminator after a gathered payload is a protocol error, as anywhere.
        let mut d = Decoder::new(512);
        let mut frame = b"$5000\r\n".to_vec();
        frame.extend(std::iter::repeat_n(b'x', 5000));
        frame.extend_from_slice(b"xx");
        let mut hint = None;
        let mut result = Ok(Err(None));
        for chunk in frame.chunks(300) {
            d.read_buf(hint).extend_from_slice(chunk);
            result = d.next_reply();
            if let Ok(Err(h)) = result {
                hint = h;
            }
        }
        assert!(result.is_err_and(|e| e.0.contains("CRLF")));
    }

    #[test]
    fn moderately_sized_replies_after_small_ones_keep_bounded_memory() {
        // Replies of every size between small and the read size, in one long pipelined stream:
        // each keeps at most twice its size, and the decoder's buffer stays near the read size.
        let mut d = Decoder::new(4096);
        let mut stream = Vec::new();
        for i in 0..400usize {
            let n = (i * 37) % 3000;
            stream.extend_from_slice(format!("${n}\r\n").as_bytes());
            stream.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, n));
            stream.extend_from_slice(b"\r\n");
        }
        let mut hint = None;
        let mut got = Vec::new();
        for chunk in stream.chunks(1500) {
            d.read_buf(hint).extend_from_slice(chunk);
            assert!(d.buf.capacity() <= 4 * 4096, "capacity {}", d.buf.capacity());
            hint = collect(&mut d, &mut got);
        }
        assert_eq!(got.len(), 400);
        for (i, r) in got.iter().enumerate() {
            let n = (i * 37) % 3000;
            let wire = n + 5 + n.to_string().len();
            assert_eq!(r.as_text().unwrap().len(), n);
            assert!(r.retained_bytes() <= 2 * wire, "reply {i}: {} for {wire}", r.retained_bytes());
        }
    }

    #[test]
    fn too_deep_reply_is_a_protocol_error_not_a_crash() {
        let mut frame = Vec::new();
        for _ in 0..(MAX_REPLY_DEPTH + 1) {
            frame.extend_from_slice(b"*1\r\n");
        }
        frame.extend_from_slice(b":5\r\n");
        let mut d = Decoder::new(4096);
        feed(&mut d, &frame);
        let err = d.next_reply().unwrap_err();
        assert!(err.0.contains("deep"), "{err}");
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let mut d = Decoder::new(4096);
        feed(&mut d, b"HTTP/1.1 400 Bad Request\r\n");
        assert!(d.next_reply().is_err());
    }
}

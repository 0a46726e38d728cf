//! Turns the bytes read from a socket into replies: the scanner finds each complete frame, the
//! `redis-protocol` crate decodes it (once, and only if it is shallow enough for its recursive
//! decoder), and the result is flattened into a [`Reply`] that shares the read buffer.

use super::reply::{Node, Reply};
use super::scanner::{FrameScanner, Scan};
use super::ProtocolError;
use bytes::BytesMut;
use redis_protocol::resp2::decode::decode_range;
use redis_protocol::resp2::types::RangeFrame;

/// Deepest reply decoded. A real server's deepest replies are Lua tables returned by EVAL, and
/// Redis 7.0 refuses to build those beyond about 8,000 levels ("reached lua stack limit"), so
/// every reply a server can send decodes. `redis-protocol` recurses once per level (about
/// 500 bytes of stack each in a release build: 16,384 levels fit in 8 MB); the IO thread's
/// stack (`runtime::IO_THREAD_STACK`, 64 MB) leaves a wide margin. Deeper replies fail with a
/// protocol error instead of overflowing the stack.
pub const MAX_REPLY_DEPTH: usize = 16_384;

pub struct Decoder {
    buf: BytesMut,
    scanner: FrameScanner,
    read_size: usize,
}

impl Decoder {
    pub fn new(read_size: usize) -> Self {
        let read_size = read_size.clamp(512, 16 << 20);
        Decoder { buf: BytesMut::with_capacity(read_size), scanner: FrameScanner::new(), read_size }
    }

    /// Space to read into: at least `read_size` bytes, or what the bulk string being received
    /// still needs, so a large value arrives without repeated reallocation.
    pub fn read_buf(&mut self, hint: Option<usize>) -> &mut BytesMut {
        let want = match hint {
            Some(total) if total > self.buf.len() => (total - self.buf.len()).max(self.read_size),
            _ => self.read_size,
        };
        if self.buf.capacity() - self.buf.len() < want {
            self.buf.reserve(want);
        }
        &mut self.buf
    }

    /// Bytes received but not yet part of a complete reply.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Forget everything buffered (the connection was reset).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.scanner = FrameScanner::new();
    }

    /// The next complete reply, `Ok(None)` with a size hint when more bytes are needed.
    pub fn next_reply(&mut self) -> Result<Result<Reply, Option<usize>>, ProtocolError> {
        let (len, depth) = match self.scanner.scan(&self.buf).map_err(|e| ProtocolError(e.0))? {
            Scan::Complete { len, depth } => (len, depth),
            Scan::Incomplete { hint } => return Ok(Err(hint)),
        };
        if depth > MAX_REPLY_DEPTH {
            return Err(ProtocolError(format!(
                "reply nests {depth} arrays deep; the limit is {MAX_REPLY_DEPTH}"
            )));
        }
        let frame = match decode_range(&self.buf[..len]) {
            Ok(Some((frame, used))) if used == len => frame,
            Ok(_) => {
                return Err(ProtocolError("reply decoder disagrees with the frame scanner".into()))
            }
            Err(e) => return Err(ProtocolError(format!("undecodable reply: {e}"))),
        };
        let data = self.buf.split_to(len).freeze();
        Ok(Ok(flatten(data, frame)))
    }
}

/// Flatten the decoder's tree without recursion.
fn flatten(data: bytes::Bytes, frame: RangeFrame) -> Reply {
    let mut stack: Vec<std::vec::IntoIter<RangeFrame>> = Vec::new();
    let mut rest = Vec::new();
    let root = node_of(frame, &mut stack);
    while let Some(top) = stack.last_mut() {
        match top.next() {
            Some(child) => {
                let node = node_of(child, &mut stack);
                rest.push(node);
            }
            None => {
                stack.pop();
            }
        }
    }
    Reply::new(data, root, rest)
}

fn node_of(frame: RangeFrame, stack: &mut Vec<std::vec::IntoIter<RangeFrame>>) -> Node {
    match frame {
        RangeFrame::SimpleString((s, e)) => Node::Simple(s..e),
        RangeFrame::Error((s, e)) => Node::Error(s..e),
        RangeFrame::Integer(i) => Node::Integer(i),
        RangeFrame::BulkString((s, e)) => Node::Bulk(s..e),
        RangeFrame::Null => Node::Nil,
        RangeFrame::Array(items) => {
            let n = items.len();
            if n > 0 {
                stack.push(items.into_iter());
            }
            Node::Array(n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(dec: &mut Decoder, bytes: &[u8]) {
        dec.read_buf(None).extend_from_slice(bytes);
    }

    fn all(dec: &mut Decoder) -> Vec<Reply> {
        let mut out = Vec::new();
        while let Ok(r) = dec.next_reply().unwrap() {
            out.push(r);
        }
        out
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
    fn large_bulk_in_small_reads_is_linear_and_exact() {
        let size = 8 << 20;
        let mut frame = format!("${size}\r\n").into_bytes();
        frame.extend((0..size).map(|i| (i % 251) as u8));
        frame.extend_from_slice(b"\r\n");
        let mut d = Decoder::new(512);
        let mut hint = None;
        let mut reserved_max = 0;
        for chunk in frame.chunks(4096) {
            let b = d.read_buf(hint);
            reserved_max = reserved_max.max(b.capacity());
            b.extend_from_slice(chunk);
            match d.next_reply().unwrap() {
                Ok(r) => {
                    assert_eq!(r.as_text().unwrap().len(), size);
                    assert!(r.as_text().unwrap().iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
                    return;
                }
                Err(h) => hint = h,
            }
        }
        panic!("never completed");
    }

    #[test]
    fn deep_reply_within_limit_decodes() {
        let depth = MAX_REPLY_DEPTH;
        let mut frame = Vec::new();
        for _ in 0..depth {
            frame.extend_from_slice(b"*1\r\n");
        }
        frame.extend_from_slice(b":5\r\n");
        // redis-protocol recurses: run where the engine runs it, on a thread with the IO
        // thread's stack size.
        let r = std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(move || {
                let mut d = Decoder::new(4096);
                feed(&mut d, &frame);
                all(&mut d).remove(0)
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(r.node_count(), depth + 1);
        assert_eq!(r.nodes().last(), Some(&Node::Integer(5)));
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

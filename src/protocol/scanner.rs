//! The RESP2 reply parser: one linear, non-recursive pass that builds a reply's nodes while it
//! reads each header, and keeps its place across partial reads.
//!
//! The scanner sees the bytes of one reply at a time: `buf` starts at the reply's first byte and
//! only grows between calls until the scanner says `Complete` (the decoder then drops the reply
//! from the front and the next call starts the next reply). All positions it keeps and hands out
//! are relative to that first byte, so the decoder may move the bytes in memory between calls.
//!
//! Cost: every byte is examined a bounded number of times, whatever the read boundaries are: a
//! header line that arrives in pieces resumes its CRLF search where the previous one stopped,
//! and a bulk string's payload is not looked at at all (only its closing CRLF). Memory: one
//! `Node` per element that has arrived (at least 3 bytes each), and one counter per open array
//! (at most `MAX_REPLY_DEPTH`); nothing is reserved from a length that a header only claims.

use super::decoder::{MAX_ARRAY_LEN, MAX_REPLY_DEPTH};
use super::reply::Node;
use super::ProtocolError;

/// What the scanner found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The reply is complete and occupies `buf[..len]`; its nodes in pre-order, the root first.
    Complete { len: usize, root: Node, rest: Vec<Node> },
    /// More bytes are needed. `need`, when known, is the length `buf` must reach to hold the
    /// whole reply (known once the header of a bulk string that ends the reply has been read).
    Incomplete { need: Option<usize> },
}

#[derive(Debug, Default)]
pub(crate) struct ReplyScanner {
    /// Start of the next element header to read.
    pos: usize,
    /// Where to resume looking for the header's CRLF (0: from the header's start).
    line_from: usize,
    /// End (after its CRLF) of the bulk string whose payload is arriving, if one is.
    bulk_end: Option<usize>,
    /// Where the reply ends, when the bulk string being read is its last element.
    reply_end: Option<usize>,
    /// Elements still expected by each open array, innermost last.
    open: Vec<u64>,
    /// Where the line being read starts (after an error: where the offending bytes are).
    pub(crate) line_start: usize,
    /// The reply's first node, once its header has been read.
    root: Option<Node>,
    /// Every later node, in pre-order.
    rest: Vec<Node>,
    /// Bytes examined while searching for line ends (lets tests prove linearity).
    #[cfg(test)]
    pub(crate) examined: usize,
}

impl ReplyScanner {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Continue reading the reply that `buf` starts with. `buf` holds at least the bytes of the
    /// previous call. An error leaves the scanner in an unspecified state: the stream cannot be
    /// resynchronised, and the caller must not call again before starting a new scanner.
    pub(crate) fn scan(&mut self, buf: &[u8], max_bulk_len: usize) -> Result<Scan, ProtocolError> {
        loop {
            if let Some(end) = self.bulk_end {
                if buf.len() < end {
                    return Ok(Scan::Incomplete { need: self.reply_end });
                }
                if &buf[end - 2..end] != b"\r\n" {
                    self.line_start = end - 2;
                    return Err(ProtocolError("bulk string is not terminated by CRLF".into()));
                }
                self.bulk_end = None;
                self.pos = end;
                if let Some(done) = self.element_done() {
                    return Ok(done);
                }
                continue;
            }

            let start = self.pos;
            self.line_start = start;
            let Some(&kind) = buf.get(start) else {
                return Ok(Scan::Incomplete { need: None });
            };
            if !matches!(kind, b'+' | b'-' | b':' | b'$' | b'*') {
                return Err(ProtocolError(format!(
                    "unexpected byte 0x{kind:02x} where a reply type was expected"
                )));
            }
            let search_from = self.line_from.max(start + 1);
            let found = find_crlf(buf, search_from);
            #[cfg(test)]
            {
                let to = found.map_or(buf.len(), |cr| cr + 2);
                self.examined += to.saturating_sub(search_from);
            }
            let Some(cr) = found else {
                // Resume at the last byte: it may be the CR of a CRLF split across reads.
                self.line_from = buf.len().saturating_sub(1).max(start + 1);
                return Ok(Scan::Incomplete { need: None });
            };
            self.line_from = 0;
            let text = start + 1..cr;
            let line = &buf[text.clone()];
            let after = cr + 2;
            self.pos = after;
            let node = match kind {
                b'+' => Node::Simple(text),
                b'-' => Node::Error(text),
                b':' => Node::Integer(parse_int(line).ok_or_else(|| bad_line("integer", line))?),
                b'$' => match parse_int(line) {
                    Some(-1) => Node::Nil,
                    Some(n) if n >= 0 => {
                        if n as u64 > max_bulk_len as u64 {
                            return Err(ProtocolError(format!(
                                "bulk string of {n} bytes is longer than the limit of {max_bulk_len} bytes"
                            )));
                        }
                        let n = n as usize; // <= max_bulk_len, a usize
                        let end = after
                            .checked_add(n)
                            .and_then(|e| e.checked_add(2))
                            .ok_or_else(|| bad_line("bulk length", line))?;
                        self.bulk_end = Some(end);
                        // The last element of every open array: the reply ends with it. (Each
                        // level looked at here closes when the bulk ends: O(1) per header.)
                        let last = self.open.iter().rev().all(|left| *left == 1);
                        self.reply_end = last.then_some(end);
                        self.push(Node::Bulk(after..after + n));
                        continue;
                    }
                    _ => return Err(bad_line("bulk length", line)),
                },
                _ => match parse_int(line) {
                    Some(-1) => Node::Nil,
                    Some(0) => Node::Array(0),
                    Some(n) if n > 0 => {
                        let count = u64::try_from(n)
                            .ok()
                            .filter(|c| *c <= MAX_ARRAY_LEN)
                            .and_then(|c| usize::try_from(c).ok())
                            .ok_or_else(|| {
                                ProtocolError(format!(
                                    "array of {n} elements is longer than the limit of {MAX_ARRAY_LEN}"
                                ))
                            })?;
                        if self.open.len() >= MAX_REPLY_DEPTH {
                            return Err(ProtocolError(format!(
                                "reply nests arrays more than {MAX_REPLY_DEPTH} deep"
                            )));
                        }
                        // Only the count is kept: the elements' nodes are pushed as they arrive.
                        self.push(Node::Array(count));
                        self.open.push(count as u64);
                        continue;
                    }
                    _ => return Err(bad_line("array length", line)),
                },
            };
            self.push(node);
            if let Some(done) = self.element_done() {
                return Ok(done);
            }
        }
    }

    /// When the reply being read is one bulk string whose payload is still arriving: where the
    /// payload lies, relative to the reply's first byte.
    pub(crate) fn open_top_level_bulk(&self) -> Option<std::ops::Range<usize>> {
        match (&self.root, self.bulk_end) {
            (Some(Node::Bulk(r)), Some(_)) if self.open.is_empty() && self.rest.is_empty() => Some(r.clone()),
            _ => None,
        }
    }

    fn push(&mut self, node: Node) {
        if self.root.is_none() {
            self.root = Some(node);
        } else {
            self.rest.push(node);
        }
    }

    /// Account for one finished element; returns `Complete` when it closed the whole reply.
    fn element_done(&mut self) -> Option<Scan> {
        while let Some(left) = self.open.last_mut() {
            *left -= 1;
            if *left > 0 {
                return None;
            }
            self.open.pop();
        }
        let root = self.root.take().expect("a finished element has a node");
        let done = Scan::Complete { len: self.pos, root, rest: std::mem::take(&mut self.rest) };
        self.pos = 0;
        self.line_from = 0;
        Some(done)
    }
}

/// Position of the first CR at or after `from` that is followed by LF.
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < buf.len() {
        let off = buf[i..buf.len() - 1].iter().position(|b| *b == b'\r')?;
        let at = i + off;
        if buf[at + 1] == b'\n' {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// A decimal i64 with an optional sign; `None` when it is empty, not decimal or out of range.
fn parse_int(line: &[u8]) -> Option<i64> {
    let (neg, digits) = match line.first() {
        Some(b'-') => (true, &line[1..]),
        Some(b'+') => (false, &line[1..]),
        _ => (false, line),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulate in u64 so that i64::MIN (whose magnitude exceeds i64::MAX) parses.
    let mut v: u64 = 0;
    for d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    if neg {
        0i64.checked_sub_unsigned(v)
    } else {
        i64::try_from(v).ok()
    }
}

fn bad_line(what: &str, line: &[u8]) -> ProtocolError {
    let shown = String::from_utf8_lossy(&line[..line.len().min(40)]).into_owned();
    ProtocolError(format!("invalid {what} in reply header: {shown:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_LIMIT: usize = usize::MAX;

    fn scan_all(bytes: &[u8]) -> Result<Scan, ProtocolError> {
        ReplyScanner::new().scan(bytes, NO_LIMIT)
    }

    fn len_of(bytes: &[u8]) -> usize {
        match scan_all(bytes) {
            Ok(Scan::Complete { len, .. }) => len,
            other => panic!("{bytes:?}: {other:?}"),
        }
    }

    fn nodes_of(bytes: &[u8]) -> Vec<Node> {
        match scan_all(bytes) {
            Ok(Scan::Complete { root, rest, .. }) => std::iter::once(root).chain(rest).collect(),
            other => panic!("{bytes:?}: {other:?}"),
        }
    }

    #[test]
    fn finds_each_kind_of_reply() {
        assert_eq!(nodes_of(b"+OK\r\n"), [Node::Simple(1..3)]);
        assert_eq!(len_of(b"-ERR x\r\n+OK\r\n"), 8);
        assert_eq!(nodes_of(b":-12\r\n"), [Node::Integer(-12)]);
        assert_eq!(nodes_of(b":-9223372036854775808\r\n"), [Node::Integer(i64::MIN)]);
        assert_eq!(nodes_of(b":9223372036854775807\r\n"), [Node::Integer(i64::MAX)]);
        assert_eq!(nodes_of(b":+0007\r\n"), [Node::Integer(7)]);
        assert_eq!(nodes_of(b"$3\r\nfoo\r\n"), [Node::Bulk(4..7)]);
        assert_eq!(nodes_of(b"$3\r\n\r\n\0\r\n"), [Node::Bulk(4..7)]);
        assert_eq!(nodes_of(b"$-1\r\n"), [Node::Nil]);
        assert_eq!(nodes_of(b"*-1\r\n"), [Node::Nil]);
        assert_eq!(nodes_of(b"*0\r\n"), [Node::Array(0)]);
        assert_eq!(nodes_of(b"-\r\n"), [Node::Error(1..1)]);
        assert_eq!(nodes_of(b"+\r\n"), [Node::Simple(1..1)]);
        assert_eq!(
            nodes_of(b"*2\r\n$1\r\na\r\n*2\r\n-\r\n:1\r\n+tail"),
            [Node::Array(2), Node::Bulk(8..9), Node::Array(2), Node::Error(16..16), Node::Integer(1)]
        );
        assert_eq!(len_of(b"*2\r\n$1\r\na\r\n*2\r\n-\r\n:1\r\n+tail"), 22);
    }

    #[test]
    fn every_split_point_gives_the_same_reply() {
        let frame: &[u8] = b"*3\r\n$5\r\nhello\r\n*2\r\n:1\r\n$-1\r\n-ERR no\r\n";
        let whole = nodes_of(frame);
        for cut in 0..frame.len() {
            let mut s = ReplyScanner::new();
            match s.scan(&frame[..cut], NO_LIMIT).unwrap() {
                Scan::Incomplete { .. } => {}
                other => panic!("complete at cut {cut}: {other:?}"),
            }
            match s.scan(frame, NO_LIMIT).unwrap() {
                Scan::Complete { len, root, rest } => {
                    assert_eq!(len, frame.len(), "cut {cut}");
                    assert_eq!(std::iter::once(root).chain(rest).collect::<Vec<_>>(), whole);
                }
                other => panic!("cut {cut}: {other:?}"),
            }
        }
        // and one byte at a time
        let mut s = ReplyScanner::new();
        for n in 1..frame.len() {
            assert!(matches!(s.scan(&frame[..n], NO_LIMIT).unwrap(), Scan::Incomplete { .. }));
        }
        assert!(matches!(s.scan(frame, NO_LIMIT).unwrap(), Scan::Complete { len, .. } if len == frame.len()));
    }

    #[test]
    fn need_is_the_reply_length_once_known() {
        let mut s = ReplyScanner::new();
        assert_eq!(s.scan(b"$10\r\nabc", NO_LIMIT).unwrap(), Scan::Incomplete { need: Some(17) });
        // A bulk string that is the last element of every open array ends the reply.
        let mut s = ReplyScanner::new();
        assert_eq!(s.scan(b"*2\r\n:1\r\n*1\r\n$3\r\na", NO_LIMIT).unwrap(), Scan::Incomplete { need: Some(21) });
        // One that is not: the reply's length is unknown.
        let mut s = ReplyScanner::new();
        assert_eq!(s.scan(b"*2\r\n*1\r\n$3\r\na", NO_LIMIT).unwrap(), Scan::Incomplete { need: None });
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            &b"hello\r\n"[..],
            b"$abc\r\n",
            b"$-2\r\n",
            b"*-2\r\n",
            b":12a\r\n",
            b":\r\n",
            b":-\r\n",
            b"$\r\n",
            b"$3\r\nfooXY",
            b"$99999999999999999999\r\n",
            b"*99999999999999999999\r\n",
            b"*9223372036854775807\r\n",
            b":9223372036854775808\r\n",
            b":-9223372036854775809\r\n",
        ] {
            assert!(scan_all(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn bulk_longer_than_the_limit_fails_at_its_header() {
        let mut s = ReplyScanner::new();
        assert!(matches!(s.scan(b"$10\r\n", 10).unwrap(), Scan::Incomplete { need: Some(17) }));
        let err = ReplyScanner::new().scan(b"$11\r\n", 10).unwrap_err();
        assert!(err.0.contains("limit"), "{err}");
        let err = ReplyScanner::new().scan(b"$9223372036854775807\r\n", 1 << 29).unwrap_err();
        assert!(err.0.contains("limit"), "{err}");
        // Nested, before any of the payload arrives.
        assert!(ReplyScanner::new().scan(b"*2\r\n:1\r\n$1099511627776\r\n", 1 << 29).is_err());
    }

    #[test]
    fn huge_lengths_within_the_limit_are_only_waited_for() {
        let mut s = ReplyScanner::new();
        assert_eq!(
            s.scan(b"$9223372036854775807\r\nab", NO_LIMIT).unwrap(),
            Scan::Incomplete { need: Some(22 + i64::MAX as usize + 2) }
        );
        let mut s = ReplyScanner::new();
        assert_eq!(s.scan(b"*8589934592\r\n:1\r\n", NO_LIMIT).unwrap(), Scan::Incomplete { need: None });
        assert!(s.rest.capacity() <= 4, "no nodes reserved for a claimed count");
    }

    #[test]
    fn deep_nesting_is_scanned_without_recursion() {
        let mut frame = Vec::new();
        for _ in 0..MAX_REPLY_DEPTH {
            frame.extend_from_slice(b"*1\r\n");
        }
        frame.extend_from_slice(b":1\r\n");
        assert_eq!(len_of(&frame), frame.len());
        frame.splice(0..0, b"*1\r\n".iter().copied());
        assert!(scan_all(&frame).unwrap_err().0.contains("deep"));
    }

    #[test]
    fn long_lines_arriving_slowly_are_scanned_linearly() {
        // A 1 MB simple string fed 7 bytes at a time would be quadratic if the CRLF search restarted.
        let mut frame = vec![b'+'];
        frame.extend(std::iter::repeat_n(b'x', 1 << 20));
        frame.extend_from_slice(b"\r\n");
        let mut s = ReplyScanner::new();
        for n in (1..frame.len()).step_by(7) {
            assert!(matches!(s.scan(&frame[..n], NO_LIMIT).unwrap(), Scan::Incomplete { .. }));
        }
        assert!(matches!(s.scan(&frame, NO_LIMIT).unwrap(), Scan::Complete { len, .. } if len == frame.len()));
        // Each call looks at the new bytes plus at most one old one.
        assert!(s.examined < 2 * frame.len(), "examined {} bytes", s.examined);
    }

    #[test]
    fn many_elements_are_scanned_linearly() {
        let n = 100_000;
        let mut frame = format!("*{n}\r\n").into_bytes();
        for i in 0..n {
            frame.extend_from_slice(format!(":{i}\r\n").as_bytes());
        }
        let mut s = ReplyScanner::new();
        let mut done = None;
        for end in (1..=frame.len()).step_by(13).chain([frame.len()]) {
            if let Scan::Complete { len, rest, .. } = s.scan(&frame[..end], NO_LIMIT).unwrap() {
                done = Some((len, rest.len()));
                break;
            }
        }
        assert_eq!(done, Some((frame.len(), n)));
        assert!(s.examined < 3 * frame.len(), "examined {} bytes", s.examined);
    }
}

//! An incremental, linear-time, non-recursive RESP2 frame scanner.
//!
//! `redis-protocol` 6 decodes from the start of its buffer on every call and recurses once per
//! nesting level. Called after every partial read of a large reply it does quadratic work, and
//! a deeply nested reply overflows the stack. The scanner sits in front of it: it remembers how
//! far it got across reads, so every byte is looked at a bounded number of times, and it only
//! reports a frame once the whole frame is in the buffer, together with the frame's depth, so
//! that the decoder is called exactly once per frame and never on a frame nested deeper than
//! it can take.

/// What the scanner found in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// A complete frame occupies `buf[..len]`; its arrays nest `depth` levels deep.
    Complete { len: usize, depth: usize },
    /// More bytes are needed. `hint` is the buffer length the current element needs, when known
    /// (a bulk string's full length), so the reader can reserve it in one step.
    Incomplete { hint: Option<usize> },
}

/// The byte stream is not RESP2: there is no way to find the next frame boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError(pub String);

#[derive(Debug, Default)]
pub struct FrameScanner {
    /// Start of the next element header to read, relative to the frame start.
    pos: usize,
    /// Where to resume looking for the header's CRLF (avoids rescanning a long line).
    line_from: usize,
    /// Length the buffer must reach to hold the bulk string being read, if one is.
    bulk_end: Option<usize>,
    /// Elements still expected by each open array, innermost last.
    open: Vec<u64>,
    /// Deepest nesting seen in the current frame.
    depth: usize,
    /// Bytes examined while searching for line ends (lets tests prove linearity).
    #[cfg(test)]
    examined: usize,
}

impl FrameScanner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Continue scanning `buf`, which starts at the current frame and has only grown since the
    /// previous call (the caller removes a frame from the front only after `Complete`).
    pub fn scan(&mut self, buf: &[u8]) -> Result<Scan, ScanError> {
        loop {
            if let Some(end) = self.bulk_end {
                if buf.len() < end {
                    return Ok(Scan::Incomplete { hint: Some(end) });
                }
                if &buf[end - 2..end] != b"\r\n" {
                    return Err(ScanError("bulk string is not terminated by CRLF".into()));
                }
                self.bulk_end = None;
                self.pos = end;
                if let Some(done) = self.element_done() {
                    return Ok(done);
                }
                continue;
            }

            let start = self.pos;
            if buf.len() <= start {
                return Ok(Scan::Incomplete { hint: None });
            }
            let kind = buf[start];
            if !matches!(kind, b'+' | b'-' | b':' | b'$' | b'*') {
                return Err(ScanError(format!(
                    "unexpected byte 0x{kind:02x} where a reply type was expected"
                )));
            }
            let search_from = self.line_from.max(start + 1);
            #[cfg(test)]
            {
                self.examined += buf.len().saturating_sub(search_from);
            }
            let Some(cr) = find_crlf(buf, search_from) else {
                // Resume at the last byte: it may be the CR of a CRLF split across reads.
                self.line_from = buf.len().saturating_sub(1).max(start + 1);
                return Ok(Scan::Incomplete { hint: None });
            };
            self.line_from = 0;
            let line = &buf[start + 1..cr];
            let after = cr + 2;
            match kind {
                b'+' | b'-' => self.pos = after,
                b':' => {
                    parse_int(line).ok_or_else(|| bad_line("integer", line))?;
                    self.pos = after;
                }
                b'$' => match parse_int(line) {
                    Some(-1) => self.pos = after,
                    Some(n) if n >= 0 => {
                        let end = (n as u64)
                            .checked_add(after as u64 + 2)
                            .filter(|e| *e <= usize::MAX as u64)
                            .ok_or_else(|| bad_line("bulk length", line))?;
                        self.bulk_end = Some(end as usize);
                        continue;
                    }
                    _ => return Err(bad_line("bulk length", line)),
                },
                _ => match parse_int(line) {
                    Some(-1) | Some(0) => self.pos = after,
                    Some(n) if n > 0 => {
                        self.pos = after;
                        self.open.push(n as u64);
                        self.depth = self.depth.max(self.open.len());
                        continue;
                    }
                    _ => return Err(bad_line("array length", line)),
                },
            }
            if let Some(done) = self.element_done() {
                return Ok(done);
            }
        }
    }

    /// Account for one finished element; returns `Complete` when it closed the whole frame.
    fn element_done(&mut self) -> Option<Scan> {
        while let Some(left) = self.open.last_mut() {
            *left -= 1;
            if *left > 0 {
                return None;
            }
            self.open.pop();
        }
        let done = Scan::Complete { len: self.pos, depth: self.depth };
        self.pos = 0;
        self.line_from = 0;
        self.depth = 0;
        Some(done)
    }
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < buf.len() {
        match memchr_cr(&buf[i..buf.len() - 1]) {
            Some(off) => {
                let at = i + off;
                if buf[at + 1] == b'\n' {
                    return Some(at);
                }
                i = at + 1;
            }
            None => return None,
        }
    }
    None
}

#[inline]
fn memchr_cr(hay: &[u8]) -> Option<usize> {
    hay.iter().position(|b| *b == b'\r')
}

fn parse_int(line: &[u8]) -> Option<i64> {
    let (neg, digits) = match line.first() {
        Some(b'-') => (true, &line[1..]),
        Some(b'+') => (false, &line[1..]),
        _ => (false, line),
    };
    if digits.is_empty() || digits.len() > 19 {
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

fn bad_line(what: &str, line: &[u8]) -> ScanError {
    let shown = String::from_utf8_lossy(&line[..line.len().min(40)]).into_owned();
    ScanError(format!("invalid {what} in reply header: {shown:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(bytes: &[u8]) -> Result<Scan, ScanError> {
        FrameScanner::new().scan(bytes)
    }

    #[test]
    fn finds_each_kind_of_frame() {
        assert_eq!(scan_all(b"+OK\r\n"), Ok(Scan::Complete { len: 5, depth: 0 }));
        assert_eq!(scan_all(b"-ERR x\r\n+OK\r\n"), Ok(Scan::Complete { len: 8, depth: 0 }));
        assert_eq!(scan_all(b":-12\r\n"), Ok(Scan::Complete { len: 6, depth: 0 }));
        assert_eq!(scan_all(b":-9223372036854775808\r\n"), Ok(Scan::Complete { len: 23, depth: 0 }));
        assert_eq!(scan_all(b":9223372036854775807\r\n"), Ok(Scan::Complete { len: 22, depth: 0 }));
        assert_eq!(scan_all(b"$3\r\nfoo\r\n"), Ok(Scan::Complete { len: 9, depth: 0 }));
        assert_eq!(scan_all(b"$-1\r\n"), Ok(Scan::Complete { len: 5, depth: 0 }));
        assert_eq!(scan_all(b"*-1\r\n"), Ok(Scan::Complete { len: 5, depth: 0 }));
        assert_eq!(scan_all(b"*0\r\n"), Ok(Scan::Complete { len: 4, depth: 0 }));
        assert_eq!(
            scan_all(b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n+tail"),
            Ok(Scan::Complete { len: 19, depth: 2 })
        );
    }

    #[test]
    fn every_split_point_gives_the_same_frame() {
        let frame: &[u8] = b"*3\r\n$5\r\nhello\r\n*2\r\n:1\r\n$-1\r\n-ERR no\r\n";
        for cut in 0..frame.len() {
            let mut s = FrameScanner::new();
            match s.scan(&frame[..cut]).unwrap() {
                Scan::Incomplete { .. } => {}
                other => panic!("complete at cut {cut}: {other:?}"),
            }
            assert_eq!(
                s.scan(frame).unwrap(),
                Scan::Complete { len: frame.len(), depth: 2 },
                "cut {cut}"
            );
        }
        // and one byte at a time
        let mut s = FrameScanner::new();
        for n in 1..frame.len() {
            assert!(matches!(s.scan(&frame[..n]).unwrap(), Scan::Incomplete { .. }));
        }
        assert_eq!(s.scan(frame).unwrap(), Scan::Complete { len: frame.len(), depth: 2 });
    }

    #[test]
    fn bulk_hint_is_the_whole_length() {
        let mut s = FrameScanner::new();
        assert_eq!(s.scan(b"$10\r\nabc").unwrap(), Scan::Incomplete { hint: Some(17) });
    }

    #[test]
    fn rejects_garbage() {
        assert!(scan_all(b"hello\r\n").is_err());
        assert!(scan_all(b"$abc\r\n").is_err());
        assert!(scan_all(b"$-2\r\n").is_err());
        assert!(scan_all(b"*-2\r\n").is_err());
        assert!(scan_all(b":12a\r\n").is_err());
        assert!(scan_all(b"$3\r\nfooXY").is_err());
        assert!(scan_all(b"$99999999999999999999\r\n").is_err());
        assert!(scan_all(b":9223372036854775808\r\n").is_err());
        assert!(scan_all(b":-9223372036854775809\r\n").is_err());
    }

    #[test]
    fn deep_nesting_is_scanned_without_recursion() {
        let depth = 200_000;
        let mut frame = Vec::new();
        for _ in 0..depth {
            frame.extend_from_slice(b"*1\r\n");
        }
        frame.extend_from_slice(b":1\r\n");
        assert_eq!(scan_all(&frame), Ok(Scan::Complete { len: frame.len(), depth }));
    }

    #[test]
    fn long_lines_arriving_slowly_are_scanned_linearly() {
        // A 1 MB simple string fed 1 byte at a time would be quadratic if the CRLF search restarted.
        let mut frame = vec![b'+'];
        frame.extend(std::iter::repeat_n(b'x', 1 << 20));
        frame.extend_from_slice(b"\r\n");
        let mut s = FrameScanner::new();
        for n in (1..frame.len()).step_by(7) {
            assert!(matches!(s.scan(&frame[..n]).unwrap(), Scan::Incomplete { .. }));
        }
        assert_eq!(s.scan(&frame).unwrap(), Scan::Complete { len: frame.len(), depth: 0 });
        // Each call looks at the new bytes plus at most one old one.
        assert!(s.examined < 2 * frame.len(), "examined {} bytes", s.examined);
    }
}

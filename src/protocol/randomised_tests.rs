//! Randomised tests of the reply decoder against an independent decoder (`redis-protocol`).
//!
//! The inputs come from a small deterministic PRNG with fixed seeds rather than from a
//! property-testing crate: every CI run checks exactly the same cases on stable Rust with no
//! new dependency, and a failure names the seed and the stream that reproduce it. Set
//! `FIOR_RANDOM_ROUNDS` to run more rounds (with fresh seeds) locally.
//!
//! Three properties:
//! - valid streams (any nesting, binary bulks full of CR/LF/NUL, nils, empty arrays, empty
//!   errors, extreme integers), split at random boundaries and at every boundary when short,
//!   decode to exactly the frames `redis-protocol` finds, in order;
//! - mutated streams (truncated, flipped or inserted bytes, wrong and huge lengths, bad type
//!   bytes) never panic, never make the read buffer outgrow the bytes fed, and only ever yield
//!   replies that `redis-protocol` decodes identically at the same offset, possibly followed by
//!   a protocol error;
//! - the read buffer stays bounded while a header claims more than ever arrives.

use super::{Decoder, Node, ProtocolError, Reply, DEFAULT_MAX_BULK_LEN};
use redis_protocol::resp2::decode::decode_range;
use redis_protocol::resp2::types::RangeFrame;

/// splitmix64: tiny, fast, and good enough to pick test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// A value, flattened in pre-order like `Reply`, with the bytes themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Flat {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Integer(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(usize),
}

fn flat_of_reply(r: &Reply) -> Vec<Flat> {
    r.nodes()
        .map(|n| match n {
            Node::Simple(x) => Flat::Simple(r.bytes(x).to_vec()),
            Node::Error(x) => Flat::Error(r.bytes(x).to_vec()),
            Node::Integer(i) => Flat::Integer(*i),
            Node::Bulk(x) => Flat::Bulk(r.bytes(x).to_vec()),
            Node::Nil => Flat::Nil,
            Node::Array(n) => Flat::Array(*n),
        })
        .collect()
}

/// The oracle's first frame of `buf`, flattened, and its length: `Ok(None)` when incomplete.
fn oracle(buf: &[u8]) -> Result<Option<(Vec<Flat>, usize)>, String> {
    let Some((frame, used)) = decode_range(buf).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    let mut stack = vec![frame];
    while let Some(f) = stack.pop() {
        out.push(match f {
            RangeFrame::SimpleString((s, e)) => Flat::Simple(buf[s..e].to_vec()),
            RangeFrame::Error((s, e)) => Flat::Error(buf[s..e].to_vec()),
            RangeFrame::Integer(i) => Flat::Integer(i),
            RangeFrame::BulkString((s, e)) => Flat::Bulk(buf[s..e].to_vec()),
            RangeFrame::Null => Flat::Nil,
            RangeFrame::Array(items) => {
                let n = items.len();
                stack.extend(items.into_iter().rev());
                Flat::Array(n)
            }
        });
    }
    Ok(Some((out, used)))
}

/// Bytes for a simple string or error line: anything but CR and LF.
fn line_bytes(rng: &mut Rng, out: &mut Vec<u8>) {
    let n = rng.pick(&[0, 0, 1, 3, 8, 20]);
    for _ in 0..n {
        let b = rng.pick(b"ab Z09-+:$*\x00\xff\t");
        out.push(b);
    }
}

/// Bulk payloads: binary, biased towards bytes that look like protocol (CR, LF, NUL, types).
fn bulk_bytes(rng: &mut Rng) -> Vec<u8> {
    let n = if rng.one_in(12) { rng.below(6000) } else { rng.pick(&[0, 1, 2, 3, 5, 13, 40]) };
    (0..n)
        .map(|_| if rng.one_in(2) { rng.pick(b"\r\n\0$*:+-") } else { rng.next() as u8 })
        .collect()
}

/// Append one random, valid RESP2 frame.
fn gen_frame(rng: &mut Rng, depth: usize, out: &mut Vec<u8>) {
    let kind = if depth >= 6 { rng.below(7) } else { rng.below(10) };
    match kind {
        0 => {
            out.push(b'+');
            line_bytes(rng, out);
            out.extend_from_slice(b"\r\n");
        }
        1 => {
            out.push(b'-');
            if !rng.one_in(3) {
                out.extend_from_slice(rng.pick(&[&b"ERR"[..], b"WRONGTYPE", b"NOSCRIPT"]));
                if rng.one_in(2) {
                    out.push(b' ');
                    line_bytes(rng, out);
                }
            } // else the empty error: "-\r\n"
            out.extend_from_slice(b"\r\n");
        }
        2 => {
            let i = if rng.one_in(2) {
                rng.pick(&[i64::MIN, i64::MAX, 0, -1, 1, i64::MIN + 1, i64::MAX - 1])
            } else {
                rng.next() as i64 >> rng.below(64)
            };
            out.extend_from_slice(format!(":{i}\r\n").as_bytes());
        }
        3 | 4 => {
            let data = bulk_bytes(rng);
            out.extend_from_slice(format!("${}\r\n", data.len()).as_bytes());
            out.extend_from_slice(&data);
            out.extend_from_slice(b"\r\n");
        }
        5 => out.extend_from_slice(b"$-1\r\n"),
        6 => out.extend_from_slice(rng.pick(&[&b"*-1\r\n"[..], b"*0\r\n"])),
        7 if rng.one_in(4) => {
            // A chain of one-element arrays.
            let chain = 1 + rng.below(60);
            for _ in 0..chain {
                out.extend_from_slice(b"*1\r\n");
            }
            gen_frame(rng, depth + chain, out);
        }
        _ => {
            let n = rng.below(6);
            out.extend_from_slice(format!("*{n}\r\n").as_bytes());
            for _ in 0..n {
                gen_frame(rng, depth + 1, out);
            }
        }
    }
}

fn gen_stream(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(6) {
        gen_frame(rng, 0, &mut out);
    }
    out
}

/// Random cut points: sorted, inside the stream, possibly repeated (an empty read).
fn random_cuts(rng: &mut Rng, len: usize) -> Vec<usize> {
    let n = match rng.below(4) {
        0 => 0,
        1 => rng.below(4),
        2 => rng.below(len / 8 + 2),
        _ => rng.below(len + 1),
    };
    let mut cuts: Vec<usize> = (0..n).map(|_| rng.below(len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

struct Outcome {
    replies: Vec<Reply>,
    error: Option<ProtocolError>,
}

/// Feed `stream` cut at `cuts`, the way the engine does: ask `read_buf` for room with the last
/// hint, append at most `read_size` bytes, decode every complete reply. Checks after each
/// append that the buffer is bounded by what was fed, whatever any header claims.
fn run(stream: &[u8], cuts: &[usize], read_size: usize, max_bulk: usize) -> Outcome {
    let mut d = Decoder::with_limits(read_size, max_bulk);
    let mut hint = None;
    let mut replies = Vec::new();
    let mut fed = 0;
    let mut from = 0;
    for to in cuts.iter().copied().chain([stream.len()]) {
        loop {
            // A repeated cut is an empty read: decoding is asked again with nothing new.
            let end = to.min(from + read_size);
            d.read_buf(hint).extend_from_slice(&stream[from..end]);
            fed += end - from;
            from = end;
            let cap = d.capacity();
            assert!(cap <= 2 * fed + read_size, "capacity {cap} after {fed} bytes fed");
            loop {
                match d.next_reply() {
                    Ok(Ok(r)) => replies.push(r),
                    Ok(Err(h)) => {
                        hint = h;
                        break;
                    }
                    Err(e) => {
                        assert_eq!(d.next_reply(), Err(e.clone()), "errors are sticky");
                        return Outcome { replies, error: Some(e) };
                    }
                }
            }
            if from >= to {
                break;
            }
        }
    }
    Outcome { replies, error: None }
}

/// Every reply decoded must be what the oracle decodes at the same offset; returns the offset
/// after the last one.
fn check_prefix_consistent(stream: &[u8], replies: &[Reply], what: &dyn Fn() -> String) -> usize {
    let mut off = 0;
    for (i, r) in replies.iter().enumerate() {
        let ours = flat_of_reply(r);
        match oracle(&stream[off..]) {
            Ok(Some((theirs, used))) => {
                assert_eq!(ours, theirs, "reply {i} at offset {off}: {}", what());
                off += used;
            }
            other => panic!("reply {i} at offset {off}: we decoded {ours:?}, oracle {other:?}: {}", what()),
        }
    }
    off
}

fn show(stream: &[u8]) -> String {
    let shown: String = stream.iter().take(300).flat_map(|b| std::ascii::escape_default(*b)).map(char::from).collect();
    format!("{} bytes: b\"{shown}\"", stream.len())
}

fn rounds(default: usize) -> usize {
    std::env::var("FIOR_RANDOM_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn seed_base() -> u64 {
    match std::env::var("FIOR_RANDOM_ROUNDS") {
        Ok(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
        Err(_) => 0x5EED_F10A,
    }
}

#[test]
fn valid_streams_decode_like_the_oracle_at_any_split() {
    let base = seed_base();
    for round in 0..rounds(1500) as u64 {
        let seed = base + round;
        let mut rng = Rng(seed);
        let stream = gen_stream(&mut rng);
        let what = || format!("seed {seed}, {}", show(&stream));

        // The oracle's frames, one after the other, cover the whole stream.
        let mut expected = Vec::new();
        let mut off = 0;
        while off < stream.len() {
            let (flat, used) = oracle(&stream[off..]).unwrap().unwrap();
            expected.push(flat);
            off += used;
        }

        let read_size = rng.pick(&[512, 700, 4096, 64 << 10]);
        let mut splits = vec![random_cuts(&mut rng, stream.len()), random_cuts(&mut rng, stream.len())];
        if stream.len() <= 96 {
            splits.extend((0..=stream.len()).map(|cut| vec![cut]));
        }
        for cuts in &splits {
            let out = run(&stream, cuts, read_size, DEFAULT_MAX_BULK_LEN);
            assert_eq!(out.error, None, "cuts {cuts:?}: {}", what());
            let got: Vec<_> = out.replies.iter().map(flat_of_reply).collect();
            assert_eq!(got, expected, "cuts {cuts:?}: {}", what());
            for r in &out.replies {
                // Each reply keeps alive at most about twice the whole stream, never a
                // read buffer's worth for a small reply.
                assert!(r.retained_bytes() <= 2 * stream.len() + r.node_count() * 64, "{}", what());
            }
        }
    }
}

/// Headers that lie about lengths, including far past what could ever arrive.
const BAD_HEADERS: &[&[u8]] = &[
    b"$9223372036854775807\r\n",
    b"$9223372036854775808\r\n",
    b"$18446744073709551616\r\n",
    b"$99999999999999999999999\r\n",
    b"$1099511627776\r\n",
    b"$8589934592\r\n",
    b"$536870912\r\n",
    b"$536870913\r\n",
    b"$100\r\n",
    b"$-2\r\n",
    b"$-9223372036854775808\r\n",
    b"$\r\n",
    b"*9223372036854775807\r\n",
    b"*8589934592\r\n",
    b"*8589934593\r\n",
    b"*4294967296\r\n",
    b"*-2\r\n",
    b"*3\r\n",
    b":9223372036854775808\r\n",
    b":-9223372036854775809\r\n",
    b":\r\n",
    b"?\r\n",
    b"\r\n",
];

fn mutate(rng: &mut Rng, stream: &mut Vec<u8>) {
    match rng.below(7) {
        0 => {
            let at = rng.below(stream.len() + 1);
            stream.truncate(at);
        }
        1 if !stream.is_empty() => {
            let at = rng.below(stream.len());
            stream[at] ^= 1 + rng.below(255) as u8;
        }
        2 if !stream.is_empty() => {
            let at = rng.below(stream.len());
            stream[at] = rng.pick(b"\r\n+-:$*0159x\0");
        }
        3 => {
            let at = rng.below(stream.len() + 1);
            stream.insert(at, rng.pick(b"\r\n+-:$*0x"));
        }
        4 if !stream.is_empty() => {
            let at = rng.below(stream.len());
            stream.remove(at);
        }
        5 => {
            // A lying header where a frame could start (or anywhere).
            let at = rng.below(stream.len() + 1);
            let header = rng.pick(BAD_HEADERS);
            stream.splice(at..at, header.iter().copied());
        }
        _ => {
            // Change the digits of an existing length header.
            let headers: Vec<usize> = (0..stream.len().saturating_sub(1))
                .filter(|&i| matches!(stream[i], b'$' | b'*') && stream[i + 1] != b'\r')
                .collect();
            if headers.is_empty() {
                return;
            }
            let at = rng.pick(&headers) + 1;
            let end = (at..stream.len()).find(|&i| stream[i] == b'\r').unwrap_or(stream.len());
            let digits: &[u8] = rng.pick(&[
                &b"9223372036854775807"[..],
                b"1099511627776",
                b"0",
                b"1",
                b"-1",
                b"-5",
                b"4294967297",
                b"99999999999999999999",
            ]);
            stream.splice(at..end, digits.iter().copied());
        }
    }
}

#[test]
fn mutated_streams_never_panic_and_only_yield_what_the_oracle_decodes() {
    let base = seed_base() ^ 0xDEAD_BEEF;
    let mut errors = 0;
    for round in 0..rounds(2000) as u64 {
        let seed = base + round;
        let mut rng = Rng(seed);
        let mut stream = gen_stream(&mut rng);
        for _ in 0..1 + rng.below(3) {
            mutate(&mut rng, &mut stream);
        }
        let what = || format!("seed {seed}, {}", show(&stream));
        let read_size = rng.pick(&[512, 1000, 16 << 10]);
        let max_bulk = rng.pick(&[DEFAULT_MAX_BULK_LEN, usize::MAX, 64]);
        let mut splits = vec![random_cuts(&mut rng, stream.len())];
        if stream.len() <= 40 {
            splits.extend((0..=stream.len()).map(|cut| vec![cut]));
        }
        let mut first: Option<(Vec<Vec<Flat>>, Option<ProtocolError>)> = None;
        for cuts in &splits {
            let out = std::panic::catch_unwind(|| run(&stream, cuts, read_size, max_bulk))
                .unwrap_or_else(|_| panic!("panicked: cuts {cuts:?}, {}", what()));
            let off = check_prefix_consistent(&stream, &out.replies, &|| format!("cuts {cuts:?}, {}", what()));
            if out.error.is_none() {
                // Waiting for more: the oracle must not see a complete frame we missed.
                if let Ok(Some(found)) = oracle(&stream[off..]) {
                    panic!("we wait at offset {off}, oracle decodes {found:?}: {}", what());
                }
            } else {
                errors += 1;
            }
            // Where the reads are cut does not change the outcome.
            let flat: Vec<_> = out.replies.iter().map(flat_of_reply).collect();
            match &first {
                None => first = Some((flat, out.error)),
                Some((f, e)) => {
                    assert_eq!(&flat, f, "cuts {cuts:?}: {}", what());
                    assert_eq!(out.error.is_some(), e.is_some(), "cuts {cuts:?}: {}", what());
                }
            }
        }
    }
    assert!(errors > 200, "the mutations should make many streams invalid ({errors})");
}

#[test]
fn claimed_lengths_reserve_nothing_while_bytes_trickle_in() {
    for header in BAD_HEADERS.iter().chain([&&b"*2\r\n:1\r\n$9223372036854775807\r\n"[..]]) {
        for max_bulk in [DEFAULT_MAX_BULK_LEN, usize::MAX] {
            let mut stream = header.to_vec();
            stream.extend(std::iter::repeat_n(b'x', 100_000));
            let cuts: Vec<usize> = (header.len()..stream.len()).step_by(997).collect();
            // `run` asserts the bound after every read; what comes out is an error or a wait.
            let out = run(&stream, &cuts, 4096, max_bulk);
            assert!(out.replies.len() <= 1, "{}", show(header));
        }
    }
}

#[test]
fn a_decoder_reset_after_an_error_decodes_a_fresh_stream() {
    let mut rng = Rng(7);
    let mut d = Decoder::new(512);
    for _ in 0..200 {
        d.read_buf(None).extend_from_slice(b"$1099511627776\r\nxx");
        assert!(d.next_reply().is_err());
        d.reset();
        let stream = gen_stream(&mut rng);
        let mut hint = None;
        let mut got = Vec::new();
        for chunk in stream.chunks(512) {
            d.read_buf(hint).extend_from_slice(chunk);
            while let Ok(r) = d.next_reply().unwrap().map_err(|h| hint = h) {
                got.push(r);
            }
        }
        assert_eq!(check_prefix_consistent(&stream, &got, &|| show(&stream)), stream.len());
        assert_eq!(d.buffered(), 0);
        d.reset();
    }
}

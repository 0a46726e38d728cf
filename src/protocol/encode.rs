//! Encoding a command (an array of binary-safe arguments) as a RESP2 array of bulk strings.
//!
//! Written by hand rather than through `redis-protocol`'s frame encoder: the arguments arrive as
//! borrowed byte slices, and building `BytesFrame`s first would allocate once per argument.

/// Number of bytes `encode_command` produces for these arguments.
pub fn encoded_len<A: AsRef<[u8]>>(args: &[A]) -> usize {
    let mut n = 1 + decimal_len(args.len() as u64) + 2;
    for a in args {
        let l = a.as_ref().len();
        n += 1 + decimal_len(l as u64) + 2 + l + 2;
    }
    n
}

/// Encode `args` as `*N\r\n$len\r\narg\r\n...`, in one allocation of exactly the right size.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(args));
    out.push(b'*');
    push_decimal(&mut out, args.len() as u64);
    out.extend_from_slice(b"\r\n");
    for a in args {
        let a = a.as_ref();
        out.push(b'$');
        push_decimal(&mut out, a.len() as u64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

fn push_decimal(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_arrays_of_bulk_strings() {
        let enc = encode_command(&[&b"SET"[..], b"k", b""]);
        assert_eq!(enc, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
        assert_eq!(encoded_len(&[&b"SET"[..], b"k", b""]), enc.len());
    }

    #[test]
    fn binary_and_long_arguments_keep_exact_lengths() {
        let big = vec![0u8; 12345];
        let enc = encode_command(&[&b"SET"[..], b"\x00\r\n", &big]);
        assert!(enc.starts_with(b"*3\r\n$3\r\nSET\r\n$3\r\n\x00\r\n\r\n$12345\r\n"));
        assert_eq!(enc.len(), encoded_len(&[&b"SET"[..], b"\x00\r\n", &big]));
    }
}

//! Writes to a socket that never raise SIGPIPE.
//!
//! Writing to a stream socket the peer has closed raises SIGPIPE, whose default action ends
//! the process. Rust programs ignore SIGPIPE from `main`, but this engine runs inside perl,
//! where it is left as the application set it (usually the default): a server that closes the
//! connection while a command is being written would end the application instead of failing
//! the command. Every write to a socket goes through `send`/`sendmsg` with `MSG_NOSIGNAL`
//! (Linux and the BSDs), so that the write fails with `EPIPE` instead. std's `TcpStream::write`
//! already does this; its `write_vectored` and every `UnixStream` write do not.

use std::io::{self, IoSlice, Write};
use std::os::fd::AsFd;

#[cfg(any(target_os = "macos", target_os = "ios"))]
const FLAGS: libc::c_int = 0; // no MSG_NOSIGNAL: SO_NOSIGPIPE is set on the socket instead
#[cfg(not(any(target_os = "macos", target_os = "ios")))]
const FLAGS: libc::c_int = libc::MSG_NOSIGNAL;

/// A `Write` over a borrowed socket whose writes never raise SIGPIPE.
pub struct NoSignal<'a, S: AsFd>(pub &'a S);

impl<S: AsFd> Write for NoSignal<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        socket2::SockRef::from(self.0).send_with_flags(buf, FLAGS)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        socket2::SockRef::from(self.0).send_vectored_with_flags(bufs, FLAGS)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where sends have no flag for it (macOS), the socket itself is told not to raise SIGPIPE.
pub fn prepare<S: AsFd>(_sock: &S) {
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    let _ = socket2::SockRef::from(_sock).set_nosigpipe(true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    // The test binary ignores SIGPIPE (Rust's runtime does), so this checks the error, which
    // is what the engine sees: EPIPE, not a signal.
    #[test]
    fn writing_to_a_closed_peer_fails_with_broken_pipe() {
        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        let err = NoSignal(&a).write(b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        let err = NoSignal(&a).write_vectored(&[IoSlice::new(b"x"), IoSlice::new(b"y")]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn writes_arrive_in_order() {
        let (a, mut b) = UnixStream::pair().unwrap();
        assert_eq!(NoSignal(&a).write(b"ab").unwrap(), 2);
        assert_eq!(NoSignal(&a).write_vectored(&[IoSlice::new(b"cd"), IoSlice::new(b"e")]).unwrap(), 3);
        let mut got = [0u8; 5];
        b.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"abcde");
    }
}

//! The two wake-up paths between threads, each coalesced by a flag so that a burst of work
//! costs one wake-up:
//! - [`Wake`]: Perl thread (and resolver threads) → IO thread, a nonblocking pipe in the poll set;
//! - [`Notify`]: IO thread → Perl's event loop, an eventfd (a pipe off Linux) Perl watches.

use super::fds::FdRegistry;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct Wake {
    tx: mio::unix::pipe::Sender,
    pending: AtomicBool,
}

impl Wake {
    /// A wake pipe; the receiver goes into the IO thread's poll set.
    pub fn new(fds: &FdRegistry) -> io::Result<(Wake, mio::unix::pipe::Receiver)> {
        let (tx, rx) = mio::unix::pipe::new()?;
        fds.mark(tx.as_raw_fd());
        fds.mark(rx.as_raw_fd());
        Ok((Wake { tx, pending: AtomicBool::new(false) }, rx))
    }

    /// Make sure the IO thread looks at its queues soon. Only the first call after the IO
    /// thread's last `acknowledge` writes to the pipe.
    pub fn wake(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            // A full pipe is already readable: nothing is lost when this write fails.
            let _ = (&self.tx).write(&[1]);
        }
    }

    /// Called by the IO thread before it drains its queues.
    pub fn acknowledge(&self, rx: &mut mio::unix::pipe::Receiver) {
        let mut sink = [0u8; 256];
        // A short read emptied the pipe (each wake-up writes one byte, at most a few wait).
        while matches!(rx.read(&mut sink), Ok(n) if n == sink.len()) {}
        self.pending.store(false, Ordering::Release);
    }
}

/// The notify fd: an eventfd on Linux (one descriptor, one 8-byte counter), a pipe elsewhere.
/// Left blocking: Perl reads it only when its loop says it is readable, and Future::IO's
/// default implementation expects a blocking handle.
pub struct Notify {
    #[cfg(target_os = "linux")]
    fd: nix::sys::eventfd::EventFd,
    #[cfg(not(target_os = "linux"))]
    rx: std::io::PipeReader,
    #[cfg(not(target_os = "linux"))]
    tx: std::io::PipeWriter,
    flagged: AtomicBool,
}

impl Notify {
    #[cfg(target_os = "linux")]
    pub fn new(fds: &FdRegistry) -> io::Result<Notify> {
        use nix::sys::eventfd::{EfdFlags, EventFd};
        let fd = EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC).map_err(io::Error::from)?;
        fds.mark(fd.as_raw_fd());
        Ok(Notify { fd, flagged: AtomicBool::new(false) })
    }

    #[cfg(not(target_os = "linux"))]
    pub fn new(fds: &FdRegistry) -> io::Result<Notify> {
        let (rx, tx) = std::io::pipe()?;
        fds.mark(rx.as_raw_fd());
        fds.mark(tx.as_raw_fd());
        Ok(Notify { rx, tx, flagged: AtomicBool::new(false) })
    }

    /// The descriptor Perl waits on (readable when completions wait).
    pub fn read_fd(&self) -> i32 {
        #[cfg(target_os = "linux")]
        return self.fd.as_raw_fd();
        #[cfg(not(target_os = "linux"))]
        return self.rx.as_raw_fd();
    }

    fn poke(&self) {
        #[cfg(target_os = "linux")]
        let _ = self.fd.write(1);
        #[cfg(not(target_os = "linux"))]
        let _ = (&self.tx).write(&[1]);
    }

    /// Completions wait: make the fd readable unless it already is.
    pub fn signal(&self) {
        if !self.flagged.swap(true, Ordering::AcqRel) {
            self.poke();
        }
    }

    /// Wake Perl regardless of the flag (the IO thread is going away).
    pub fn signal_always(&self) {
        self.flagged.store(true, Ordering::Release);
        self.poke();
    }

    /// Called by the Perl side after reading the fd and before draining completions.
    pub fn clear(&self) {
        self.flagged.store(false, Ordering::Release);
    }
}

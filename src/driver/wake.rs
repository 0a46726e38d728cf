//! The two sources in the engine's Poll that are not sockets:
//! - [`Wake`]: makes the Poll fd readable on demand, so that Perl's event loop comes back for
//!   another turn (work left for "the next turn", completions produced outside a turn, a name
//!   resolved on the helper thread). An eventfd on Linux, a pipe elsewhere.
//! - [`Timer`]: fires at the earliest deadline of every connection. A timerfd on Linux. Other
//!   systems have no timer descriptor that mio can watch: there `Timer::fd_backed` is false and
//!   the Perl side waits for `Engine::next_timeout` itself (a Future::IO sleep beside the wait on
//!   the Poll fd).
//!
//! Both are registered edge-triggered, like every mio source: each `wake` or expiry is one edge.

use super::fds::FdRegistry;
use mio::{Interest, Registry, Token};
use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub struct Wake {
    #[cfg(target_os = "linux")]
    fd: nix::sys::eventfd::EventFd,
    #[cfg(not(target_os = "linux"))]
    tx: mio::unix::pipe::Sender,
    #[cfg(not(target_os = "linux"))]
    rx: mio::unix::pipe::Receiver,
    /// A wake-up is pending (written and not yet seen by a turn): later ones are free.
    pending: AtomicBool,
}

impl Wake {
    #[cfg(target_os = "linux")]
    pub fn new(registry: &Registry, token: Token, fds: &FdRegistry) -> io::Result<Wake> {
        use nix::sys::eventfd::{EfdFlags, EventFd};
        let fd = EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(io::Error::from)?;
        fds.mark(fd.as_raw_fd());
        registry.register(&mut mio::unix::SourceFd(&fd.as_raw_fd()), token, Interest::READABLE)?;
        Ok(Wake { fd, pending: AtomicBool::new(false) })
    }

    #[cfg(not(target_os = "linux"))]
    pub fn new(registry: &Registry, token: Token, fds: &FdRegistry) -> io::Result<Wake> {
        let (tx, mut rx) = mio::unix::pipe::new()?;
        fds.mark(tx.as_raw_fd());
        fds.mark(rx.as_raw_fd());
        registry.register(&mut rx, token, Interest::READABLE)?;
        Ok(Wake { tx, rx, pending: AtomicBool::new(false) })
    }

    /// Make the Poll fd readable soon. Only the first call after the last `seen` writes.
    /// Callable from any thread (the resolver helper uses it).
    pub fn wake(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            self.poke();
        }
    }

    #[cfg(target_os = "linux")]
    fn poke(&self) {
        // Each write to an eventfd is a new edge for epoll; the counter itself is never read
        // (it cannot overflow: at most one write per turn).
        let _ = self.fd.write(1);
    }

    #[cfg(not(target_os = "linux"))]
    fn poke(&self) {
        use std::io::Write;
        let _ = (&self.tx).write(&[1]);
    }

    /// A turn saw the wake-up (or is about to do what it asked for).
    pub fn seen(&self) {
        #[cfg(not(target_os = "linux"))]
        {
            use std::io::Read;
            let mut sink = [0u8; 64];
            while matches!((&self.rx).read(&mut sink), Ok(n) if n == sink.len()) {}
        }
        self.pending.store(false, Ordering::Release);
    }
}

pub struct Timer {
    #[cfg(target_os = "linux")]
    fd: nix::sys::timerfd::TimerFd,
    /// When the timer is set to fire (it may be earlier than any deadline still alive: a timer
    /// that fires for nothing costs one turn, re-arming on every change would cost a syscall
    /// per command).
    armed: Option<Instant>,
}

impl Timer {
    #[cfg(target_os = "linux")]
    pub fn new(registry: &Registry, token: Token, fds: &FdRegistry) -> io::Result<Timer> {
        use nix::sys::timerfd::{ClockId, TimerFd, TimerFlags};
        let fd = TimerFd::new(ClockId::CLOCK_MONOTONIC, TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC)
            .map_err(io::Error::from)?;
        let raw = std::os::fd::AsFd::as_fd(&fd).as_raw_fd();
        fds.mark(raw);
        registry.register(&mut mio::unix::SourceFd(&raw), token, Interest::READABLE)?;
        Ok(Timer { fd, armed: None })
    }

    #[cfg(not(target_os = "linux"))]
    pub fn new(_registry: &Registry, _token: Token, _fds: &FdRegistry) -> io::Result<Timer> {
        Ok(Timer { armed: None })
    }

    /// Whether the Poll fd becomes readable by itself at the earliest deadline.
    pub fn fd_backed(&self) -> bool {
        cfg!(target_os = "linux")
    }

    /// The timer fired (a turn saw its event): it is no longer armed.
    pub fn fired(&mut self) {
        self.armed = None;
    }

    /// Make sure the timer fires no later than `at` (None: no deadline at all). Lazy: a timer
    /// set for a deadline that went away (its reply came) is left to fire for nothing, once,
    /// rather than cleared and set again around every command (two syscalls per command).
    /// Setting the timer also clears an expiry not yet seen.
    pub fn arm(&mut self, at: Option<Instant>, now: Instant) {
        match (at, self.armed) {
            (None, _) => {}
            (Some(at), Some(armed)) if armed <= at && armed > now => {}
            (Some(at), _) => {
                // A deadline already due still needs an expiry: fire as soon as possible.
                let after = at.saturating_duration_since(now).max(Duration::from_micros(1));
                self.set(after);
                self.armed = Some(at);
            }
        }
    }

    #[cfg(target_os = "linux")]
    fn set(&self, after: Duration) {
        use nix::sys::time::TimeSpec;
        use nix::sys::timerfd::{Expiration, TimerSetTimeFlags};
        let _ = self.fd.set(Expiration::OneShot(TimeSpec::from_duration(after)), TimerSetTimeFlags::empty());
    }

    #[cfg(not(target_os = "linux"))]
    fn set(&self, _after: Duration) {}
}

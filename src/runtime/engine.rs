//! The Perl thread's handle on the IO thread.

use super::fds::FdRegistry;
use super::io_thread::IoThread;
use super::outstanding::Outstanding;
use super::transport::TlsClient;
use super::signal::{Notify, Wake};
use crate::conn::{Completion, ConnConfig, Request};
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Work for the IO thread.
pub enum Submission {
    Open { conn: u64, config: Box<ConnConfig>, tls: Option<TlsClient> },
    Connect { conn: u64, token: u64 },
    Command { conn: u64, request: Request },
    Commands { conn: u64, requests: Vec<Request> },
    Close { conn: u64, token: Option<u64> },
    /// The application let go of the connection: finish what was issued, then close and forget
    /// it.
    Drop { conn: u64 },
    Shutdown,
}

/// The IO thread is gone (it panicked, or the engine shut down): nothing can be submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineGone;

pub(super) struct Shared {
    pub wake: Wake,
    pub notify: Notify,
    pub fds: FdRegistry,
    /// Set by the IO thread as it exits, for whatever reason.
    pub stopped: AtomicBool,
}

/// Everything the engine holds that touches the IO thread's channels or memory when dropped.
struct Parts {
    tx: Sender<Submission>,
    completions: Receiver<Vec<(u64, Completion)>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    batch: std::vec::IntoIter<(u64, Completion)>,
    outstanding: Outstanding,
}

pub struct Engine {
    /// Always `Some`, except in a forked child's `drop`, which leaks it.
    parts: Option<Parts>,
    next_conn: u64,
    pid: u32,
    /// `super::fork_generation()` when the engine started.
    generation: u32,
}

impl Engine {
    /// Start the IO thread.
    pub fn start() -> std::io::Result<Engine> {
        let fds = FdRegistry::default();
        let (wake, wake_rx) = Wake::new(&fds)?;
        let notify = Notify::new(&fds)?;
        let shared = Arc::new(Shared { wake, notify, fds, stopped: AtomicBool::new(false) });
        let (tx, rx) = crossbeam_channel::unbounded();
        let (ctx, completions) = crossbeam_channel::unbounded();
        let io = IoThread::new(rx, wake_rx, ctx, shared.clone())?;
        let thread = std::thread::Builder::new()
            .name("fior-io".into())
            .stack_size(super::IO_THREAD_STACK)
            .spawn(move || io.run())?;
        Ok(Engine {
            parts: Some(Parts {
                tx,
                completions,
                shared,
                thread: Some(thread),
                batch: Vec::new().into_iter(),
                outstanding: Outstanding::default(),
            }),
            next_conn: 1,
            pid: std::process::id(),
            generation: super::fork_generation(),
        })
    }

    fn parts(&self) -> &Parts {
        self.parts.as_ref().expect("engine parts are present until drop")
    }

    /// The fd that becomes readable when completions wait.
    pub fn notify_fd(&self) -> i32 {
        self.parts().shared.notify.read_fd()
    }

    /// The process that started this engine.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn is_running(&self) -> bool {
        !self.parts().shared.stopped.load(Ordering::Acquire) && self.generation == super::fork_generation()
    }

    /// The engine's fd registry (for the fork handler).
    pub fn fds(&self) -> &FdRegistry {
        &self.parts().shared.fds
    }

    /// Register a connection (speaking TLS when `tls` is given); it connects on `connect` or
    /// its first command.
    pub fn open(&mut self, config: ConnConfig, tls: Option<TlsClient>) -> Result<u64, EngineGone> {
        let conn = self.next_conn;
        self.next_conn += 1;
        self.send(Submission::Open { conn, config: Box::new(config), tls })?;
        Ok(conn)
    }

    /// Hand work to the IO thread. Tokens of accepted work are outstanding until their
    /// completion comes out of `next`.
    pub fn send(&mut self, s: Submission) -> Result<(), EngineGone> {
        let generation = self.generation;
        let p = self.parts.as_mut().expect("engine parts are present until drop");
        if p.shared.stopped.load(Ordering::Acquire) || generation != super::fork_generation() {
            return Err(EngineGone);
        }
        tokens_of(&s, |t| p.outstanding.add(t));
        if let Err(refused) = p.tx.send(s) {
            tokens_of(&refused.0, |t| p.outstanding.done(t));
            return Err(EngineGone);
        }
        p.shared.wake.wake();
        Ok(())
    }

    /// How many tokens are outstanding.
    pub fn outstanding(&self) -> usize {
        self.parts().outstanding.len()
    }

    /// Tokens submitted whose completion has not come out of `next`. Call once the engine has
    /// stopped (`is_running` is false) and `next` returns nothing more, or in a fork child:
    /// nobody will complete these.
    pub fn take_orphans(&mut self) -> Vec<u64> {
        self.parts.as_mut().map(|p| p.outstanding.take()).unwrap_or_default()
    }

    /// Start a drain: call after reading the notify fd, then call `next` until `None`.
    pub fn begin_drain(&self) {
        self.parts().shared.notify.clear();
    }

    /// The next completion, tagged with its connection id (none in a fork child: the
    /// completions belong to the parent).
    pub fn next_completion(&mut self) -> Option<(u64, Completion)> {
        if self.generation != super::fork_generation() {
            return None;
        }
        let p = self.parts.as_mut().expect("engine parts are present until drop");
        loop {
            if let Some(c) = p.batch.next() {
                if let Completion::Reply { token, .. } | Completion::Done { token } | Completion::Failed { token, .. } = &c.1 {
                    p.outstanding.done(*token);
                }
                return Some(c);
            }
            match p.completions.try_recv() {
                Ok(batch) => p.batch = batch.into_iter(),
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => return None,
            }
        }
    }

    /// Forget this engine without touching its thread, locks or channels: for a forked child,
    /// where the IO thread does not exist and any lock may be held forever. Returns the fds
    /// the child inherited (sockets, pipes, the poll fd) for the caller to close.
    pub fn abandon(mut self) -> Vec<i32> {
        let parts = self.parts.take().expect("engine parts are present until drop");
        let fds = parts.shared.fds.marked();
        std::mem::forget(parts);
        fds
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let Some(mut parts) = self.parts.take() else { return };
        if std::process::id() != self.pid {
            // A forked child: the IO thread is not ours, and its channels may be mid-update.
            std::mem::forget(parts);
            return;
        }
        let _ = parts.tx.send(Submission::Shutdown);
        parts.shared.wake.wake();
        if let Some(t) = parts.thread.take() {
            let _ = t.join();
        }
    }
}

/// Call `f` with every token that `s` will complete.
fn tokens_of(s: &Submission, mut f: impl FnMut(u64)) {
    match s {
        Submission::Connect { token, .. } | Submission::Close { token: Some(token), .. } => f(*token),
        Submission::Command { request, .. } => f(request.token),
        Submission::Commands { requests, .. } => requests.iter().for_each(|r| f(r.token)),
        _ => {}
    }
}

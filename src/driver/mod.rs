//! The engine of one Perl interpreter, driven by that interpreter's event loop.
//!
//! There is no IO thread. The engine is a mio `Poll` holding every connection's socket, one
//! wake-up source and one timer; the Poll's own fd is the one descriptor Perl's event loop
//! watches. When it is readable, Perl calls [`Engine::turn`], which does whatever is ready
//! without waiting and leaves completions to collect. A command for an idle connection is
//! written in the submitting call itself. Only name resolution (`getaddrinfo` blocks) runs on a
//! short-lived helper thread, which reports through the wake-up source.

mod batch;
mod engine;
mod fds;
mod nosignal;
mod outstanding;
mod tls;
mod transport;
mod wake;

pub use batch::{BATCH_BIT, MAX_BATCH};
pub use engine::{Engine, EngineGone, FLUSH_WHEN_BUSY, READ_PER_TURN};
pub use fds::FdRegistry;
pub use tls::{client_config, server_name, TlsSettings};
pub use transport::TlsClient;

use std::sync::atomic::{AtomicU32, Ordering};

/// Counts forks this process went through (as a child). An engine made before the latest fork
/// belongs to a parent: it refuses work instead of touching descriptors it no longer owns.
static FORKS: AtomicU32 = AtomicU32::new(0);

/// Record that this process is a fork child (called from the fork handler: atomics only).
pub fn note_fork() {
    FORKS.fetch_add(1, Ordering::SeqCst);
}

fn fork_generation() -> u32 {
    FORKS.load(Ordering::Acquire)
}

//! The process's IO thread and the handle the Perl thread uses to talk to it.
//!
//! One IO thread per process owns every socket and timer. It only moves bytes between sockets
//! and the [`crate::conn::Conn`] state machines, and sleeps until the next socket event,
//! submission or deadline. The Perl thread submits through a channel (plus a coalesced wake-up)
//! and collects completions through another (plus a notify pipe its event loop watches).

mod engine;
mod fds;
mod io_thread;
mod outstanding;
mod signal;
mod tls;
mod transport;

pub use engine::{Engine, EngineGone, Submission};
pub use fds::FdRegistry;
pub use tls::{client_config, server_name, TlsSettings};
pub use transport::TlsClient;

use std::sync::atomic::{AtomicU32, Ordering};

/// Counts forks this process went through (as a child). An engine made before the latest fork
/// belongs to a parent: it refuses work instead of writing to descriptors it no longer owns.
static FORKS: AtomicU32 = AtomicU32::new(0);

/// Record that this process is a fork child (called from the fork handler: atomics only).
pub fn note_fork() {
    FORKS.fetch_add(1, Ordering::SeqCst);
}

fn fork_generation() -> u32 {
    FORKS.load(Ordering::Acquire)
}

/// Stack size of the IO thread. Replies are decoded by `redis-protocol`, which recurses once per
/// nesting level: `protocol::MAX_REPLY_DEPTH` levels need about 8 MB in a release build (and
/// more than 32 MB unoptimised); 64 MB covers both. Only the pages a deep reply actually touches
/// are ever backed by memory.
pub const IO_THREAD_STACK: usize = 64 << 20;

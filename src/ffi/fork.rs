//! Fork safety. A child created by `fork` inherits copies of the engine's file descriptors
//! (sockets, the Poll fd, the timer and wake-up fds). Right at the fork, a `pthread_atfork`
//! child handler closes those copies, so that the child never reads or writes the parent's
//! sockets, never keeps a parent's connection open after the parent closed it, and never
//! changes the parent's epoll set (the child's copy of the Poll fd is the same epoll instance:
//! it is closed, never deregistered from). It touches nothing but atomics, `close` and `dup2`
//! (a fork may happen while another thread holds a lock). The Perl side then notices the new
//! pid and starts a fresh engine; the old one is abandoned, not dropped.

use crate::driver::{Engine, FdRegistry};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Once;

const SLOTS: usize = 64;

/// Fd registries of the live engines of this process.
static ENGINES: [AtomicPtr<FdRegistry>; SLOTS] = [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];
static INSTALL: Once = Once::new();

/// Have the fork handler close `engine`'s fds in children.
pub(crate) fn watch(engine: &Engine) {
    INSTALL.call_once(|| {
        // SAFETY: registers a plain function; no other preconditions.
        unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
    });
    let ptr = engine.fds() as *const FdRegistry as *mut FdRegistry;
    for slot in &ENGINES {
        if slot.compare_exchange(std::ptr::null_mut(), ptr, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            return;
        }
    }
    // More than SLOTS engines at once: the extra ones rely on `Engine::abandon` in the child.
}

/// Stop watching `engine` (before it is dropped).
pub(crate) fn unwatch(engine: &Engine) {
    let ptr = engine.fds() as *const FdRegistry as *mut FdRegistry;
    for slot in &ENGINES {
        let _ = slot.compare_exchange(ptr, std::ptr::null_mut(), Ordering::SeqCst, Ordering::SeqCst);
    }
}

extern "C" fn in_child() {
    crate::driver::note_fork();
    // A pipe nobody writes: guarded fds are pointed at its read end, which never becomes
    // readable (both ends stay open in the child).
    let mut dead = [-1i32; 2];
    // SAFETY: `dead` has room for the two fds pipe(2) writes.
    let have_dead = unsafe { libc::pipe(dead.as_mut_ptr()) } == 0;
    for slot in &ENGINES {
        let ptr = slot.swap(std::ptr::null_mut(), Ordering::SeqCst);
        // SAFETY: a registry stays alive while it is in a slot (`unwatch` runs before the engine
        // is dropped), and in the child no other thread exists to drop it.
        if let Some(registry) = unsafe { ptr.as_ref() } {
            registry.drain(
                |fd| {
                    // SAFETY: the fd is one of the engine's (see FdRegistry); the child owns a copy.
                    unsafe { libc::close(fd) };
                },
                |fd| {
                    if have_dead {
                        // SAFETY: replaces the child's copy of a guarded fd; the number stays valid.
                        unsafe { libc::dup2(dead[0], fd) };
                    }
                },
            );
        }
    }
}

/// Close the fds the child still holds of an abandoned engine that was not watched.
pub(crate) fn close_all(fds: Vec<i32>) {
    for fd in fds {
        // SAFETY: as in `in_child`.
        unsafe { libc::close(fd) };
    }
}

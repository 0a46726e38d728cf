//! The C ABI that the XS glue calls. The only `unsafe` code of the crate lives here.
//!
//! Conventions (after rustls-ffi): one `fior_` prefix; opaque handles created by `_new` and
//! released by a NULL-safe `_free`; inputs are borrowed for the duration of the call; outputs
//! are views that stay valid until the next call on the same handle, so C copies them at once
//! and never frees Rust memory -- except the one buffer `fior_engine_take_bulk` hands over (a
//! large reply's, which Perl adopts as a string's buffer and releases with `free`: the crate's
//! global allocator is the system's `malloc`). Every exported function runs inside [`boundary`]: a panic
//! becomes `FIOR_PANIC` (or a neutral value) and poisons the engine handle. No callbacks into
//! the caller exist: a Perl `croak` is a longjmp and must never unwind through Rust frames.

// Exported functions take raw pointers from C and document what they require of them (the
// "caller's contract" at each dereference); marking them `unsafe fn` would change nothing for C.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod boundary;
mod conn;
mod engine;
mod fork;
mod types;

#[cfg(test)]
mod tests;

pub use conn::*;
pub use engine::*;
pub use types::*;

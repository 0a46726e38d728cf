//! The engine of Future::IO::Redis.
//!
//! - [`protocol`]: RESP2 encoding and incremental decoding.
//! - [`conn`]: one connection as a sans-IO state machine (bytes and time in; bytes, replies and
//!   the next wake-up out).
//! - [`driver`]: the engine of one Perl interpreter: a mio Poll turned by its event loop.
//! - [`ffi`]: the C ABI the XS glue calls (the only `unsafe` code).

/// Rust allocates with `malloc` (std's `System`, stated here so that no other allocator can be
/// slipped in): a large reply's buffer is handed to Perl, which adopts it as a string's buffer
/// and frees it with `free` (`ffi::fior_engine_take_bulk`).
#[global_allocator]
static ALLOCATOR: std::alloc::System = std::alloc::System;

pub mod conn;
pub mod ffi;
pub mod protocol;
pub mod driver;

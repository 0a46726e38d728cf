//! The engine of Future::IO::Redis.
//!
//! - [`protocol`]: RESP2 encoding and incremental decoding.
//! - [`conn`]: one connection as a sans-IO state machine (bytes and time in; bytes, replies and
//!   the next wake-up out).
//! - [`runtime`]: the process's IO thread, which owns every socket and timer.
//! - [`ffi`]: the C ABI the XS glue calls (the only `unsafe` code).

pub mod conn;
pub mod ffi;
pub mod protocol;
pub mod runtime;

//! The engine of Future::IO::Redis.
//!
//! - [`protocol`]: RESP2 encoding and incremental decoding.
//! - [`conn`]: one connection as a sans-IO state machine (bytes and time in; bytes, replies and
//!   the next wake-up out).
//! - [`driver`]: the engine of one Perl interpreter: a mio Poll turned by its event loop.
//! - [`ffi`]: the C ABI the XS glue calls (the only `unsafe` code).

pub mod conn;
pub mod ffi;
pub mod protocol;
pub mod driver;

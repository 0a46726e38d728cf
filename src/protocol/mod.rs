//! RESP2 on the wire: command encoding, and a single-pass, linear, non-recursive reply decoder
//! that produces the flat reply representation handed to Perl.

mod decoder;
mod encode;
mod reply;
mod scanner;
#[cfg(test)]
mod randomised_tests;

pub use decoder::{Decoder, DEFAULT_MAX_BULK_LEN, MAX_ARRAY_LEN, MAX_REPLY_DEPTH};
pub use encode::{encode_command, encoded_len};
pub use reply::{Node, Reply};

/// A reply stream that cannot be decoded: the connection is out of sync and must be reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

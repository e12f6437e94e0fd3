//! The one error type of the evidence format.

/// What can go wrong when decoding, verifying or proving evidence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes of a value could not be decoded.
    #[error("{what}: cannot decode: {reason}")]
    Decode {
        /// The kind of value being decoded (`event`, `entry`, ...).
        what: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// A value decoded but bytes were left over after it.
    #[error("{what}: {extra} trailing bytes after the value")]
    TrailingBytes {
        /// The kind of value being decoded.
        what: &'static str,
        /// How many bytes were left.
        extra: usize,
    },
    /// A value decoded but its canonical encoding is a different byte string.
    #[error("{what}: not in canonical encoding")]
    NonCanonical {
        /// The kind of value being decoded.
        what: &'static str,
    },
    /// An input was longer than its documented limit.
    #[error("{what}: {len} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The kind of value or field.
        what: &'static str,
        /// The length seen.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A field holds a value outside its allowed range or shape.
    #[error("{field}: {reason}")]
    Field {
        /// The field at fault, e.g. `event.kind`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A public key is not a valid ed25519 point, or is a weak (small-order) key.
    #[error("public key {key}: {reason}")]
    BadKey {
        /// The key, hex.
        key: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A signature does not verify under `verify_strict`.
    #[error("signature by {key} does not verify for {purpose}")]
    BadSignature {
        /// The author's key, as a fingerprint.
        key: String,
        /// What the signature was meant to cover.
        purpose: &'static str,
    },
    /// A passkey assertion does not verify, or does not say what it must.
    #[error("passkey {key}: {reason}")]
    BadPasskey {
        /// The passkey's key id, as a fingerprint.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A Merkle proof does not lead to the expected root.
    #[error("{what} proof: {reason}")]
    Proof {
        /// `inclusion` or `consistency`.
        what: &'static str,
        /// What failed.
        reason: String,
    },
    /// An entry does not link to the one before it.
    #[error("{reason}")]
    Chain {
        /// What is wrong with the link.
        reason: String,
    },
    /// A fault in one entry of a ledger, named by its sequence number.
    #[error("entry #{seq}: {source}")]
    AtEntry {
        /// The sequence number of the entry at fault.
        seq: u64,
        /// What is wrong with it.
        source: Box<Error>,
    },
    /// A checkpoint note is malformed or its signature is wrong.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Attaches the sequence number of the entry at fault.
    pub fn at(self, seq: u64) -> Error {
        match self {
            Error::AtEntry { .. } => self,
            other => Error::AtEntry {
                seq,
                source: Box::new(other),
            },
        }
    }
}

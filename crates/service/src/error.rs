//! The service's errors, and how domain errors become gRPC status codes.

use std::path::PathBuf;

use ledger_store::{AppendError, StoreError};
use review::Rejection;
use tonic::{Code, Status};

/// Why the server could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A ledger directory could not be opened.
    #[error("cannot open ledger {dir}: {source}")]
    Open {
        /// The directory.
        dir: PathBuf,
        /// What the store said.
        source: StoreError,
    },
    /// A ledger directory holds no genesis, so it has no ledger id to be addressed by.
    #[error("ledger {0} has no genesis entry yet (create it with `review-ledger init`)")]
    NoGenesis(PathBuf),
    /// Two directories hold the same ledger.
    #[error("ledgers {first} and {second} are the same ledger {id}")]
    SameLedger {
        /// The ledger id.
        id: String,
        /// The first directory.
        first: PathBuf,
        /// The second directory.
        second: PathBuf,
    },
    /// The listen address is beyond loopback and neither TLS nor `--allow-plaintext` is set.
    #[error(
        "refusing to listen on {0} without TLS: give --tls-cert and --tls-key, \
         listen on a loopback address, or pass --allow-plaintext"
    )]
    PlaintextBeyondLoopback(std::net::SocketAddr),
    /// The token file is malformed.
    #[error("token file {path}, line {line}: {reason}")]
    Tokens {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A certificate or key file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The TLS certificate or key was refused.
    #[error("TLS certificate or key: {0}")]
    Tls(String),
    /// The reflection service could not be built from the descriptors.
    #[error("grpc reflection: {0}")]
    Reflection(String),
    /// The transport failed.
    #[error("grpc transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// An error and its causes, each once, for a message.
pub fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// The status for a refused append. Nothing was stored.
pub fn append_status(e: AppendError<Rejection>) -> Status {
    let code = match &e {
        AppendError::Invalid(f) => format_code(f),
        AppendError::WrongLedger { .. } => Code::InvalidArgument,
        AppendError::Duplicate { .. } => Code::AlreadyExists,
        AppendError::Rejected { source, .. } => rejection_code(source),
        AppendError::Store(_) => Code::Internal,
        AppendError::NotWriter(_) => Code::Unavailable,
    };
    Status::new(code, capped(e.to_string()))
}

/// `message` cut to [`crate::limits::MESSAGE_BYTES`] on a character boundary.
pub fn capped(mut message: String) -> String {
    let max = crate::limits::MESSAGE_BYTES;
    if message.len() > max {
        let mut cut = max - 3;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str("...");
    }
    message
}

/// The code for an evidence-format error in a submitted event.
fn format_code(e: &ledger_core::Error) -> Code {
    match e {
        ledger_core::Error::BadSignature { .. } | ledger_core::Error::BadKey { .. } => {
            Code::PermissionDenied
        }
        ledger_core::Error::AtEntry { source, .. } => format_code(source),
        _ => Code::InvalidArgument,
    }
}

/// The code for a domain rule's refusal. Written out per variant so that a
/// new rule has to be placed deliberately.
pub fn rejection_code(r: &Rejection) -> Code {
    match r {
        Rejection::UnknownKey { .. }
        | Rejection::KeyRotated { .. }
        | Rejection::KeyRevoked { .. }
        | Rejection::MemberRemoved(_) => Code::PermissionDenied,
        Rejection::UnknownKind(_) | Rejection::Payload { .. } | Rejection::Malformed { .. } => {
            Code::InvalidArgument
        }
        Rejection::NoGenesis { .. }
        | Rejection::GenesisAgain { .. }
        | Rejection::Field { .. }
        | Rejection::NotTopManagement { .. }
        | Rejection::UnknownMember(_)
        | Rejection::HandleTaken(_)
        | Rejection::KeyTaken { .. }
        | Rejection::BadKey { .. }
        | Rejection::UnknownProposal(_)
        | Rejection::AlreadyApproved { .. }
        | Rejection::BadRotationProof { .. }
        | Rejection::LastTopManagement(_) => Code::FailedPrecondition,
    }
}

/// A store failure while reading: the server's fault, not the caller's,
/// unless the read was stopped because the server is stopping.
pub fn store_status(what: &str, e: StoreError) -> Status {
    let code = match e {
        StoreError::Cancelled(_) => Code::Unavailable,
        _ => Code::Internal,
    };
    Status::new(code, format!("{what}: {e}"))
}

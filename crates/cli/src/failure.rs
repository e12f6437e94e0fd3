//! How a failed command tells a script what happened: its exit code, and
//! with `--json` a JSON error on standard error (standard output carries
//! only the data a command was asked for).
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done (for `verify`, `check`, `verify-bundle`: it holds) |
//! | 1 | verification or conformance failed: the evidence does not hold |
//! | 2 | usage or I/O error: nothing was judged |
//! | 3 | an append's outcome is unknown: retry with the same `--event-id` |
//! | 4 | refused by the ledger's rules: nothing was appended |

use std::fmt;

use serde_json::{Value, json};

use crate::target::OutcomeUnknown;

/// Exit code: verification or conformance failed.
pub const FAILED: u8 = 1;
/// Exit code: usage or I/O error.
pub const ERROR: u8 = 2;
/// Exit code: an append's outcome is unknown.
pub const UNKNOWN: u8 = 3;
/// Exit code: refused by the ledger's rules.
pub const REFUSED: u8 = 4;

/// The `--help` text that lists the exit codes.
pub const EXIT_CODES: &str = "Exit codes: 0 done (and, for verify, check and verify-bundle, the \
evidence holds); 1 verification or conformance failed; 2 usage or I/O error; 3 an append's \
outcome is unknown (retry it with the same --event-id); 4 refused by the ledger's rules \
(nothing was appended).";

/// The ledger's rules refused an event: nothing was appended.
#[derive(Debug)]
pub struct Refused {
    /// What the rules said, as said to people.
    pub message: String,
    /// The field at fault, when the rules name one.
    pub field: Option<String>,
    /// The key at fault (its fingerprint), when the rules name one.
    pub key: Option<String>,
    /// The entry at fault, when the rules name one.
    pub seq: Option<u64>,
}

impl Refused {
    /// A refusal by this version's rules, keeping what they name.
    pub fn by_rules(r: &review::Rejection) -> Refused {
        use review::Rejection as R;
        let (field, key, seq) = match r {
            R::Field { field, .. } | R::Malformed { field, .. } => {
                (Some(field.clone()), None, None)
            }
            R::BadKey { field, .. } => (Some((*field).to_owned()), None, None),
            R::UnknownKey { key } | R::KeyRotated { key, .. } | R::KeyRevoked { key, .. } => {
                (None, Some(key.clone()), None)
            }
            R::KeyTaken { key, .. } => (None, Some(key.clone()), None),
            R::GenesisAgain { seq } => (None, None, Some(seq.0)),
            _ => (None, None, None),
        };
        Refused {
            message: format!("refused: {r}"),
            field,
            key,
            seq,
        }
    }

    /// A refusal a server reported (its message only).
    pub fn by_server(message: String) -> Refused {
        Refused {
            message,
            field: None,
            key: None,
            seq: None,
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

/// The exit code and the JSON error for `e`, whose message is `message`.
pub fn judge(e: &anyhow::Error, message: &str) -> (u8, Value) {
    let (code, kind) = if e.downcast_ref::<OutcomeUnknown>().is_some() {
        (UNKNOWN, "outcome-unknown")
    } else if e.chain().any(|c| c.downcast_ref::<Refused>().is_some()) {
        (REFUSED, "refused")
    } else {
        (ERROR, "error")
    };
    let mut error = json!({ "kind": kind, "message": message });
    if let Some(r) = e.chain().find_map(|c| c.downcast_ref::<Refused>()) {
        for (name, value) in [
            ("field", r.field.clone().map(Value::from)),
            ("key", r.key.clone().map(Value::from)),
            ("seq", r.seq.map(Value::from)),
        ] {
            if let Some(v) = value {
                error[name] = v;
            }
        }
    }
    (code, json!({ "error": error }))
}

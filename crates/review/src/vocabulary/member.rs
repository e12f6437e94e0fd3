//! Members and their handles.

use std::fmt;

use ledger_core::PublicKey;
use serde::{Deserialize, Deserializer, Serialize, de};

use crate::error::Rejection;

/// A member's handle: 1 to 32 characters of `a-z`, `0-9`, `-`, `_` and `.`,
/// starting with a letter. Members are named by handle everywhere.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MemberId(String);

impl MemberId {
    /// Checks and wraps a handle.
    pub fn new(handle: impl Into<String>) -> Result<MemberId, Rejection> {
        let handle = handle.into();
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c);
        let valid = !handle.is_empty()
            && handle.len() <= 32
            && handle.starts_with(|c: char| c.is_ascii_lowercase())
            && handle.chars().all(ok);
        if !valid {
            return Err(Rejection::Malformed {
                field: "member handle".into(),
                reason: format!(
                    "{handle:?} is not 1 to 32 characters of a-z, 0-9, '-', '_', '.' starting with a letter"
                ),
            });
        }
        Ok(MemberId(handle))
    }

    /// The handle as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for MemberId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        MemberId::new(String::deserialize(d)?).map_err(de::Error::custom)
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A member as enrolled: who they are and the key they sign with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    /// The handle.
    pub handle: MemberId,
    /// Full name.
    pub name: String,
    /// Role title, e.g. `Chief Executive`.
    pub role: String,
    /// Whether the member is top management in the sense of ISO 27001.
    pub top_management: bool,
    /// The ed25519 key the member signs with.
    pub key: PublicKey,
}

/// The longest name, role or organisation, in bytes.
pub const MAX_TEXT: usize = 200;

/// Checks a short human text field: present, trimmed, not too long, no control characters.
pub fn check_text(field: &str, text: &str) -> Result<(), Rejection> {
    let reason = if text.trim().is_empty() {
        Some("must not be empty".to_owned())
    } else if text.len() > MAX_TEXT {
        Some(format!(
            "{} bytes is over the limit of {MAX_TEXT}",
            text.len()
        ))
    } else if text.chars().any(char::is_control) {
        Some("must not contain control characters".to_owned())
    } else if text.trim() != text {
        Some("must not start or end with spaces".to_owned())
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Rejection::Malformed {
            field: field.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

impl MemberRecord {
    /// Checks the record's fields and that its key is usable.
    pub fn check(&self) -> Result<(), Rejection> {
        check_text("member.name", &self.name)?;
        check_text("member.role", &self.role)?;
        self.key.verifying_key().map_err(|e| Rejection::BadKey {
            field: "member.key",
            reason: e.to_string(),
        })?;
        Ok(())
    }
}

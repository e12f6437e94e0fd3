//! Newtypes that carry the format's invariants.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::error::{Error, Result};

/// `bytes` as lowercase hex. Writes the digits into one buffer instead of
/// collecting characters one by one as `hex::encode` does (about four times
/// faster for 32 bytes, which every feed message and JSON report pays for
/// each id and key).
pub fn to_hex(bytes: &[u8]) -> String {
    let mut digits = vec![0u8; bytes.len() * 2];
    hex::encode_to_slice(bytes, &mut digits).expect("the buffer holds two digits a byte");
    String::from_utf8(digits).expect("hex digits are ASCII")
}

/// Serde for a fixed-size byte newtype: the bytes as a newtype struct for
/// binary formats (the canonical codec), lowercase hex for human-readable
/// ones (JSON).
macro_rules! hex_serde {
    ($name:ident, $n:literal, $label:literal) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.serialize_str(&$crate::types::to_hex(&self.0))
                } else {
                    s.serialize_newtype_struct($label, &self.0)
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                if d.is_human_readable() {
                    let text = String::deserialize(d)?;
                    let mut out = [0u8; $n];
                    hex::decode_to_slice(&text, &mut out).map_err(de::Error::custom)?;
                    Ok($name(out))
                } else {
                    struct V;
                    impl<'de> de::Visitor<'de> for V {
                        type Value = $name;
                        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                            f.write_str($label)
                        }
                        fn visit_newtype_struct<D: Deserializer<'de>>(
                            self,
                            d: D,
                        ) -> std::result::Result<$name, D::Error> {
                            <[u8; $n]>::deserialize(d).map($name)
                        }
                        fn visit_seq<A: de::SeqAccess<'de>>(
                            self,
                            seq: A,
                        ) -> std::result::Result<$name, A::Error> {
                            <[u8; $n]>::deserialize(de::value::SeqAccessDeserializer::new(seq))
                                .map($name)
                        }
                    }
                    d.deserialize_newtype_struct($label, V)
                }
            }
        }
    };
}
pub(crate) use hex_serde;

/// A sequence number: the position of an entry in its ledger, from 0 (genesis).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Seq(pub u64);

impl Seq {
    /// The next sequence number.
    pub fn next(self) -> Seq {
        Seq(self.0 + 1)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A 32-byte blake3 digest: an entry hash, a Merkle node or a ledger id.
/// In the canonical codec it is its 32 bytes; in JSON, 64 hex digits.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash(pub [u8; 32]);

hex_serde!(Hash, 32, "Hash");

impl Hash {
    /// The all-zero hash: the `prev` of genesis and the ledger id inside genesis.
    pub const ZERO: Hash = Hash([0; 32]);

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(field: &'static str, text: &str) -> Result<Hash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut out).map_err(|e| Error::Field {
            field,
            reason: format!("expected 64 hex digits: {e}"),
        })?;
        Ok(Hash(out))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The hash of an entry (see [`crate::entry::Entry::hash`]).
pub type EntryHash = Hash;

/// A ledger's identity: the hash of its genesis entry. Auditors pin it.
pub type LedgerId = Hash;

/// A random 16-byte event id chosen by the author. Unique within a ledger.
/// In the canonical codec it is its 16 bytes; in JSON, 32 hex digits.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(pub [u8; 16]);

hex_serde!(EventId, 16, "EventId");

impl EventId {
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    /// Parses 32 hex digits.
    pub fn from_hex(text: &str) -> Result<EventId> {
        let mut out = [0u8; 16];
        hex::decode_to_slice(text.trim(), &mut out).map_err(|e| Error::Field {
            field: "event id",
            reason: format!("expected 32 hex digits: {e}"),
        })?;
        Ok(EventId(out))
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({})", self.to_hex())
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Microseconds since 1970-01-01T00:00:00Z. Time is always an argument:
/// nothing in this crate reads a clock.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct UnixMicros(pub i64);

/// The kind of an event: 1 to 64 bytes of `a-z`, `0-9`, `.` and `-`,
/// e.g. `roster.propose`. Part of the signed bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EventKind(String);

impl EventKind {
    /// The longest kind, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Checks and wraps a kind.
    pub fn new(kind: impl Into<String>) -> Result<EventKind> {
        let kind = kind.into();
        let ok_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-';
        if kind.is_empty() || kind.len() > Self::MAX_LEN || !kind.chars().all(ok_char) {
            return Err(Error::Field {
                field: "event.kind",
                reason: format!("{kind:?} is not 1 to 64 characters of a-z, 0-9, '.', '-'"),
            });
        }
        Ok(EventKind(kind))
    }

    /// The kind as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        EventKind::new(text).map_err(de::Error::custom)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 64-byte ed25519 signature, encoded as 64 bytes without a length.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        if s.is_human_readable() {
            return s.serialize_str(&to_hex(&self.0));
        }
        let mut t = s.serialize_tuple(64)?;
        for b in &self.0 {
            t.serialize_element(b)?;
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            let mut out = [0u8; 64];
            hex::decode_to_slice(&text, &mut out).map_err(de::Error::custom)?;
            return Ok(Signature(out));
        }
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Signature;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("64 signature bytes")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Signature, A::Error> {
                let mut out = [0u8; 64];
                for (i, b) in out.iter_mut().enumerate() {
                    *b = seq
                        .next_element()?
                        .ok_or_else(|| de::Error::invalid_length(i, &self))?;
                }
                Ok(Signature(out))
            }
        }
        d.deserialize_tuple(64, V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_matches_the_hex_crate() {
        for bytes in [&[][..], &[0x00], &[0x0f, 0xf0, 0xab], &[0xff; 32]] {
            assert_eq!(to_hex(bytes), hex::encode(bytes), "{bytes:?}");
        }
    }

    #[test]
    fn byte_newtypes_are_hex_in_json_and_raw_in_the_codec() {
        let h = Hash([0xab; 32]);
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            format!("\"{}\"", "ab".repeat(32))
        );
        assert_eq!(
            serde_json::from_str::<Hash>(&serde_json::to_string(&h).unwrap()).unwrap(),
            h
        );
        assert_eq!(crate::codec::encode(&h), vec![0xab; 32]);
        let id = EventId([1; 16]);
        assert_eq!(
            crate::codec::decode::<EventId>("id", &crate::codec::encode(&id)).unwrap(),
            id
        );
        let sig = Signature([7; 64]);
        assert_eq!(
            serde_json::to_string(&sig).unwrap(),
            format!("\"{}\"", "07".repeat(64))
        );
        assert_eq!(crate::codec::encode(&sig), vec![7; 64]);
        assert!(serde_json::from_str::<Hash>("\"zz\"").is_err());
    }
}

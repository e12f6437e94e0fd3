//! The canonical codec: the only place that knows the byte encoding.
//!
//! Every signed or hashed value goes through [`encode`] and [`decode`]. The
//! encoding is bincode 2.0.1's serde mode with fixed-width little-endian
//! integers (lengths are `u64` LE, enum tags `u32` LE, `Option` a `0`/`1`
//! byte, `bool` a `0`/`1` byte, fixed arrays without a length). Byte vectors
//! are written as a `u64` length and the bytes.
//!
//! A value has exactly one encoding: [`decode`] refuses trailing bytes and
//! any input whose re-encoding differs from what it was given. The golden
//! vectors in `tests/vectors/` freeze the output, so that a move to another
//! compatible encoder is a checked swap.

use std::borrow::Cow;
use std::cell::RefCell;

use bincode::config::{self, Configuration, Fixint, Limit, LittleEndian};
use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::DeserializeOwned};

use crate::error::{Error, Result};

/// The most bytes any single decoded value may claim. It bounds allocations
/// made on behalf of hostile length fields.
pub const DECODE_LIMIT: usize = 4 * 1024 * 1024;

/// The encoding's configuration, with a limit of `LIMIT` bytes a value.
fn limited<const LIMIT: usize>() -> Configuration<LittleEndian, Fixint, Limit<LIMIT>> {
    config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<LIMIT>()
}

fn config() -> Configuration<LittleEndian, Fixint, Limit<DECODE_LIMIT>> {
    limited::<DECODE_LIMIT>()
}

/// Encodes a value canonically.
///
/// Encoding our own types cannot fail: they contain no maps of unspecified
/// order and no values serde refuses. A failure here is a programming error.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, config())
        .expect("types of the evidence format always encode")
}

/// Decodes `bytes` as one `T`, refusing trailing bytes and non-canonical input.
///
/// `what` names the value in errors (`"event"`, `"entry"`, ...).
pub fn decode<T: Serialize + DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T> {
    if bytes.len() > DECODE_LIMIT {
        return Err(Error::TooLarge {
            what,
            len: bytes.len(),
            limit: DECODE_LIMIT,
        });
    }
    let value: T = decode_whole(what, bytes, config())?;
    if encode(&value) != bytes {
        return Err(Error::NonCanonical { what });
    }
    Ok(value)
}

/// Decodes one `T` from the start of `bytes` and says how many bytes it
/// took, refusing non-canonical input like [`decode`]. It reads the leading
/// fields of a value whose later fields' shape depends on them (a signed
/// event's signature follows from its event's version).
pub fn decode_prefix<T: Serialize + DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
) -> Result<(T, usize)> {
    if bytes.len() > DECODE_LIMIT {
        return Err(Error::TooLarge {
            what,
            len: bytes.len(),
            limit: DECODE_LIMIT,
        });
    }
    let (value, used): (T, usize) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(|e| Error::Decode {
            what,
            reason: e.to_string(),
        })?;
    if encode(&value) != bytes[..used] {
        return Err(Error::NonCanonical { what });
    }
    Ok((value, used))
}

/// Decodes `bytes` as one `T` under `config`, refusing trailing bytes (a
/// `T` that borrows reads its byte strings in place).
fn decode_whole<'de, T: serde::Deserialize<'de>, C: config::Config>(
    what: &'static str,
    bytes: &'de [u8],
    config: C,
) -> Result<T> {
    let (value, used): (T, usize) = bincode::serde::borrow_decode_from_slice(bytes, config)
        .map_err(|e| Error::Decode {
            what,
            reason: e.to_string(),
        })?;
    if used != bytes.len() {
        return Err(Error::TrailingBytes {
            what,
            extra: bytes.len() - used,
        });
    }
    Ok(value)
}

/// The most bytes a snapshot of a ledger's admission state may take: the
/// same encoding as [`encode`], for a local cache of derived state, never
/// for anything signed or exchanged.
pub const SNAPSHOT_LIMIT: usize = 1 << 30;

fn snapshot_config() -> Configuration<LittleEndian, Fixint, Limit<SNAPSHOT_LIMIT>> {
    limited::<SNAPSHOT_LIMIT>()
}

/// Encodes a snapshot; `None` when it would be over [`SNAPSHOT_LIMIT`].
pub fn encode_snapshot<T: Serialize>(value: &T) -> Option<Vec<u8>> {
    bincode::serde::encode_to_vec(value, snapshot_config()).ok()
}

/// Decodes a snapshot whose bytes the caller has checked against their
/// hash, refusing trailing bytes. (Unlike [`decode`] it does not encode the
/// value again to compare: the hash already pins the bytes.)
pub fn decode_snapshot<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T> {
    decode_whole(what, bytes, snapshot_config())
}

/// [`decode_snapshot`] of a value whose [`Shared`] byte strings are kept
/// as slices of `bytes` rather than copied.
pub fn decode_snapshot_shared<T: DeserializeOwned>(what: &'static str, bytes: &Bytes) -> Result<T> {
    sharing(bytes, || decode_whole(what, bytes, snapshot_config()))
}

thread_local! {
    /// The buffer being decoded on this thread, when [`sharing`] was given
    /// it: the [`Shared`] byte strings in it become slices of it.
    static SOURCE: RefCell<Option<Bytes>> = const { RefCell::new(None) };
}

/// Runs `decode` (which decodes a value borrowed from `bytes`) so that
/// every [`Shared`] in it is a slice of `bytes`.
fn sharing<T>(bytes: &Bytes, decode: impl FnOnce() -> T) -> T {
    /// Puts back the source before, however `decode` ends.
    struct Restore(Option<Bytes>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let before = self.0.take();
            SOURCE.with(|s| *s.borrow_mut() = before);
        }
    }
    let _restore = Restore(SOURCE.with(|s| s.replace(Some(bytes.clone()))));
    decode()
}

/// A byte string that, decoded by [`decode_snapshot_shared`], is a slice of
/// the buffer decoded rather than a copy (written as bytes, like a `Vec<u8>`
/// with `serde_bytes`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shared(pub Bytes);

impl Serialize for Shared {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Shared {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes: Cow<'de, [u8]> = serde_bytes::deserialize(d)?;
        Ok(Shared(share(bytes)))
    }
}

/// `bytes` as a slice of the buffer being decoded, else a copy.
fn share(bytes: Cow<'_, [u8]>) -> Bytes {
    match bytes {
        Cow::Owned(owned) => Bytes::from(owned),
        Cow::Borrowed(borrowed) => SOURCE.with(|s| match &*s.borrow() {
            Some(source) if within(source, borrowed) => source.slice_ref(borrowed),
            _ => Bytes::copy_from_slice(borrowed),
        }),
    }
}

/// Whether `part` lies within `whole`'s memory.
fn within(whole: &[u8], part: &[u8]) -> bool {
    let (w, p) = (whole.as_ptr_range(), part.as_ptr_range());
    w.start <= p.start && p.end <= w.end
}

/// The blake3 hash of a large value (a snapshot), on every core.
pub fn hash_large(bytes: &[u8]) -> [u8; 32] {
    *blake3::Hasher::new()
        .update_rayon(bytes)
        .finalize()
        .as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        a: u16,
        b: String,
        c: Option<bool>,
        d: Vec<u8>,
    }

    fn sample() -> Sample {
        Sample {
            a: 0x0102,
            b: "hi".into(),
            c: Some(true),
            d: vec![9],
        }
    }

    #[test]
    fn layout_is_fixed_width_little_endian() {
        let bytes = encode(&sample());
        let expected: Vec<u8> = [
            &[0x02, 0x01][..],
            &2u64.to_le_bytes(),
            b"hi",
            &[1, 1],
            &1u64.to_le_bytes(),
            &[9],
        ]
        .concat();
        assert_eq!(bytes, expected);
    }

    #[test]
    fn refusals_name_the_fault() {
        let good = encode(&sample());
        let check = |bytes: &[u8], expected: &str| {
            let err = decode::<Sample>("sample", bytes).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        };
        check(&[good.clone(), vec![0]].concat(), "1 trailing bytes");
        check(&good[..good.len() - 1], "cannot decode");
        // A bool byte of 2 is not a bool.
        let mut bad_bool = good.clone();
        bad_bool[13] = 2;
        check(&bad_bool, "cannot decode");
        // A length claiming far more than the limit allows.
        let mut huge = good.clone();
        huge[2..10].copy_from_slice(&u64::MAX.to_le_bytes());
        check(&huge, "cannot decode");
        assert_eq!(decode::<Sample>("sample", &good).unwrap(), sample());
    }
}

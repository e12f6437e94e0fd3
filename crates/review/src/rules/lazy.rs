//! A map whose values a snapshot restores as bytes, decoded when first
//! read, so that opening a ledger costs what a command reads, not the
//! ledger's whole history.
//!
//! A [`LazyMap`] reads like a `BTreeMap`: [`LazyMap::get`] decodes a value
//! the first time it is asked for and keeps it; [`LazyMap::get_mut`] decodes
//! it and lets go of its bytes (the value is then written anew by the next
//! snapshot). Beside each value's bytes the snapshot keeps its
//! [`Summarised::Summary`], the few fields that rules scan across every
//! value (a review's planned and meeting dates), so that a scan decodes
//! nothing, and its [`Summarised::Row`], what a listing of every value
//! prints of it (a review's title, status, counts and digest), computed
//! when the value is stored, so that a listing decodes nothing either.
//!
//! The snapshot's bytes are checked against their blake3 hash before they
//! reach this map (the store's snapshot record, the remote cache file), and
//! were written by this same encoding ([`super::snapshot::SNAPSHOT_VERSION`]):
//! damage is found before anything is decoded. A value that then does not
//! decode was written so on purpose by someone who also wrote its hash (the
//! hash is not keyed: whoever can write the ledger's directory can), or by
//! a bug; the read that meets it stops the program with a message that
//! says how to recover (`verify` reports such a snapshot and `repair`
//! removes it; a cache file can be deleted), rather than give a verdict.
//! Reads return values, not results, so that the rules stay as they are;
//! refusing such a record with an error instead would make every read of a
//! record fallible.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Index;
use std::sync::OnceLock;

use bytes::Bytes;
use ledger_core::codec::{self, Shared};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value a [`LazyMap`] holds, with what scans and listings of the map
/// read of it.
pub trait Summarised: Serialize + DeserializeOwned {
    /// The fields the rules read across every value of the map: cheap to
    /// compute, since a changed value's summary is computed on every scan.
    type Summary: Copy + Serialize + DeserializeOwned;
    /// What a listing of every value prints of one: computed once when the
    /// value is stored, and from the value while it is not.
    type Row: Clone + Serialize + DeserializeOwned;
    /// This value's summary.
    fn summary(&self) -> Self::Summary;
    /// This value's row.
    fn row(&self) -> Self::Row;
}

/// One value: its snapshot bytes while it is unchanged, and the value once
/// read. At least one of the two is there.
struct Slot<V: Summarised> {
    stored: Option<StoredOf<V>>,
    value: OnceLock<V>,
}

impl<V: Summarised> Slot<V> {
    fn new(value: V) -> Slot<V> {
        Slot {
            stored: None,
            value: OnceLock::from(value),
        }
    }

    fn get(&self) -> &V {
        self.value.get_or_init(|| match &self.stored {
            Some(stored) => decode(&stored.bytes.0),
            None => unreachable!("a slot holds its value or its bytes"),
        })
    }

    fn get_mut(&mut self) -> &mut V {
        self.get();
        self.stored = None;
        self.value.get_mut().expect("decoded just above")
    }

    /// The summary, row and compressed bytes to store: those read, or the
    /// value's, encoded now; `None` over the snapshot limit.
    fn to_store(&self) -> Option<StoredOf<V>> {
        if let Some(stored) = &self.stored {
            return Some(stored.clone());
        }
        let v = self.get();
        Some(Stored {
            summary: v.summary(),
            row: v.row(),
            bytes: Shared(Bytes::from(encode(v)?)),
        })
    }

    fn summary(&self) -> V::Summary {
        match (self.value.get(), &self.stored) {
            (_, Some(stored)) => stored.summary,
            (Some(v), None) => v.summary(),
            (None, None) => unreachable!("a slot holds its value or its bytes"),
        }
    }

    fn row(&self) -> V::Row {
        match (self.value.get(), &self.stored) {
            (_, Some(stored)) => stored.row.clone(),
            (Some(v), None) => v.row(),
            (None, None) => unreachable!("a slot holds its value or its bytes"),
        }
    }
}

/// A record from its stored bytes: its encoding, compressed.
fn decode<V: DeserializeOwned>(bytes: &[u8]) -> V {
    let plain_len = bytes
        .first_chunk::<4>()
        .map(|n| u32::from_le_bytes(*n) as usize);
    let decoded = match plain_len {
        Some(n) if n <= codec::SNAPSHOT_LIMIT => lz4_flex::block::decompress_size_prepended(bytes)
            .map_err(|e| e.to_string())
            .and_then(|plain| {
                codec::decode_snapshot("snapshot record", &plain).map_err(|e| e.to_string())
            }),
        _ => Err("its length is missing or over the snapshot limit".to_owned()),
    };
    match decoded {
        Ok(v) => v,
        Err(e) => panic!(
            "a record of a state snapshot or verified cache matched its hash but does not \
             decode ({e}): `review-ledger verify` reports such a snapshot and `review-ledger \
             repair` removes it; a verified cache file can be deleted"
        ),
    }
}

/// A record's stored bytes: its encoding, compressed (LZ4's block format,
/// the plain length first), since most of a state is minutes' text that no
/// command reads again; `None` over the snapshot limit.
fn encode<V: Serialize>(value: &V) -> Option<Vec<u8>> {
    let plain = codec::encode_snapshot(value)?;
    Some(lz4_flex::block::compress_prepend_size(&plain))
}

impl<V: Summarised + Clone> Clone for Slot<V> {
    fn clone(&self) -> Self {
        Slot {
            stored: self.stored.clone(),
            value: self.value.clone(),
        }
    }
}

/// A map from `K` to values decoded when first read (see the module).
pub struct LazyMap<K, V: Summarised> {
    map: BTreeMap<K, Slot<V>>,
}

impl<K: Ord, V: Summarised> LazyMap<K, V> {
    /// The value under `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.map.get(key).map(Slot::get)
    }

    /// The value under `key`, to change.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.map.get_mut(key).map(Slot::get_mut)
    }

    /// Whether a value is held under `key`.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.map.contains_key(key)
    }

    /// Puts `value` under `key`, replacing any value there.
    pub fn insert(&mut self, key: K, value: V) {
        self.map.insert(key, Slot::new(value));
    }

    /// The value under `key`, to change, put there by `f` if there is none.
    pub fn get_or_insert_with(&mut self, key: K, f: impl FnOnce() -> V) -> &mut V {
        self.map
            .entry(key)
            .or_insert_with(|| Slot::new(f()))
            .get_mut()
    }

    /// How many values are held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every key and value, in key order (decoding every value).
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter(self.map.iter())
    }

    /// Every value, in key order (decoding every value).
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values().map(Slot::get)
    }

    /// Every key, in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.map.keys()
    }

    /// Every key with its value's summary, in key order, decoding nothing.
    pub fn summaries(&self) -> impl Iterator<Item = (&K, V::Summary)> {
        self.map.iter().map(|(k, s)| (k, s.summary()))
    }

    /// The summary of the value under `key`, decoding nothing.
    pub fn summary_of<Q>(&self, key: &Q) -> Option<V::Summary>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.map.get(key).map(Slot::summary)
    }

    /// The row of the value under `key`, decoding nothing.
    pub fn row_of<Q>(&self, key: &Q) -> Option<V::Row>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.map.get(key).map(Slot::row)
    }

    /// Keeps every value as its compressed bytes only: one changed since it
    /// was last stored is encoded, one only read is let go of (and decoded
    /// again when next read).
    pub fn compact(&mut self) {
        for slot in self.map.values_mut() {
            // A value over the snapshot limit stays decoded.
            if let Some(stored) = slot.to_store() {
                slot.stored = Some(stored);
                slot.value = OnceLock::new();
            }
        }
    }

    /// How many values have been decoded (for tests of what a reader reads).
    pub fn decoded(&self) -> usize {
        self.map
            .values()
            .filter(|s| s.value.get().is_some())
            .count()
    }
}

impl<K, V: Summarised> Default for LazyMap<K, V> {
    fn default() -> Self {
        LazyMap {
            map: BTreeMap::new(),
        }
    }
}

impl<K: Clone, V: Summarised + Clone> Clone for LazyMap<K, V> {
    fn clone(&self) -> Self {
        LazyMap {
            map: self.map.clone(),
        }
    }
}

impl<K: Ord + fmt::Debug, V: Summarised + fmt::Debug> fmt::Debug for LazyMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Ord, V: Summarised + PartialEq> PartialEq for LazyMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<K: Ord, V: Summarised + Eq> Eq for LazyMap<K, V> {}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V: Summarised> Index<&Q> for LazyMap<K, V> {
    type Output = V;
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no value under this key")
    }
}

/// The iterator of [`LazyMap::iter`].
pub struct Iter<'a, K, V: Summarised>(std::collections::btree_map::Iter<'a, K, Slot<V>>);

impl<'a, K, V: Summarised> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, s)| (k, s.get()))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<'a, K: Ord, V: Summarised> IntoIterator for &'a LazyMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The stored form of a `V`.
type StoredOf<V> = Stored<<V as Summarised>::Summary, <V as Summarised>::Row>;

/// How one value is written in a snapshot, after its key (the map is a
/// sequence of pairs, in key order): its summary and row, then its own
/// encoding, compressed, as bytes (so that reading the snapshot decodes
/// nothing).
#[derive(Clone, Serialize, Deserialize)]
struct Stored<S, R> {
    summary: S,
    row: R,
    bytes: Shared,
}

impl<K: Serialize, V: Summarised> Serialize for LazyMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = s.serialize_seq(Some(self.map.len()))?;
        for (k, slot) in &self.map {
            let stored = slot
                .to_store()
                .ok_or_else(|| S::Error::custom("a record is over the snapshot limit"))?;
            seq.serialize_element(&(k, stored))?;
        }
        seq.end()
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Summarised> Deserialize<'de> for LazyMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let stored: Vec<(K, StoredOf<V>)> = Deserialize::deserialize(d)?;
        Ok(LazyMap {
            map: stored
                .into_iter()
                .map(|(k, s)| {
                    let slot = Slot {
                        stored: Some(s),
                        value: OnceLock::new(),
                    };
                    (k, slot)
                })
                .collect(),
        })
    }
}

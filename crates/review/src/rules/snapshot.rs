//! Snapshots of the admission state: [`LedgerState`] as bytes, so that a
//! ledger opens by loading the newest snapshot and folding only the
//! entries after it instead of replaying them all.
//!
//! The encoding is the evidence format's codec with a larger limit
//! (`ledger_core::codec::encode_snapshot`), preceded by
//! [`SNAPSHOT_VERSION`]: a snapshot of another version is not decoded, and
//! the store that keeps it checks it by its blake3 hash and the Merkle root
//! at its size before this code sees it. Maps are written in key order, so
//! the same state always gives the same bytes, given the same compressor:
//! review, action and objective records are LZ4-compressed
//! ([`crate::rules::lazy`]), and LZ4's output is not fixed by its format
//! (another implementation, version or word size may choose other
//! matches). `verify` compares a stored snapshot with the state the entries
//! give byte for byte, so `lz4_flex` is pinned, and another version of it
//! bumps [`SNAPSHOT_VERSION`] (a snapshot of another version is ignored and
//! rebuilt, never compared). Two fields that the minutes'
//! digest and the JSON views leave out are written here beside their
//! records: each member's standing history, and the minutes' meeting times.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use ledger_core::{PublicKey, Seq, codec};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::minutes::Minutes;
use crate::roster::{KeyRecord, Member, Standing};
use crate::state::LedgerState;
use crate::vocab::MeetingTimes;

/// The version of the snapshot encoding. Bump it whenever a type in
/// [`LedgerState`] changes shape, or the record compressor changes version:
/// older snapshots are then ignored and rebuilt, never misread.
pub const SNAPSHOT_VERSION: u32 = 8;

/// The state's snapshot bytes; `None` if they would be over the codec's
/// snapshot limit.
pub fn encode(state: &LedgerState) -> Option<Vec<u8>> {
    codec::encode_snapshot(&(SNAPSHOT_VERSION, state))
}

/// The state `bytes` hold, if they are a snapshot of this version of the
/// state after exactly `size` entries. Its records keep slices of `bytes`
/// (shared, not copied) until they are first read.
pub fn decode(bytes: &Bytes, size: u64) -> Option<LedgerState> {
    let version: u32 = codec::decode_snapshot("snapshot version", bytes.get(..4)?).ok()?;
    if version != SNAPSHOT_VERSION {
        return None;
    }
    let (_, state): (u32, LedgerState) = codec::decode_snapshot_shared("snapshot", bytes).ok()?;
    (state.size == size).then_some(state)
}

/// The members, each with the standing history its JSON view leaves out.
pub(crate) mod members {
    use super::*;

    pub fn serialize<S: Serializer>(
        members: &BTreeMap<crate::MemberId, Member>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(members.values().map(|m| (m, &m.history)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<crate::MemberId, Member>, D::Error> {
        let all: Vec<(Member, Vec<(Seq, Standing)>)> = Deserialize::deserialize(d)?;
        Ok(all
            .into_iter()
            .map(|(mut m, history)| {
                m.history = history;
                (m.handle.clone(), m)
            })
            .collect())
    }
}

/// Every key ever enrolled, in key order.
pub(crate) mod keys {
    use super::*;

    pub fn serialize<S: Serializer>(
        keys: &HashMap<PublicKey, KeyRecord>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut sorted: Vec<_> = keys.iter().collect();
        sorted.sort_by_key(|(k, _)| k.0);
        s.collect_seq(sorted)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<HashMap<PublicKey, KeyRecord>, D::Error> {
        let all: Vec<(PublicKey, KeyRecord)> = Deserialize::deserialize(d)?;
        Ok(all.into_iter().collect())
    }
}

/// The minutes, with the meeting times that their digest's encoding leaves
/// out while absent written after them.
pub(crate) mod minutes {
    use super::*;

    pub fn serialize<S: Serializer>(minutes: &Minutes, s: S) -> Result<S::Ok, S::Error> {
        let mut bare = minutes.clone();
        let times = bare.times.take();
        (bare, times).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Minutes, D::Error> {
        let (mut minutes, times): (Minutes, Option<crate::minutes::Recorded<MeetingTimes>>) =
            Deserialize::deserialize(d)?;
        minutes.times = times;
        Ok(minutes)
    }
}

#[cfg(test)]
mod tests {
    use ledger_core::{Admission, EntryHash, Hash, SignedEvent, UnixMicros};
    use proptest::prelude::*;

    use super::*;
    use crate::judgement::as_at_tests::varied_story;

    /// The state snapshot `bytes` hold, as a store restores it.
    fn restore(bytes: &[u8], size: u64) -> Option<LedgerState> {
        decode(&Bytes::copy_from_slice(bytes), size)
    }

    /// Folds entries `from..` of a rehearsed ledger into `state`, as
    /// opening a ledger folds the entries after its snapshot.
    fn fold(state: &mut LedgerState, events: &[SignedEvent], received: &[UnixMicros], from: usize) {
        for (i, (e, t)) in events.iter().zip(received).enumerate().skip(from) {
            let (event, signed_by) = e.verify_signer().expect("rehearsed events verify");
            let seq = Seq(i as u64);
            let effect = state
                .check(seq, *t, &event, signed_by)
                .expect("rehearsed events are admitted");
            // The rehearsal's stand-in for an entry hash.
            let hash: EntryHash = Hash(*blake3::hash(&e.encode()).as_bytes());
            state.apply(seq, hash, *t, effect);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// On any generated ledger, the state restored from a snapshot
        /// taken after any entry, with the entries after it folded in, is
        /// the state a full replay gives; a snapshot restores exactly the
        /// state it was taken of; and compacting a state along the way
        /// changes neither.
        #[test]
        fn any_snapshot_and_its_tail_give_the_replayed_state(
            drops in proptest::collection::vec(0u8..12, 120),
            later in proptest::collection::vec((0u8..6, 0usize..5), 0..8),
        ) {
            let r = varied_story(&drops, &later);
            let n = r.events.len();
            let mut at = LedgerState::new();
            for k in 0..=n {
                let bytes = encode(&at).expect("a story's state is small");
                let restored = restore(&bytes, k as u64).expect("a snapshot decodes");
                prop_assert_eq!(encode(&restored), Some(bytes.clone()), "the same bytes again");
                prop_assert_eq!(decoded(&restored), 0, "restoring decodes no record");
                prop_assert_eq!(&restored, &at, "restored after {} entries", k);
                // The tail folded into records still undecoded: the state
                // and its snapshot bytes are the replayed state's.
                let mut folded = restore(&bytes, k as u64).expect("a snapshot decodes");
                fold(&mut folded, &r.events, &r.received, k);
                prop_assert_eq!(encode(&folded), encode(&r.state), "the bytes after {} entries, then the tail", k);
                prop_assert_eq!(&folded, &r.state, "snapshot after {} entries, then the tail", k);
                // What a listing reads beside each record is that of the
                // record as the tail left it, not as the snapshot held it.
                let (ours, theirs) = (&folded.reviews, &r.state.reviews);
                prop_assert!(
                    crate::listing::reviews(ours).eq(crate::listing::reviews(theirs)),
                    "rows after {} entries, then the tail", k
                );
                if k < n {
                    fold(&mut at, &r.events[..=k], &r.received[..=k], k);
                    // Compacted now and then, as a verification does: what
                    // follows reads it again from its compact form.
                    if k % 3 == 0 {
                        at.compact();
                        prop_assert_eq!(decoded(&at), 0, "compacting keeps nothing decoded");
                    }
                }
            }
        }
    }

    /// How many records of a state have been decoded.
    fn decoded(state: &LedgerState) -> usize {
        let r = &state.reviews;
        r.reviews.decoded() + r.actions.decoded() + r.objectives.decoded()
    }

    /// Judging one review of a restored state, or finding what its bundle
    /// carries, decodes that review and those held before it, not every
    /// record of the ledger.
    #[test]
    fn a_restored_state_decodes_only_the_records_a_reader_reads() {
        let r = varied_story(&[], &[]);
        let bytes = encode(&r.state).unwrap();
        let state = restore(&bytes, r.state.size).unwrap();
        let first = state.reviews.order[0].clone();
        let today = crate::conformance::tests::today();
        let before = crate::conformance::check(&r.state, &first, today).unwrap();
        let after = crate::conformance::check(&state, &first, today).unwrap();
        assert_eq!(after, before, "the same verdict from the restored state");
        assert!(state.reviews.reviews.len() > 1);
        assert_eq!(
            state.reviews.reviews.decoded(),
            1,
            "only the first review is read to judge it"
        );
        assert!(state.reviews.actions.decoded() < state.reviews.actions.len());
        // Its bundle's subjects likewise.
        let needed = crate::bundle::needed_subjects(&state, &first);
        assert_eq!(needed, crate::bundle::needed_subjects(&r.state, &first));
        assert_eq!(
            state.reviews.reviews.decoded(),
            1,
            "a bundle of the first review"
        );
    }

    #[test]
    fn a_snapshot_of_another_size_or_version_or_damaged_is_not_restored() {
        let r = varied_story(&[], &[]);
        let times = r.state.reviews.reviews[&crate::story::current_id()]
            .minutes
            .times
            .clone();
        assert!(times.is_some(), "the story records the meeting's times");
        let size = r.state.size;
        let bytes = encode(&r.state).unwrap();
        assert_eq!(restore(&bytes, size).as_ref(), Some(&r.state));
        assert!(restore(&bytes, size - 1).is_none(), "another size");
        let mut other = bytes.clone();
        other[..4].copy_from_slice(&(SNAPSHOT_VERSION + 1).to_le_bytes());
        assert!(restore(&other, size).is_none(), "another version");
        assert!(
            restore(&bytes[..bytes.len() - 1], size).is_none(),
            "cut short"
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(restore(&longer, size).is_none(), "trailing bytes");
    }
}

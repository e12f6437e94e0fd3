//! The subject map: a commitment, in every checkpoint, to each review's and
//! the roster's entries, so that a bundle that leaves one out is caught.
//!
//! Every admitted entry has one subject: the roster (genesis and `roster.*`
//! events) or a review (its content and signatures, and `action.update`
//! events of the actions it raised). Each subject keeps a count and a hash
//! chain over its entries:
//!
//! ```text
//! chain_0     = H_"review-ledger/v1 subject chain"(encode(subject))
//! chain_(k+1) = H_"review-ledger/v1 subject chain"(chain_k || seq (u64 LE) || entry_hash)
//! leaf        = H_"review-ledger/v1 subject leaf"(encode(subject) || count (u64 LE) || chain)
//! ```
//!
//! The map is the RFC 6962 Merkle tree of [`ledger_core::merkle`] over the
//! leaves in subject order (the roster first, then reviews by id), and its
//! root is the checkpoint's `subjects` line. A verifier holding a
//! subject's entries recomputes its chain and checks the leaf's inclusion
//! proof: an omitted, added or reordered entry changes the chain.
//!
//! [`Subjects`] keeps the map's tree beside the tips
//! ([`merkle::EditableTree`]): an entry rehashes its subject's path, so the
//! root costs O(log subjects) per entry rather than a rebuild from every
//! tip. A new subject that sorts last (a review id later than every other)
//! is as cheap; one that sorts before others rehashes the nodes over the
//! subjects after it.

use std::collections::BTreeMap;

use ledger_core::merkle::{self, EditableTree, InclusionProof};
use ledger_core::{Hash, Seq, codec};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};

use crate::ids::ReviewId;

/// The blake3 `derive_key` context of subject chains.
pub const CHAIN_CONTEXT: &str = "review-ledger/v1 subject chain";
/// The blake3 `derive_key` context of subject leaves.
pub const LEAF_CONTEXT: &str = "review-ledger/v1 subject leaf";

/// What an entry is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Subject {
    /// Genesis and the roster's events.
    Roster,
    /// One review.
    Review(ReviewId),
}

/// A subject's entries so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tip {
    /// How many entries.
    pub count: u64,
    /// The hash chain over them.
    pub chain: Hash,
}

fn derive(context: &str, parts: &[&[u8]]) -> Hash {
    let mut h = blake3::Hasher::new_derive_key(context);
    for p in parts {
        h.update(p);
    }
    Hash(*h.finalize().as_bytes())
}

impl Tip {
    /// The empty chain of `subject`.
    pub fn start(subject: &Subject) -> Tip {
        Tip {
            count: 0,
            chain: derive(CHAIN_CONTEXT, &[&codec::encode(subject)]),
        }
    }

    /// The chain after one more entry.
    pub fn push(&mut self, seq: Seq, entry: &Hash) {
        self.chain = derive(
            CHAIN_CONTEXT,
            &[&self.chain.0, &seq.0.to_le_bytes(), &entry.0],
        );
        self.count += 1;
    }

    /// The map leaf of `subject` at this tip.
    pub fn leaf(&self, subject: &Subject) -> Hash {
        derive(
            LEAF_CONTEXT,
            &[
                &codec::encode(subject),
                &self.count.to_le_bytes(),
                &self.chain.0,
            ],
        )
    }
}

/// A subject's place in the map, proved against the map root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectProof {
    /// The subject.
    pub subject: Subject,
    /// Its tip when the map root was taken.
    pub tip: Tip,
    /// The leaf's inclusion in the map.
    pub proof: InclusionProof,
}

impl SubjectProof {
    /// Checks the proof against a map root.
    pub fn verify(&self, root: &Hash) -> ledger_core::Result<()> {
        merkle::verify_inclusion(&self.tip.leaf(&self.subject), &self.proof, root)
    }
}

/// Every subject's tip, and the map's tree over them.
///
/// Encoded (in state snapshots) as a struct of one field, `tips`, the map
/// from subject to tip in subject order; the tree is rebuilt on decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "Tips")]
pub struct Subjects {
    /// Tips in subject order.
    tips: Vec<(Subject, Tip)>,
    /// The map: leaf `i` is `tips[i]`'s.
    tree: EditableTree,
}

/// The encoded form of [`Subjects`].
#[derive(Deserialize)]
struct Tips {
    tips: BTreeMap<Subject, Tip>,
}

impl From<Tips> for Subjects {
    fn from(t: Tips) -> Subjects {
        let mut tree = EditableTree::default();
        for (i, (subject, tip)) in t.tips.iter().enumerate() {
            tree.insert(i, &tip.leaf(subject));
        }
        Subjects {
            tips: t.tips.into_iter().collect(),
            tree,
        }
    }
}

impl Serialize for Subjects {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct InOrder<'a>(&'a [(Subject, Tip)]);
        impl Serialize for InOrder<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
            }
        }
        let mut st = s.serialize_struct("Subjects", 1)?;
        st.serialize_field("tips", &InOrder(&self.tips))?;
        st.end()
    }
}

impl Subjects {
    /// Adds entry `seq` with hash `entry` to `subject`'s chain.
    pub fn push(&mut self, subject: Subject, seq: Seq, entry: &Hash) {
        match self.tips.binary_search_by(|(s, _)| s.cmp(&subject)) {
            Ok(i) => {
                let (subject, tip) = &mut self.tips[i];
                tip.push(seq, entry);
                self.tree.set(i, &tip.leaf(subject));
            }
            Err(i) => {
                let mut tip = Tip::start(&subject);
                tip.push(seq, entry);
                self.tree.insert(i, &tip.leaf(&subject));
                self.tips.insert(i, (subject, tip));
            }
        }
    }

    /// `subject`'s tip, if it has entries.
    pub fn tip(&self, subject: &Subject) -> Option<&Tip> {
        let i = self.tips.binary_search_by(|(s, _)| s.cmp(subject)).ok()?;
        Some(&self.tips[i].1)
    }

    /// How many subjects have entries.
    pub fn len(&self) -> usize {
        self.tips.len()
    }

    /// Whether no subject has entries.
    pub fn is_empty(&self) -> bool {
        self.tips.is_empty()
    }

    /// Every subject and its tip, in map order.
    pub fn iter(&self) -> impl Iterator<Item = (&Subject, &Tip)> {
        self.tips.iter().map(|(s, t)| (s, t))
    }

    /// The map root a checkpoint commits to.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The proof of `subject`'s tip against [`Subjects::root`].
    pub fn prove(&self, subject: &Subject) -> Option<SubjectProof> {
        let index = self.tips.binary_search_by(|(s, _)| s.cmp(subject)).ok()?;
        let proof = merkle::prove_inclusion(&self.tree, index as u64, self.tree.size()).ok()?;
        Some(SubjectProof {
            subject: subject.clone(),
            tip: self.tips[index].1.clone(),
            proof,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_proof_binds_its_chain() {
        let mut s = Subjects::default();
        let r = |n: &str| Subject::Review(ReviewId::new(n).unwrap());
        for i in 0..10u64 {
            let subject = match i % 3 {
                0 => Subject::Roster,
                1 => r("a"),
                _ => r("b"),
            };
            s.push(subject, Seq(i), &Hash([i as u8; 32]));
        }
        let root = s.root();
        for subject in [Subject::Roster, r("a"), r("b")] {
            let p = s.prove(&subject).unwrap();
            p.verify(&root).unwrap();
            // Leaving out the last entry of the subject gives another chain.
            let mut short = Tip::start(&subject);
            short.push(Seq(0), &Hash([0; 32]));
            let forged = SubjectProof {
                tip: short,
                ..p.clone()
            };
            assert!(forged.verify(&root).is_err());
        }
        assert!(s.prove(&r("c")).is_none());
    }

    /// The map built entry by entry, in any subject order, is the map
    /// rebuilt from its tips: same root, and the same bytes in a snapshot
    /// as the map from subject to tip it is encoded as.
    #[test]
    fn the_incremental_map_is_the_map_of_its_tips() {
        let r = |n: u64| Subject::Review(ReviewId::new(format!("r{n:03}")).unwrap());
        let mut s = Subjects::default();
        let mut tips: BTreeMap<Subject, Tip> = BTreeMap::new();
        // Subjects arrive out of order: 7 mod 31 walks every residue.
        for i in 0..200u64 {
            let subject = if i % 5 == 0 {
                Subject::Roster
            } else {
                r((i * 7) % 31)
            };
            let hash = Hash(*blake3::hash(&i.to_le_bytes()).as_bytes());
            s.push(subject.clone(), Seq(i), &hash);
            tips.entry(subject)
                .or_insert_with_key(Tip::start)
                .push(Seq(i), &hash);
            let mut rebuilt = merkle::MemoryTree::default();
            for (subject, tip) in &tips {
                rebuilt.push(&tip.leaf(subject));
            }
            assert_eq!(s.root(), rebuilt.root(), "after entry {i}");
        }
        #[derive(Serialize)]
        struct Wire<'a> {
            tips: &'a BTreeMap<Subject, Tip>,
        }
        let bytes = codec::encode(&s);
        assert_eq!(bytes, codec::encode(&Wire { tips: &tips }));
        let back: Subjects = codec::decode("subjects", &bytes).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.root(), s.root());
        for subject in tips.keys() {
            s.prove(subject).unwrap().verify(&s.root()).unwrap();
        }
    }
}

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

use std::collections::BTreeMap;

use ledger_core::merkle::{self, InclusionProof, MemoryTree};
use ledger_core::{Hash, Seq, codec};
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

/// Every subject's tip.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subjects {
    /// Tips by subject, in map order.
    pub tips: BTreeMap<Subject, Tip>,
}

impl Subjects {
    /// Adds entry `seq` with hash `entry` to `subject`'s chain.
    pub fn push(&mut self, subject: Subject, seq: Seq, entry: &Hash) {
        self.tips
            .entry(subject)
            .or_insert_with_key(Tip::start)
            .push(seq, entry);
    }

    fn tree(&self) -> MemoryTree {
        let mut tree = MemoryTree::default();
        for (subject, tip) in &self.tips {
            tree.push(&tip.leaf(subject));
        }
        tree
    }

    /// The map root a checkpoint commits to.
    pub fn root(&self) -> Hash {
        self.tree().root()
    }

    /// The proof of `subject`'s tip against [`Subjects::root`].
    pub fn prove(&self, subject: &Subject) -> Option<SubjectProof> {
        let index = self.tips.keys().position(|s| s == subject)? as u64;
        let tree = self.tree();
        let proof = merkle::prove_inclusion(&tree, index, tree.size()).ok()?;
        Some(SubjectProof {
            subject: subject.clone(),
            tip: self.tips[subject].clone(),
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
}

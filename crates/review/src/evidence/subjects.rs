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
//! subjects after it. It also lists each subject's entries, so that a
//! review's bundle is assembled from its subjects' entries alone, without
//! reading the rest of the ledger.

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

/// Every subject's tip and entries, and the map's tree over the tips.
///
/// Encoded (in state snapshots) as a struct of two fields: `tips`, the map
/// from subject to tip in subject order, and `seqs`, each subject's entries
/// in the same order; the tree is rebuilt on decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Wire")]
pub struct Subjects {
    /// In subject order.
    chains: Vec<Chain>,
    /// The map: leaf `i` is `chains[i]`'s.
    tree: EditableTree,
}

/// One subject: its tip, and the entries its chain is over, in order (what
/// a bundle of it carries, found without reading the rest of the ledger).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Chain {
    subject: Subject,
    tip: Tip,
    seqs: Vec<Seq>,
}

/// The encoded form of [`Subjects`].
#[derive(Deserialize)]
struct Wire {
    tips: BTreeMap<Subject, Tip>,
    seqs: Vec<Vec<Seq>>,
}

impl TryFrom<Wire> for Subjects {
    type Error = String;
    fn try_from(w: Wire) -> Result<Subjects, String> {
        if w.tips.len() != w.seqs.len() {
            return Err(format!(
                "{} subjects but the entries of {}",
                w.tips.len(),
                w.seqs.len()
            ));
        }
        let mut leaves = Vec::with_capacity(w.tips.len());
        let mut chains = Vec::with_capacity(w.tips.len());
        for ((subject, tip), seqs) in w.tips.into_iter().zip(w.seqs) {
            if tip.count != seqs.len() as u64 {
                return Err(format!(
                    "a subject counts {} entries but lists {}",
                    tip.count,
                    seqs.len()
                ));
            }
            leaves.push(tip.leaf(&subject));
            chains.push(Chain { subject, tip, seqs });
        }
        let tree = EditableTree::from_entries(&leaves);
        Ok(Subjects { chains, tree })
    }
}

impl Serialize for Subjects {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Tips<'a>(&'a [Chain]);
        impl Serialize for Tips<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|c| (&c.subject, &c.tip)))
            }
        }
        struct Seqs<'a>(&'a [Chain]);
        impl Serialize for Seqs<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(|c| &c.seqs))
            }
        }
        let mut st = s.serialize_struct("Subjects", 2)?;
        st.serialize_field("tips", &Tips(&self.chains))?;
        st.serialize_field("seqs", &Seqs(&self.chains))?;
        st.end()
    }
}

impl Subjects {
    fn find(&self, subject: &Subject) -> Result<usize, usize> {
        self.chains.binary_search_by(|c| c.subject.cmp(subject))
    }

    /// Adds entry `seq` with hash `entry` to `subject`'s chain.
    pub fn push(&mut self, subject: Subject, seq: Seq, entry: &Hash) {
        match self.find(&subject) {
            Ok(i) => {
                let c = &mut self.chains[i];
                c.tip.push(seq, entry);
                c.seqs.push(seq);
                self.tree.set(i, &c.tip.leaf(&c.subject));
            }
            Err(i) => {
                let mut tip = Tip::start(&subject);
                tip.push(seq, entry);
                self.tree.insert(i, &tip.leaf(&subject));
                let seqs = vec![seq];
                self.chains.insert(i, Chain { subject, tip, seqs });
            }
        }
    }

    /// `subject`'s tip, if it has entries.
    pub fn tip(&self, subject: &Subject) -> Option<&Tip> {
        Some(&self.chains[self.find(subject).ok()?].tip)
    }

    /// `subject`'s entries, in order (none for a subject without entries).
    pub fn seqs(&self, subject: &Subject) -> &[Seq] {
        self.find(subject)
            .map_or(&[], |i| self.chains[i].seqs.as_slice())
    }

    /// How many subjects have entries.
    pub fn len(&self) -> usize {
        self.chains.len()
    }

    /// Whether no subject has entries.
    pub fn is_empty(&self) -> bool {
        self.chains.is_empty()
    }

    /// Every subject and its tip, in map order.
    pub fn iter(&self) -> impl Iterator<Item = (&Subject, &Tip)> {
        self.chains.iter().map(|c| (&c.subject, &c.tip))
    }

    /// The map root a checkpoint commits to.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The proof of `subject`'s tip against [`Subjects::root`].
    pub fn prove(&self, subject: &Subject) -> Option<SubjectProof> {
        let index = self.find(subject).ok()?;
        let proof = merkle::prove_inclusion(&self.tree, index as u64, self.tree.size()).ok()?;
        Some(SubjectProof {
            subject: subject.clone(),
            tip: self.chains[index].tip.clone(),
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
    /// rebuilt from its tips, and lists each subject's entries: the same
    /// root, the same bytes in a snapshot as its tips and entries in
    /// subject order, and the same map decoded.
    #[test]
    fn the_incremental_map_is_the_map_of_its_tips() {
        #[derive(Serialize)]
        struct Wire<'a> {
            tips: &'a BTreeMap<Subject, Tip>,
            seqs: Vec<&'a Vec<Seq>>,
        }
        let r = |n: u64| Subject::Review(ReviewId::new(format!("r{n:03}")).unwrap());
        let mut s = Subjects::default();
        let mut tips: BTreeMap<Subject, Tip> = BTreeMap::new();
        let mut seqs: BTreeMap<Subject, Vec<Seq>> = BTreeMap::new();
        // Subjects arrive out of order: 7 mod 31 walks every residue.
        for i in 0..200u64 {
            let subject = if i % 5 == 0 {
                Subject::Roster
            } else {
                r((i * 7) % 31)
            };
            let hash = Hash(*blake3::hash(&i.to_le_bytes()).as_bytes());
            s.push(subject.clone(), Seq(i), &hash);
            tips.entry(subject.clone())
                .or_insert_with_key(Tip::start)
                .push(Seq(i), &hash);
            seqs.entry(subject).or_default().push(Seq(i));
            let mut rebuilt = merkle::MemoryTree::default();
            for (subject, tip) in &tips {
                rebuilt.push(&tip.leaf(subject));
            }
            assert_eq!(s.root(), rebuilt.root(), "after entry {i}");
        }
        let wire = Wire {
            tips: &tips,
            seqs: seqs.values().collect(),
        };
        let bytes = codec::encode(&s);
        assert_eq!(bytes, codec::encode(&wire));
        let back: Subjects = codec::decode("subjects", &bytes).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.root(), s.root());
        for (subject, want) in &seqs {
            s.prove(subject).unwrap().verify(&s.root()).unwrap();
            assert_eq!(s.seqs(subject), want.as_slice());
        }
        assert!(s.seqs(&r(99)).is_empty());
        // Entries that do not add up to a tip's count are refused.
        let mut short = seqs.clone();
        short.values_mut().next().unwrap().pop();
        let forged = Wire {
            tips: &tips,
            seqs: short.values().collect(),
        };
        assert!(codec::decode::<Subjects>("subjects", &codec::encode(&forged)).is_err());
    }
}

//! The Merkle tree over entry hashes, in RFC 6962 shape with blake3.
//!
//! `leaf = H(0x00 || entry_hash)`, `node = H(0x01 || left || right)`, the
//! empty tree's root is `H()`, and `H` is `blake3::derive_key` with the
//! context [`MERKLE_CONTEXT`]. A tree of `n > 1` leaves splits at the largest
//! power of two below `n`, exactly as RFC 6962 section 2.1 describes; proofs
//! follow RFC 9162 section 2.1.3 and 2.1.4.
//!
//! Proof generation needs only the roots of *perfect* subtrees, named by
//! `(level, index)`: the node over leaves `[index << level, (index + 1) << level)`.
//! A [`Nodes`] source gives them; the store keeps every one on disk, and
//! [`MemoryTree`] keeps them in memory. [`Frontier`] is the O(log n) state
//! that an appender or a verifier needs to compute the root as leaves arrive.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::types::{EntryHash, Hash};

/// The blake3 `derive_key` context of every Merkle hash.
pub const MERKLE_CONTEXT: &str = "review-ledger/v1 merkle";

fn hash_parts(parts: &[&[u8]]) -> Hash {
    let mut hasher = blake3::Hasher::new_derive_key(MERKLE_CONTEXT);
    for part in parts {
        hasher.update(part);
    }
    Hash(*hasher.finalize().as_bytes())
}

/// The leaf hash of an entry: `H(0x00 || entry_hash)`.
pub fn leaf_hash(entry: &EntryHash) -> Hash {
    hash_parts(&[&[0x00], &entry.0])
}

/// An interior node: `H(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    hash_parts(&[&[0x01], &left.0, &right.0])
}

/// The root of the empty tree: `H()`.
pub fn empty_root() -> Hash {
    hash_parts(&[])
}

/// The largest power of two strictly below `n` (for `n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// A source of perfect-subtree roots. Level 0 holds leaf hashes.
pub trait Nodes {
    /// The error of the underlying storage.
    type Error: From<Error>;
    /// The root of the perfect subtree `(level, index)`. Asked only for
    /// subtrees that lie wholly inside the tree.
    fn node(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// The root of leaves `[start, end)`, an RFC 6962 subtree.
pub fn range_root<N: Nodes>(nodes: &N, start: u64, end: u64) -> Result<Hash, N::Error> {
    let n = end - start;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return nodes.node(n.trailing_zeros(), start >> n.trailing_zeros());
    }
    let k = split_point(n);
    let left = range_root(nodes, start, start + k)?;
    let right = range_root(nodes, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// A proof that one leaf is in a tree of a given size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The leaf's index, which is the entry's sequence number.
    pub index: u64,
    /// The size of the tree the proof is for.
    pub size: u64,
    /// Sibling hashes from the leaf up.
    pub path: Vec<Hash>,
}

/// A proof that the tree of `old_size` is a prefix of the tree of `new_size`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The earlier size.
    pub old_size: u64,
    /// The later size.
    pub new_size: u64,
    /// The RFC 9162 proof nodes.
    pub path: Vec<Hash>,
}

/// The longest proof path accepted: no tree has more than 2^64 leaves.
pub const MAX_PROOF_LEN: usize = 64;

/// Builds the inclusion proof of leaf `index` in the tree of `size` leaves.
pub fn prove_inclusion<N: Nodes>(
    nodes: &N,
    index: u64,
    size: u64,
) -> Result<InclusionProof, N::Error> {
    if index >= size {
        return Err(Error::Proof {
            what: "inclusion",
            reason: format!("leaf {index} is not in a tree of size {size}"),
        }
        .into());
    }
    let mut path = Vec::new();
    let (mut m, mut start, mut end) = (index, 0, size);
    // Walk down from the root, collecting siblings, then reverse to go leaf-up.
    while end - start > 1 {
        let k = split_point(end - start);
        if m < k {
            path.push(range_root(nodes, start + k, end)?);
            end = start + k;
        } else {
            path.push(range_root(nodes, start, start + k)?);
            start += k;
            m -= k;
        }
    }
    path.reverse();
    Ok(InclusionProof { index, size, path })
}

/// Checks that `entry` is leaf `proof.index` of the tree with `root`.
pub fn verify_inclusion(entry: &EntryHash, proof: &InclusionProof, root: &Hash) -> Result<()> {
    let fail = |reason: &str| {
        Err(Error::Proof {
            what: "inclusion",
            reason: format!("leaf {} of size {}: {reason}", proof.index, proof.size),
        })
    };
    if proof.index >= proof.size {
        return fail("index is not below the size");
    }
    if proof.path.len() > MAX_PROOF_LEN {
        return fail("path is longer than any tree needs");
    }
    let (mut fnode, mut snode) = (proof.index, proof.size - 1);
    let mut r = leaf_hash(entry);
    for p in &proof.path {
        if snode == 0 {
            return fail("path is too long");
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return fail("path is too short");
    }
    if r != *root {
        return fail("path leads to a different root");
    }
    Ok(())
}

/// Builds the consistency proof between the trees of `old_size` and `new_size`.
pub fn prove_consistency<N: Nodes>(
    nodes: &N,
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof, N::Error> {
    if old_size > new_size {
        return Err(Error::Proof {
            what: "consistency",
            reason: format!("old size {old_size} is larger than new size {new_size}"),
        }
        .into());
    }
    let mut path = Vec::new();
    if old_size > 0 && old_size < new_size {
        subproof(nodes, old_size, 0, new_size, true, &mut path)?;
    }
    Ok(ConsistencyProof {
        old_size,
        new_size,
        path,
    })
}

fn subproof<N: Nodes>(
    nodes: &N,
    m: u64,
    start: u64,
    end: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), N::Error> {
    let n = end - start;
    if m == n {
        if !whole {
            out.push(range_root(nodes, start, end)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(nodes, m, start, start + k, whole, out)?;
        out.push(range_root(nodes, start + k, end)?);
    } else {
        subproof(nodes, m - k, start + k, end, false, out)?;
        out.push(range_root(nodes, start, start + k)?);
    }
    Ok(())
}

/// Checks that the tree with `old_root` at `proof.old_size` is a prefix of
/// the tree with `new_root` at `proof.new_size`.
pub fn verify_consistency(
    proof: &ConsistencyProof,
    old_root: &Hash,
    new_root: &Hash,
) -> Result<()> {
    let (first, second) = (proof.old_size, proof.new_size);
    let fail = |reason: &str| {
        Err(Error::Proof {
            what: "consistency",
            reason: format!("sizes {first} to {second}: {reason}"),
        })
    };
    if first > second {
        return fail("old size is larger than new size");
    }
    if proof.path.len() > 2 * MAX_PROOF_LEN {
        return fail("path is longer than any tree needs");
    }
    if first == second {
        if !proof.path.is_empty() {
            return fail("equal sizes need an empty path");
        }
        if old_root != new_root {
            return fail("equal sizes but different roots");
        }
        return Ok(());
    }
    if first == 0 {
        if !proof.path.is_empty() {
            return fail("an empty old tree needs an empty path");
        }
        if *old_root != empty_root() {
            return fail("the old root is not the empty tree's root");
        }
        return Ok(());
    }
    if proof.path.is_empty() {
        return fail("path is empty");
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.path.len() + 1);
    if first.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(&proof.path);
    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return fail("path is too long");
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return fail("path is too short");
    }
    if fr != *old_root {
        return fail("path does not lead to the old root");
    }
    if sr != *new_root {
        return fail("path does not lead to the new root");
    }
    Ok(())
}

/// The right edge of a growing tree: the roots of its perfect subtrees,
/// largest first, one per set bit of `size`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frontier {
    /// Leaves so far.
    pub size: u64,
    /// Perfect-subtree roots, from the leftmost (largest) to the rightmost.
    pub peaks: Vec<Hash>,
}

/// A perfect-subtree root completed by an append, to be stored for proofs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewNode {
    /// Height above the leaves (0 for a leaf).
    pub level: u32,
    /// Position among the nodes of that level.
    pub index: u64,
    /// The root.
    pub hash: Hash,
}

impl Frontier {
    /// Adds the leaf for `entry`; returns every perfect-subtree root it
    /// completes, the leaf itself first.
    pub fn push(&mut self, entry: &EntryHash) -> Vec<NewNode> {
        let index = self.size;
        let mut hash = leaf_hash(entry);
        let mut done = vec![NewNode {
            level: 0,
            index,
            hash,
        }];
        let mut level = 0;
        // Each trailing one bit of the old size is a peak that merges.
        while (index >> level) & 1 == 1 {
            let left = self.peaks.pop().expect("one peak per set bit of the size");
            hash = node_hash(&left, &hash);
            level += 1;
            done.push(NewNode {
                level,
                index: index >> level,
                hash,
            });
        }
        self.peaks.push(hash);
        self.size += 1;
        done
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(last) = peaks.next() else {
            return empty_root();
        };
        peaks.fold(*last, |acc, peak| node_hash(peak, &acc))
    }
}

/// A whole tree in memory: every perfect-subtree root, level by level.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemoryTree {
    /// Adds the leaf for `entry`.
    pub fn push(&mut self, entry: &EntryHash) {
        for node in self.frontier.push(entry) {
            let level = node.level as usize;
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(node.hash);
        }
    }

    /// Leaves so far.
    pub fn size(&self) -> u64 {
        self.frontier.size
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }
}

impl Nodes for MemoryTree {
    type Error = Error;
    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(index as usize))
            .copied()
            .ok_or_else(|| Error::Proof {
                what: "tree",
                reason: format!("no node at level {level} index {index}"),
            })
    }
}

/// A tree whose leaves can be replaced and inserted anywhere, keeping
/// every node: replacing a leaf or adding one at the end rehashes its path
/// (O(log n)); inserting one at `index` rehashes the nodes over the leaves
/// after it. Each level holds the nodes over pairs of the level below, and
/// a level's last node without a pair is its child carried up, which gives
/// the RFC 6962 root; the perfect-subtree roots are the nodes a proof asks
/// for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EditableTree {
    /// `levels[0]` are the leaf hashes; the last level holds the root.
    levels: Vec<Vec<Hash>>,
}

impl EditableTree {
    /// Leaves so far.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The tree of the leaves for `entries`, in order, hashing each node
    /// once (inserting them one by one rehashes a path each).
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a EntryHash>) -> EditableTree {
        let leaves: Vec<Hash> = entries.into_iter().map(leaf_hash).collect();
        if leaves.is_empty() {
            return EditableTree::default();
        }
        let len = leaves.len();
        let mut tree = EditableTree {
            levels: vec![leaves],
        };
        tree.rehash(0, len);
        tree
    }

    /// Replaces leaf `index` with the leaf for `entry`.
    ///
    /// # Panics
    /// If `index` is not a leaf of the tree.
    pub fn set(&mut self, index: usize, entry: &EntryHash) {
        self.levels[0][index] = leaf_hash(entry);
        self.rehash(index, index + 1);
    }

    /// Inserts the leaf for `entry` at `index`, moving the leaves from
    /// `index` on one place right.
    ///
    /// # Panics
    /// If `index` is past the end.
    pub fn insert(&mut self, index: usize, entry: &EntryHash) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].insert(index, leaf_hash(entry));
        let len = self.levels[0].len();
        self.rehash(index, len);
    }

    /// Recomputes the nodes above leaves `[lo, hi)`.
    fn rehash(&mut self, mut lo: usize, mut hi: usize) {
        let mut level = 0;
        while self.levels[level].len() > 1 {
            let len = self.levels[level].len().div_ceil(2);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            let (below, above) = self.levels.split_at_mut(level + 1);
            let (below, above) = (&below[level], &mut above[0]);
            above.resize(len, Hash([0; 32]));
            lo /= 2;
            hi = hi.div_ceil(2).min(len);
            for i in lo..hi {
                above[i] = match below.get(2 * i + 1) {
                    Some(right) => node_hash(&below[2 * i], right),
                    None => below[2 * i],
                };
            }
            level += 1;
        }
    }

    /// The root of the tree.
    pub fn root(&self) -> Hash {
        match self.levels.last() {
            Some(top) if !top.is_empty() => top[0],
            _ => empty_root(),
        }
    }
}

impl Nodes for EditableTree {
    type Error = Error;
    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let perfect = index
            .checked_add(1)
            .and_then(|i| i.checked_shl(level))
            .is_some_and(|end| end <= self.size());
        perfect
            .then(|| self.levels[level as usize][index as usize])
            .ok_or_else(|| Error::Proof {
                what: "tree",
                reason: format!("no node at level {level} index {index}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(i: u64) -> EntryHash {
        Hash(*blake3::hash(&i.to_le_bytes()).as_bytes())
    }

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::default();
        for i in 0..n {
            t.push(&entry(i));
        }
        t
    }

    /// The root straight from the RFC 6962 definition, by recursion over leaves.
    fn reference_root(leaves: &[EntryHash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn frontier_root_matches_the_definition() {
        for n in 0..70u64 {
            let leaves: Vec<_> = (0..n).map(entry).collect();
            let t = tree(n);
            assert_eq!(t.root(), reference_root(&leaves), "size {n}");
            assert_eq!(range_root(&t, 0, n).unwrap(), t.root(), "size {n}");
        }
    }

    proptest! {
        /// Whatever the edits, the editable tree's root is the RFC 6962
        /// root of its leaves, and its proofs are a whole tree's.
        #[test]
        fn an_edited_tree_is_the_tree_of_its_leaves(
            edits in proptest::collection::vec((any::<bool>(), any::<u64>(), any::<u64>()), 0..120),
        ) {
            let mut t = EditableTree::default();
            let mut leaves: Vec<EntryHash> = Vec::new();
            for (insert, at, value) in edits {
                let e = entry(value);
                if insert || leaves.is_empty() {
                    let index = (at % (leaves.len() as u64 + 1)) as usize;
                    leaves.insert(index, e);
                    t.insert(index, &e);
                } else {
                    let index = (at % leaves.len() as u64) as usize;
                    leaves[index] = e;
                    t.set(index, &e);
                }
                prop_assert_eq!(t.root(), reference_root(&leaves));
            }
            prop_assert_eq!(t.size(), leaves.len() as u64);
            // Built at once from the same leaves: the same tree, node for node.
            prop_assert_eq!(&EditableTree::from_entries(&leaves), &t);
            let size = t.size();
            for (index, leaf) in leaves.iter().enumerate() {
                let proof = prove_inclusion(&t, index as u64, size).unwrap();
                verify_inclusion(leaf, &proof, &t.root()).unwrap();
            }
        }

        #[test]
        fn inclusion_proofs_verify_and_bind(size in 1u64..300, pick in any::<u64>(), flip in 0usize..64) {
            let t = tree(size);
            let index = pick % size;
            let proof = prove_inclusion(&t, index, size).unwrap();
            prop_assert!(proof.path.len() <= 64 - (size - 1).leading_zeros() as usize);
            verify_inclusion(&entry(index), &proof, &t.root()).unwrap();
            // Another leaf, another root or a damaged path must fail.
            prop_assert!(verify_inclusion(&entry(index + 1), &proof, &t.root()).is_err());
            prop_assert!(verify_inclusion(&entry(index), &proof, &entry(0)).is_err());
            if !proof.path.is_empty() {
                let mut bad = proof.clone();
                let i = flip % bad.path.len();
                bad.path[i].0[0] ^= 1;
                prop_assert!(verify_inclusion(&entry(index), &bad, &t.root()).is_err());
                let mut short = proof.clone();
                short.path.pop();
                prop_assert!(verify_inclusion(&entry(index), &short, &t.root()).is_err());
            }
        }

        #[test]
        fn consistency_proofs_verify_and_bind(new in 1u64..300, pick in any::<u64>()) {
            let old = pick % (new + 1);
            let (told, tnew) = (tree(old), tree(new));
            let proof = prove_consistency(&tnew, old, new).unwrap();
            verify_consistency(&proof, &told.root(), &tnew.root()).unwrap();
            if old > 0 && old < new {
                // A forked new tree: same size, different last leaf.
                let mut fork = tree(new - 1);
                fork.push(&entry(10_000));
                prop_assert!(verify_consistency(&proof, &told.root(), &fork.root()).is_err());
                prop_assert!(verify_consistency(&proof, &entry(1), &tnew.root()).is_err());
                let mut bad = proof.clone();
                bad.path[0].0[5] ^= 0x80;
                prop_assert!(verify_consistency(&bad, &told.root(), &tnew.root()).is_err());
            }
        }
    }
}

//! Evidence bundles: one file that lets an auditor verify a review offline,
//! without the organisation's server or its ledger directory.
//!
//! A bundle holds the genesis entry, every roster entry, every entry of the
//! audited review and of each review it reports on (through action statuses
//! and objective assessments, followed back as far as they go), each with
//! its inclusion proof against one signed checkpoint; the proofs of those
//! subjects' tips in the checkpoint's subject map ([`crate::subjects`]),
//! which show that nothing of them was left out; the checkpoint; and the
//! minutes as rendered when exported. Entries of other reviews are not in it.
//!
//! File layout: the 24 bytes `review-ledger bundle v1\n`, then [`Bundle`] in
//! the canonical codec. [`verify`] checks every signature and proof,
//! replays the admission rules over the entries, and builds the auditor's
//! report. Every byte is checked: each entry is proved and replayed, the
//! checkpoint is verified (and its head compared with the last entry when
//! the bundle holds it), exactly one subject proof is held for each subject
//! present, in subject order, and nothing else is allowed.

use std::collections::BTreeSet;

use ledger_core::merkle::{InclusionProof, verify_inclusion};
use ledger_core::{Admission, Checkpoint, Hash, LedgerId, Seq, UnixMicros, VerifiedEntry, codec};
use serde::{Deserialize, Serialize};

use crate::audit::{ReviewAudit, audit};
use crate::conformance::{Report as Conformance, check};
use crate::ids::{Date, ReviewId};
use crate::state::LedgerState;
use crate::subjects::{Subject, SubjectProof};

/// The first bytes of every bundle file.
pub const MAGIC: &[u8; 24] = b"review-ledger bundle v1\n";

/// The bundle format version inside.
pub const BUNDLE_VERSION: u16 = 1;

/// One entry with its inclusion proof against the bundle's checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleEntry {
    /// The canonical entry bytes.
    pub entry: Vec<u8>,
    /// The RFC 9162 inclusion path of the entry (its index is its sequence
    /// number, the tree size is the checkpoint's).
    pub proof: Vec<Hash>,
}

/// Everything an offline auditor needs for one review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// [`BUNDLE_VERSION`].
    pub version: u16,
    /// The ledger the entries come from.
    pub ledger_id: LedgerId,
    /// The audited review.
    pub review: ReviewId,
    /// The signed checkpoint every proof is against.
    pub checkpoint: String,
    /// The entries, in ascending sequence order, genesis first.
    pub entries: Vec<BundleEntry>,
    /// The tip of every subject whose entries are included, proved in the
    /// checkpoint's subject map.
    pub subjects: Vec<SubjectProof>,
    /// Always empty. Bundles written before the verifier checked every byte
    /// carried the minutes rendered at export here; a rendering ties a file
    /// to one renderer's version, so a bundle now holds evidence only, the
    /// verifier renders the minutes itself (in the report of
    /// `verify-bundle --html`), and a bundle with anything here is refused.
    pub minutes_html: String,
}

/// Why a bundle does not verify. Each names the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Not a bundle, or a version this verifier does not read.
    #[error("not a review-ledger bundle: {0}")]
    Format(String),
    /// The bundle is for another ledger than the trusted one.
    #[error("the bundle is for ledger {found}, not the trusted {trusted}")]
    WrongLedger {
        /// The ledger the bundle names.
        found: LedgerId,
        /// The ledger the auditor trusts.
        trusted: LedgerId,
    },
    /// The checkpoint is malformed, badly signed or for another ledger.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// An entry too damaged to say its own number, by its place in the bundle.
    #[error("the bundle's entry at position {position} of {of}: {reason}")]
    Damaged {
        /// Its place, from 1.
        position: usize,
        /// How many entries the bundle holds.
        of: usize,
        /// What is wrong.
        reason: String,
    },
    /// One entry is damaged, badly signed, out of order or not proved.
    #[error("entry #{seq}: {reason}")]
    Entry {
        /// The entry.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// A subject's entries do not match its committed tip.
    #[error("{subject}: {reason}")]
    Subject {
        /// The roster or the review.
        subject: String,
        /// What is wrong.
        reason: String,
    },
}

/// What an offline verification established.
#[derive(Clone, Debug, Serialize)]
pub struct BundleReport {
    /// The ledger.
    pub ledger_id: LedgerId,
    /// The checkpoint's size.
    pub checkpoint_size: u64,
    /// The checkpoint's Merkle root, which every entry is proved against.
    pub checkpoint_root: Hash,
    /// The ledger's clock when it signed the checkpoint.
    pub checkpoint_time: UnixMicros,
    /// The fingerprint of the checkpoint key that genesis names and that
    /// signed the checkpoint.
    pub checkpoint_key: String,
    /// Whether the bundle holds the checkpoint's last entry, so that the
    /// checkpoint's head was compared with its hash.
    pub head_checked: bool,
    /// Entries in the bundle.
    pub entries: usize,
    /// The subjects proved complete in the checkpoint's subject map, in
    /// subject order: the roster, then reviews by id.
    pub subjects: Vec<Subject>,
    /// Who signed, whether top management did, what changed after.
    pub audit: ReviewAudit,
    /// The conformance check.
    pub conformance: Conformance,
}

impl BundleReport {
    /// Whether the review holds ([`crate::judgement::holds`]).
    pub fn holds(&self) -> bool {
        crate::judgement::holds(&self.audit, &self.conformance)
    }
}

fn describe(subject: &Subject) -> String {
    match subject {
        Subject::Roster => "the roster".into(),
        Subject::Review(r) => format!("review {r}"),
    }
}

impl Bundle {
    /// The bundle file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        [MAGIC.as_slice(), &codec::encode(self)].concat()
    }

    /// Reads a bundle file, refusing anything but a canonical version-1 bundle.
    pub fn from_bytes(bytes: &[u8]) -> Result<Bundle, BundleError> {
        let body = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(|| {
            BundleError::Format("the file does not start with `review-ledger bundle v1`".into())
        })?;
        let bundle: Bundle =
            codec::decode("bundle", body).map_err(|e| BundleError::Format(e.to_string()))?;
        if bundle.version != BUNDLE_VERSION {
            return Err(BundleError::Format(format!(
                "version {} is not the supported {BUNDLE_VERSION}",
                bundle.version
            )));
        }
        Ok(bundle)
    }
}

/// Verifies a bundle against the trusted ledger id, replays the rules over
/// its entries and returns the auditor's report with the replayed state.
pub fn verify(
    bundle: &Bundle,
    trusted: LedgerId,
    today: Date,
) -> Result<(BundleReport, LedgerState), BundleError> {
    if bundle.ledger_id != trusted {
        return Err(BundleError::WrongLedger {
            found: bundle.ledger_id,
            trusted,
        });
    }
    if !bundle.minutes_html.is_empty() {
        return Err(BundleError::Format(format!(
            "it carries {} bytes of rendered minutes that no verifier can check: a bundle holds evidence only (`verify-bundle --html` renders the minutes from its entries; export it again)",
            bundle.minutes_html.len()
        )));
    }
    let entry_err = |seq: u64, reason: String| BundleError::Entry { seq, reason };
    let mut state = LedgerState::new();
    let mut checkpoint: Option<Checkpoint> = None;
    let mut last: Option<(Seq, Hash, UnixMicros)> = None;
    let mut ids = BTreeSet::new();
    let mut included = BTreeSet::new();
    for (i, be) in bundle.entries.iter().enumerate() {
        // An entry that names its own number is reported by it; one too
        // damaged to say is reported by its place in the bundle.
        let v = VerifiedEntry::from_bytes(&be.entry).map_err(|e| match e {
            ledger_core::Error::AtEntry { seq, source } => entry_err(seq, source.to_string()),
            other => BundleError::Damaged {
                position: i + 1,
                of: bundle.entries.len(),
                reason: other.to_string(),
            },
        })?;
        let seq = v.entry.seq;
        if i == 0 {
            if seq != Seq(0) || v.hash != trusted {
                return Err(entry_err(
                    seq.0,
                    "the first entry must be the genesis whose hash is the ledger id".into(),
                ));
            }
        } else if let Some((prev_seq, prev_hash, prev_received)) = last {
            if seq <= prev_seq {
                return Err(entry_err(
                    seq.0,
                    format!("comes after #{} in the bundle", prev_seq.0),
                ));
            }
            if seq.0 == prev_seq.0 + 1 && v.entry.prev != prev_hash {
                return Err(entry_err(
                    seq.0,
                    format!("does not link to entry #{}", prev_seq.0),
                ));
            }
            if v.entry.received < prev_received {
                return Err(entry_err(seq.0, "received before an earlier entry".into()));
            }
        }
        let expected_ledger = if seq == Seq(0) { Hash::ZERO } else { trusted };
        if v.event.ledger != expected_ledger {
            return Err(entry_err(
                seq.0,
                format!("event {} is for ledger {}", v.event.id, v.event.ledger),
            ));
        }
        if !ids.insert(v.event.id) {
            return Err(entry_err(
                seq.0,
                format!("event {} appears twice", v.event.id),
            ));
        }
        // Prove the entry before replaying it (genesis first names the key
        // that signs the checkpoint, so its proof comes right after it).
        if let Some(cp) = &checkpoint {
            prove_entry(cp, seq, &v.hash, &be.proof)?;
        }
        let effect = state
            .check(seq, v.entry.received, &v.event, v.signed_by)
            .map_err(|e| entry_err(seq.0, format!("not admissible: {e}")))?;
        included.insert(state.subject_of(&effect));
        state.apply(seq, v.hash, v.entry.received, effect);
        if checkpoint.is_none() {
            let key = state
                .roster
                .checkpoint_key
                .ok_or_else(|| BundleError::Checkpoint("genesis names no checkpoint key".into()))?;
            let cp = Checkpoint::verify(&bundle.checkpoint, &key)
                .map_err(|e| BundleError::Checkpoint(e.to_string()))?;
            if cp.ledger_id != trusted {
                return Err(BundleError::Checkpoint(format!(
                    "it is for ledger {}",
                    cp.ledger_id
                )));
            }
            prove_entry(&cp, seq, &v.hash, &be.proof)?;
            checkpoint = Some(cp);
        }
        last = Some((seq, v.hash, v.entry.received));
    }
    let cp = checkpoint.ok_or_else(|| BundleError::Format("the bundle holds no entries".into()))?;
    let root = cp.subjects.ok_or_else(|| {
        BundleError::Checkpoint(
            "it commits to no subject map, so completeness cannot be shown".into(),
        )
    })?;
    // The checkpoint's head is the hash of its last entry (FORMAT 11.4).
    let head_checked = last.is_some_and(|(seq, _, _)| seq.0.checked_add(1) == Some(cp.size));
    if let Some((seq, hash, _)) = last
        && head_checked
        && hash != cp.head
    {
        return Err(BundleError::Checkpoint(format!(
            "its head {} is not the hash {hash} of its last entry #{}",
            cp.head, seq.0
        )));
    }
    // Completeness: every included subject's entries are all there, with
    // exactly one proof each, in subject order (the roster, then reviews by id).
    let needed: BTreeSet<Subject> = included
        .iter()
        .cloned()
        .chain([Subject::Roster, Subject::Review(bundle.review.clone())])
        .collect();
    for (i, p) in bundle.subjects.iter().enumerate() {
        let name = describe(&p.subject);
        if !needed.contains(&p.subject) {
            return Err(BundleError::Subject {
                subject: name,
                reason: "has a proof in the bundle but no entries in it".into(),
            });
        }
        if let Some(before) = i.checked_sub(1).map(|j| &bundle.subjects[j].subject)
            && before >= &p.subject
        {
            return Err(BundleError::Subject {
                subject: name,
                reason: if before == &p.subject {
                    "is proved twice".into()
                } else {
                    format!(
                        "is proved after {}: proofs come in subject order",
                        describe(before)
                    )
                },
            });
        }
    }
    for subject in &needed {
        let name = describe(subject);
        let proof = bundle
            .subjects
            .iter()
            .find(|p| &p.subject == subject)
            .ok_or_else(|| BundleError::Subject {
                subject: name.clone(),
                reason: "has entries in the bundle but no proof of its tip".into(),
            })?;
        proof.verify(&root).map_err(|e| BundleError::Subject {
            subject: name.clone(),
            reason: format!("its tip is not in the checkpoint's subject map: {e}"),
        })?;
        let have = state.subjects.tip(subject);
        if have != Some(&proof.tip) {
            let count = have.map(|t| t.count).unwrap_or(0);
            return Err(BundleError::Subject {
                subject: name,
                reason: format!(
                    "the checkpoint commits to {} entries but the bundle's {count} give another chain: entries are missing or changed",
                    proof.tip.count
                ),
            });
        }
    }
    let audit = audit(&state, &bundle.review).map_err(|e| BundleError::Subject {
        subject: describe(&Subject::Review(bundle.review.clone())),
        reason: e.to_string(),
    })?;
    let conformance = check(&state, &bundle.review, today).map_err(|e| BundleError::Subject {
        subject: describe(&Subject::Review(bundle.review.clone())),
        reason: e.to_string(),
    })?;
    let checkpoint_key = state
        .roster
        .checkpoint_key
        .map(|k| k.fingerprint())
        .unwrap_or_default();
    let report = BundleReport {
        ledger_id: trusted,
        checkpoint_size: cp.size,
        checkpoint_root: cp.root,
        checkpoint_time: cp.time,
        checkpoint_key,
        head_checked,
        entries: bundle.entries.len(),
        subjects: needed.into_iter().collect(),
        audit,
        conformance,
    };
    Ok((report, state))
}

/// Checks that entry `seq` with hash `hash` is in the checkpoint's tree.
fn prove_entry(cp: &Checkpoint, seq: Seq, hash: &Hash, path: &[Hash]) -> Result<(), BundleError> {
    let fault = |reason: String| BundleError::Entry { seq: seq.0, reason };
    if seq.0 >= cp.size {
        return Err(fault(format!(
            "is beyond the checkpoint's {} entries",
            cp.size
        )));
    }
    let proof = InclusionProof {
        index: seq.0,
        size: cp.size,
        path: path.to_vec(),
    };
    verify_inclusion(hash, &proof, &cp.root).map_err(|e| fault(e.to_string()))
}

/// The subjects an audit of `review` needs: the roster, the review, every
/// review whose meeting was recorded before its meeting (the rules judge
/// from the reviews held before, whatever `schedule.previous` names), and
/// every review these report on, followed back through theirs.
pub fn needed_subjects(state: &LedgerState, review: &ReviewId) -> BTreeSet<Subject> {
    let mut out = BTreeSet::from([Subject::Roster]);
    let cutoff = state
        .reviews
        .reviews
        .get(review)
        .and_then(|r| r.minutes.meeting.as_ref())
        .map_or(Seq(u64::MAX), |m| m.seq);
    // By the reviews' summaries: only the reviews needed are read.
    let mut todo: Vec<ReviewId> = state
        .reviews
        .reviews
        .summaries()
        .filter(|(_, r)| r.meeting.is_some_and(|(seq, _)| seq < cutoff))
        .map(|(id, _)| id.clone())
        .collect();
    todo.push(review.clone());
    while let Some(r) = todo.pop() {
        if !out.insert(Subject::Review(r.clone())) {
            continue;
        }
        let Some(record) = state.reviews.reviews.get(&r) else {
            continue;
        };
        let m = &record.minutes;
        let actions = m
            .action_statuses
            .keys()
            .filter_map(|a| state.reviews.actions.get(a))
            .map(|a| a.review.clone());
        let objectives = m
            .assessments
            .keys()
            .filter_map(|o| state.reviews.objectives.get(o))
            .map(|o| o.review.clone());
        todo.extend(actions.chain(objectives).chain(record.previous.clone()));
    }
    out
}

/// Assembles the bundle of `review` from a ledger whose state after its
/// last entry is `state`, and whose latest checkpoint is `note` (for the
/// ledger's whole length). `entry` reads a stored entry and `nodes` gives
/// the Merkle tree's nodes; the caller does the I/O. Only the entries of
/// the bundle's subjects are read ([`crate::subjects::Subjects::seqs`]).
pub fn assemble<N: ledger_core::Nodes, E>(
    state: &LedgerState,
    review: &ReviewId,
    note: String,
    entry: &dyn Fn(Seq) -> Result<Vec<u8>, E>,
    nodes: &N,
) -> Result<Bundle, E>
where
    E: From<N::Error> + From<ledger_core::Error>,
{
    let size = state.size;
    let needed = needed_subjects(state, review);
    let mut seqs: Vec<Seq> = needed
        .iter()
        .flat_map(|s| state.subjects.seqs(s))
        .copied()
        .collect();
    seqs.sort_unstable();
    let mut entries = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let proof = ledger_core::merkle::prove_inclusion(nodes, seq.0, size)?;
        entries.push(BundleEntry {
            entry: entry(seq)?,
            proof: proof.path,
        });
    }
    let subjects = needed
        .iter()
        .filter_map(|s| state.subjects.prove(s))
        .collect();
    Ok(Bundle {
        version: BUNDLE_VERSION,
        ledger_id: state.roster.ledger_id.unwrap_or_default(),
        review: review.clone(),
        checkpoint: note,
        entries,
        subjects,
        minutes_html: String::new(),
    })
}

//! Evidence bundles from any store: what `review-ledger export` writes and
//! what `GetBundle` returns, built the same way.

use ledger_core::{Checkpoint, Hash, Seq, codec};
use ledger_store::{Store, StoreError, StoreNodes};
use review::bundle::{self, Bundle};
use review::{LedgerState, Rejection, ReviewId};

/// Why a bundle could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The review is unknown, or a stored entry is not admissible on replay.
    #[error(transparent)]
    Domain(#[from] Rejection),
    /// The stored checkpoint does not verify or does not cover the entries.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The review's bundle would be over the bundle format's size limit,
    /// so that no verifier would read it.
    #[error(
        "the bundle of review {review} would encode to {bytes} bytes after its magic line, over \
         the bundle format's limit of {limit} (docs/FORMAT.md, section 19.2): it carries the \
         entries of the review and of every review held before it or that it reports on, \
         {reviews} in all"
    )]
    TooLarge {
        /// The review.
        review: ReviewId,
        /// The bundle's encoded size, after the magic line.
        bytes: usize,
        /// The codec's limit.
        limit: usize,
        /// How many reviews it carries.
        reviews: usize,
    },
}

impl From<ledger_core::Error> for ExportError {
    fn from(e: ledger_core::Error) -> Self {
        ExportError::Store(StoreError::Format(e))
    }
}

/// The bundle of `review`, against the store's latest checkpoint. The store
/// must not change while this runs (hand it a snapshot of a live ledger).
/// The state comes from the store's state snapshot and the entries after
/// it ([`ledger_store::load`]); only the bundle's own entries are read
/// beside them.
pub fn bundle<S: Store + ?Sized>(store: &S, review: &ReviewId) -> Result<Bundle, ExportError> {
    let mut state = LedgerState::new();
    ledger_store::load(store, &mut state)?;
    bundle_of(store, &state, review)
}

/// The bundle of `review` from `store`, whose state after its last entry
/// is `state` (a server's hosted state at the snapshot's size).
pub fn bundle_of<S: Store + ?Sized>(
    store: &S,
    state: &LedgerState,
    review: &ReviewId,
) -> Result<Bundle, ExportError> {
    state.reviews.review(review)?;
    let note = store
        .checkpoint()?
        .ok_or_else(|| ExportError::Checkpoint("the ledger has no checkpoint".into()))?;
    let key = state
        .roster
        .checkpoint_key
        .ok_or_else(|| ExportError::Checkpoint("the ledger has no genesis".into()))?;
    let cp = Checkpoint::verify(&note, &key).map_err(|e| ExportError::Checkpoint(e.to_string()))?;
    if cp.size != state.size {
        return Err(ExportError::Checkpoint(format!(
            "it states {} entries but {} are stored",
            cp.size, state.size
        )));
    }
    let read = |seq: Seq| -> Result<Vec<u8>, ExportError> {
        store.entry(seq)?.ok_or_else(|| {
            ExportError::Store(StoreError::Damaged {
                what: format!("entry {seq}"),
                reason: "missing".into(),
            })
        })
    };
    let nodes = Nodes(StoreNodes(store));
    bundle::assemble(state, review, note, &read, &nodes)
}

/// The bundle file's bytes, for `export`, `GetBundle` and the console's
/// download: refused when its encoding is over the limit that every reader
/// of a bundle file holds it to (docs/FORMAT.md, section 19.2), since no
/// verifier would read it. (`VerifyReview` verifies the bundle where it is
/// built, and holds it to no file limit.)
pub fn file_bytes(bundle: &Bundle) -> Result<Vec<u8>, ExportError> {
    let bytes = bundle.to_bytes();
    let encoded = bytes.len() - bundle::MAGIC.len();
    if encoded > codec::DECODE_LIMIT {
        return Err(ExportError::TooLarge {
            review: bundle.review.clone(),
            bytes: encoded,
            limit: codec::DECODE_LIMIT,
            reviews: bundle
                .subjects
                .iter()
                .filter(|p| matches!(p.subject, review::subjects::Subject::Review(_)))
                .count(),
        });
    }
    Ok(bytes)
}

/// The store's Merkle nodes with this module's error.
struct Nodes<'a, S: Store + ?Sized>(StoreNodes<'a, S>);

impl<S: Store + ?Sized> ledger_core::Nodes for Nodes<'_, S> {
    type Error = ExportError;
    fn node(&self, level: u32, index: u64) -> Result<Hash, ExportError> {
        Ok(ledger_core::Nodes::node(&self.0, level, index)?)
    }
}

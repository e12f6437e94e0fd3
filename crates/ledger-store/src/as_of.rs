//! [`AsOf`]: a store seen as of one end of its log, for a verification
//! that must not see what is appended while it runs.
//!
//! It reads the head and the checkpoint once, together ([`Store::end`]),
//! and answers every read as if nothing came after: entries, ranges and
//! the event-id index stop at that head. Its derived-record counts are
//! unknown (records of later entries may be stored already), and it
//! cannot be appended to.

use std::sync::Arc;

use ledger_core::{EventId, Hash, Seq};

use crate::error::{Result, StoreError};
use crate::store::{Batch, Head, Store};

/// A read-only view of `S` as of one end of its log.
pub struct AsOf<S: Store + ?Sized> {
    inner: Arc<S>,
    head: Head,
    checkpoint: Option<String>,
    witness: Option<String>,
}

impl<S: Store + ?Sized> AsOf<S> {
    /// The view of `inner` as of its current end. A caller whose appends
    /// go through this process holds them back while this runs, so that no
    /// batch is between the end it reads and the disk.
    pub fn new(inner: Arc<S>) -> Result<AsOf<S>> {
        let (head, checkpoint) = inner.end()?;
        let witness = inner.witness()?;
        Ok(AsOf {
            inner,
            head,
            checkpoint,
            witness,
        })
    }

    fn covers(&self, seq: Seq) -> bool {
        seq.0 < self.head.size
    }
}

impl<S: Store + ?Sized> Store for AsOf<S> {
    fn head(&self) -> Result<Head> {
        Ok(self.head.clone())
    }

    fn entry(&self, seq: Seq) -> Result<Option<Vec<u8>>> {
        match self.covers(seq) {
            true => self.inner.entry(seq),
            false => Ok(None),
        }
    }

    fn range(&self, start: Seq, limit: usize) -> Result<Vec<(Seq, Vec<u8>)>> {
        if !self.covers(start) {
            return Ok(Vec::new());
        }
        let left = (self.head.size - start.0).min(limit as u64) as usize;
        self.inner.range(start, left)
    }

    fn seq_of(&self, id: &EventId) -> Result<Option<Seq>> {
        Ok(self.inner.seq_of(id)?.filter(|s| self.covers(*s)))
    }

    fn seqs_of(&self, ids: &[EventId]) -> Result<Vec<Option<Seq>>> {
        let seqs = self.inner.seqs_of(ids)?;
        Ok(seqs
            .into_iter()
            .map(|s| s.filter(|s| self.covers(*s)))
            .collect())
    }

    fn node(&self, level: u32, index: u64) -> Result<Option<Hash>> {
        self.inner.node(level, index)
    }

    fn nodes(&self, keys: &[(u32, u64)]) -> Result<Vec<Option<Hash>>> {
        self.inner.nodes(keys)
    }

    fn keeps_nodes(&self) -> bool {
        self.inner.keeps_nodes()
    }

    fn checkpoint(&self) -> Result<Option<String>> {
        Ok(self.checkpoint.clone())
    }

    fn end(&self) -> Result<(Head, Option<String>)> {
        Ok((self.head.clone(), self.checkpoint.clone()))
    }

    // A state snapshot past the head is refused by `crate::load`, which
    // then folds every entry up to the head.
    fn snapshot(&self) -> Result<Option<Vec<u8>>> {
        self.inner.snapshot()
    }

    fn witness(&self) -> Result<Option<String>> {
        Ok(self.witness.clone())
    }

    fn append(&self, _batch: &Batch) -> Result<()> {
        self.check_writable()
    }

    fn check_writable(&self) -> Result<()> {
        Err(StoreError::ReadOnly {
            path: "a view of the ledger as of one end".into(),
            reason: "it is fixed where a verification started".into(),
        })
    }
}

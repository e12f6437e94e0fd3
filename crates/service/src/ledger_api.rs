//! `reviewledger.v1.LedgerService`: appends, reads, the feed, checkpoints, proofs.

use std::sync::Arc;

use ledger_core::merkle::{prove_consistency, prove_inclusion, range_root};
use ledger_core::{Checkpoint, Seq};
use ledger_store::StoreNodes;
use tonic::{Request, Response, Status, Streaming};

use crate::audit::{Auditors, stopped};
use crate::error::{append_status, store_status};
use crate::host::Hosted;
use crate::hosts::{Access, Hosts, Role};
use crate::limits::Limits;
use crate::load::{Scope, Seats};
use crate::pb::ledger_service_server::LedgerService;
use crate::{convert, feed, limits, pb};

/// Runs blocking work (sled, the writer) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("blocking worker failed: {e}")))?
}

/// The ledger service over the hosted ledgers.
pub struct LedgerApi {
    hosts: Arc<Hosts>,
    limits: Limits,
    feeds: Arc<Seats>,
    auditors: Arc<Auditors>,
}

impl LedgerApi {
    /// The service for `hosts` under `limits`, running whole-review reads
    /// on `auditors`.
    pub fn new(hosts: Arc<Hosts>, limits: Limits, auditors: Arc<Auditors>) -> LedgerApi {
        LedgerApi {
            hosts,
            limits,
            feeds: Seats::new(),
            auditors,
        }
    }
}

/// The latest acknowledged checkpoint, parsed and verified under the
/// checkpoint key that genesis names.
fn checkpoint(host: &Hosted) -> Result<(String, Checkpoint), Status> {
    let note = host.checkpoint();
    let key =
        host.state().roster.checkpoint_key.ok_or_else(|| {
            Status::internal(format!("ledger {} names no checkpoint key", host.id))
        })?;
    let cp = Checkpoint::verify(&note, &key)
        .map_err(|e| Status::data_loss(format!("stored checkpoint of {}: {e}", host.id)))?;
    Ok((note, cp))
}

/// Entries `[start, start + limit)` below the shown size, stopping once
/// they hold `max_bytes` (at least one entry is read).
pub(crate) fn read(
    host: &Hosted,
    start: u64,
    limit: usize,
    max_bytes: usize,
) -> Result<Vec<pb::StoredEntry>, Status> {
    let size = host.size();
    if start >= size {
        return Ok(Vec::new());
    }
    let limit = limit.min((size - start) as usize);
    let chunk = host
        .store()
        .range(Seq(start), limit)
        .map_err(|e| store_status("reading entries", e))?;
    let mut out = Vec::with_capacity(chunk.len());
    let mut bytes = 0usize;
    for (seq, entry) in chunk {
        bytes += entry.len();
        if bytes > max_bytes && !out.is_empty() {
            break;
        }
        out.push(convert::stored_entry(seq, entry)?);
    }
    Ok(out)
}

/// The status that ends an `AppendStream` at event `index`, saying what
/// the events before it left appended: in the message, and in the trailers
/// `appended` and `last-seq` for programs.
fn appended_so_far(s: Status, index: usize, last_seq: Option<u64>) -> Status {
    let mut status = Status::new(
        s.code(),
        format!(
            "event #{index} of the stream: {}; the {index} events before it were appended{}",
            s.message(),
            last_seq
                .map(|q| format!(", the last as #{q}"))
                .unwrap_or_default()
        ),
    );
    let meta = status.metadata_mut();
    meta.insert("appended", index.into());
    if let Some(q) = last_seq {
        meta.insert("last-seq", q.into());
    }
    status
}

#[tonic::async_trait]
impl LedgerService for LedgerApi {
    async fn append(
        &self,
        request: Request<pb::AppendRequest>,
    ) -> Result<Response<pb::AppendResponse>, Status> {
        let host = self.hosts.get(
            request.metadata(),
            &request.get_ref().ledger_id,
            Access::Write,
        )?;
        let signed = convert::signed_event(request.into_inner().event)?;
        // Once handed to the writer the append completes durably even if
        // the client goes away.
        let receipt = blocking(move || host.append(signed).map_err(append_status)).await?;
        Ok(Response::new(convert::receipt(&receipt)))
    }

    async fn append_stream(
        &self,
        request: Request<Streaming<pb::AppendRequest>>,
    ) -> Result<Response<pb::AppendStreamResponse>, Status> {
        let meta = request.metadata().clone();
        let mut stream = request.into_inner();
        let mut receipts: Vec<pb::AppendResponse> = Vec::new();
        loop {
            let index = receipts.len();
            let last_seq = receipts.last().map(|r| r.seq);
            let refused = |s: Status| appended_so_far(s, index, last_seq);
            let Some(item) = stream.message().await.map_err(refused)? else {
                break;
            };
            if index == limits::STREAM_EVENTS {
                return Err(refused(Status::resource_exhausted(format!(
                    "a stream carries at most {} events; send the rest in another call",
                    limits::STREAM_EVENTS
                ))));
            }
            let host = self
                .hosts
                .get(&meta, &item.ledger_id, Access::Write)
                .map_err(refused)?;
            let signed = convert::signed_event(item.event).map_err(refused)?;
            let receipt = blocking(move || host.append(signed).map_err(append_status))
                .await
                .map_err(refused)?;
            receipts.push(convert::receipt(&receipt));
        }
        Ok(Response::new(pb::AppendStreamResponse {
            appended: receipts.len() as u64,
            last_seq: receipts.last().map(|r| r.seq),
            receipts,
        }))
    }

    async fn read_range(
        &self,
        request: Request<pb::ReadRangeRequest>,
    ) -> Result<Response<pb::ReadRangeResponse>, Status> {
        let r = request.get_ref();
        let host = self
            .hosts
            .get(request.metadata(), &r.ledger_id, Access::Read(Role::Reader))?;
        let (start, limit) = (r.start, r.limit);
        let limit = match limit as usize {
            0 => limits::READ_ENTRIES,
            n => n.min(limits::READ_ENTRIES),
        };
        blocking(move || {
            let size = host.size();
            if start > size {
                return Err(Status::not_found(format!(
                    "entry #{start} is beyond the ledger's {size} entries"
                )));
            }
            let entries = read(&host, start, limit, limits::READ_BYTES)?;
            Ok(Response::new(pb::ReadRangeResponse { entries, size }))
        })
        .await
    }

    async fn get_by_event_id(
        &self,
        request: Request<pb::GetByEventIdRequest>,
    ) -> Result<Response<pb::StoredEntry>, Status> {
        let r = request.get_ref();
        let host = self
            .hosts
            .get(request.metadata(), &r.ledger_id, Access::Read(Role::Reader))?;
        let id = convert::event_id(&r.event_id)?;
        blocking(move || {
            let missing = || Status::not_found(format!("no event {id} in ledger {}", host.id));
            let seq = host
                .store()
                .seq_of(&id)
                .map_err(|e| store_status("event index", e))?
                .filter(|s| s.0 < host.size())
                .ok_or_else(missing)?;
            let bytes = host
                .store()
                .entry(seq)
                .map_err(|e| store_status("reading entries", e))?
                .ok_or_else(missing)?;
            Ok(Response::new(convert::stored_entry(seq, bytes)?))
        })
        .await
    }

    async fn read_review(
        &self,
        request: Request<pb::ReadReviewRequest>,
    ) -> Result<Response<pb::ReadRangeResponse>, Status> {
        let r = request.get_ref();
        let host = self
            .hosts
            .get(request.metadata(), &r.ledger_id, Access::Read(Role::Reader))?;
        let review = convert::review_id(&r.review)?;
        // The review's own entries, by the subject map's list of them (its
        // content, signatures and its actions' updates), kept where the
        // event names the review. Run in the auditors' pool, as it was when
        // it scanned the ledger.
        self.auditors
            .run(host.id, move |stop| {
                let (size, seqs) = {
                    let state = host.state();
                    if !state.reviews.reviews.contains_key(&review) {
                        return Err(Status::not_found(format!(
                            "no review {review} in ledger {}",
                            host.id
                        )));
                    }
                    let subject = review::subjects::Subject::Review(review.clone());
                    (state.size, state.subjects.seqs(&subject).to_vec())
                };
                let mut entries = Vec::with_capacity(seqs.len());
                for seq in seqs {
                    stop.check().map_err(stopped)?;
                    let bytes = host
                        .store()
                        .entry(seq)
                        .map_err(|e| store_status("reading entries", e))?
                        .ok_or_else(|| Status::data_loss(format!("entry {seq} is missing")))?;
                    let entry = convert::stored_entry(seq, bytes)?;
                    if entry
                        .event
                        .as_ref()
                        .is_some_and(|ev| ev.review == review.as_str())
                    {
                        entries.push(entry);
                    }
                }
                Ok(Response::new(pb::ReadRangeResponse { entries, size }))
            })
            .await
    }

    type FeedStream = feed::FeedStream;

    async fn feed(
        &self,
        request: Request<pb::FeedRequest>,
    ) -> Result<Response<Self::FeedStream>, Status> {
        let r = request.get_ref();
        let host = self
            .hosts
            .get(request.metadata(), &r.ledger_id, Access::Read(Role::Reader))?;
        let from = r.from;
        let size = host.size();
        if from > size {
            return Err(Status::not_found(format!(
                "cursor {from} is beyond the ledger's {size} entries"
            )));
        }
        let l = &self.limits;
        let mut scopes = vec![
            (Scope::Server, l.feeds),
            (Scope::Ledger(host.id), l.feeds_per_ledger),
        ];
        if let Some(peer) = request.remote_addr() {
            scopes.push((Scope::Connection(peer), l.feeds_per_connection));
        }
        let seat = self.feeds.take(&scopes).map_err(|(scope, limit)| {
            Status::resource_exhausted(format!("{limit} feeds are already open on {scope}"))
        })?;
        let stopping = self.hosts.stopping();
        Ok(Response::new(feed::start(
            host,
            from,
            self.limits.clone(),
            seat,
            stopping,
        )))
    }

    async fn get_checkpoint(
        &self,
        request: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::CheckpointResponse>, Status> {
        let host = self.hosts.get(
            request.metadata(),
            &request.get_ref().ledger_id,
            Access::Read(Role::Reader),
        )?;
        let (note, cp) = checkpoint(&host)?;
        Ok(Response::new(checkpoint_pb(note, &cp)))
    }

    async fn list_ledgers(
        &self,
        request: Request<pb::ListLedgersRequest>,
    ) -> Result<Response<pb::ListLedgersResponse>, Status> {
        let mut ledgers = Vec::new();
        for host in self.hosts.readable(request.metadata())? {
            let (note, cp) = checkpoint(&host)?;
            ledgers.push(pb::LedgerSummary {
                ledger_id: host.id.to_hex(),
                organisation: host.state().roster.organisation.clone(),
                size: cp.size,
                checkpoint: Some(checkpoint_pb(note, &cp)),
            });
        }
        Ok(Response::new(pb::ListLedgersResponse { ledgers }))
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProofResponse>, Status> {
        let r = request.get_ref();
        let host = self
            .hosts
            .get(request.metadata(), &r.ledger_id, Access::Read(Role::Reader))?;
        let (seq, tree_size) = (r.seq, r.tree_size);
        blocking(move || {
            let (_, cp) = checkpoint(&host)?;
            let size = if tree_size == 0 { cp.size } else { tree_size };
            if size > cp.size {
                return Err(Status::not_found(format!(
                    "tree size {size} is beyond the latest checkpoint's {} entries",
                    cp.size
                )));
            }
            if seq >= size {
                return Err(Status::not_found(format!(
                    "entry #{seq} is not in the tree of {size} entries"
                )));
            }
            let store = host.store();
            let nodes = StoreNodes(store);
            let bytes = store
                .entry(Seq(seq))
                .map_err(|e| store_status("reading entries", e))?
                .ok_or_else(|| Status::data_loss(format!("entry #{seq} is missing")))?;
            let proof =
                prove_inclusion(&nodes, seq, size).map_err(|e| store_status("proving", e))?;
            let root = range_root(&nodes, 0, size).map_err(|e| store_status("proving", e))?;
            Ok(Response::new(pb::InclusionProofResponse {
                seq,
                tree_size: size,
                entry_hash: ledger_core::hash_entry_bytes(&bytes).0.to_vec(),
                path: proof.path.iter().map(|h| h.0.to_vec()).collect(),
                root: root.0.to_vec(),
            }))
        })
        .await
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProofResponse>, Status> {
        let r = request.get_ref();
        let host = self
            .hosts
            .get(request.metadata(), &r.ledger_id, Access::Read(Role::Reader))?;
        let (old, new) = (r.old_size, r.new_size);
        blocking(move || {
            let (_, cp) = checkpoint(&host)?;
            let new = if new == 0 { cp.size } else { new };
            if new > cp.size {
                return Err(Status::not_found(format!(
                    "tree size {new} is beyond the latest checkpoint's {} entries",
                    cp.size
                )));
            }
            if old > new {
                return Err(Status::invalid_argument(format!(
                    "old_size {old} is larger than new_size {new}"
                )));
            }
            let nodes = StoreNodes(host.store());
            let proof =
                prove_consistency(&nodes, old, new).map_err(|e| store_status("proving", e))?;
            let old_root = range_root(&nodes, 0, old).map_err(|e| store_status("proving", e))?;
            let new_root = range_root(&nodes, 0, new).map_err(|e| store_status("proving", e))?;
            Ok(Response::new(pb::ConsistencyProofResponse {
                old_size: old,
                new_size: new,
                path: proof.path.iter().map(|h| h.0.to_vec()).collect(),
                old_root: old_root.0.to_vec(),
                new_root: new_root.0.to_vec(),
            }))
        })
        .await
    }
}

/// A checkpoint and its note as the service returns them.
fn checkpoint_pb(note: String, cp: &ledger_core::Checkpoint) -> pb::CheckpointResponse {
    pb::CheckpointResponse {
        note,
        size: cp.size,
        root: cp.root.0.to_vec(),
        head: cp.head.0.to_vec(),
        time_micros: cp.time.0,
    }
}

//! `reviewledger.v1.ReviewService`: the projections, computed by `review`.

use std::sync::Arc;

use ledger_store::verify_into;
use review::render::{self, Format};
use review::view::MinutesView;
use review::{LedgerState, ReviewId, conformance};
use serde_json::json;
use tonic::{Request, Response, Status};

use crate::audit::{Auditors, Stoppable};
use crate::error::store_status;
use crate::host::{Hosted, Snapshot};
use crate::hosts::{Access, Hosts, Role};
use crate::ledger_api::blocking;
use crate::pb::review_service_server::ReviewService;
use crate::verdict::{bundle_verdict, review_verdict};
use crate::{convert, messages, pb};

/// The review service over the hosted ledgers.
pub struct ReviewApi {
    hosts: Arc<Hosts>,
    auditors: Arc<Auditors>,
}

impl ReviewApi {
    /// The service for `hosts`, running auditors' calls on `auditors`.
    pub fn new(hosts: Arc<Hosts>, auditors: Arc<Auditors>) -> ReviewApi {
        ReviewApi { hosts, auditors }
    }
}

/// Refuses a review the ledger does not have, as NOT_FOUND.
fn known(host: &Hosted, state: &LedgerState, review: &ReviewId) -> Result<(), Status> {
    if state.reviews.reviews.contains_key(review) {
        Ok(())
    } else {
        Err(Status::not_found(format!(
            "no review {review} in ledger {}",
            host.id
        )))
    }
}

/// A snapshot of a ledger that has `review`, for an auditor's answer built
/// from many reads: taken while appends are held off, so that its entries,
/// head and checkpoint agree however long the replay runs.
pub fn review_snapshot(host: &Hosted, review: &ReviewId) -> Result<Snapshot, Status> {
    known(host, &host.state(), review)?;
    host.snapshot().map_err(|e| store_status("snapshot", e))
}

impl ReviewApi {
    /// An auditor's call about one review: the token must grant the auditor
    /// role, the review must exist, and `answer` runs in the auditors' pool
    /// over a snapshot of the ledger (see [`review_snapshot`]) whose reads
    /// stop when the call should.
    async fn for_auditor<T: Send + 'static>(
        &self,
        metadata: &tonic::metadata::MetadataMap,
        ledger_id: &str,
        review: &str,
        answer: impl FnOnce(&Hosted, &Stoppable<Snapshot>, &ReviewId) -> Result<T, Status>
        + Send
        + 'static,
    ) -> Result<Response<T>, Status> {
        let host = self
            .hosts
            .get(metadata, ledger_id, Access::Read(Role::Auditor))?;
        let review = convert::review_id(review)?;
        self.auditors
            .run(host.id, move |stop| {
                let snapshot = review_snapshot(&host, &review)?;
                let store = Stoppable {
                    inner: snapshot,
                    stop: stop.clone(),
                };
                answer(&host, &store, &review).map(Response::new)
            })
            .await
    }
}

/// The status of a bundle that could not be built or written: a store
/// failure as such, a bundle over the file limit a precondition that the
/// review's history fails, anything else the server's fault.
pub fn export_status(e: crate::export::ExportError) -> Status {
    match e {
        crate::export::ExportError::Store(e) => store_status("exporting", e),
        e @ crate::export::ExportError::TooLarge { .. } => {
            Status::failed_precondition(e.to_string())
        }
        other => Status::internal(other.to_string()),
    }
}

/// The bundle of `review` from a snapshot, and the snapshot's size: built
/// on the hosted state when it is at that size (it usually is: the snapshot
/// is taken between appends), else on the state the store's own snapshot
/// and the entries after it give. Either way only the bundle's entries are
/// read.
fn review_bundle(
    host: &Hosted,
    snapshot: &Stoppable<Snapshot>,
    review: &ReviewId,
) -> Result<(review::bundle::Bundle, u64), Status> {
    let size = ledger_store::Store::head(snapshot)
        .map(|h| h.size)
        .map_err(|e| store_status("snapshot", e))?;
    {
        let state = host.state();
        if state.size == size {
            let bundle =
                crate::export::bundle_of(snapshot, &state, review).map_err(export_status)?;
            return Ok((bundle, size));
        }
    }
    let bundle = crate::export::bundle(snapshot, review).map_err(export_status)?;
    Ok((bundle, size))
}

/// `VerifyReview`'s answer, from the ledger's or the bundle's verification.
fn verify_response(
    valid: bool,
    entries: u64,
    fault: Option<(String, Option<u64>)>,
    verdict: &crate::verdict::ReviewVerdict,
    ledger_id: String,
) -> pb::VerifyReviewResponse {
    let judgement = verdict.judgement.as_ref();
    let (fault, fault_seq) = fault.unwrap_or_default();
    #[allow(deprecated)] // `report_json`, for the clients that still read it
    let response = pb::VerifyReviewResponse {
        valid,
        entries,
        fault,
        fault_seq,
        holds: verdict.holds(),
        report_json: verdict.json.to_string(),
        ledger_id,
        audit: judgement.map(|j| messages::audit(&j.audit)),
        conformance: judgement.map(|j| messages::conformance(&j.conformance)),
        minutes_hold: judgement.is_some_and(|j| j.audit.holds()),
    };
    response
}

/// A domain refusal on a read names a field the caller gave.
fn domain(e: review::Rejection) -> Status {
    Status::invalid_argument(crate::error::capped(e.to_string()))
}

#[tonic::async_trait]
impl ReviewService for ReviewApi {
    async fn list_reviews(
        &self,
        request: Request<pb::ListReviewsRequest>,
    ) -> Result<Response<pb::ListReviewsResponse>, Status> {
        let host = self.hosts.get(
            request.metadata(),
            &request.get_ref().ledger_id,
            Access::Read(Role::Reader),
        )?;
        blocking(move || {
            let state = host.state();
            let reviews = review::listing::reviews(&state.reviews)
                .map(|r| pb::ReviewSummary {
                    id: r.id.as_str().to_owned(),
                    title: r.row.title,
                    planned: r.planned.to_string(),
                    held: r.held.map(|d| d.to_string()).unwrap_or_default(),
                    status: r.row.status.as_str().into(),
                    inputs: r.row.inputs,
                    decisions: r.row.decisions,
                    actions: r.row.actions,
                    signatures: r.row.signatures,
                    digest: r.row.digest.to_hex(),
                })
                .collect();
            Ok(Response::new(pb::ListReviewsResponse { reviews }))
        })
        .await
    }

    async fn get_minutes(
        &self,
        request: Request<pb::GetMinutesRequest>,
    ) -> Result<Response<pb::GetMinutesResponse>, Status> {
        let r = request.get_ref();
        let host = self
            .hosts
            .get(request.metadata(), &r.ledger_id, Access::Read(Role::Reader))?;
        let review = convert::review_id(&r.review)?;
        let format = match pb::MinutesFormat::try_from(r.format) {
            Ok(pb::MinutesFormat::Unspecified) => None,
            Ok(pb::MinutesFormat::Text) => Some(Format::Text),
            Ok(pb::MinutesFormat::Markdown) => Some(Format::Markdown),
            Ok(pb::MinutesFormat::Html) => Some(Format::Html),
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "format: {} is not a MinutesFormat",
                    r.format
                )));
            }
        };
        blocking(move || {
            let checkpoint = host.checkpoint();
            let state = host.state();
            known(&host, &state, &review)?;
            let view = MinutesView::judged(
                &state,
                &review,
                Some(checkpoint.clone()),
                convert::date("as_of", "")?,
            )
            .map_err(domain)?;
            let minutes_json = json!({
                "ledger_id": view.ledger_id.to_hex(),
                "organisation": view.organisation,
                "review": review.as_str(),
                "digest": view.digest.to_hex(),
                "content_head": view.record.content_head().0,
                "seq_range": [view.seq_range.0.0, view.seq_range.1.0],
                "minutes": view.record.minutes,
                "signatures": view.signatures,
                "changes": view.record.changes,
                "checkpoint": view.checkpoint,
            });
            #[allow(deprecated)] // `minutes_json`, for the clients that still read it
            let response = pb::GetMinutesResponse {
                review: review.as_str().to_owned(),
                digest: view.digest.to_hex(),
                content_head: view.record.content_head().0,
                first_seq: view.seq_range.0.0,
                last_seq: view.seq_range.1.0,
                signatures: view.signatures.iter().map(messages::signature).collect(),
                minutes_json: minutes_json.to_string(),
                rendered: format
                    .map(|f| render::minutes(&view, f))
                    .unwrap_or_default(),
                checkpoint,
                ledger_id: view.ledger_id.to_hex(),
                organisation: view.organisation.to_owned(),
                minutes: Some(messages::minutes(&view.record.minutes)),
                changes: view
                    .record
                    .changes
                    .iter()
                    .map(messages::minutes_change)
                    .collect(),
            };
            Ok(Response::new(response))
        })
        .await
    }

    async fn list_actions(
        &self,
        request: Request<pb::ListActionsRequest>,
    ) -> Result<Response<pb::ListActionsResponse>, Status> {
        let r = request.get_ref();
        let host = self
            .hosts
            .get(request.metadata(), &r.ledger_id, Access::Read(Role::Reader))?;
        let date = convert::date("as_of", &r.as_of)?;
        let only = if r.review.is_empty() {
            None
        } else {
            Some(convert::review_id(&r.review)?)
        };
        blocking(move || {
            let state = host.state();
            if let Some(o) = &only {
                known(&host, &state, o)?;
            }
            let actions = state
                .reviews
                .actions
                .values()
                .filter(|a| only.as_ref().is_none_or(|o| &a.review == o))
                .map(|a| {
                    let owner_name = state
                        .roster
                        .members
                        .get(&a.owner)
                        .map(|m| m.name.clone())
                        .unwrap_or_else(|| a.owner.to_string());
                    messages::action(a, owner_name, a.overdue_on(date))
                })
                .collect();
            Ok(Response::new(pb::ListActionsResponse {
                as_of: date.to_string(),
                actions,
            }))
        })
        .await
    }

    async fn list_objectives(
        &self,
        request: Request<pb::ListObjectivesRequest>,
    ) -> Result<Response<pb::ListObjectivesResponse>, Status> {
        let host = self.hosts.get(
            request.metadata(),
            &request.get_ref().ledger_id,
            Access::Read(Role::Reader),
        )?;
        blocking(move || {
            let state = host.state();
            let objectives = state
                .reviews
                .objectives
                .iter()
                .map(|(id, o)| messages::objective(id, o))
                .collect();
            Ok(Response::new(pb::ListObjectivesResponse { objectives }))
        })
        .await
    }

    async fn check(
        &self,
        request: Request<pb::CheckRequest>,
    ) -> Result<Response<pb::CheckResponse>, Status> {
        let r = request.get_ref();
        let host = self
            .hosts
            .get(request.metadata(), &r.ledger_id, Access::Read(Role::Reader))?;
        let review = convert::review_id(&r.review)?;
        let date = convert::date("as_of", &r.as_of)?;
        blocking(move || {
            let state = host.state();
            known(&host, &state, &review)?;
            let report = conformance::check(&state, &review, date).map_err(domain)?;
            Ok(Response::new(messages::conformance(&report)))
        })
        .await
    }

    async fn verify_review(
        &self,
        request: Request<pb::VerifyReviewRequest>,
    ) -> Result<Response<pb::VerifyReviewResponse>, Status> {
        let r = request.get_ref();
        if !r.whole_ledger {
            return self
                .for_auditor(
                    request.metadata(),
                    &r.ledger_id,
                    &r.review,
                    |host, snapshot, review| {
                        let (bundle, _) = review_bundle(host, snapshot, review)?;
                        let as_of = convert::date("as_of", "")?;
                        let v = bundle_verdict(&bundle, host.id, as_of);
                        Ok(verify_response(
                            v.fault.is_none(),
                            v.entries,
                            v.fault,
                            &v.verdict,
                            host.id.to_hex(),
                        ))
                    },
                )
                .await;
        }
        self.for_auditor(
            request.metadata(),
            &r.ledger_id,
            &r.review,
            |host, snapshot, review| {
                let mut state = LedgerState::new();
                let report = verify_into(snapshot, &mut state, Some(host.id), &mut |_, _| {})
                    .map_err(|e| store_status("verifying", e))?;
                let as_of = convert::date("as_of", "")?;
                let verdict = review_verdict(&report, &state, review, as_of).map_err(domain)?;
                Ok(verify_response(
                    report.valid(),
                    report.entries,
                    report.fault.map(|f| (f.reason, f.seq)),
                    &verdict,
                    report.ledger_id.map(|h| h.to_hex()).unwrap_or_default(),
                ))
            },
        )
        .await
    }

    async fn get_bundle(
        &self,
        request: Request<pb::GetBundleRequest>,
    ) -> Result<Response<pb::GetBundleResponse>, Status> {
        let r = request.get_ref();
        self.for_auditor(
            request.metadata(),
            &r.ledger_id,
            &r.review,
            |host, snapshot, review| {
                let (bundle, checkpoint_size) = review_bundle(host, snapshot, review)?;
                Ok(pb::GetBundleResponse {
                    entries: bundle.entries.len() as u32,
                    bundle: crate::export::file_bytes(&bundle).map_err(export_status)?,
                    checkpoint_size,
                })
            },
        )
        .await
    }
}

//! One-line descriptions of events, for logs and feeds.

use crate::payload::{Payload, RosterChange};
use crate::vocab::ActionState;

/// One line about a roster change.
pub fn roster_change(change: &RosterChange) -> String {
    match change {
        RosterChange::EnrolDevice(r) => format!(
            "enrol {} ({}, {}{}) with a browser's device key {}",
            r.handle,
            r.name,
            r.role,
            if r.top_management {
                ", top management"
            } else {
                ""
            },
            r.key.fingerprint()
        ),
        RosterChange::Enrol(r) => format!(
            "enrol {} ({}, {}{}) with key {}",
            r.handle,
            r.name,
            r.role,
            if r.top_management {
                ", top management"
            } else {
                ""
            },
            r.key.fingerprint()
        ),
        RosterChange::SetTopManagement {
            handle,
            top_management: true,
        } => format!("make {handle} top management"),
        RosterChange::SetTopManagement { handle, .. } => {
            format!("stop {handle} being top management")
        }
        RosterChange::Revoke { handle } => format!("revoke every key of {handle}"),
        RosterChange::AddKey { handle, key } => {
            format!("enrol one more key for {handle}: {}", key.fingerprint())
        }
        RosterChange::AddDeviceKey { handle, key } => {
            format!(
                "enrol a browser's device key for {handle}: {}",
                key.fingerprint()
            )
        }
        RosterChange::AddPasskey { handle, credential } => format!(
            "enrol a passkey for {handle}: {} ({} on {})",
            credential.key_id().fingerprint(),
            credential.algorithm_name(),
            credential.rp_id
        ),
        RosterChange::SetKeyPolicy(p) => format!("set the key policy: {}", p.describe()),
        RosterChange::RetireKey { handle, key } => {
            format!("retire the key {} of {handle}", key.fingerprint())
        }
        RosterChange::Rekey { handle, key } => {
            format!("give {handle} the key {}", key.fingerprint())
        }
        RosterChange::Remove { handle } => format!("remove {handle}"),
        RosterChange::SetThresholds(t) => format!(
            "set the conformance thresholds: meetings over {} min, {} in a row; boilerplate at {}% of a summary's words; {} boilerplate phrases, {} placeholders",
            t.meeting_limit_minutes,
            t.long_meetings_in_a_row,
            t.boilerplate_share_percent,
            t.boilerplate.len(),
            t.placeholders.len()
        ),
    }
}

/// One line about an action's status.
pub fn action_state(s: &ActionState) -> String {
    match s {
        ActionState::Overdue { revised_due, owner } => {
            format!("overdue, revised due {revised_due}, owner {owner}")
        }
        other => other.label().to_owned(),
    }
}

fn amended(a: &Option<String>) -> String {
    a.as_ref()
        .map(|r| format!(" [amendment: {r}]"))
        .unwrap_or_default()
}

/// One line about an event's payload.
pub fn payload(p: &Payload) -> String {
    match p {
        Payload::Genesis(g) => format!(
            "genesis of {} founded by {}",
            g.organisation, g.founder.handle
        ),
        Payload::Propose(c) => format!("propose: {}", roster_change(c)),
        Payload::Approve(id) => format!("approve roster change {id}"),
        Payload::Rotate(r) => format!("rotate to key {}", r.new_key.fingerprint()),
        Payload::Schedule(c) => format!(
            "schedule {} \"{}\" for {}",
            c.review, c.body.title, c.body.planned
        ),
        Payload::Circulate(c) => format!(
            "{}: agenda pack of {} documents circulated {}{}",
            c.review,
            c.body.documents.len(),
            c.body.circulated,
            amended(&c.amendment)
        ),
        Payload::Open(c) => format!(
            "{}: meeting held {}, {} present, chair {}{}",
            c.review,
            c.body.held,
            c.body.present.len(),
            c.body.chair,
            amended(&c.amendment)
        ),
        Payload::Input(c) => format!(
            "{}: input {} ({}){}{}",
            c.review,
            c.body.input,
            c.body.input.clause(),
            if c.body.nothing_to_report {
                " nothing to report"
            } else {
                ""
            },
            amended(&c.amendment)
        ),
        Payload::ActionStatus(c) => format!(
            "{}: action {} {}{}",
            c.review,
            c.body.action,
            action_state(&c.body.status),
            amended(&c.amendment)
        ),
        Payload::Decide(c) => format!(
            "{}: decision ({}){}",
            c.review,
            c.body.kind.key(),
            amended(&c.amendment)
        ),
        Payload::Act(c) => format!(
            "{}: action {} for {} due {}{}",
            c.review,
            c.body.action,
            c.body.owner,
            c.body.due,
            amended(&c.amendment)
        ),
        Payload::Assess(c) => format!(
            "{}: objective {} {}{}",
            c.review,
            c.body.objective,
            if c.body.met { "met" } else { "not met" },
            amended(&c.amendment)
        ),
        Payload::Objective(c) => format!(
            "{}: objective {} for {} due {}{}",
            c.review,
            c.body.objective,
            c.body.owner,
            c.body.due,
            amended(&c.amendment)
        ),
        Payload::Close(c) => format!(
            "{}: closed, next review {}{}",
            c.review,
            c.body.next_review,
            amended(&c.amendment)
        ),
        Payload::Sign(s) => format!(
            "{}: minutes signed (digest {}, covering {})",
            s.review, s.digest, s.covers
        ),
        Payload::ActionUpdate(u) => format!("action {} {}", u.action, action_state(&u.status)),
        Payload::MeetingTimes(c) => format!(
            "{}: meeting from {} to {}{}",
            c.review,
            c.body.started,
            c.body.ended,
            amended(&c.amendment)
        ),
    }
}

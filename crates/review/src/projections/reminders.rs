//! What falls due: the reminders an ISMS lead (or a cron job) wants on a
//! given day. Overdue actions and objectives, actions due soon, the next
//! review's pack deadline, minutes still unsigned past the policy's
//! signing window, and the next review date.

use serde::Serialize;

use crate::ids::{Date, ReviewId};
use crate::state::LedgerState;
use crate::vocab::ActionState;

/// How pressing a reminder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Urgency {
    /// Past its date.
    Overdue,
    /// Due within the window asked for.
    DueSoon,
}

/// One thing that falls due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reminder {
    /// Overdue or due soon.
    pub urgency: Urgency,
    /// What kind of thing: `action`, `objective`, `pack`, `signatures`,
    /// `next-review`.
    pub kind: &'static str,
    /// Its id (the action's, objective's or review's).
    pub id: String,
    /// The date it is due.
    pub due: Date,
    /// What to do, in a sentence.
    pub text: String,
}

/// Everything due by `as_of` plus `within` days, overdue first, then by date.
pub fn reminders(state: &LedgerState, as_of: Date, within: i64) -> Vec<Reminder> {
    let horizon = as_of.plus_days(within);
    let mut out = Vec::new();
    let mut push = |kind: &'static str, id: String, due: Date, text: String| {
        let urgency = if due < as_of {
            Urgency::Overdue
        } else if due <= horizon {
            Urgency::DueSoon
        } else {
            return;
        };
        out.push(Reminder {
            urgency,
            kind,
            id,
            due,
            text,
        });
    };
    let name = |h: &crate::MemberId| {
        state
            .roster
            .members
            .get(h)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| h.to_string())
    };
    for a in state.reviews.actions.values() {
        if a.status != ActionState::Completed {
            push(
                "action",
                a.id.to_string(),
                a.due,
                format!("{} ({}, from review {})", a.text, name(&a.owner), a.review),
            );
        }
    }
    for (id, o) in &state.reviews.objectives {
        let met = o.assessments.last().is_some_and(|(_, met, _, _)| *met);
        if !met {
            push(
                "objective",
                id.to_string(),
                o.objective.due,
                format!(
                    "{}: {} ({})",
                    o.objective.text,
                    o.objective.target,
                    name(&o.objective.owner)
                ),
            );
        }
    }
    let policy = &state.roster.policy;
    let mut last_close: Option<(Date, ReviewId)> = None;
    for (id, r) in &state.reviews.reviews {
        let m = &r.minutes;
        if m.meeting.is_none() && m.pack.is_none() {
            let planned = m.schedule.item.planned;
            let pack_due = planned.working_days_before(policy.agenda_lead_working_days);
            push(
                "pack",
                id.to_string(),
                pack_due,
                format!("circulate the agenda pack of review {id}, planned for {planned}"),
            );
        }
        if let (Some(meeting), Some(_)) = (&m.meeting, &m.close)
            && let Ok(audit) = crate::audit::audit(state, id)
            && !audit.quorum.met
        {
            let by = meeting
                .item
                .held
                .plus_days(policy.signing_deadline_days.into());
            let missing: Vec<String> = audit
                .quorum
                .missing
                .iter()
                .map(|p| p.handle.to_string())
                .collect();
            push(
                "signatures",
                id.to_string(),
                by,
                format!(
                    "the minutes of review {id} need signing by {}",
                    missing.join(", ")
                ),
            );
        }
        if let Some(close) = &m.close
            && last_close
                .as_ref()
                .is_none_or(|(d, _)| close.item.next_review > *d)
        {
            last_close = Some((close.item.next_review, id.clone()));
        }
    }
    // The next review, unless one is scheduled for then or later.
    if let Some((next, after)) = last_close {
        let scheduled = state
            .reviews
            .reviews
            .values()
            .any(|r| r.minutes.meeting.is_none() && r.minutes.schedule.item.planned >= as_of);
        if !scheduled {
            push(
                "next-review",
                after.to_string(),
                next,
                format!("hold the next management review (review {after} planned it for {next})"),
            );
        }
    }
    out.sort_by(|a, b| (a.urgency, a.due, &a.id).cmp(&(b.urgency, b.due, &b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::tests::{held, today};
    use crate::rehearsal::Rehearsal;
    use crate::story::{Step, current_id};

    /// The story, with the current minutes signed by `signers` only.
    fn ledger(signers: &[&str]) -> Rehearsal {
        let mut r = Rehearsal::founded(today());
        let steps: Vec<Step> = crate::story::story(held())
            .into_iter()
            .filter(|s| match s {
                Step::Sign { by, review } => *review != current_id() || signers.contains(by),
                _ => true,
            })
            .collect();
        r.run(&steps).expect("the story runs");
        r
    }

    fn said(r: &Rehearsal, as_of: Date, within: i64) -> Vec<(Urgency, &'static str, String)> {
        reminders(&r.state, as_of, within)
            .into_iter()
            .map(|x| (x.urgency, x.kind, x.id))
            .collect()
    }

    #[test]
    fn what_falls_due_and_when() {
        let r = ledger(&["ceo", "ops"]);
        let h = held();
        // The day after the meeting: nothing of this review is due yet.
        let soon = said(&r, h.plus_days(1), 14);
        assert!(
            !soon.iter().any(|(_, _, id)| id.starts_with("cur-")),
            "{soon:?}"
        );
        // The current review's first action falls due within the window,
        // then is overdue.
        let a1 = r
            .state
            .reviews
            .actions
            .values()
            .find(|a| a.id.as_str() == "cur-a1")
            .unwrap();
        let before = said(&r, a1.due.plus_days(-3), 7);
        assert!(
            before.contains(&(Urgency::DueSoon, "action", "cur-a1".into())),
            "{before:?}"
        );
        let after = said(&r, a1.due.plus_days(1), 7);
        assert!(
            after.contains(&(Urgency::Overdue, "action", "cur-a1".into())),
            "{after:?}"
        );
        assert_eq!(after[0].0, Urgency::Overdue, "overdue first: {after:?}");
        // The next review, as the close planned it.
        let next = r.state.reviews.reviews[&current_id()]
            .minutes
            .close
            .as_ref()
            .unwrap()
            .item
            .next_review;
        let year = said(&r, next.plus_days(-10), 14);
        assert!(
            year.contains(&(Urgency::DueSoon, "next-review", current_id().to_string())),
            "{year:?}"
        );
    }

    #[test]
    fn unsigned_minutes_are_due_by_the_signing_window() {
        let r = ledger(&["ceo"]);
        let window = i64::from(r.state.roster.policy.signing_deadline_days);
        let inside = said(&r, held().plus_days(window - 1), 0);
        assert!(
            !inside.iter().any(|(_, kind, _)| *kind == "signatures"),
            "{inside:?}"
        );
        let past = reminders(&r.state, held().plus_days(window + 1), 0);
        let s = past
            .iter()
            .find(|x| x.kind == "signatures")
            .expect("minutes unsigned");
        assert_eq!(s.urgency, Urgency::Overdue);
        assert!(s.text.contains("ops"), "{}", s.text);
        // Signed by both, nothing is asked.
        let both = ledger(&["ceo", "ops"]);
        let none = said(&both, held().plus_days(window + 1), 0);
        assert!(
            !none.iter().any(|(_, kind, _)| *kind == "signatures"),
            "{none:?}"
        );
    }
}

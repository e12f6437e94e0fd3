//! Verdicts judged by the roster as it was: later roster events change no
//! earlier verdict, in either direction.

use ledger_core::KeyPair;
use proptest::prelude::*;

use crate::audit::{ReviewAudit, audit};
use crate::conformance::tests::{Script, held, today};
use crate::conformance::{self, Report, Severity};
use crate::ids::ReviewId;
use crate::member::MemberId;
use crate::payload::{Payload, RosterChange};
use crate::rehearsal::Rehearsal;
use crate::story::{PEOPLE, Step, current_id, previous_id};
use crate::vocab::ActionState;

/// A roster event an auditor might see after a review was signed.
#[derive(Clone, Copy, Debug)]
enum Later {
    Promote(usize),
    Demote(usize),
    Remove(usize),
    Revoke(usize),
    Rotate(usize),
    Rekey(usize),
    /// Stricter conformance thresholds.
    Thresholds,
    /// A key policy that counts only user-verified passkey signatures.
    KeyPolicy,
}

/// The story with the steps whose `drops` entry is 0 left out and the
/// meeting's times recorded once it opened, then the roster events `later`
/// names (kind, member): a generated ledger for properties that must hold
/// on any ledger.
pub(crate) fn varied_story(drops: &[u8], later: &[(u8, usize)]) -> Rehearsal {
    use crate::ids::TimeOfDay;
    use crate::vocab::MeetingTimes;
    let mut r = Rehearsal::founded(today());
    let steps = crate::story::story(held());
    for (step, d) in steps.iter().zip(drops.iter().chain(std::iter::repeat(&9))) {
        if *d < 1 {
            continue;
        }
        let _ = match step {
            Step::Append { by, payload } => r.append(by, payload),
            Step::Sign { by, review } => r.sign(by, review),
        };
        if matches!(step, Step::Append { payload: Payload::Open(o), .. } if o.review == current_id())
        {
            let times = MeetingTimes {
                started: TimeOfDay::parse("started", "10:00").expect("a time"),
                ended: TimeOfDay::parse("ended", "11:30").expect("a time"),
            };
            let payload = Payload::MeetingTimes(crate::story::content(&current_id(), times));
            let _ = r.append("isms", &payload);
        }
    }
    for (n, (k, i)) in later.iter().enumerate() {
        apply(&mut r, to_later((*k, *i)), n);
    }
    r
}

/// A generated (kind, member) as a roster event.
fn to_later((k, i): (u8, usize)) -> Later {
    match k {
        0 => Later::Promote(i),
        1 => Later::Demote(i),
        2 => Later::Remove(i),
        3 => Later::Revoke(i),
        4 => Later::Rotate(i),
        5 if i == 0 => Later::Thresholds,
        5 if i == 1 => Later::KeyPolicy,
        _ => Later::Rekey(i),
    }
}

fn handle(i: usize) -> MemberId {
    MemberId::new(PEOPLE[i].0).expect("story handles are valid")
}

/// The top managers who can sign now, by handle.
fn signing_top(r: &Rehearsal) -> Vec<String> {
    r.state
        .roster
        .members
        .values()
        .filter(|m| m.top_management && !m.removed && !m.keys.is_empty())
        .map(|m| m.handle.to_string())
        .collect()
}

/// Proposes `change` and approves it with a second top manager when the
/// quorum needs one. Refusals are left to the rules: the roster stays as it was.
fn change(r: &mut Rehearsal, change: RosterChange) {
    let top = signing_top(r);
    let Some(proposer) = top.first() else {
        return;
    };
    let Ok(id) = r.append(proposer, &Payload::Propose(change)) else {
        return;
    };
    if let Some(approver) = top.get(1) {
        let _ = r.append(approver, &Payload::Approve(id));
    }
}

/// A fresh key for the `n`th key change of a test.
fn fresh(n: usize) -> KeyPair {
    KeyPair::from_seed([0x90 + n as u8; 32])
}

fn apply(r: &mut Rehearsal, later: Later, n: usize) {
    match later {
        Later::Promote(i) | Later::Demote(i) => change(
            r,
            RosterChange::SetTopManagement {
                handle: handle(i),
                top_management: matches!(later, Later::Promote(_)),
            },
        ),
        Later::Remove(i) => change(r, RosterChange::Remove { handle: handle(i) }),
        Later::Revoke(i) => {
            let by = PEOPLE[i].0;
            let _ = r.append(
                by,
                &Payload::Propose(RosterChange::Revoke { handle: handle(i) }),
            );
        }
        Later::Rotate(i) => {
            let by = PEOPLE[i].0;
            let new = fresh(n);
            let payload = crate::rotation(r.ledger_id(), &handle(i), &r.keys[by], &new);
            if r.append(by, &payload).is_ok() {
                r.keys.insert(by.to_owned(), new);
            }
        }
        Later::Thresholds => change(r, RosterChange::SetThresholds(strict())),
        Later::KeyPolicy => change(
            r,
            RosterChange::SetKeyPolicy(crate::KeyPolicy::VerifiedPasskeyForMinutes),
        ),
        Later::Rekey(i) => {
            let new = fresh(n);
            let before = r.state.roster.members[&handle(i)].keys.clone();
            change(
                r,
                RosterChange::Rekey {
                    handle: handle(i),
                    key: new.public(),
                },
            );
            if r.state.roster.members[&handle(i)].keys != before {
                r.keys.insert(PEOPLE[i].0.to_owned(), new);
            }
        }
    }
}

/// Thresholds under which the story's minutes have findings they did not
/// have: short meetings, "the" a boilerplate phrase.
fn strict() -> crate::policy::Thresholds {
    let mut t = crate::policy::Thresholds {
        meeting_limit_minutes: 30,
        long_meetings_in_a_row: 2,
        boilerplate_share_percent: 5,
        ..Default::default()
    };
    t.boilerplate.push("the".into());
    t.placeholders.push("the risk register was reviewed".into());
    t
}

/// The verdicts an auditor files for `review`.
fn verdict(r: &Rehearsal, review: &ReviewId) -> (Report, ReviewAudit) {
    (
        conformance::check(&r.state, review, today()).expect("the review exists"),
        audit(&r.state, review).expect("the review exists"),
    )
}

fn of_rule(report: &Report, rule: &str) -> Vec<(Severity, String)> {
    report
        .of_rule(rule)
        .map(|f| (f.severity, f.message.clone()))
        .collect()
}

/// The story with the current meeting attended and chaired as `open` says,
/// signed by `signers`.
fn story_with(chair: &str, present: &[&str], signers: &[&'static str]) -> Script {
    let mut s = Script::story();
    s.edit(|p| match p {
        Payload::Open(o) if o.review == current_id() => {
            o.body.chair = MemberId::new(chair).unwrap();
            o.body.present = present.iter().map(|h| MemberId::new(*h).unwrap()).collect();
            o.body.apologies.retain(|h| !present.contains(&h.as_str()));
            true
        }
        _ => false,
    });
    s.unsign("ceo");
    s.unsign("ops");
    s.then(signers.iter().map(|by| Step::Sign {
        by,
        review: current_id(),
    }));
    s
}

#[test]
fn later_roster_events_change_no_verdict() {
    // (the meeting, then what happened after signing, and what must hold
    // before and after: whether the minutes hold, rule 2 findings, who rule
    // 3 says is missing).
    type Case = (
        Script,
        &'static [Later],
        bool,
        usize,
        &'static [&'static str],
    );
    let both = || story_with("ceo", &["ceo", "ops", "isms", "it", "hr"], &["ceo", "ops"]);
    let cases: Vec<Case> = vec![
        // Demoting the chair after both top managers signed.
        (both(), &[Later::Demote(0)], true, 0, &[]),
        // Removing her, revoking or rotating her key: she left in three years.
        (both(), &[Later::Remove(0)], true, 0, &[]),
        (both(), &[Later::Revoke(0)], true, 0, &[]),
        (both(), &[Later::Rotate(0), Later::Revoke(1)], true, 0, &[]),
        // Promoting an attendee after signing asks for no new signature.
        (both(), &[Later::Promote(2)], true, 0, &[]),
        // The only top manager present signed, then was demoted.
        (
            story_with("ops", &["ops", "isms", "it"], &["ops"]),
            &[Later::Demote(1)],
            true,
            0,
            &[],
        ),
        // No top manager at the meeting: promoting an attendee afterwards
        // and having them sign cures nothing.
        (
            story_with("isms", &["isms", "it", "hr"], &[]),
            &[Later::Promote(2)],
            false,
            2,
            &[],
        ),
    ];
    for (i, (script, later, holds, attended_findings, missing)) in cases.into_iter().enumerate() {
        let mut r = script.run();
        let before = verdict(&r, &current_id());
        for (n, l) in later.iter().enumerate() {
            apply(&mut r, *l, n);
        }
        // Where the minutes do not hold, the promoted attendee now signs.
        if let [Later::Promote(p)] = later
            && !holds
        {
            let _ = r.sign(PEOPLE[*p].0, &current_id());
        }
        let after = verdict(&r, &current_id());
        for (when, (report, a)) in [("before", &before), ("after", &after)] {
            let text = a.to_text();
            assert_eq!(a.holds(), holds, "case {i} {when}: {text}");
            assert_eq!(
                of_rule(report, "top-management-attended").len(),
                attended_findings,
                "case {i} {when}: {:?}",
                report.findings
            );
            let got: Vec<&str> = a.quorum.missing.iter().map(|p| p.handle.as_str()).collect();
            assert_eq!(got, missing, "case {i} {when}");
        }
        assert_eq!(before.0, after.0, "case {i}");
        if holds {
            assert_eq!(before.1, after.1, "case {i}");
        }
        assert!(
            after.1.to_text().contains(&format!(
                "roster as at {}",
                r.state.reviews.reviews[&current_id()]
                    .minutes
                    .meeting
                    .as_ref()
                    .unwrap()
                    .seq
            )),
            "case {i}: the report names the roster it judged by"
        );
    }
}

#[test]
fn an_owner_who_left_is_refused_and_warned_of_at_the_next_review() {
    // An owner without an active key is refused when assigned.
    let mut r = Script::story().run();
    let _ = r.append(
        "hr",
        &Payload::Propose(RosterChange::Revoke { handle: handle(4) }),
    );
    let mut act = None;
    for s in crate::story::current_review(held()) {
        if let Step::Append {
            payload: Payload::Act(a),
            ..
        } = &s
            && a.body.owner.as_str() == "hr"
        {
            act = Some(a.clone());
        }
    }
    let mut act = act.expect("the story gives hr an action");
    act.body.action = crate::ids::ActionId::new("cur-a9").unwrap();
    act.amendment = Some("an action was left out of the draft".into());
    let refused = r.append("isms", &Payload::Act(act)).unwrap_err();
    assert!(
        refused.to_string().contains("hr holds no active key"),
        "{refused}"
    );

    // An open action of the previous review whose owner left before this
    // meeting, and whose status does not reassign it, is a warning here.
    let mut s = Script::story();
    let prev_meeting = s
        .steps
        .iter()
        .position(|st| matches!(st, Step::Append { payload: Payload::Open(o), .. } if o.review == current_id()))
        .unwrap();
    s.steps.insert(
        prev_meeting,
        Step::Append {
            by: "it",
            payload: Payload::Propose(RosterChange::Revoke { handle: handle(3) }),
        },
    );
    // prev-a3 is owned by it; the story's status confirms it as owner.
    s.edit(|p| match p {
        Payload::ActionStatus(st) if st.body.action.as_str() == "prev-a3" => {
            st.body.status = ActionState::InProgress;
            true
        }
        _ => false,
    });
    // obj-patch (owned by it) is left unassessed: still open at this meeting.
    s.drop(|p| matches!(p, Payload::Assess(a) if a.body.objective.as_str() == "obj-patch"));
    s.edit(|p| match p {
        Payload::Objective(o) if o.body.owner.as_str() == "it" => {
            o.body.owner = MemberId::new("isms").unwrap();
            true
        }
        _ => false,
    });
    let r = s.run();
    let (report, _) = verdict(&r, &current_id());
    let warnings: Vec<_> = report
        .of_rule("previous-actions-reported")
        .filter(|f| f.severity == Severity::Warning)
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", report.findings);
    assert!(
        warnings[0].message.contains("prev-a3"),
        "{}",
        warnings[0].message
    );
    // The objective obj-access... of the previous review owned by it.
    let objectives: Vec<_> = report
        .of_rule("objectives-assessed-and-set")
        .filter(|f| f.severity == Severity::Warning)
        .collect();
    let owned_by_it = r.state.reviews.reviews[&previous_id()]
        .minutes
        .objectives
        .values()
        .filter(|o| o.item.owner.as_str() == "it")
        .count();
    assert_eq!(objectives.len(), owned_by_it, "{:?}", report.findings);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// For any variation of the story (members promoted, demoted, removed
    /// or rekeyed before the meeting, steps left out), the verdict of each
    /// review is the same before and after any later roster events.
    #[test]
    fn no_later_roster_event_changes_a_verdict(
        before in proptest::collection::vec((0u8..6, 0usize..5), 0..4),
        drops in proptest::collection::vec(0u8..12, 120),
        later in proptest::collection::vec((0u8..6, 0usize..5), 1..8),
    ) {
        let mut r = Rehearsal::founded(today());
        let steps = crate::story::story(held());
        let meeting = steps
            .iter()
            .position(|st| matches!(st, Step::Append { payload: Payload::Schedule(s), .. } if s.review == current_id()))
            .unwrap();
        for (n, (step, d)) in steps.iter().zip(drops.iter().chain(std::iter::repeat(&9))).enumerate() {
            if n == meeting {
                for (j, b) in before.iter().enumerate() {
                    apply(&mut r, to_later(*b), 50 + j);
                }
            }
            if *d < 1 {
                continue;
            }
            let _ = match step {
                Step::Append { by, payload } => r.append(by, payload),
                Step::Sign { by, review } => r.sign(by, review),
            };
        }
        let reviews: Vec<ReviewId> = r.state.reviews.order.clone();
        let verdicts: Vec<_> = reviews.iter().map(|id| verdict(&r, id)).collect();
        for (n, l) in later.iter().enumerate() {
            apply(&mut r, to_later(*l), n);
        }
        for (id, v) in reviews.iter().zip(&verdicts) {
            prop_assert_eq!(&verdict(&r, id), v, "review {}", id);
        }
    }
}

#[test]
fn a_handle_listed_twice_is_one_place_to_sign() {
    let r = story_with("ceo", &["ceo", "ceo", "ops", "isms"], &["ceo"]).run();
    let (report, a) = verdict(&r, &current_id());
    let attended: Vec<&str> = a
        .quorum
        .attended
        .iter()
        .map(|p| p.handle.as_str())
        .collect();
    assert_eq!(attended, ["ceo", "ops"]);
    assert_eq!(a.quorum.required, 2);
    assert!(!a.holds(), "{}", a.to_text());
    assert!(!report.passed());
}

#[test]
fn thresholds_apply_from_their_entry_on() {
    use crate::ids::TimeOfDay;
    use crate::vocab::MeetingTimes;
    // The current meeting ran 90 minutes; a 60-minute limit set before the
    // meeting gives an observation, the same limit set after it does not.
    let with_times = |set_before: bool| {
        let mut s = Script::story();
        let meeting = s
            .steps
            .iter()
            .position(|st| matches!(st, Step::Append { payload: Payload::Open(o), .. } if o.review == current_id()))
            .unwrap();
        s.steps.insert(
            meeting + 1,
            Step::Append {
                by: "isms",
                payload: Payload::MeetingTimes(crate::story::content(
                    &current_id(),
                    MeetingTimes {
                        started: TimeOfDay::parse("s", "10:00").unwrap(),
                        ended: TimeOfDay::parse("e", "11:30").unwrap(),
                    },
                )),
            },
        );
        let mut r = if set_before {
            s.steps.truncate(meeting);
            let mut r = s.run();
            let t = crate::policy::Thresholds {
                meeting_limit_minutes: 60,
                ..Default::default()
            };
            change(&mut r, RosterChange::SetThresholds(t));
            let rest: Vec<Step> = Script::story().steps[meeting..].to_vec();
            let mut rest = rest;
            rest.insert(
                1,
                Step::Append {
                    by: "isms",
                    payload: Payload::MeetingTimes(crate::story::content(
                        &current_id(),
                        MeetingTimes {
                            started: TimeOfDay::parse("s", "10:00").unwrap(),
                            ended: TimeOfDay::parse("e", "11:30").unwrap(),
                        },
                    )),
                },
            );
            r.set_clock(crate::rehearsal::noon(held()));
            r.run(&rest)
                .unwrap_or_else(|(i, e)| panic!("step {i}: {e}"));
            r
        } else {
            s.run()
        };
        if !set_before {
            let t = crate::policy::Thresholds {
                meeting_limit_minutes: 60,
                ..Default::default()
            };
            change(&mut r, RosterChange::SetThresholds(t));
        }
        verdict(&r, &current_id()).0
    };
    assert_eq!(of_rule(&with_times(true), "meeting-length").len(), 1);
    assert_eq!(of_rule(&with_times(false), "meeting-length").len(), 0);
}

#[test]
fn thresholds_that_make_no_sense_are_refused() {
    use crate::policy::Thresholds;
    type Case = (fn(&mut Thresholds), &'static str);
    let cases: Vec<Case> = vec![
        (|t| t.meeting_limit_minutes = 0, "meeting_limit_minutes"),
        (|t| t.long_meetings_in_a_row = 1, "long_meetings_in_a_row"),
        (
            |t| t.boilerplate_share_percent = 0,
            "boilerplate_share_percent",
        ),
        (|t| t.boilerplate.push("Noted.".into()), "boilerplate"),
        (|t| t.placeholders.push(String::new()), "placeholders"),
    ];
    for (edit, field) in cases {
        let mut t = Thresholds::default();
        edit(&mut t);
        let e = t.check().unwrap_err().to_string();
        assert!(e.contains(field), "{field}: {e}");
    }
    assert!(Thresholds::default().check().is_ok());
}

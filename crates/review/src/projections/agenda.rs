//! The agenda of a review, built from the ledger before the meeting.
//!
//! The agenda follows the guide's nine-item template ([`TEMPLATE`], as
//! `docs/domain` tabulates it: 95 minutes in all, "about 90"), naming the
//! Clause 9.3.2 inputs each item covers. It lists the previous review's
//! actions still open, so that item 2 can give each a status; the agenda
//! pack checklist, marking what has already been circulated; and the date
//! by which the pack must go out: the policy's lead time in working days
//! before the planned date.
//!
//! ```
//! use review::agenda::{self, Agenda};
//! use review::render::Format;
//! use review::{rehearsal::Rehearsal, story, Date};
//!
//! let today = Date::parse("today", "2026-12-01").unwrap();
//! let mut ledger = Rehearsal::founded(today);
//! ledger.run(&story::story(today.plus_days(-5))).unwrap();
//! let agenda: Agenda = agenda::agenda(&ledger.state, &story::current_id()).unwrap();
//! assert_eq!(agenda.items.len(), 9);
//! let text = agenda::render_agenda(&agenda, Format::Text);
//! assert!(text.contains("Actions from previous review"));
//! ```

use serde::Serialize;

use crate::error::Rejection;
use crate::ids::{ActionId, Date, ReviewId};
use crate::inputs::InputKey;
use crate::render::{
    self, Block, Doc, Format, Line, Running, Span, flag, location, mono, muted, text,
};
use crate::state::LedgerState;
use crate::view::Person;
use crate::vocab::{ActionState, Document};

/// One item of the agenda template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateItem {
    /// What the item is.
    pub title: &'static str,
    /// What happens under it, in the guide's words.
    pub detail: &'static str,
    /// Minutes allowed.
    pub minutes: u16,
    /// The Clause 9.3.2 inputs it covers.
    pub inputs: &'static [InputKey],
    /// Whether it produces the Clause 9.3.3 outputs (decisions, actions).
    pub outputs: bool,
}

/// The guide's agenda template, as `docs/domain` tabulates it.
pub const TEMPLATE: [TemplateItem; 9] = [
    TemplateItem {
        title: "Welcome, apologies, quorum",
        detail: "Confirm senior management present; agree any amendments to the agenda.",
        minutes: 5,
        inputs: &[],
        outputs: false,
    },
    TemplateItem {
        title: "Actions from previous review",
        detail: "Status of each action: completed, in progress, overdue. Agree revisions for outstanding items.",
        minutes: 10,
        inputs: &[InputKey::PreviousActions],
        outputs: false,
    },
    TemplateItem {
        title: "Context: changes since last review",
        detail: "Organisational changes, regulatory updates, technology changes, new suppliers or services.",
        minutes: 10,
        inputs: &[InputKey::ContextChanges, InputKey::InterestedPartyNeeds],
        outputs: false,
    },
    TemplateItem {
        title: "ISMS performance report",
        detail: "Incidents, nonconformities, corrective actions, internal audit results, monitoring metrics.",
        minutes: 20,
        inputs: &[
            InputKey::Nonconformities,
            InputKey::Monitoring,
            InputKey::AuditResults,
        ],
        outputs: false,
    },
    TemplateItem {
        title: "Risk assessment and treatment status",
        detail: "Risk register reviewed? Treatment plan progress. New or changed risks to note.",
        minutes: 15,
        inputs: &[InputKey::Risk],
        outputs: false,
    },
    TemplateItem {
        title: "Interested party feedback",
        detail: "Customer security questionnaires, complaints, staff-reported concerns, regulatory correspondence.",
        minutes: 5,
        inputs: &[InputKey::InterestedPartyFeedback],
        outputs: false,
    },
    TemplateItem {
        title: "Objectives: review and set",
        detail: "Were last period's objectives met? Set objectives for the next period with owners and success measures.",
        minutes: 15,
        inputs: &[InputKey::Objectives, InputKey::Improvement],
        outputs: false,
    },
    TemplateItem {
        title: "Resources and decisions",
        detail: "Any budget, headcount or tooling decisions required? Confirm the ISMS is adequately resourced.",
        minutes: 10,
        inputs: &[],
        outputs: true,
    },
    TemplateItem {
        title: "Actions and close",
        detail: "Confirm every action's owner and due date. Confirm the date of the next review. Sign the minutes.",
        minutes: 5,
        inputs: &[],
        outputs: true,
    },
];

/// The agenda pack's checklist: each document the guide asks to circulate,
/// with the words (prefixes) that recognise it in a document title.
pub const PACK_CHECKLIST: [(&str, &[&str]); 6] = [
    ("Previous action log", &["action"]),
    (
        "Performance report and metrics",
        &["performance", "metric", "kpi"],
    ),
    ("Internal audit summary", &["audit"]),
    ("Risk register status", &["risk"]),
    ("Draft objectives", &["objective"]),
    ("Incident summary", &["incident"]),
];

/// An input as the agenda names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InputRef {
    /// The clause 9.3.2 item, e.g. `d1`.
    pub clause: &'static str,
    /// The key, e.g. `nonconformities`.
    pub key: &'static str,
    /// The guide's number.
    pub guide_number: u8,
    /// What the input is.
    pub title: &'static str,
}

impl InputRef {
    fn of(k: InputKey) -> InputRef {
        InputRef {
            clause: k.clause(),
            key: k.key(),
            guide_number: k.guide_number(),
            title: k.title(),
        }
    }
}

/// One item of a review's agenda.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgendaItem {
    /// 1 to 9.
    pub number: u8,
    /// What the item is.
    pub title: &'static str,
    /// What happens under it.
    pub detail: &'static str,
    /// Minutes allowed.
    pub minutes: u16,
    /// The inputs it covers.
    pub inputs: Vec<InputRef>,
    /// Whether it produces the Clause 9.3.3 outputs.
    pub outputs: bool,
}

/// An action of the previous review that is not completed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpenAction {
    /// Its id.
    pub id: ActionId,
    /// Its owner now.
    pub owner: Person,
    /// Its due date now (the revised one when overdue).
    pub due: Date,
    /// Where it stands.
    pub status: ActionState,
    /// Whether it is past due on the planned date of the review.
    pub past_due: bool,
    /// What is to be done.
    pub text: String,
}

/// One line of the agenda pack checklist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackCheck {
    /// What the guide asks for, e.g. `Internal audit summary`.
    pub item: &'static str,
    /// Titles of circulated documents that look like it; empty when none.
    pub circulated: Vec<String>,
}

/// The agenda of one review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Agenda {
    /// The organisation.
    pub organisation: String,
    /// The review.
    pub review: ReviewId,
    /// Its title.
    pub title: String,
    /// The wider meeting it is part of, if any.
    pub part_of: Option<String>,
    /// The planned date.
    pub planned: Date,
    /// First day of the period covered.
    pub period_start: Date,
    /// Last day of the period covered.
    pub period_end: Date,
    /// Who chairs.
    pub chair: Person,
    /// Who is expected.
    pub expected: Vec<Person>,
    /// The review before this one.
    pub previous: Option<ReviewId>,
    /// The nine items.
    pub items: Vec<AgendaItem>,
    /// Their minutes, added up.
    pub total_minutes: u16,
    /// The previous review's actions not completed, by id.
    pub open_actions: Vec<OpenAction>,
    /// The policy's lead time for the pack, in working days.
    pub lead_working_days: u16,
    /// The last date the pack may go out: `lead_working_days` working days before `planned`.
    pub pack_due: Date,
    /// When the pack was circulated, if it was.
    pub circulated: Option<Date>,
    /// The guide's pack checklist, with what has gone out.
    pub checklist: Vec<PackCheck>,
    /// Every circulated document.
    pub documents: Vec<Document>,
}

/// Whether a document title looks like a checklist item: one of its words
/// starts with one of the item's prefixes, ignoring case.
pub fn title_matches(title: &str, prefixes: &[&str]) -> bool {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .any(|w| prefixes.iter().any(|p| w.starts_with(p)))
}

/// The agenda of `review`.
pub fn agenda(state: &LedgerState, review: &ReviewId) -> Result<Agenda, Rejection> {
    let record = state.reviews.review(review)?;
    let roster = &state.roster;
    let s = &record.minutes.schedule.item;
    let items: Vec<AgendaItem> = TEMPLATE
        .iter()
        .zip(1u8..)
        .map(|(t, number)| AgendaItem {
            number,
            title: t.title,
            detail: t.detail,
            minutes: t.minutes,
            inputs: t.inputs.iter().copied().map(InputRef::of).collect(),
            outputs: t.outputs,
        })
        .collect();
    // The previous review's actions, by the ids its minutes list (an action
    // id belongs to the one review that raised it), in id order.
    let open_actions = match record
        .previous
        .as_ref()
        .and_then(|p| state.reviews.reviews.get(p))
    {
        Some(previous) => previous
            .minutes
            .actions
            .keys()
            .filter_map(|id| state.reviews.actions.get(id))
            .filter(|a| a.status != ActionState::Completed)
            .map(|a| OpenAction {
                id: a.id.clone(),
                owner: Person::of(roster, &a.owner),
                due: a.due,
                status: a.status.clone(),
                past_due: a.overdue_on(s.planned),
                text: a.text.clone(),
            })
            .collect(),
        None => Vec::new(),
    };
    let documents = record
        .minutes
        .pack
        .as_ref()
        .map(|p| p.item.documents.clone())
        .unwrap_or_default();
    let checklist = PACK_CHECKLIST
        .iter()
        .map(|(item, prefixes)| PackCheck {
            item,
            circulated: documents
                .iter()
                .filter(|d| title_matches(&d.title, prefixes))
                .map(|d| d.title.clone())
                .collect(),
        })
        .collect();
    let lead = roster.policy.agenda_lead_working_days;
    Ok(Agenda {
        organisation: roster.organisation.clone(),
        review: review.clone(),
        title: s.title.clone(),
        part_of: s.part_of.clone(),
        planned: s.planned,
        period_start: s.period_start,
        period_end: s.period_end,
        chair: Person::of(roster, &s.chair),
        expected: s.expected.iter().map(|h| Person::of(roster, h)).collect(),
        previous: record.previous.clone(),
        total_minutes: items.iter().map(|i| i.minutes).sum(),
        items,
        open_actions,
        lead_working_days: lead,
        pack_due: s.planned.working_days_before(lead),
        circulated: record.minutes.pack.as_ref().map(|p| p.item.circulated),
        checklist,
        documents,
    })
}

/// Renders an agenda as text, Markdown or HTML.
pub fn render_agenda(agenda: &Agenda, format: Format) -> String {
    render::emit(&agenda_doc(agenda), format)
}

/// An agenda as HTML elements without the page around them, for a page
/// styled with `render::HTML_STYLE`.
pub fn agenda_html_body(agenda: &Agenda) -> String {
    render::html_body(&agenda_doc(agenda))
}

fn inputs_cell(item: &AgendaItem) -> Line {
    if item.outputs {
        return vec![text("outputs (clause 9.3.3)")];
    }
    if item.inputs.is_empty() {
        return vec![muted("-")];
    }
    let refs: Vec<String> = item
        .inputs
        .iter()
        .map(|i| format!("{} {} (guide #{})", i.clause, i.key, i.guide_number))
        .collect();
    vec![text(refs.join(", "))]
}

fn status_text(a: &OpenAction) -> String {
    let mut s = match &a.status {
        ActionState::Overdue { revised_due, .. } => format!("overdue, revised due {revised_due}"),
        other => other.label().to_owned(),
    };
    if a.past_due {
        s.push_str("; past due at the planned date");
    }
    s
}

fn agenda_doc(a: &Agenda) -> Doc {
    let mut b = vec![Block::Title {
        organisation: a.organisation.clone(),
        title: format!("Agenda: {}", a.title),
        subtitle: "ISMS management review, ISO/IEC 27001:2022 clause 9.3".into(),
    }];

    let mut f: Vec<(String, Line)> = vec![(
        "Review".into(),
        vec![mono(&a.review), text(" "), text(a.title.clone())],
    )];
    if let Some(p) = &a.part_of {
        f.push(("Part of".into(), vec![text(p.clone())]));
    }
    f.push(("Planned".into(), vec![text(a.planned.to_string())]));
    f.push((
        "Period covered".into(),
        vec![text(format!("{} to {}", a.period_start, a.period_end))],
    ));
    f.push(("Chair".into(), render::person(&a.chair)));
    let expected: Vec<String> = a
        .expected
        .iter()
        .map(|p| {
            if p.top_management {
                format!("{} (top management)", p.name)
            } else {
                p.name.clone()
            }
        })
        .collect();
    f.push((
        "Expected".into(),
        vec![text(if expected.is_empty() {
            "nobody named".to_owned()
        } else {
            expected.join(", ")
        })],
    ));
    f.push((
        "Previous review".into(),
        match &a.previous {
            Some(p) => vec![mono(p)],
            None => vec![muted("none: this is the ledger's first review")],
        },
    ));
    f.push((
        "Pack due".into(),
        vec![text(format!(
            "{} ({} working days before the planned date)",
            a.pack_due, a.lead_working_days
        ))],
    ));
    b.push(Block::Heading("Meeting".into()));
    b.push(Block::Fields(f));

    b.push(Block::Heading(format!(
        "Agenda ({} minutes)",
        a.total_minutes
    )));
    let mut rows: Vec<Vec<Line>> = a
        .items
        .iter()
        .map(|i| {
            vec![
                vec![text(i.number.to_string())],
                vec![
                    Span::Strong(i.title.to_owned()),
                    text(format!(": {}", i.detail)),
                ],
                vec![text(i.minutes.to_string())],
                inputs_cell(i),
            ]
        })
        .collect();
    rows.push(vec![
        vec![],
        vec![Span::Strong("Total".into())],
        vec![text(a.total_minutes.to_string())],
        vec![],
    ]);
    b.push(Block::Table {
        head: vec![
            "#".into(),
            "Item".into(),
            "Minutes".into(),
            "Clause 9.3.2 inputs".into(),
        ],
        rows,
    });

    b.push(Block::Heading(
        "Open actions from the previous review".into(),
    ));
    match (&a.previous, a.open_actions.is_empty()) {
        (None, _) => b.push(Block::Para(vec![text(
            "There is no previous review, so no earlier actions to report on.",
        )])),
        (Some(p), true) => b.push(Block::Para(vec![
            text("Every action of "),
            mono(p),
            text(" is completed."),
        ])),
        (Some(p), false) => {
            b.push(Block::Para(vec![
                text(match a.open_actions.len() {
                    1 => "One action of ".to_owned(),
                    n => format!("{n} actions of "),
                }),
                mono(p),
                text(if a.open_actions.len() == 1 {
                    " is not completed"
                } else {
                    " are not completed"
                }),
                text("; item 2 records a status for each, and a revised due date and confirmed owner for any overdue."),
            ]));
            b.push(Block::Table {
                head: vec![
                    "Action".into(),
                    "Owner".into(),
                    "Due".into(),
                    "Status".into(),
                    "What".into(),
                ],
                rows: a
                    .open_actions
                    .iter()
                    .map(|o| {
                        vec![
                            vec![mono(&o.id)],
                            render::name(&o.owner),
                            vec![text(o.due.to_string())],
                            vec![text(status_text(o))],
                            vec![text(o.text.clone())],
                        ]
                    })
                    .collect(),
            });
        }
    }

    b.push(Block::Heading("Agenda pack".into()));
    let mut para = vec![text(format!(
        "The pack must go out by {}, {} working days before the meeting on {}. ",
        a.pack_due, a.lead_working_days, a.planned
    ))];
    match a.circulated {
        Some(d) if d <= a.pack_due => para.push(text(format!(
            "It was circulated on {d}, {}.",
            crate::render::working_days_apart(d.working_days_until(a.planned))
        ))),
        Some(d) => {
            para.push(flag("Late"));
            para.push(text(format!(
                ": it was circulated on {d}, {} the meeting.",
                crate::render::working_days_apart(d.working_days_until(a.planned))
            )));
        }
        None => para.push(text("It has not been circulated yet.")),
    }
    b.push(Block::Para(para));
    b.push(Block::Table {
        head: vec!["Document".into(), "Circulated".into()],
        rows: a
            .checklist
            .iter()
            .map(|c| {
                vec![
                    vec![text(c.item)],
                    if !c.circulated.is_empty() {
                        vec![text(format!("yes: {}", c.circulated.join("; ")))]
                    } else if a.circulated.is_some() {
                        vec![flag("missing")]
                    } else {
                        vec![text("not yet")]
                    },
                ]
            })
            .collect(),
    });
    if !a.documents.is_empty() {
        b.push(Block::Subheading(vec![text("Circulated documents")]));
        b.push(Block::Table {
            head: vec!["Document".into(), "Location".into(), "blake3".into()],
            rows: a
                .documents
                .iter()
                .map(|d| {
                    vec![
                        vec![text(d.title.clone())],
                        vec![location(&d.location)],
                        vec![mono(d.digest)],
                    ]
                })
                .collect(),
        });
    }
    Doc {
        title: format!("{}: agenda of {} ({})", a.organisation, a.title, a.review),
        running: Some(Running {
            organisation: a.organisation.clone(),
            review: Some(a.review.to_string()),
            digest: None,
            footer: format!("Agenda of review {}", a.review),
        }),
        blocks: b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rehearsal::Rehearsal;
    use crate::story::{self, Step};

    fn date(s: &str) -> Date {
        Date::parse("date", s).expect("test dates are valid")
    }

    /// The current meeting is held on a Thursday.
    fn held() -> Date {
        date("2026-11-26")
    }

    /// A ledger after `steps` of the current review (the previous review and
    /// the updates between reviews always run first).
    fn ledger(current_steps: usize) -> Rehearsal {
        let mut steps: Vec<Step> = story::previous_review(held().plus_days(-357));
        steps.extend(story::between_reviews());
        steps.extend(
            story::current_review(held())
                .into_iter()
                .take(current_steps),
        );
        let mut r = Rehearsal::founded(date("2026-12-01"));
        r.run(&steps)
            .unwrap_or_else(|(i, e)| panic!("step {i}: {e}"));
        r
    }

    fn current(r: &Rehearsal) -> Agenda {
        agenda(&r.state, &story::current_id()).expect("the current review is scheduled")
    }

    #[test]
    fn the_template_is_domain_md_table() {
        let check = |n: usize, minutes: u16, inputs: &[&str], outputs: bool| {
            let t = &TEMPLATE[n - 1];
            assert_eq!(t.minutes, minutes, "item {n}");
            assert_eq!(
                t.inputs.iter().map(|k| k.clause()).collect::<Vec<_>>(),
                inputs,
                "item {n}"
            );
            assert_eq!(t.outputs, outputs, "item {n}");
        };
        check(1, 5, &[], false);
        check(2, 10, &["a"], false);
        check(3, 10, &["b", "c"], false);
        check(4, 20, &["d1", "d2", "d3"], false);
        check(5, 15, &["f"], false);
        check(6, 5, &["e"], false);
        check(7, 15, &["d4", "g"], false);
        check(8, 10, &[], true);
        check(9, 5, &[], true);
    }

    #[test]
    fn nine_items_cover_every_input_once_in_95_minutes() {
        let a = current(&ledger(1));
        assert_eq!(a.items.len(), 9);
        assert_eq!(
            a.items.iter().map(|i| i.number).collect::<Vec<_>>(),
            (1..=9).collect::<Vec<u8>>()
        );
        assert_eq!(a.total_minutes, 95);
        assert_eq!(a.items.iter().map(|i| i.minutes).sum::<u16>(), 95);
        for k in InputKey::ALL {
            let covering = a
                .items
                .iter()
                .filter(|i| i.inputs.iter().any(|r| r.key == k.key()))
                .count();
            assert_eq!(covering, 1, "{k} is covered by {covering} items");
        }
    }

    #[test]
    fn the_pack_is_due_five_working_days_before_the_planned_date() {
        let a = current(&ledger(1));
        assert_eq!(a.planned, held());
        assert_eq!(a.lead_working_days, 5);
        // Thursday 26 November less five working days is Thursday 19 November.
        assert_eq!(a.pack_due, date("2026-11-19"));
        assert_eq!(a.pack_due.working_days_until(a.planned), 5);
        assert_eq!(a.circulated, None);
        for f in Format::ALL {
            assert!(render_agenda(&a, f).contains("2026-11-19"), "{f:?}");
        }
    }

    /// A review's next action id counts the actions its minutes list: the
    /// actions of the whole ledger raised by it.
    #[test]
    fn the_next_action_id_follows_a_reviews_own_actions() {
        let r = ledger(usize::MAX);
        let reviews = &r.state.reviews;
        for id in &reviews.order {
            let raised = reviews.actions.values().filter(|a| &a.review == id).count();
            assert!(raised > 0, "{id} raised actions");
            assert_eq!(
                reviews.next_action_id(id).unwrap().as_str(),
                format!("{id}-a{}", raised + 1),
                "{id}"
            );
        }
    }

    #[test]
    fn the_previous_reviews_open_actions_are_listed() {
        let check = |current_steps: usize, expected: &[(&str, &str)]| {
            let a = current(&ledger(current_steps));
            let got: Vec<(&str, &str)> = a
                .open_actions
                .iter()
                .map(|o| (o.id.as_str(), o.status.label()))
                .collect();
            assert_eq!(
                got, expected,
                "after {current_steps} steps of the current review"
            );
        };
        // Before the meeting: prev-a1 was completed between reviews, prev-a2
        // is in progress, prev-a3 was never updated.
        check(1, &[("prev-a2", "in progress"), ("prev-a3", "open")]);
        // After the meeting reported them: prev-a2 completed, prev-a3 overdue.
        check(usize::MAX, &[("prev-a3", "overdue")]);

        let a = current(&ledger(1));
        let a3 = a.open_actions.iter().find(|o| o.id.as_str() == "prev-a3");
        let a3 = a3.expect("prev-a3 is open");
        assert_eq!(a3.owner.name, "Dev Patel");
        assert!(a3.past_due, "due nine months after the previous review");
        for f in Format::ALL {
            let out = render_agenda(&a, f);
            for needle in [
                "prev-a2",
                "prev-a3",
                "Dev Patel",
                "in progress",
                "Consolidate security logging",
            ] {
                assert!(out.contains(needle), "{f:?} lacks {needle:?}");
            }
            assert!(
                !out.contains("prev-a1"),
                "{f:?} lists the completed prev-a1"
            );
        }
    }

    #[test]
    fn the_first_review_has_no_previous_actions() {
        let mut r = Rehearsal::founded(date("2026-12-01"));
        let first: Vec<Step> = story::previous_review(held()).into_iter().take(1).collect();
        r.run(&first)
            .unwrap_or_else(|(i, e)| panic!("step {i}: {e}"));
        let a = agenda(&r.state, &story::previous_id()).expect("scheduled");
        assert_eq!(a.previous, None);
        assert!(a.open_actions.is_empty());
        assert!(render_agenda(&a, Format::Text).contains("no previous review"));
    }

    #[test]
    fn pack_documents_are_matched_loosely() {
        let check = |title: &str, expected: &[&str]| {
            let got: Vec<&str> = PACK_CHECKLIST
                .iter()
                .filter(|(_, p)| title_matches(title, p))
                .map(|(item, _)| *item)
                .collect();
            assert_eq!(got, expected, "{title:?}");
        };
        check("Previous action log", &["Previous action log"]);
        check("ACTIONS-2026.xlsx", &["Previous action log"]);
        check(
            "ISMS performance report and metrics",
            &["Performance report and metrics"],
        );
        check("KPI dashboard Q3", &["Performance report and metrics"]);
        check("Internal audit summary", &["Internal audit summary"]);
        check("Risk register status", &["Risk register status"]);
        check("Draft objectives", &["Draft objectives"]);
        check("Security incident summary", &["Incident summary"]);
        check(
            "Risk treatment action plan",
            &["Previous action log", "Risk register status"],
        );
        check("Board minutes", &[]);
        check("Frisk", &[]);
        check("", &[]);
    }

    #[test]
    fn the_circulated_pack_ticks_the_checklist() {
        // Schedule and circulate.
        let a = current(&ledger(2));
        assert_eq!(a.circulated, Some(held().working_days_before(7)));
        assert_eq!(a.documents.len(), 6);
        for c in &a.checklist {
            assert_eq!(
                c.circulated.len(),
                1,
                "{} matched {:?}",
                c.item,
                c.circulated
            );
        }
        let text = render_agenda(&a, Format::Text);
        assert!(text.contains("7 working days before"), "{text}");
        assert!(!text.contains("missing"));
        let html = render_agenda(&a, Format::Html);
        assert!(html.contains(
            "<a href=\"https://docs.northwind.example/mr/mr-current/internal-audit-summary\""
        ));
    }

    #[test]
    fn an_unknown_review_is_refused() {
        let r = ledger(1);
        let err = agenda(&r.state, &ReviewId::new("nope").expect("valid")).unwrap_err();
        assert!(err.to_string().contains("no review nope"), "{err}");
    }
}

//! Printed minutes: one review, as plain text for terminals, Markdown, or a
//! single self-contained HTML file to hand to an auditor; and the auditor's
//! report of a bundle's verification ([`verification`]), which opens with
//! the verdict and the checks made and then carries the same minutes.
//!
//! Each renderer starts from a [`MinutesView`]. The content is laid out once,
//! here, as a small document of headings, fields, paragraphs and tables; the
//! three back ends only decide how those look. So the formats cannot drift
//! apart: what the text shows, the HTML shows. JSON is not done here; it is
//! the view serialized.
//!
//! The order follows the agenda template: the review and its people, the
//! agenda pack, the ten inputs of Clause 9.3.2 in clause order, the status
//! of earlier actions, decisions, actions, objectives, the next review, then
//! the signatures and what an auditor needs to check them against the ledger.
//! An input with no record is printed as `NOT RECORDED`, never left out.
//!
//! Every piece of user text goes through the back end's escaping, and control
//! characters are made visible, so a summary cannot inject markup or drive
//! a terminal. The HTML loads nothing: no scripts, images, fonts or style
//! sheets, and a content security policy that forbids them. Its only links
//! are document and evidence locations that are `http` or `https` URLs;
//! any other location (a path, a `javascript:` URL) is shown as text.
//!
//! ```
//! use review::render::{self, Format};
//! use review::{rehearsal::Rehearsal, story, view::MinutesView, Date};
//!
//! let today = Date::parse("today", "2026-12-01").unwrap();
//! let mut ledger = Rehearsal::founded(today);
//! ledger.run(&story::story(today.plus_days(-5))).unwrap();
//! let view = MinutesView::of(&ledger.state, &story::current_id(), None).unwrap();
//! let text = render::minutes(&view, Format::Text);
//! assert!(text.contains("Northwind Analytics Ltd"));
//! ```

pub mod describe;
mod html;
mod markdown;
mod report;
mod text;

use ledger_core::{Seq, UnixMicros};

use crate::conformance::Severity;
use crate::inputs::InputKey;
use crate::member::MemberId;
use crate::minutes::Recorded;
use crate::view::{MinutesView, Person, SignatureLine};
use crate::vocab::ActionState;

pub use html::STYLE as HTML_STYLE;
pub use html::escape as escape_html;
pub use report::{Checked, FileVerification, Outcome, verify_file};

/// An output format for printed minutes and agendas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Plain text for terminals, columns aligned, at most about 100 characters wide.
    Text,
    /// GitHub-flavoured Markdown, with tables.
    Markdown,
    /// One self-contained, printable HTML file.
    Html,
}

impl Format {
    /// All formats.
    pub const ALL: [Format; 3] = [Format::Text, Format::Markdown, Format::Html];

    /// Parses `text`, `markdown` (or `md`) or `html`.
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "text" | "txt" => Some(Format::Text),
            "markdown" | "md" => Some(Format::Markdown),
            "html" => Some(Format::Html),
            _ => None,
        }
    }

    /// The usual file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Markdown => "md",
            Format::Html => "html",
        }
    }
}

/// Renders the minutes of one review.
pub fn minutes(view: &MinutesView, format: Format) -> String {
    emit(&minutes_doc(view), format)
}

/// The minutes of one review as HTML elements without the page around
/// them, for a page that styles them with [`HTML_STYLE`].
pub fn minutes_html_body(view: &MinutesView) -> String {
    html_body(&minutes_doc(view))
}

/// A document as HTML elements without the page around them.
pub(crate) fn html_body(doc: &Doc) -> String {
    html::body(doc)
}

/// Renders the auditor's report of one bundle's verification: the verdict
/// first, what it was checked against, each check made, the signatures,
/// changes after signing and conformance findings, then (when the bundle
/// is valid) the minutes as replayed from its entries. See [`report`].
pub fn verification(checked: &Checked, outcome: &Outcome, format: Format) -> String {
    emit(&report::doc(checked, outcome), format)
}

/// A ledger time as RFC 3339 in UTC, to the second, e.g. `2026-11-26T12:00:41Z`.
pub fn rfc3339(t: UnixMicros) -> String {
    match jiff::Timestamp::from_microsecond(t.0) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => format!("(time out of range: {} microseconds)", t.0),
    }
}

// ---------------------------------------------------------------------------
// The document model the back ends share.

/// A piece of inline content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Span {
    /// User or fixed text.
    Text(String),
    /// A machine string: an id, a digest, a fingerprint.
    Mono(String),
    /// Emphasis.
    Strong(String),
    /// An `http(s)` location: the text is the URL, and HTML links it.
    Link(String),
    /// Something a reader must not miss, e.g. `NOT RECORDED`.
    Flag(String),
    /// The entry that recorded an item.
    Seq(Seq),
    /// Secondary text.
    Muted(String),
}

/// A run of inline content.
pub(crate) type Line = Vec<Span>;

/// A block of the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Block {
    /// The document's heading.
    Title {
        /// The organisation, above the title.
        organisation: String,
        /// The title.
        title: String,
        /// A line under it.
        subtitle: String,
    },
    /// A section heading.
    Heading(String),
    /// A heading inside a section.
    Subheading(Line),
    /// Label and value pairs.
    Fields(Vec<(String, Line)>),
    /// A paragraph.
    Para(Line),
    /// A table: column heads and rows of cells.
    Table {
        /// Column heads.
        head: Vec<String>,
        /// Rows; each has one cell per head.
        rows: Vec<Vec<Line>>,
    },
    /// A box that draws the eye: a missing input, an unsigned review.
    Notice(Line),
    /// Preformatted text, e.g. a checkpoint.
    Pre(String),
    /// The one sentence a reader files: whether what was checked holds.
    /// A report opens with it, so that it is the first line read.
    Verdict {
        /// Whether it is good news; anything else is drawn as a warning.
        ok: bool,
        /// The sentence.
        line: Line,
    },
}

/// What a printed page repeats in its margins, so that a loose page still
/// says what it belongs to. Only the HTML back end prints it (its print
/// style puts it in the page margins); text and Markdown have no pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Running {
    /// The organisation, or what stands in for it when it is not known.
    pub organisation: String,
    /// The review, when known.
    pub review: Option<String>,
    /// The minutes digest in hex, when known.
    pub digest: Option<String>,
    /// What each page's foot says beside the page number, e.g. the verdict.
    pub footer: String,
}

/// A document: the title of the page and its blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Doc {
    /// What a browser tab shows.
    pub title: String,
    /// The running header and footer of printed pages.
    pub running: Option<Running>,
    /// The content.
    pub blocks: Vec<Block>,
}

/// Renders a document in `format`.
pub(crate) fn emit(doc: &Doc, format: Format) -> String {
    match format {
        Format::Text => text::render(doc),
        Format::Markdown => markdown::render(doc),
        Format::Html => html::render(doc),
    }
}

/// User text with control characters (other than line breaks) made visible,
/// so that it can neither drive a terminal nor break a layout. A tab becomes
/// a space; `\r\n` a line break.
pub(crate) fn clean(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            // Bidirectional overrides can make text read differently from
            // what it is; show them too.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// The plain text of a line, as the text back end and page titles show it.
pub(crate) fn plain(line: &[Span]) -> String {
    let mut out = String::new();
    for s in line {
        match s {
            Span::Text(t)
            | Span::Mono(t)
            | Span::Strong(t)
            | Span::Link(t)
            | Span::Flag(t)
            | Span::Muted(t) => out.push_str(&clean(t)),
            Span::Seq(seq) => out.push_str(&seq.to_string()),
        }
    }
    out
}

/// `n` and the noun, singular or plural: `1 word`, `3 words`.
pub fn count(n: impl Into<i64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// How many working days `days` (from `working_days_until`) puts a date
/// before another: `3 working days before`, `2 working days after`, `on
/// the day of`.
pub fn working_days_apart(days: i64) -> String {
    match days {
        0 => "on the day of".to_owned(),
        d if d < 0 => format!("{} after", count(-d, "working day", "working days")),
        d => format!("{} before", count(d, "working day", "working days")),
    }
}

pub(crate) fn text(t: impl Into<String>) -> Span {
    Span::Text(t.into())
}

pub(crate) fn mono(t: impl ToString) -> Span {
    Span::Mono(t.to_string())
}

pub(crate) fn muted(t: impl Into<String>) -> Span {
    Span::Muted(t.into())
}

pub(crate) fn flag(t: impl Into<String>) -> Span {
    Span::Flag(t.into())
}

/// Whether `loc` is an `http` or `https` URL without spaces: the only kind
/// of location a rendering links to.
pub(crate) fn is_web_url(loc: &str) -> bool {
    let lower = loc.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !loc.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A document location: linked when it is an `http(s)` URL, text otherwise.
pub(crate) fn location(loc: &str) -> Span {
    if is_web_url(loc) {
        Span::Link(loc.to_owned())
    } else {
        Span::Text(loc.to_owned())
    }
}

/// `Ada Okafor (ceo), Chief Executive, top management`.
pub(crate) fn person(p: &Person) -> Line {
    let mut line = vec![text(p.name.clone())];
    if p.name != p.handle.as_str() {
        line.push(muted(format!(" ({})", p.handle)));
    }
    if !p.role.is_empty() {
        line.push(text(format!(", {}", p.role)));
    }
    if p.top_management {
        line.push(text(", top management"));
    }
    line
}

/// A name for a table cell.
pub(crate) fn name(p: &Person) -> Line {
    vec![text(p.name.clone())]
}

pub(crate) fn yes_no(b: bool) -> Line {
    vec![text(if b { "yes" } else { "no" })]
}

/// `d2, f`: inputs by clause reference.
pub(crate) fn clauses(inputs: &[InputKey]) -> String {
    if inputs.is_empty() {
        return "none".into();
    }
    inputs
        .iter()
        .map(|k| format!("{} {}", k.clause(), k.key()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `, received 2026-11-26T12:00:00Z`: the ledger's own time for an entry.
fn received(v: &MinutesView, seq: Seq) -> Line {
    match v.received(seq) {
        Some(t) => vec![muted(format!(", received {}", rfc3339(t)))],
        None => Vec::new(),
    }
}

fn seq_cell<T>(r: &Recorded<T>) -> Line {
    vec![Span::Seq(r.seq)]
}

/// `recorded by Chloe Varga at #23`.
fn recorded_by<T>(view: &MinutesView, r: &Recorded<T>) -> Line {
    vec![
        muted(format!("Recorded by {} at ", view.person(&r.by).name)),
        Span::Seq(r.seq),
    ]
}

fn action_status(view: &MinutesView, s: &ActionState) -> String {
    match s {
        ActionState::Overdue { revised_due, owner } => format!(
            "overdue: revised due {revised_due}, owner confirmed {}",
            view.person(owner).name
        ),
        other => other.label().to_owned(),
    }
}

// ---------------------------------------------------------------------------
// The minutes, laid out.

fn minutes_doc(v: &MinutesView) -> Doc {
    let m = &v.record.minutes;
    let s = &m.schedule.item;
    let mut b = vec![Block::Title {
        organisation: v.organisation.to_owned(),
        title: s.title.clone(),
        subtitle: "Minutes of the ISMS management review, ISO/IEC 27001:2022 clause 9.3".into(),
    }];
    status_section(v, &mut b);
    review_section(v, &mut b);
    attendance_section(v, &mut b);
    pack_section(v, &mut b);
    inputs_section(v, &mut b);
    previous_actions_section(v, &mut b);
    decisions_section(v, &mut b);
    actions_section(v, &mut b);
    objectives_section(v, &mut b);
    next_review_section(v, &mut b);
    signatures_section(v, &mut b);
    ledger_section(v, &mut b);
    Doc {
        title: format!("{}: {} ({})", v.organisation, s.title, m.review),
        running: Some(Running {
            organisation: v.organisation.to_owned(),
            review: Some(m.review.to_string()),
            digest: Some(v.digest.to_hex()),
            footer: format!("Minutes of review {}", m.review),
        }),
        blocks: b,
    }
}

/// The minutes' blocks, for a document that carries them after its own.
pub(crate) fn minutes_blocks(v: &MinutesView) -> Vec<Block> {
    minutes_doc(v).blocks
}

/// `Ada Okafor (ceo), Ben Marsh (ops)`, or `none`.
fn people(list: &[Person]) -> String {
    if list.is_empty() {
        return "none".to_owned();
    }
    list.iter()
        .map(|p| format!("{} ({})", p.name, p.handle))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first screen: whether the minutes hold, who signed and who has not,
/// changes after signing, and the conformance result.
fn status_section(v: &MinutesView, b: &mut Vec<Block>) {
    let Some(j) = &v.judgement else {
        return;
    };
    let a = &j.audit;
    let q = &a.quorum;
    let c = &j.conformance;
    b.push(Block::Heading("Status".into()));
    b.push(if j.holds() {
        Block::Para(vec![
            Span::Strong("THE MINUTES HOLD".into()),
            text(": top management signed the current minutes, nothing changed unsigned, and the conformance check found no nonconformity."),
        ])
    } else {
        let why = if !q.met {
            ": the top management who attended have not signed the current minutes."
        } else if !a.holds() {
            ": the minutes changed after signing and top management has not signed them again."
        } else {
            ": the conformance check found a nonconformity."
        };
        Block::Notice(vec![flag("THE MINUTES DO NOT HOLD"), text(why)])
    });
    let mut f = Vec::new();
    let roster = match q.roster_at {
        Some(at) => vec![
            text(people(&q.attended)),
            muted(" (top management at the meeting, roster as at "),
            Span::Seq(at),
            muted(")"),
        ],
        None => vec![text("none: no meeting is recorded")],
    };
    f.push(("Top management present".into(), roster));
    f.push((
        "Signatures required".into(),
        vec![text(format!(
            "{} (policy: {})",
            q.required,
            q.policy.describe()
        ))],
    ));
    f.push((
        "Signed the current minutes".into(),
        vec![text(people(&q.signed))],
    ));
    f.push((
        "Not signed".into(),
        if q.missing.is_empty() {
            vec![text("none")]
        } else {
            vec![flag(people(&q.missing))]
        },
    ));
    let unsigned = a
        .changes_after_signing
        .iter()
        .filter(|ch| !ch.signed_again)
        .count();
    let changes = match (a.changes_after_signing.len(), unsigned) {
        (0, _) => vec![text("none")],
        (n, 0) => vec![text(format!("{n}, each signed again by top management"))],
        (n, u) => vec![flag(format!("{n}, {u} NOT signed again"))],
    };
    f.push(("Changes after signing".into(), changes));
    let counts = format!(
        "{} nonconformities, {} warnings, {} observations (as of {})",
        c.count(Severity::Nonconformity),
        c.count(Severity::Warning),
        c.count(Severity::Observation),
        c.as_of
    );
    f.push((
        "Conformance check".into(),
        if c.passed() {
            vec![text(format!("passed: {counts}"))]
        } else {
            vec![flag("FAILED"), text(format!(": {counts}"))]
        },
    ));
    b.push(Block::Fields(f));
    if !c.findings.is_empty() {
        b.push(findings_table(&c.findings));
    }
}

/// Every finding of a check, a row each: rule, severity, message.
pub(crate) fn findings_table(findings: &[crate::conformance::Finding]) -> Block {
    Block::Table {
        head: vec!["Rule".into(), "Severity".into(), "Finding".into()],
        rows: findings
            .iter()
            .map(|x| {
                vec![
                    vec![mono(x.rule)],
                    vec![if x.severity == Severity::Nonconformity {
                        flag(x.severity.label())
                    } else {
                        text(x.severity.label())
                    }],
                    vec![text(x.message.clone())],
                ]
            })
            .collect(),
    }
}

fn review_section(v: &MinutesView, b: &mut Vec<Block>) {
    let m = &v.record.minutes;
    let s = &m.schedule.item;
    let mut f: Vec<(String, Line)> = vec![
        ("Organisation".into(), vec![text(v.organisation)]),
        (
            "Review".into(),
            vec![mono(&m.review), text(" "), text(&s.title)],
        ),
    ];
    if let Some(p) = &s.part_of {
        f.push(("Part of".into(), vec![text(p.clone())]));
    }
    f.push((
        "Planned".into(),
        vec![
            text(s.planned.to_string()),
            muted(", entry "),
            Span::Seq(m.schedule.seq),
        ],
    ));
    f.push((
        "Held".into(),
        match &m.meeting {
            Some(o) => {
                let mut l = vec![
                    text(format!("{} (declared)", o.item.held)),
                    muted(", entry "),
                    Span::Seq(o.seq),
                ];
                l.extend(received(v, o.seq));
                l
            }
            None => vec![
                flag("NOT RECORDED"),
                text(": the meeting has not been recorded as held"),
            ],
        },
    ));
    if let Some(t) = &m.times {
        f.push((
            "Meeting time".into(),
            vec![
                text(format!(
                    "{} to {} ({}, declared)",
                    t.item.started,
                    t.item.ended,
                    crate::conformance::duration(t.item.minutes())
                )),
                muted(", entry "),
                Span::Seq(t.seq),
            ],
        ));
    }
    f.push((
        "Period covered".into(),
        vec![text(format!("{} to {}", s.period_start, s.period_end))],
    ));
    let chair = match &m.meeting {
        Some(o) => person(&v.person(&o.item.chair)),
        None => {
            let mut l = person(&v.person(&s.chair));
            l.push(muted(" (planned)"));
            l
        }
    };
    f.push(("Chair".into(), chair));
    f.push((
        "Previous review".into(),
        match &v.record.previous {
            Some(p) => vec![mono(p)],
            None => vec![muted("none: this is the ledger's first review")],
        },
    ));
    b.push(Block::Heading("Review".into()));
    b.push(Block::Fields(f));
}

fn attendance_section(v: &MinutesView, b: &mut Vec<Block>) {
    let m = &v.record.minutes;
    let s = &m.schedule.item;
    b.push(Block::Heading("Attendance".into()));
    let people_table = |handles: &[MemberId]| Block::Table {
        head: vec!["Name".into(), "Role".into(), "Top management".into()],
        rows: handles
            .iter()
            .map(|h| {
                let p = v.person(h);
                vec![
                    name(&p),
                    vec![text(if p.role.is_empty() {
                        "(not on the roster)".to_owned()
                    } else {
                        p.role.clone()
                    })],
                    yes_no(p.top_management),
                ]
            })
            .collect(),
    };
    let Some(meeting) = &m.meeting else {
        b.push(Block::Notice(vec![
            flag("NOT RECORDED"),
            text(": nobody is recorded as present. Expected attendees:"),
        ]));
        b.push(people_table(&s.expected));
        return;
    };
    let o = &meeting.item;
    let top = o
        .present
        .iter()
        .filter(|h| v.person(h).top_management)
        .count();
    b.push(Block::Para(vec![
        text(format!(
            "Present: {} ({} top management by the roster as at ",
            o.present.len(),
            top
        )),
        Span::Seq(meeting.seq),
        text("). "),
        muted("Recorded at "),
        Span::Seq(meeting.seq),
    ]));
    b.push(people_table(&o.present));
    if top == 0 {
        b.push(Block::Notice(vec![
            flag("NO TOP MANAGEMENT PRESENT"),
            text(": clause 9.3 requires top management to conduct the review"),
        ]));
    }
    if o.apologies.is_empty() {
        b.push(Block::Para(vec![text("Apologies: none.")]));
    } else {
        b.push(Block::Para(vec![text(format!(
            "Apologies: {}.",
            o.apologies.len()
        ))]));
        b.push(people_table(&o.apologies));
    }
    let unaccounted: Vec<MemberId> = s
        .expected
        .iter()
        .filter(|h| !o.present.contains(h) && !o.apologies.contains(h))
        .cloned()
        .collect();
    if !unaccounted.is_empty() {
        b.push(Block::Para(vec![text(
            "Expected but neither present nor sending apologies:",
        )]));
        b.push(people_table(&unaccounted));
    }
}

fn pack_section(v: &MinutesView, b: &mut Vec<Block>) {
    let m = &v.record.minutes;
    b.push(Block::Heading("Agenda pack".into()));
    let Some(pack) = &m.pack else {
        b.push(Block::Notice(vec![
            flag("NOT RECORDED"),
            text(": no agenda pack is recorded as circulated"),
        ]));
        return;
    };
    let meeting = m
        .meeting
        .as_ref()
        .map(|o| (o.item.held, "meeting"))
        .unwrap_or((m.schedule.item.planned, "planned date"));
    let lead = pack.item.circulated.working_days_until(meeting.0);
    b.push(Block::Para(
        vec![
            text(format!(
                "Circulated {} (declared), {} the {}; {}. ",
                pack.item.circulated,
                working_days_apart(lead),
                meeting.1,
                count(pack.item.documents.len() as i64, "document", "documents")
            )),
            muted("Recorded at "),
            Span::Seq(pack.seq),
        ]
        .into_iter()
        .chain(received(v, pack.seq))
        .collect(),
    ));
    if !pack.item.documents.is_empty() {
        b.push(Block::Table {
            head: vec!["Document".into(), "Location".into(), "blake3".into()],
            rows: pack
                .item
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
}

fn inputs_section(v: &MinutesView, b: &mut Vec<Block>) {
    let m = &v.record.minutes;
    b.push(Block::Heading("Inputs considered (clause 9.3.2)".into()));
    let recorded = InputKey::ALL
        .iter()
        .filter(|k| m.inputs.contains_key(k))
        .count();
    b.push(Block::Para(vec![text(format!(
        "{recorded} of the {} required inputs are recorded. The guide's number is shown beside each clause reference.",
        InputKey::ALL.len()
    ))]));
    b.push(Block::Table {
        head: vec![
            "Clause".into(),
            "Guide".into(),
            "Input".into(),
            "Recorded".into(),
            "Entry".into(),
        ],
        rows: InputKey::ALL
            .iter()
            .map(|k| {
                let (state, seq) = match m.inputs.get(k) {
                    Some(r) if r.item.nothing_to_report => {
                        (vec![text("nothing to report")], seq_cell(r))
                    }
                    Some(r) => (vec![text("summary")], seq_cell(r)),
                    None => (vec![flag("NOT RECORDED")], vec![muted("-")]),
                };
                vec![
                    vec![mono(k.clause())],
                    vec![text(format!("#{}", k.guide_number()))],
                    vec![text(k.title())],
                    state,
                    seq,
                ]
            })
            .collect(),
    });
    for k in InputKey::ALL {
        b.push(Block::Subheading(vec![
            Span::Strong(format!("9.3.2 {}", k.clause())),
            text(format!(" {}", k.title())),
            muted(format!(" (guide #{}, {})", k.guide_number(), k.key())),
        ]));
        let Some(r) = m.inputs.get(&k) else {
            b.push(Block::Notice(vec![
                flag("NOT RECORDED"),
                text(format!(
                    ": the minutes hold no summary and no statement for input {} ({}). A missing input is a nonconformity.",
                    k.clause(),
                    k.key()
                )),
            ]));
            continue;
        };
        let i = &r.item;
        let mut para = Vec::new();
        if i.nothing_to_report {
            para.push(Span::Strong("Nothing to report. ".into()));
        }
        para.push(text(i.summary.clone()));
        b.push(Block::Para(para));
        if i.evidence.is_empty() {
            b.push(Block::Para(vec![muted("No evidence referenced.")]));
        } else {
            b.push(Block::Table {
                head: vec!["Evidence".into(), "Location".into(), "blake3".into()],
                rows: i
                    .evidence
                    .iter()
                    .map(|e| {
                        vec![
                            vec![text(e.title.clone())],
                            vec![location(&e.location)],
                            match e.digest {
                                Some(d) => vec![mono(d)],
                                None => vec![muted("no digest (not a file)")],
                            },
                        ]
                    })
                    .collect(),
            });
        }
        b.push(Block::Para(recorded_by(v, r)));
    }
}

fn previous_actions_section(v: &MinutesView, b: &mut Vec<Block>) {
    let m = &v.record.minutes;
    b.push(Block::Heading(
        "Status of actions from previous reviews".into(),
    ));
    if m.action_statuses.is_empty() {
        b.push(Block::Para(vec![text(match &v.record.previous {
            Some(_) => "No status of an earlier action is recorded.",
            None => "No earlier review: there are no previous actions.",
        })]));
        return;
    }
    b.push(Block::Table {
        head: vec![
            "Action".into(),
            "Status".into(),
            "Note".into(),
            "Entry".into(),
        ],
        rows: m
            .action_statuses
            .values()
            .map(|r| {
                vec![
                    vec![mono(&r.item.action)],
                    vec![text(action_status(v, &r.item.status))],
                    vec![text(r.item.note.clone())],
                    seq_cell(r),
                ]
            })
            .collect(),
    });
}

fn decisions_section(v: &MinutesView, b: &mut Vec<Block>) {
    let m = &v.record.minutes;
    b.push(Block::Heading("Decisions (clause 9.3.3)".into()));
    if m.decisions.is_empty() {
        b.push(Block::Notice(vec![
            flag("NO DECISIONS"),
            text(": no decision is recorded"),
        ]));
        return;
    }
    b.push(Block::Table {
        head: vec![
            "No.".into(),
            "Kind".into(),
            "Decision".into(),
            "Answers inputs".into(),
            "Entry".into(),
        ],
        rows: m
            .decisions
            .iter()
            .enumerate()
            .map(|(n, r)| {
                vec![
                    vec![text((n + 1).to_string())],
                    vec![text(r.item.kind.key())],
                    vec![text(r.item.text.clone())],
                    vec![text(clauses(&r.item.inputs))],
                    seq_cell(r),
                ]
            })
            .collect(),
    });
}

fn actions_section(v: &MinutesView, b: &mut Vec<Block>) {
    let m = &v.record.minutes;
    b.push(Block::Heading("Actions".into()));
    if m.actions.is_empty() {
        b.push(Block::Para(vec![text("No action was assigned.")]));
        return;
    }
    b.push(Block::Table {
        head: vec![
            "Action".into(),
            "Owner".into(),
            "Due".into(),
            "What".into(),
            "Decision".into(),
            "Entry".into(),
        ],
        rows: m
            .actions
            .values()
            .map(|r| {
                let a = &r.item;
                vec![
                    vec![mono(&a.action)],
                    name(&v.person(&a.owner)),
                    vec![text(a.due.to_string())],
                    vec![text(a.text.clone())],
                    vec![text(
                        a.decision
                            .map(|n| n.to_string())
                            .unwrap_or_else(|| "-".into()),
                    )],
                    seq_cell(r),
                ]
            })
            .collect(),
    });
}

fn objectives_section(v: &MinutesView, b: &mut Vec<Block>) {
    let m = &v.record.minutes;
    b.push(Block::Heading("Objectives".into()));
    b.push(Block::Subheading(vec![text(
        "Last period's objectives, assessed",
    )]));
    if m.assessments.is_empty() {
        b.push(Block::Para(vec![text("No objective was assessed.")]));
    } else {
        b.push(Block::Table {
            head: vec![
                "Objective".into(),
                "Met".into(),
                "Why".into(),
                "Entry".into(),
            ],
            rows: m
                .assessments
                .values()
                .map(|r| {
                    vec![
                        vec![mono(&r.item.objective)],
                        vec![text(if r.item.met { "met" } else { "not met" })],
                        vec![text(r.item.why.clone())],
                        seq_cell(r),
                    ]
                })
                .collect(),
        });
    }
    b.push(Block::Subheading(vec![text(
        "Objectives for the next period",
    )]));
    if m.objectives.is_empty() {
        b.push(Block::Para(vec![text("No objective was set.")]));
    } else {
        b.push(Block::Table {
            head: vec![
                "Objective".into(),
                "What".into(),
                "Owner".into(),
                "Measure".into(),
                "Target".into(),
                "Due".into(),
                "Entry".into(),
            ],
            rows: m
                .objectives
                .values()
                .map(|r| {
                    let o = &r.item;
                    vec![
                        vec![mono(&o.objective)],
                        vec![text(o.text.clone())],
                        name(&v.person(&o.owner)),
                        vec![text(o.measure.clone())],
                        vec![text(o.target.clone())],
                        vec![text(o.due.to_string())],
                        seq_cell(r),
                    ]
                })
                .collect(),
        });
    }
}

fn next_review_section(v: &MinutesView, b: &mut Vec<Block>) {
    let m = &v.record.minutes;
    b.push(Block::Heading("Next review".into()));
    b.push(Block::Para(match &m.close {
        Some(c) => vec![
            text(format!(
                "The next review is planned for {}. ",
                c.item.next_review
            )),
            muted("Meeting closed at "),
            Span::Seq(c.seq),
        ],
        None => vec![
            flag("NOT RECORDED"),
            text(": the meeting has not been closed and no next review date is set"),
        ],
    }));
}

fn signatures_section(v: &MinutesView, b: &mut Vec<Block>) {
    let head = v.record.content_head();
    b.push(Block::Heading("Signatures".into()));
    if v.signatures.is_empty() {
        b.push(Block::Notice(vec![
            flag("NOT SIGNED"),
            text(": nobody has signed these minutes"),
        ]));
    } else {
        let current = v.signatures.iter().filter(|s| s.current).count();
        let covering = match current {
            0 => "No signature covers".to_owned(),
            1 => "One signature covers".to_owned(),
            n => format!("{n} signatures cover"),
        };
        b.push(Block::Para(vec![text(format!(
            "{covering} the current minutes, which last changed at {head}. Each signs the minutes digest below with the signer's enrolled ed25519 key."
        ))]));
        b.push(signature_table(&v.signatures));
        if current == 0 {
            b.push(Block::Notice(vec![
                flag("NOT SIGNED AS AMENDED"),
                text(": the minutes changed after every signature and need signing again"),
            ]));
        }
    }
    let amendments: Vec<_> = v
        .record
        .changes
        .iter()
        .filter_map(|c| c.amendment.as_ref().map(|reason| (c, reason)))
        .collect();
    if !amendments.is_empty() {
        b.push(Block::Subheading(vec![text("Amendments after signing")]));
        b.push(Block::Table {
            head: vec![
                "Entry".into(),
                "Change".into(),
                "Reason".into(),
                "By".into(),
            ],
            rows: amendments
                .iter()
                .map(|(c, reason)| {
                    vec![
                        vec![Span::Seq(c.seq)],
                        vec![text(c.what.clone())],
                        vec![text((*reason).clone())],
                        name(&v.person(&c.by)),
                    ]
                })
                .collect(),
        });
    }
}

/// The signatures on the minutes, one a row: who, their role and standing
/// by the roster as at their signature, key, time, entry, and whether each
/// covers the minutes as they are now.
pub(crate) fn signature_table(signatures: &[SignatureLine]) -> Block {
    Block::Table {
        head: vec![
            "Name".into(),
            "Role".into(),
            "Top management when signing".into(),
            "Key fingerprint".into(),
            "Signed with".into(),
            "Signed (UTC)".into(),
            "Entry".into(),
            "Covers current minutes".into(),
        ],
        rows: signatures
            .iter()
            .map(|s| {
                vec![
                    name(&s.signer),
                    vec![text(s.signer.role.clone())],
                    yes_no(s.signer.top_management),
                    vec![mono(&s.fingerprint)],
                    vec![text(s.signed_with.to_string())],
                    vec![text(rfc3339(s.received))],
                    vec![Span::Seq(s.seq)],
                    if s.current {
                        vec![text("yes")]
                    } else {
                        vec![
                            flag("no"),
                            text(format!(": signs the minutes as at {}", s.covers)),
                        ]
                    },
                ]
            })
            .collect(),
    }
}

fn ledger_section(v: &MinutesView, b: &mut Vec<Block>) {
    b.push(Block::Heading("Ledger".into()));
    let (first, last) = v.seq_range;
    b.push(Block::Fields(vec![
        ("Ledger id".into(), vec![mono(v.ledger_id)]),
        (
            "Entries".into(),
            vec![
                Span::Seq(first),
                text(" to "),
                Span::Seq(last),
                muted(" (this review, signatures included)"),
            ],
        ),
        ("Minutes digest".into(), vec![mono(v.digest)]),
        (
            "Minutes last changed".into(),
            vec![Span::Seq(v.record.content_head())],
        ),
    ]));
    if let Some(c) = &v.checkpoint {
        b.push(Block::Para(vec![text("Checkpoint:")]));
        b.push(Block::Pre(c.clone()));
    }
    b.push(Block::Para(vec![muted(
        "This is a rendering of the ledger. The signatures sign the minutes digest, not this document: verify them, and the digest, against the ledger id above.",
    )]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Date;
    use crate::member::MemberId;
    use crate::payload::Payload;
    use crate::rehearsal::Rehearsal;
    use crate::story::{self, Step};
    use crate::vocab::{Content, Input};

    #[test]
    fn counts_and_days_read_as_english() {
        for (days, said) in [
            (3, "3 working days before"),
            (1, "1 working day before"),
            (0, "on the day of"),
            (-1, "1 working day after"),
            (-5, "5 working days after"),
        ] {
            assert_eq!(working_days_apart(days), said);
        }
        assert_eq!(count(1, "word", "words"), "1 word");
        assert_eq!(count(0, "word", "words"), "0 words");
    }

    fn date(s: &str) -> Date {
        Date::parse("date", s).expect("test dates are valid")
    }

    fn held() -> Date {
        date("2026-11-26")
    }

    /// The story's ledger, with `edit` applied to the steps first.
    fn ledger(edit: impl FnOnce(&mut Vec<Step>)) -> Rehearsal {
        let mut steps = story::story(held());
        edit(&mut steps);
        let mut r = Rehearsal::founded(date("2026-12-01"));
        r.run(&steps)
            .unwrap_or_else(|(i, e)| panic!("step {i}: {e}"));
        r
    }

    fn story_ledger() -> Rehearsal {
        ledger(|_| {})
    }

    /// The current review's step recording `key`.
    fn current_input(steps: &mut [Step], key: InputKey) -> &mut Input {
        steps
            .iter_mut()
            .find_map(|s| match s {
                Step::Append {
                    payload: Payload::Input(c),
                    ..
                } if c.review == story::current_id() && c.body.input == key => Some(&mut c.body),
                _ => None,
            })
            .expect("the story records every input")
    }

    /// The current review in every format.
    fn render_all(r: &Rehearsal, checkpoint: Option<String>) -> Vec<(Format, String)> {
        let v = MinutesView::of(&r.state, &story::current_id(), checkpoint).expect("scheduled");
        Format::ALL.iter().map(|&f| (f, minutes(&v, f))).collect()
    }

    /// User text as `format` prints it.
    fn as_printed(format: Format, t: &str) -> String {
        match format {
            Format::Text => clean(t),
            Format::Markdown => markdown::escape(t),
            Format::Html => html::escape(t),
        }
    }

    /// Whitespace collapsed, so that wrapped text still matches.
    fn squash(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// HTML with its unbreakable date spans taken out, so that dates read
    /// as the text around them does.
    fn unwrap_dates(out: &str) -> String {
        let open = "<span class=\"nw\">";
        let mut rest = out;
        let mut plain = String::with_capacity(out.len());
        while let Some(at) = rest.find(open) {
            plain.push_str(&rest[..at]);
            rest = &rest[at + open.len()..];
            let end = rest.find("</span>").expect("a closed span");
            plain.push_str(&rest[..end]);
            rest = &rest[end + "</span>".len()..];
        }
        plain.push_str(rest);
        plain
    }

    fn assert_shows(format: Format, out: &str, needles: &[String]) {
        let hay = squash(&unwrap_dates(out));
        for n in needles {
            let n = squash(&as_printed(format, n));
            assert!(hay.contains(&n), "{format:?} does not show {n:?}:\n{out}");
        }
    }

    fn heading(format: Format, h: &str) -> String {
        match format {
            Format::Text => format!("\n{h}\n---"),
            Format::Markdown => format!("## {h}\n"),
            Format::Html => format!("<h2>{h}</h2>"),
        }
    }

    #[test]
    fn the_first_screen_says_whether_the_minutes_hold() {
        use crate::conformance::tests::{Script, amend, today};
        // (edit, holds, what the status must show, what it must not).
        type Case = (
            fn(&mut Script),
            bool,
            &'static [&'static str],
            &'static [&'static str],
        );
        let cases: [Case; 3] = [
            (
                |_| {},
                true,
                &[
                    "THE MINUTES HOLD",
                    "Ada Okafor (ceo), Ben Marsh (ops)",
                    "Not signed none",
                    "Changes after signing none",
                    "Conformance check passed 0 nonconformities",
                ],
                &["DO NOT HOLD", "FAILED"],
            ),
            (
                |s| s.unsign("ops"),
                false,
                &[
                    "THE MINUTES DO NOT HOLD",
                    "Not signed Ben Marsh (ops)",
                    "Conformance check FAILED 1 nonconformities",
                    "minutes-signed",
                ],
                &["THE MINUTES HOLD"],
            ),
            (
                |s| s.then([amend()]),
                false,
                &[
                    "THE MINUTES DO NOT HOLD",
                    "Changes after signing 1, 1 NOT signed again",
                    "Not signed Ada Okafor (ceo), Ben Marsh (ops)",
                ],
                &["THE MINUTES HOLD"],
            ),
        ];
        for (i, (edit, holds, shows, hides)) in cases.into_iter().enumerate() {
            let mut script = Script::story();
            edit(&mut script);
            let r = script.run();
            let v = MinutesView::judged(&r.state, &story::current_id(), None, today())
                .expect("scheduled");
            assert_eq!(v.judgement.as_ref().unwrap().holds(), holds, "case {i}");
            for format in Format::ALL {
                let out = minutes(&v, format);
                let plain = squash(&html_text(&out).replace(['*', '|', '`', ':'], " "));
                // The status comes before the minutes themselves.
                let status = plain.find("Status").expect("a status heading");
                let review = plain.find("Period covered").expect("the review section");
                assert!(
                    status < review,
                    "case {i} {format:?}: status after the minutes"
                );
                for needle in shows {
                    let needle = squash(&as_printed(format, needle));
                    assert!(
                        plain.contains(&needle),
                        "case {i} {format:?} does not show {needle:?}:\n{out}"
                    );
                }
                for needle in hides {
                    assert!(
                        !plain.contains(needle),
                        "case {i} {format:?} shows {needle:?}:\n{out}"
                    );
                }
            }
        }
    }

    /// Tags stripped, so that HTML reads as its text does.
    fn html_text(s: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in s.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => {
                    in_tag = false;
                    out.push(' ');
                }
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn every_format_shows_what_an_auditor_checks() {
        let r = story_ledger();
        let v = MinutesView::of(&r.state, &story::current_id(), None).expect("scheduled");
        let m = &v.record.minutes;
        // Short items: every format shows them whole, tables or not.
        let mut short: Vec<String> = vec![
            story::ORGANISATION.into(),
            m.review.to_string(),
            m.schedule.item.title.clone(),
            "2025-12-04 to 2026-11-25".into(),
            v.ledger_id.to_hex(),
            v.digest.to_hex(),
            "2027-11-26".into(),
            "10 of the 10 required inputs".into(),
            "Erin Walsh".into(),
        ];
        for k in InputKey::ALL {
            short.push(format!("9.3.2 {}", k.clause()));
            short.push(k.key().into());
            short.push(format!("#{}", k.guide_number()));
        }
        for s in &v.signatures {
            short.extend([
                s.signer.name.clone(),
                s.fingerprint.clone(),
                rfc3339(s.received),
            ]);
        }
        for d in &m.pack.as_ref().expect("circulated").item.documents {
            short.extend([d.title.clone(), d.location.clone(), d.digest.to_hex()]);
        }
        for i in m.inputs.values() {
            for e in &i.item.evidence {
                short.push(e.location.clone());
                short.extend(e.digest.map(|d| d.to_hex()));
            }
        }
        for a in m.actions.values() {
            short.extend([
                a.item.action.to_string(),
                a.item.due.to_string(),
                v.person(&a.item.owner).name,
            ]);
        }
        short.extend(m.action_statuses.keys().map(|a| a.to_string()));
        short.extend(m.assessments.keys().map(|o| o.to_string()));
        short.extend(m.objectives.keys().map(|o| o.to_string()));
        short.extend(["not met".into(), "overdue".into(), "isms-change".into()]);
        // Long text: paragraphs everywhere, table cells in Markdown and HTML.
        let paras: Vec<String> = m.inputs.values().map(|i| i.item.summary.clone()).collect();
        let mut cells: Vec<String> = m.decisions.iter().map(|d| d.item.text.clone()).collect();
        cells.extend(m.actions.values().map(|a| a.item.text.clone()));
        cells.extend(m.assessments.values().map(|a| a.item.why.clone()));
        cells.extend(m.action_statuses.values().map(|s| s.item.note.clone()));
        cells.extend(m.objectives.values().map(|o| o.item.measure.clone()));
        cells.push("d2 monitoring, f risk".into());

        // Entries: not user text, shown as they are.
        let mut entries = vec!["#33".to_owned(), "#59".to_owned()];
        entries.extend(v.signatures.iter().map(|s| s.seq.to_string()));
        entries.extend(m.inputs.values().map(|i| i.seq.to_string()));
        for (f, out) in render_all(&r, None) {
            assert_shows(f, &out, &short);
            for e in &entries {
                assert!(out.contains(e.as_str()), "{f:?} lacks entry {e}");
            }
            assert_shows(f, &out, &paras);
            if f != Format::Text {
                assert_shows(f, &out, &cells);
            }
            assert!(
                !out.contains("NOT RECORDED"),
                "{f:?}: the story misses nothing"
            );
            assert!(!out.to_lowercase().contains("nothing to report"), "{f:?}");
            assert!(!out.contains("NOT SIGNED"), "{f:?}");
            // The inputs in clause order, the sections in the agenda's.
            let at = |needle: &str| {
                out.find(needle)
                    .unwrap_or_else(|| panic!("{f:?} lacks {needle:?}"))
            };
            let inputs: Vec<usize> = InputKey::ALL
                .iter()
                .map(|k| at(&as_printed(f, &format!("9.3.2 {}", k.clause()))))
                .collect();
            assert!(inputs.windows(2).all(|w| w[0] < w[1]), "{f:?}: {inputs:?}");
            let sections: Vec<usize> = [
                "Review",
                "Attendance",
                "Agenda pack",
                "Inputs considered (clause 9.3.2)",
                "Status of actions from previous reviews",
                "Decisions (clause 9.3.3)",
                "Actions",
                "Objectives",
                "Next review",
                "Signatures",
                "Ledger",
            ]
            .iter()
            .map(|h| at(&heading(f, h)))
            .collect();
            assert!(
                sections.windows(2).all(|w| w[0] < w[1]),
                "{f:?}: {sections:?}"
            );
        }
    }

    #[test]
    fn an_explicit_nothing_to_report_is_shown() {
        let statement = "No feedback was received this period; the feedback channels were checked and are operating.";
        let r = ledger(|steps| {
            let i = current_input(steps, InputKey::InterestedPartyFeedback);
            i.nothing_to_report = true;
            i.summary = statement.into();
            i.evidence.clear();
        });
        for (f, out) in render_all(&r, None) {
            assert_shows(
                f,
                &out,
                &[statement.into(), "No evidence referenced.".into()],
            );
            let said = squash(&out.to_lowercase())
                .matches("nothing to report")
                .count();
            // Once in the overview table, once before the statement.
            assert_eq!(said, 2, "{f:?}:\n{out}");
            assert!(!out.contains("NOT RECORDED"), "{f:?}");
        }
    }

    #[test]
    fn a_missing_input_is_not_recorded_not_left_out() {
        let r = ledger(|steps| {
            steps.retain(|s| {
                !matches!(s, Step::Append { payload: Payload::Input(c), .. }
                    if c.review == story::current_id() && c.body.input == InputKey::Risk)
            })
        });
        for (f, out) in render_all(&r, None) {
            assert_shows(
                f,
                &out,
                &[
                    "9 of the 10 required inputs".into(),
                    "9.3.2 f".into(),
                    "no summary and no statement for input f (risk)".into(),
                ],
            );
            // Once in the overview table, once in the input's own place.
            assert_eq!(out.matches("NOT RECORDED").count(), 2, "{f:?}:\n{out}");
        }
    }

    #[test]
    fn a_review_not_yet_held_renders_with_its_gaps_marked() {
        let mut steps: Vec<Step> = story::previous_review(held().plus_days(-357));
        steps.extend(story::between_reviews());
        steps.extend(story::current_review(held()).into_iter().take(1));
        let mut r = Rehearsal::founded(date("2026-12-01"));
        r.run(&steps)
            .unwrap_or_else(|(i, e)| panic!("step {i}: {e}"));
        for (f, out) in render_all(&r, None) {
            assert_shows(
                f,
                &out,
                &[
                    "0 of the 10 required inputs".into(),
                    "NOT SIGNED".into(),
                    "no agenda pack is recorded".into(),
                    "no next review date".into(),
                    "Ada Okafor".into(),
                ],
            );
            // Held, attendance, pack, ten inputs twice each, next review.
            assert_eq!(out.matches("NOT RECORDED").count(), 24, "{f:?}:\n{out}");
        }
    }

    #[test]
    fn an_amendment_after_signing_is_visible() {
        let mut r = story_ledger();
        let reason = "Corrected the residual risk figures after the meeting.";
        let mut body = r.state.reviews.reviews[&story::current_id()].minutes.inputs
            [&InputKey::Risk]
            .item
            .clone();
        body.summary
            .push_str(" Residual risk for the payroll service is now medium, not low.");
        r.append(
            "isms",
            &Payload::Input(Content {
                review: story::current_id(),
                amendment: Some(reason.into()),
                body,
            }),
        )
        .expect("amendments are admitted");
        for (f, out) in render_all(&r, None) {
            assert_shows(
                f,
                &out,
                &[
                    "No signature covers the current minutes".into(),
                    "NOT SIGNED AS AMENDED".into(),
                    "Amendments after signing".into(),
                    reason.into(),
                    "input risk".into(),
                    "signs the minutes as at #57".into(),
                ],
            );
        }
    }

    #[test]
    fn the_checkpoint_note_is_printed_under_the_minutes() {
        let note = "review-ledger checkpoint\nsize 60\nroot 1f2e";
        for (f, out) in render_all(&story_ledger(), Some(note.into())) {
            let ledger_at = out.find(&heading(f, "Ledger")).expect("ledger section");
            let note_at = out
                .find("size 60")
                .unwrap_or_else(|| panic!("{f:?} lacks the note"));
            assert!(note_at > ledger_at, "{f:?}");
            assert!(out.contains("root 1f2e"), "{f:?}");
        }
    }

    /// Every tag of an HTML page, as `<name attributes>`; text is escaped,
    /// so each `<` opens a real tag.
    fn tags(html: &str) -> Vec<&str> {
        html.split('<')
            .skip(1)
            .map(|t| t.split('>').next().unwrap_or(t))
            .collect()
    }

    fn hrefs(html: &str) -> Vec<String> {
        tags(html)
            .iter()
            .filter_map(|t| t.split("href=\"").nth(1))
            .map(|rest| rest.split('"').next().unwrap_or("").replace("&amp;", "&"))
            .collect()
    }

    const ALLOWED_TAGS: [&str; 27] = [
        "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "header", "main", "section",
        "h1", "h2", "h3", "p", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "th", "td",
        "code", "strong", "span", "a",
    ];

    pub(super) fn assert_self_contained(html: &str) {
        for t in tags(html) {
            let name = t
                .trim_start_matches('/')
                .split([' ', '\n'])
                .next()
                .unwrap_or("");
            assert!(
                ALLOWED_TAGS.contains(&name) || name == "pre" || name == "br",
                "unexpected tag <{t}>"
            );
            assert!(!t.contains("src="), "<{t}> loads something");
            let without_href = match t.split_once("href=\"") {
                Some((before, after)) => {
                    let url = after.split('"').next().unwrap_or("");
                    assert!(is_web_url(url), "<{t}> links to a non-web location");
                    before.to_owned() + after.get(url.len()..).unwrap_or("")
                }
                None => t.to_owned(),
            };
            assert!(
                !without_href.contains("://"),
                "<{t}> refers outside the page"
            );
        }
        for banned in [
            "url(", "@import", "<script", "<link", "<img", "<iframe", "<object",
        ] {
            assert!(
                !html.to_lowercase().contains(banned),
                "the page holds {banned}"
            );
        }
    }

    #[test]
    fn html_links_only_document_locations_and_loads_nothing() {
        let r = story_ledger();
        let v = MinutesView::of(&r.state, &story::current_id(), None).expect("scheduled");
        let html = minutes(&v, Format::Html);
        assert_self_contained(&html);
        let m = &v.record.minutes;
        let mut locations: Vec<String> = m
            .pack
            .iter()
            .flat_map(|p| p.item.documents.iter().map(|d| d.location.clone()))
            .collect();
        for i in m.inputs.values() {
            locations.extend(i.item.evidence.iter().map(|e| e.location.clone()));
        }
        let mut links = hrefs(&html);
        links.sort();
        locations.sort();
        assert_eq!(links, locations);
        assert!(html.contains("@media print"));
        assert!(html.contains("size: A4"));
    }

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let script = "<script>alert(\"pwned\")</script> & 'quoted'";
        let summary = format!(
            "{script} \u{1b}[2J\n# Heading injection\n- list injection\n[link](javascript:alert(1)) | cell"
        );
        let img = "<img src=x onerror=alert(1)>";
        let mut r = ledger(|steps| {
            current_input(steps, InputKey::Risk).summary = summary.clone();
            let e = &mut current_input(steps, InputKey::Monitoring).evidence[0];
            e.location = "https://evil.example/\"onmouseover=\"alert(1)".into();
            let e = &mut current_input(steps, InputKey::AuditResults).evidence[0];
            e.location = "\\\\fileserver\\isms\\audit report.pdf".into();
            for s in steps.iter_mut() {
                match s {
                    Step::Append {
                        payload: Payload::Circulate(c),
                        ..
                    } if c.review == story::current_id() => {
                        c.body.documents[0].title = img.into();
                        c.body.documents[0].location = "javascript:alert(1)".into();
                    }
                    Step::Append {
                        payload: Payload::Schedule(c),
                        ..
                    } if c.review == story::current_id() => {
                        c.body.part_of = Some("Board meeting <b>Q4</b> | item 7".into());
                    }
                    _ => {}
                }
            }
        });
        let ops = MemberId::new("ops").expect("valid");
        if let Some(m) = r.state.roster.members.get_mut(&ops) {
            m.name = "Ben <i>Marsh</i>".into();
        }
        r.state.roster.organisation = "Northwind & <Co>".into();
        let v = MinutesView::of(&r.state, &story::current_id(), None).expect("scheduled");

        let html = minutes(&v, Format::Html);
        assert_self_contained(&html);
        for shown in [
            "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;",
            "&lt;img src=x onerror=alert(1)&gt;",
            "Ben &lt;i&gt;Marsh&lt;/i&gt;",
            "Northwind &amp; &lt;Co&gt;",
            "Board meeting &lt;b&gt;Q4&lt;/b&gt;",
            "javascript:alert(1)",
            "\\\\fileserver\\isms\\audit report.pdf",
            "href=\"https://evil.example/&quot;onmouseover=&quot;alert(1)\"",
        ] {
            assert!(html.contains(shown), "HTML lacks {shown:?}");
        }
        for absent in ["<i>", "<b>", "<Co>", "href=\"javascript", "href=\"\\"] {
            assert!(!html.contains(absent), "HTML holds {absent:?}");
        }

        let md = minutes(&v, Format::Markdown);
        for shown in [
            "\\<script\\>",
            "\\# Heading injection",
            "\\- list injection",
            "\\[link\\](javascript:alert(1)) \\| cell",
            "\\<img src=x onerror=alert(1)\\>",
            "Ben \\<i\\>Marsh\\</i\\>",
        ] {
            assert!(md.contains(shown), "Markdown lacks {shown:?}");
        }
        for l in md.lines() {
            assert!(
                !l.starts_with("# Heading") && !l.starts_with("- list"),
                "{l:?}"
            );
        }
        // Every `<` is escaped, or opens an autolink.
        for (at, _) in md.match_indices('<') {
            let escaped = md[..at].ends_with('\\');
            let autolink = md[at..].starts_with("<https://");
            assert!(escaped || autolink, "raw `<` at {:?}", md.get(at..at + 20));
        }

        let text = minutes(&v, Format::Text);
        assert!(text.contains("\\u{1b}[2J"), "the escape is shown, not sent");
        for (f, out) in Format::ALL.map(|f| (f, minutes(&v, f))) {
            assert!(!out.contains('\u{1b}'), "{f:?} sends a terminal escape");
        }
    }

    #[test]
    fn text_stays_within_its_width() {
        let r = story_ledger();
        let v = MinutesView::of(&r.state, &story::current_id(), None).expect("scheduled");
        let agenda = crate::agenda::agenda(&r.state, &story::current_id()).expect("scheduled");
        for out in [
            minutes(&v, Format::Text),
            crate::agenda::render_agenda(&agenda, Format::Text),
        ] {
            for l in out.lines() {
                assert!(l.chars().count() <= text::WIDTH, "{l:?}");
                assert_eq!(l, l.trim_end(), "trailing spaces");
            }
        }
    }

    #[test]
    fn times_are_rfc3339_utc() {
        let check = |micros: i64, expected: &str| {
            assert_eq!(rfc3339(UnixMicros(micros)), expected, "{micros}");
        };
        check(0, "1970-01-01T00:00:00Z");
        check(1_764_547_200_000_000, "2025-12-01T00:00:00Z");
        check(1_764_547_200_999_999, "2025-12-01T00:00:00Z");
        check(-1_000_000, "1969-12-31T23:59:59Z");
        check(
            i64::MAX,
            "(time out of range: 9223372036854775807 microseconds)",
        );
    }

    #[test]
    fn control_characters_are_made_visible() {
        let check = |input: &str, expected: &str| assert_eq!(clean(input), expected, "{input:?}");
        check("plain", "plain");
        check("tab\there", "tab here");
        check("crlf\r\nline", "crlf\nline");
        check("bell\u{7}", "bell\\u{7}");
        check("\u{1b}[31mred", "\\u{1b}[31mred");
        check("\u{202e}txt.exe", "\\u{202e}txt.exe");
        check("Zoë Ødegård", "Zoë Ødegård");
    }

    #[test]
    fn html_escaping() {
        let check =
            |input: &str, expected: &str| assert_eq!(escape_html(input), expected, "{input:?}");
        check("a & b", "a &amp; b");
        check("<p>", "&lt;p&gt;");
        check("\"x\" 'y'", "&quot;x&quot; &#39;y&#39;");
        check("&amp;", "&amp;amp;");
        check("fine", "fine");
    }

    #[test]
    fn formats_parse() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.extension()), Some(f));
        }
        assert_eq!(Format::parse("markdown"), Some(Format::Markdown));
        assert_eq!(Format::parse("json"), None);
    }

    #[test]
    fn web_urls() {
        let check = |loc: &str, linked: bool| assert_eq!(is_web_url(loc), linked, "{loc:?}");
        check("https://docs.example/a", true);
        check("HTTP://docs.example/a", true);
        check("javascript:alert(1)", false);
        check("file:///etc/passwd", false);
        check("//fileserver/isms", false);
        check("https://docs.example/a b", false);
        check("SharePoint/ISMS/Risk register.xlsx", false);
    }
}

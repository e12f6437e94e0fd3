//! What a person needs to read one review: its minutes, with names and
//! roles resolved from the roster and the signatures laid out. The
//! renderers, the auditor's report and the JSON output all start here.

use ledger_core::{Hash, Seq, UnixMicros};
use serde::Serialize;

use crate::error::Rejection;
use crate::ids::{Date, ReviewId};
use crate::judgement::Judgement;
use crate::member::MemberId;
use crate::reviews::ReviewRecord;
use crate::roster::{Member, Roster, SignedWith, Standing};
use crate::state::LedgerState;

/// A member as a reader sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Person {
    /// Handle.
    pub handle: MemberId,
    /// Full name (the handle again if the member is unknown).
    pub name: String,
    /// Role title.
    pub role: String,
    /// Top management, by the roster the person was read from.
    pub top_management: bool,
}

impl Person {
    /// The current roster's view of `handle`: for planning what comes next
    /// (an agenda, the roster page), never for judging what was.
    pub fn of(roster: &Roster, handle: &MemberId) -> Person {
        let m = roster.members.get(handle);
        Person::read(m, m.map(Member::standing), handle)
    }

    /// `handle` as the roster knew them when entry `seq` was admitted. Names
    /// and roles never change; someone enrolled only later keeps theirs and
    /// is not top management.
    pub fn as_at(roster: &Roster, handle: &MemberId, seq: Seq) -> Person {
        let standing = roster.as_at(seq).standing(handle);
        Person::read(roster.members.get(handle), standing, handle)
    }

    fn read(member: Option<&Member>, standing: Option<Standing>, handle: &MemberId) -> Person {
        match member {
            Some(m) => Person {
                handle: handle.clone(),
                name: m.name.clone(),
                role: m.role.clone(),
                top_management: standing.is_some_and(Standing::top),
            },
            None => Person {
                handle: handle.clone(),
                name: handle.to_string(),
                role: String::new(),
                top_management: false,
            },
        }
    }
}

/// One signature on the minutes, for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignatureLine {
    /// Who signed.
    pub signer: Person,
    /// The fingerprint of the key that signed.
    pub fingerprint: String,
    /// What it was signed with ("passkey, user verified", "device key",
    /// "key file").
    pub signed_with: SignedWith,
    /// The signing entry.
    pub seq: Seq,
    /// When the ledger received the signature.
    pub received: UnixMicros,
    /// The digest signed.
    pub digest: Hash,
    /// The last entry of the minutes it covers.
    pub covers: Seq,
    /// Whether it signs the minutes as they are now.
    pub current: bool,
}

/// One review, ready to render.
#[derive(Clone, Debug)]
pub struct MinutesView<'a> {
    /// The ledger.
    pub ledger_id: Hash,
    /// The organisation.
    pub organisation: &'a str,
    /// The review.
    pub record: &'a ReviewRecord,
    /// The roster, for names and roles.
    pub roster: &'a Roster,
    /// The entry whose roster says who was what at the meeting: the
    /// meeting's entry, or the review's next entry while none is recorded.
    pub roster_at: Seq,
    /// The current minutes digest.
    pub digest: Hash,
    /// The first and last entries of this review (signatures included).
    pub seq_range: (Seq, Seq),
    /// The signatures, in order.
    pub signatures: Vec<SignatureLine>,
    /// The ledger checkpoint to print under the minutes, if given.
    pub checkpoint: Option<String>,
    /// The verdict to print first, when the view was [`judged`](MinutesView::judged).
    pub judgement: Option<Judgement>,
}

impl<'a> MinutesView<'a> {
    /// The view of `review` in `state`.
    pub fn of(
        state: &'a LedgerState,
        review: &ReviewId,
        checkpoint: Option<String>,
    ) -> Result<MinutesView<'a>, Rejection> {
        let record = state.reviews.review(review)?;
        let roster = &state.roster;
        let head = record.content_head();
        let signatures = record
            .signatures
            .iter()
            .map(|s| SignatureLine {
                signer: Person::as_at(roster, &s.member, s.seq),
                fingerprint: s.key.fingerprint(),
                signed_with: roster
                    .keys
                    .get(&s.key)
                    .map(|k| k.kind.signed_with(s.signed_by))
                    .unwrap_or(SignedWith::KeyFile),
                seq: s.seq,
                received: s.received,
                digest: s.digest,
                covers: s.covers,
                current: s.covers == head,
            })
            .collect();
        let first = record.changes.first().map(|c| c.seq).unwrap_or_default();
        let last = record
            .signatures
            .last()
            .map(|s| s.seq)
            .unwrap_or(head)
            .max(head);
        Ok(MinutesView {
            ledger_id: roster.ledger_id.unwrap_or_default(),
            organisation: &roster.organisation,
            record,
            roster,
            roster_at: crate::audit::meeting_roster(roster, record).seq,
            digest: record.minutes.digest(),
            seq_range: (first, last),
            signatures,
            checkpoint,
            judgement: None,
        })
    }

    /// The view of `review` with its verdicts: the audit and the conformance
    /// check as of `as_of`, printed before the minutes.
    pub fn judged(
        state: &'a LedgerState,
        review: &ReviewId,
        checkpoint: Option<String>,
        as_of: Date,
    ) -> Result<MinutesView<'a>, Rejection> {
        let mut view = MinutesView::of(state, review, checkpoint)?;
        view.judgement = Some(Judgement::of(state, review, as_of)?);
        Ok(view)
    }

    /// When the ledger received the entry `seq` that changed these minutes:
    /// the recorded date, beside the dates people declare.
    pub fn received(&self, seq: Seq) -> Option<UnixMicros> {
        self.record.received(seq)
    }

    /// A member as the roster knew them at the meeting.
    pub fn person(&self, handle: &MemberId) -> Person {
        Person::as_at(self.roster, handle, self.roster_at)
    }
}

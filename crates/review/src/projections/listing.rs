//! The list of a ledger's reviews: one row per review, in the order they
//! were scheduled, with its dates, status, counts and minutes digest.
//!
//! Each row is read from what is stored beside the review's record
//! ([`crate::rules::lazy`]), so that listing the reviews of a restored
//! ledger decodes none of them; the CLI's `reviews` and the service's
//! `ListReviews` list the same rows.

use crate::ids::{Date, ReviewId};
use crate::reviews::{ReviewRow, Reviews};

/// One review as a listing shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed<'a> {
    /// The review.
    pub id: &'a ReviewId,
    /// Its planned date.
    pub planned: Date,
    /// The date it was held, once it was.
    pub held: Option<Date>,
    /// Its title, status, counts and digest.
    pub row: ReviewRow,
}

/// Every review, in the order scheduled.
pub fn reviews(reviews: &Reviews) -> impl Iterator<Item = Listed<'_>> {
    reviews.order.iter().filter_map(|id| {
        let summary = reviews.reviews.summary_of(id)?;
        let row = reviews.reviews.row_of(id)?;
        Some(Listed {
            id,
            planned: summary.planned,
            held: summary.meeting.map(|(_, held)| held),
            row,
        })
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::judgement::as_at_tests::varied_story;
    use crate::reviews::ReviewStatus;
    use crate::rules::snapshot;

    /// Each row says what the review's record says, at every stage of the
    /// story's reviews (the current one goes through every status in
    /// order), whether the state was replayed or restored from a
    /// snapshot (when nothing is decoded).
    #[test]
    fn rows_say_what_the_records_say_and_a_restored_listing_decodes_nothing() {
        let steps = crate::story::story(crate::conformance::tests::held()).len();
        // The current review's status after each cut, as it changes.
        let mut current = Vec::new();
        for cut in 0..=steps {
            // The story up to `cut`: later steps dropped.
            let drops: Vec<u8> = (0..steps).map(|i| if i < cut { 9 } else { 0 }).collect();
            let r = varied_story(&drops, &[]);
            let replayed: Vec<_> = reviews(&r.state.reviews).collect();
            assert_eq!(replayed.len(), r.state.reviews.order.len());
            for listed in &replayed {
                let record = &r.state.reviews.reviews[listed.id];
                let m = &record.minutes;
                assert_eq!(listed.planned, m.schedule.item.planned);
                assert_eq!(listed.held, m.meeting.as_ref().map(|x| x.item.held));
                assert_eq!(listed.row.title, m.schedule.item.title);
                assert_eq!(listed.row.status, ReviewStatus::of(record));
                assert_eq!(listed.row.inputs as usize, m.inputs.len());
                assert_eq!(listed.row.decisions as usize, m.decisions.len());
                assert_eq!(listed.row.actions as usize, m.actions.len());
                assert_eq!(
                    listed.row.signatures as usize,
                    record.current_signatures().count()
                );
                assert_eq!(listed.row.digest, m.digest());
                if *listed.id == crate::story::current_id()
                    && current.last() != Some(&listed.row.status.as_str())
                {
                    current.push(listed.row.status.as_str());
                }
            }
            let bytes = Bytes::from(snapshot::encode(&r.state).unwrap());
            let restored = snapshot::decode(&bytes, r.state.size).unwrap();
            let listed: Vec<_> = reviews(&restored.reviews).collect();
            assert_eq!(listed, replayed, "the same rows from the snapshot at {cut}");
            assert_eq!(restored.reviews.reviews.decoded(), 0, "no review decoded");
        }
        let steps = ["scheduled", "circulated", "held", "closed", "signed"];
        assert_eq!(current, steps, "the current review, step by step");
    }
}

//! Projections: what the entries add up to for people. The minutes and
//! their digest, a review ready to read, the agenda of the next one, the
//! list of reviews, and what falls due.

pub mod agenda;
pub mod listing;
pub mod minutes;
pub mod reminders;
pub mod view;

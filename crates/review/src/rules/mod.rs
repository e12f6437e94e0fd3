//! The rules: who may sign (the roster and its history), what review
//! events are admitted, and the one admission function that appending and
//! replaying share.

pub mod lazy;
pub mod reviews;
pub mod roster;
pub mod snapshot;
pub mod state;

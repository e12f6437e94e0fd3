//! The vocabulary: what events say. The payload of every event kind, the
//! review payloads, ids and dates, the ten required inputs, members and
//! the policy.

pub mod ids;
pub mod inputs;
pub mod member;
pub mod payload;
pub mod policy;
pub mod vocab;

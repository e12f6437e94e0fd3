//! Evidence for auditors: the subject map that checkpoints commit to, and
//! evidence bundles that an auditor verifies offline.

pub mod bundle;
pub mod subjects;

//! The example organisation: its story, and an in-memory driver through
//! the real rules for tests, benchmarks and the demo.

pub mod rehearsal;
pub mod story;

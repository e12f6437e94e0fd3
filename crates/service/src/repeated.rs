//! Warnings that would repeat while a fault lasts: a standby asks its
//! database every [`crate::host::FOLLOW_EVERY`], and during an outage each
//! step fails the same way. A [`Repeated`] lets the first failure through,
//! then one every [`Repeated::EVERY`] with how many it held back, and says
//! once that the fault cleared.

use std::time::{Duration, Instant};

/// One kind of warning's recent history (see the module).
#[derive(Debug, Default)]
pub struct Repeated {
    /// When the failures began, while they last.
    since: Option<Instant>,
    /// When one was last let through.
    said: Option<Instant>,
    /// How many were held back since.
    held: u64,
}

impl Repeated {
    /// How often a lasting fault is said again.
    pub const EVERY: Duration = Duration::from_secs(60);

    /// What to say of a failure, `warning`, at `now`, if anything.
    pub fn failed(&mut self, now: Instant, warning: &str) -> Option<String> {
        self.since.get_or_insert(now);
        if self
            .said
            .is_some_and(|said| now.duration_since(said) < Self::EVERY)
        {
            self.held += 1;
            return None;
        }
        let said = match (self.said, self.held) {
            (Some(said), held) if held > 0 => format!(
                "{warning} (and {held} times more in the last {} s)",
                now.duration_since(said).as_secs()
            ),
            _ => warning.to_owned(),
        };
        self.said = Some(now);
        self.held = 0;
        Some(said)
    }

    /// What to say when what failed works again at `now`, if it had failed.
    pub fn cleared(&mut self, now: Instant) -> Option<String> {
        let since = self.since.take()?;
        let held = std::mem::take(&mut self.held);
        self.said = None;
        Some(format!(
            "works again after {} s{}",
            now.duration_since(since).as_secs(),
            match held {
                0 => String::new(),
                n => format!(" ({n} more failures not shown)"),
            }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A standby's step every 200 ms through an outage of two and a half
    /// minutes, then its recovery, then a second fault half a minute after
    /// the last warning: what is said, and when.
    #[test]
    fn a_lasting_fault_is_said_once_a_minute_and_its_end_once() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut r = Repeated::default();
        let mut said = Vec::new();
        for step in 0..750u64 {
            if let Some(s) = r.failed(at(step * 200), "the database does not answer") {
                said.push((step * 200, s));
            }
        }
        let cleared = r.cleared(at(150_000));
        let after = r.cleared(at(150_200));
        let again = r.failed(at(151_000), "the database does not answer");
        let cases: &[(u64, &str)] = &[
            (0, "the database does not answer"),
            (
                60_000,
                "the database does not answer (and 299 times more in the last 60 s)",
            ),
            (
                120_000,
                "the database does not answer (and 299 times more in the last 60 s)",
            ),
        ];
        let expected: Vec<(u64, String)> =
            cases.iter().map(|(t, s)| (*t, (*s).to_owned())).collect();
        assert_eq!(said, expected);
        assert_eq!(
            cleared.as_deref(),
            Some("works again after 150 s (149 more failures not shown)")
        );
        assert_eq!(after, None, "said once");
        assert_eq!(
            again.as_deref(),
            Some("the database does not answer"),
            "a new fault is said at once"
        );
    }
}

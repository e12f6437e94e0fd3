//! One result line per scenario, as JSON or as a table row.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a scenario measured. The figure that counts is `ratio`: the rate
/// over the one-core limit measured in the same run, which holds on a
/// noisy machine where the raw rate does not.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// Entries appended, verified or replayed (reviews, for `check`).
    pub entries: u64,
    /// Entries (for `check`, reviews) per second.
    pub per_s: f64,
    /// Entries per second one core can verify and hash (or, where the
    /// report's `limit_kind` says so, another one-core limit).
    pub limit_per_s: f64,
    /// `per_s / limit_per_s`.
    pub ratio: f64,
    /// Peak resident memory of the process that did the work.
    pub peak_rss_bytes: u64,
    /// Scenario-specific figures.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Report {
    /// A report with the ratio worked out and the figures rounded.
    pub fn new(
        scenario: &str,
        entries: u64,
        per_s: f64,
        limit_per_s: f64,
        peak_rss_bytes: u64,
    ) -> Report {
        Report {
            scenario: scenario.to_owned(),
            entries,
            per_s: round(per_s, 1),
            limit_per_s: round(limit_per_s, 1),
            ratio: round(per_s / limit_per_s, 3),
            peak_rss_bytes,
            extra: Map::new(),
        }
    }

    /// Adds a scenario-specific figure.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Report {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// The report as one line of JSON.
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a report always serialises")
    }

    /// The header of the table [`Report::row`] writes.
    pub fn header() -> String {
        format!(
            "{:<17} {:>9} {:>11} {:>11} {:>7} {:>11}",
            "scenario", "entries", "per_s", "limit_per_s", "ratio", "peak_rss"
        )
    }

    /// The report as a table row, with the extra figures on the next line.
    pub fn row(&self) -> String {
        let extra: Vec<String> = self.extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(
            "{:<17} {:>9} {:>11.1} {:>11.1} {:>7.3} {:>7.1} MiB\n{:17} {}",
            self.scenario,
            self.entries,
            self.per_s,
            self.limit_per_s,
            self.ratio,
            self.peak_rss_bytes as f64 / (1024.0 * 1024.0),
            "",
            extra.join(" "),
        )
    }
}

/// `x` rounded to `places` decimal places.
pub fn round(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale
}

//! Printing: text for people, JSON for tools.

use ledger_core::UnixMicros;
use serde_json::Value;

/// How to print.
pub struct Out {
    /// JSON instead of text.
    pub json: bool,
}

impl Out {
    /// Prints `value` as JSON, or `text()` for people.
    pub fn emit(&self, value: &Value, text: impl FnOnce() -> String) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).expect("JSON values print")
            );
        } else {
            let text = text();
            if !text.is_empty() {
                println!("{}", text.trim_end());
            }
        }
    }
}

/// An RFC 3339 UTC time for a ledger timestamp.
pub fn time(t: UnixMicros) -> String {
    match jiff::Timestamp::from_microsecond(t.0) {
        Ok(ts) => ts
            .round(jiff::Unit::Second)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| ts.to_string()),
        Err(_) => format!("{}us", t.0),
    }
}

/// A progress bar over `total` entries for a pass over a ledger, hidden
/// when the output is JSON.
pub fn entries_bar(out: &Out, total: u64) -> indicatif::ProgressBar {
    let bar = if out.json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(total)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "verifying {bar:40} {pos}/{len} entries ({per_sec}, {eta})",
        )
        .expect("template is valid"),
    );
    bar
}

//! Printing: text for people, JSON for tools.

use std::io::{ErrorKind, Write};

use ledger_core::UnixMicros;
use serde_json::Value;

/// Writes `text` and a newline to standard output. A reader that has gone
/// away (`review-ledger actions --json | head`) ends the command quietly
/// with status 0: it had what it wanted.
pub fn say(text: &str) {
    write_out(format_args!("{text}\n"));
}

/// Writes `text` as it is (no newline added), as [`say`] does.
pub fn write_raw(text: &str) {
    write_out(format_args!("{text}"));
}

fn write_out(args: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(i32::from(crate::failure::ERROR));
    }
}

/// How to print.
pub struct Out {
    /// JSON instead of text.
    pub json: bool,
}

impl Out {
    /// Prints `value` as JSON, or `text()` for people.
    pub fn emit(&self, value: &Value, text: impl FnOnce() -> String) {
        if self.json {
            say(&serde_json::to_string_pretty(value).expect("JSON values print"));
        } else {
            let text = text();
            if !text.is_empty() {
                say(text.trim_end());
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

//! Identifiers and dates of the review vocabulary.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, de};

use crate::error::Rejection;

/// `text` for an error message: quoted, and cut to its first
/// [`QUOTE_CHARS`] characters when longer, so that a refusal never echoes
/// a whole hostile value back.
pub fn quoted(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes)", &text[..cut], text.len()),
    }
}

/// The most characters of a caller's text an error message quotes.
pub const QUOTE_CHARS: usize = 48;

fn check_id(what: &str, text: &str, max: usize) -> Result<(), Rejection> {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c);
    let valid = !text.is_empty()
        && text.len() <= max
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.chars().all(ok);
    if valid {
        Ok(())
    } else {
        Err(Rejection::Malformed {
            field: what.to_owned(),
            reason: format!(
                "{} is not 1 to {max} characters of a-z, 0-9, '-', '_', '.'",
                quoted(text)
            ),
        })
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub struct $name(String);

        impl $name {
            /// Checks and wraps an id.
            pub fn new(text: impl Into<String>) -> Result<$name, Rejection> {
                let text = text.into();
                check_id($what, &text, $max)?;
                Ok($name(text))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $name::new(String::deserialize(d)?).map_err(de::Error::custom)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A review's id, chosen when it is scheduled, e.g. `2026-q4`.
    ReviewId, "review id", 40
);
string_id!(
    /// An action's id, e.g. `2026-q4-a3`; unique across all reviews.
    ActionId, "action id", 48
);
string_id!(
    /// An objective's id, e.g. `obj-2027-1`; unique across all reviews.
    ObjectiveId, "objective id", 48
);

/// A calendar date, `YYYY-MM-DD`, in its one canonical spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(jiff::civil::Date);

impl Date {
    /// Parses `YYYY-MM-DD`; `field` names the field in the error.
    pub fn parse(field: &str, text: &str) -> Result<Date, Rejection> {
        let bad = |reason: String| Rejection::Malformed {
            field: field.to_owned(),
            reason,
        };
        let date: jiff::civil::Date = text
            .parse()
            .map_err(|e| bad(format!("{} is not a date (YYYY-MM-DD): {e}", quoted(text))))?;
        if date.to_string() != text {
            return Err(bad(format!(
                "{} is not written as YYYY-MM-DD",
                quoted(text)
            )));
        }
        Ok(Date(date))
    }

    /// The date as jiff sees it.
    pub fn civil(self) -> jiff::civil::Date {
        self.0
    }

    /// Wraps a jiff date.
    pub fn from_civil(date: jiff::civil::Date) -> Date {
        Date(date)
    }

    /// The UTC date of a ledger timestamp.
    pub fn of_micros(t: ledger_core::UnixMicros) -> Option<Date> {
        let ts = jiff::Timestamp::from_microsecond(t.0).ok()?;
        Some(Date(ts.to_zoned(jiff::tz::TimeZone::UTC).date()))
    }

    /// Days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Date) -> i64 {
        i64::from((later.0 - self.0).get_days())
    }

    /// Working days (Monday to Friday) after `self` up to and including
    /// `later`; zero or negative when `later` is not after `self`. Public
    /// holidays are not known to the ledger.
    pub fn working_days_until(self, later: Date) -> i64 {
        if later == self {
            return 0;
        }
        if later < self {
            return -(later.working_days_until(self));
        }
        let mut n = 0;
        let mut d = self.0;
        while d < later.0 {
            d = d.tomorrow().unwrap_or(later.0);
            if Date(d).is_working_day() {
                n += 1;
            }
        }
        n
    }

    /// Whether `self` is a working day (Monday to Friday).
    pub fn is_working_day(self) -> bool {
        self.0.weekday().to_monday_one_offset() <= 5
    }

    /// The latest working day `d` with `d.working_days_until(self) >= n`:
    /// the last day a pack may go out `n` working days before a meeting on
    /// `self`. Defined by [`Date::working_days_until`], so that the agenda's
    /// deadline and rule 10 cannot disagree (a meeting on a Saturday counts
    /// no working day for itself). `self` when `n` is zero.
    pub fn working_days_before(self, n: u16) -> Date {
        if n == 0 {
            return self;
        }
        // Walking back from `self`, each working day passed counts once:
        // the days after `d` up to `self`.
        let mut d = self.0;
        let mut left = n;
        while left > 0 {
            if Date(d).is_working_day() {
                left -= 1;
            }
            d = d.yesterday().unwrap_or(d);
        }
        while !Date(d).is_working_day() {
            d = d.yesterday().unwrap_or(d);
        }
        Date(d)
    }

    /// The date `months` calendar months after `self`.
    pub fn plus_months(self, months: u16) -> Date {
        Date(
            self.0
                .checked_add(jiff::Span::new().months(i64::from(months)))
                .unwrap_or(self.0),
        )
    }

    /// The date `days` after `self` (before, when negative).
    pub fn plus_days(self, days: i64) -> Date {
        Date(
            self.0
                .checked_add(jiff::Span::new().days(days))
                .unwrap_or(self.0),
        )
    }
}

/// A time of day, `HH:MM` (24-hour clock, 00:00 to 23:59), as people
/// declare when a meeting started or ended. Stored as minutes after midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    /// Parses `HH:MM`; `field` names the field in the error.
    pub fn parse(field: &str, text: &str) -> Result<TimeOfDay, Rejection> {
        let bad = || Rejection::Malformed {
            field: field.to_owned(),
            reason: format!(
                "{} is not a time HH:MM between 00:00 and 23:59",
                quoted(text)
            ),
        };
        let (h, m) = text.split_once(':').ok_or_else(bad)?;
        let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(h) || !digits(m) {
            return Err(bad());
        }
        let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok(TimeOfDay(h * 60 + m))
    }

    /// Minutes after midnight.
    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        TimeOfDay::parse("time", &text).map_err(de::Error::custom)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Date::parse("date", &text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse("d", s).unwrap()
    }

    #[test]
    fn dates_parse_only_in_canonical_form() {
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "26-1-1",
            "2026-1-01",
            "yesterday",
            "",
        ] {
            assert!(Date::parse("d", bad).is_err(), "{bad:?}");
        }
        assert_eq!(d("2026-12-01").to_string(), "2026-12-01");
    }

    #[test]
    fn the_pack_deadline_is_the_last_day_rule_10_accepts() {
        let start = d("2026-11-01");
        for offset in 0..60 {
            let meeting = start.plus_days(offset);
            for n in 1..12u16 {
                let due = meeting.working_days_before(n);
                assert!(due.is_working_day(), "{meeting} less {n}: {due}");
                assert!(
                    due.working_days_until(meeting) >= i64::from(n),
                    "{meeting} less {n}: {due}"
                );
                // The next working day after the deadline is late.
                let mut next = due.plus_days(1);
                while !next.is_working_day() {
                    next = next.plus_days(1);
                }
                assert!(
                    next.working_days_until(meeting) < i64::from(n),
                    "{meeting} less {n}: {due}"
                );
            }
        }
    }

    #[test]
    fn times_of_day_parse_only_as_hh_mm() {
        for (text, minutes) in [
            ("00:00", Some(0)),
            ("09:30", Some(570)),
            ("23:59", Some(1439)),
        ] {
            let t = TimeOfDay::parse("t", text).map(TimeOfDay::minutes).ok();
            assert_eq!(t, minutes, "{text}");
            assert_eq!(TimeOfDay::parse("t", text).unwrap().to_string(), text);
        }
        for text in [
            "24:00", "9:30", "09:60", "0930", "09:3", "", " 09:30", "+9:30", "09:30:00",
        ] {
            let e = TimeOfDay::parse("--started", text).unwrap_err().to_string();
            assert!(
                e.contains("--started") && e.contains("HH:MM"),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn working_days() {
        let check = |from: &str, to: &str, n: i64| {
            assert_eq!(d(from).working_days_until(d(to)), n, "{from}..{to}")
        };
        // 2026-11-23 is a Monday.
        check("2026-11-23", "2026-11-30", 5);
        check("2026-11-27", "2026-11-30", 1);
        check("2026-11-28", "2026-11-30", 1);
        check("2026-11-30", "2026-11-30", 0);
        check("2026-11-30", "2026-11-23", -5);
        assert_eq!(d("2026-11-30").working_days_before(5), d("2026-11-23"));
        // A Saturday meeting: Monday the 23rd leaves only four working days.
        assert_eq!(d("2026-11-28").working_days_before(5), d("2026-11-20"));
        assert_eq!(d("2026-11-29").working_days_before(1), d("2026-11-26"));
        assert_eq!(d("2026-12-01").working_days_before(1), d("2026-11-30"));
        assert_eq!(d("2026-01-31").plus_months(1), d("2026-02-28"));
        assert_eq!(d("2025-12-01").days_until(d("2026-12-01")), 365);
        assert_eq!(d("2026-12-01").days_until(d("2026-11-30")), -1);
    }
}

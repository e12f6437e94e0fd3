//! What a piece of minutes text says: boilerplate, placeholders, and the
//! same text pasted in several places. The conformance rules read minutes
//! through these functions; `docs/RULES.md` lists the phrases and the
//! thresholds.
//!
//! Text is compared as **words**: split on Unicode white space, each piece
//! lowercased and stripped of leading and trailing characters that are
//! neither alphanumeric nor `/` (so `N/A.` is the word `n/a`); pieces left
//! empty are dropped.
//!
//! The phrase lists and the share are [`Thresholds`]: a ledger may set its
//! own; the constants here are the defaults.
//!
//! ```
//! use review::policy::Thresholds;
//! use review::wording::{is_boilerplate, is_placeholder};
//! let t = Thresholds::default();
//! assert!(is_boilerplate("Discussed and noted. No issues raised.", &t));
//! assert!(is_boilerplate("The performance report was reviewed and noted, no issues", &t));
//! assert!(!is_boilerplate("Incidents fell from 14 to 9; the two phishing cases were reviewed and noted.", &t));
//! assert!(is_placeholder(" TBD. ", &t));
//! assert!(!is_placeholder("None of the suppliers reported a breach.", &t));
//! ```

use crate::policy::Thresholds;

/// Phrases that say nothing about what was discussed. A text whose words
/// are mostly these phrases is boilerplate.
pub const BOILERPLATE: [&str; 18] = [
    "discussed and noted",
    "reviewed and found satisfactory",
    "reviewed and noted",
    "reviewed and agreed",
    "noted and agreed",
    "found satisfactory",
    "no issues raised",
    "no issues",
    "no comments",
    "no concerns",
    "as per report",
    "see report",
    "as above",
    "noted",
    "discussed",
    "reviewed",
    "satisfactory",
    "agreed",
];

/// Words that carry no content on their own: outside a boilerplate phrase
/// they count neither way.
pub const FILLER: [&str; 22] = [
    "a", "an", "the", "was", "were", "is", "are", "be", "been", "and", "or", "of", "to", "by",
    "with", "for", "in", "on", "at", "it", "this", "that",
];

/// Whole texts that stand in for content not written yet.
pub const PLACEHOLDERS: [&str; 18] = [
    "tbd",
    "tbc",
    "tba",
    "to be determined",
    "to be confirmed",
    "to be agreed",
    "n/a",
    "na",
    "not applicable",
    "none",
    "nil",
    "see above",
    "as above",
    "see below",
    "todo",
    "to do",
    "pending",
    "xxx",
];

/// The words of `text`, as compared.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '/')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// How many of `text`'s words boilerplate phrases cover, and how many
/// words count: the covered ones and every other word that is not
/// [`FILLER`]. Phrases are matched left to right, the longest first at each
/// word, and do not overlap.
pub fn boilerplate_cover(text: &str, boilerplate: &[String]) -> (usize, usize) {
    let words = words(text);
    let phrases: Vec<Vec<&str>> = {
        let mut p: Vec<Vec<&str>> = boilerplate.iter().map(|p| p.split(' ').collect()).collect();
        p.sort_by_key(|p| std::cmp::Reverse(p.len()));
        p
    };
    let mut covered = 0;
    let mut counted = 0;
    let mut i = 0;
    while i < words.len() {
        let hit = phrases.iter().find(|p| {
            words.len() - i >= p.len() && p.iter().zip(&words[i..]).all(|(a, b)| *a == b)
        });
        match hit {
            Some(p) => {
                covered += p.len();
                counted += p.len();
                i += p.len();
            }
            None => {
                counted += usize::from(!FILLER.contains(&words[i].as_str()));
                i += 1;
            }
        }
    }
    (covered, counted)
}

/// Whether `text` is mostly boilerplate: the thresholds' phrases cover at
/// least their `boilerplate_share_percent` of its counted words, whatever
/// its length.
pub fn is_boilerplate(text: &str, t: &Thresholds) -> bool {
    let (covered, total) = boilerplate_cover(text, &t.boilerplate);
    total > 0 && covered * 100 >= total * usize::from(t.boilerplate_share_percent)
}

/// Whether `text` is a placeholder: one of the thresholds' placeholders as
/// its whole wording, or no word at all (`-`, `...`, `?`).
pub fn is_placeholder(text: &str, t: &Thresholds) -> bool {
    let w = words(text).join(" ");
    w.is_empty() || t.placeholders.contains(&w)
}

/// The text as compared for pasting: its words, joined by one space.
pub fn same_text_key(text: &str) -> String {
    words(text).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boilerplate_is_found_inside_longer_text() {
        let t = Thresholds::default();
        let check = |text: &str, expected: bool| {
            assert_eq!(
                is_boilerplate(text, &t),
                expected,
                "{text:?}: {:?}",
                boilerplate_cover(text, &t.boilerplate)
            )
        };
        check("Discussed and noted.", true);
        check("Noted", true);
        check("Reviewed and found satisfactory", true);
        check(
            "Discussed and noted. Reviewed and agreed. No issues raised. As per report.",
            true,
        );
        check("The report was reviewed and noted; no issues.", true);
        check(
            "Risk register reviewed: two treatments complete, one delayed to the next quarter.",
            false,
        );
        check(
            "Noted that incident volume doubled after the office move; root cause is the new VPN.",
            false,
        );
        check("", false);
    }

    #[test]
    fn placeholders_are_whole_texts() {
        let t = Thresholds::default();
        let check =
            |text: &str, expected: bool| assert_eq!(is_placeholder(text, &t), expected, "{text:?}");
        for p in [
            "TBD",
            "tbc.",
            "N/A",
            "n/a",
            "-",
            "—",
            "...",
            "?",
            "None",
            "see above",
            "To be confirmed",
            "  TODO  ",
        ] {
            check(p, true);
        }
        for p in [
            "None reported this quarter by any supplier.",
            "TBD by the board in March: budget for two engineers",
            "N/A for the cloud estate; on-premises results in the report",
        ] {
            check(p, false);
        }
    }

    #[test]
    fn pasted_text_compares_by_words() {
        assert_eq!(
            same_text_key("All  controls operating.\n"),
            same_text_key("all controls operating")
        );
        assert_ne!(
            same_text_key("All controls operating"),
            same_text_key("All controls operating well")
        );
    }
}

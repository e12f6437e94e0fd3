//! The HTML back end: one self-contained, printable file.
//!
//! The page carries its style inline and loads nothing: no scripts, images,
//! fonts or style sheets, and its content security policy forbids them all
//! should anything slip in. Its only `href`s are document and evidence
//! locations that are `http(s)` URLs, which a reader may follow; nothing
//! has a `src`. Every piece of text is escaped with [`escape`].
//!
//! Printed (A4, from a browser's print dialog or its PDF export), every
//! page carries the document's running header (organisation, review,
//! minutes digest) and footer (what the document is, and `Page N of M`) in
//! its margins. A heading stays with what follows it, a short table is
//! not split, and dates, ids, fingerprints and digests never break across
//! lines.

use super::{Block, Doc, Line, Running, Span, clean, is_web_url};

/// Escapes text for HTML element content and quoted attribute values, and
/// makes control characters visible.
pub fn escape(text: &str) -> String {
    let text = clean(text);
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The style of HTML documents, also served by the web console.
pub const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #1b1b1b; background: #fff; max-width: 200mm; margin: 2rem auto; padding: 0 1.2rem; }
header { border-bottom: 2px solid #1b1b1b; padding-bottom: .6rem; margin-bottom: 1rem; }
header .org { text-transform: uppercase; letter-spacing: .08em; font-size: 9pt; color: #555; margin: 0; }
h1 { font-size: 18pt; margin: .2rem 0; line-height: 1.2; }
header .sub { margin: 0; color: #444; }
h2 { font-size: 13pt; margin: 1.6rem 0 .5rem; padding-bottom: .15rem; border-bottom: 1px solid #aaa;
  break-after: avoid; page-break-after: avoid; }
h3 { font-size: 11pt; margin: 1.1rem 0 .3rem; break-after: avoid; page-break-after: avoid; }
p { margin: .35rem 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1.2rem; margin: .4rem 0; }
dt { font-weight: 600; }
dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 .8rem; font-size: 9.5pt; }
th, td { border: 1px solid #c8c8c8; padding: .25rem .4rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; font-weight: 600; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
code, pre, .seq { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; }
/* An id, a digest or a fingerprint is read and compared whole: never broken. */
code { font-size: 8.5pt; white-space: nowrap; }
td code { font-size: 7.5pt; }
.seq { font-size: 8.5pt; color: #666; white-space: nowrap; }
.nw { white-space: nowrap; }
.muted { color: #666; }
.flag { color: #a40000; font-weight: 700; }
.notice { border: 2px solid #a40000; background: #fff3f3; padding: .4rem .6rem; margin: .5rem 0; }
.verdict { border: 2px solid; padding: .5rem .7rem; margin: 0 0 1.2rem; font-size: 11.5pt; }
.verdict.ok { border-color: #1d6b2f; background: #f1f8f2; }
.verdict.ok strong { color: #1d6b2f; }
.verdict.failed { border-color: #a40000; background: #fff3f3; }
header.part { margin-top: 3rem; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f6f6; border: 1px solid #ddd;
  padding: .5rem; font-size: 8.5pt; }
a { color: #0b4f9c; overflow-wrap: anywhere; }
/* A heading, and the sentence that introduces its table, stay with what
   follows and are not split themselves; a short table (the signatures,
   the findings) is kept whole. So a heading moves to the next page with
   its table rather than end a page without it. */
h2 + p, h2 + dl, h3 + p { break-after: avoid; page-break-after: avoid;
  break-inside: avoid; page-break-inside: avoid; }
table.keep { break-inside: avoid; page-break-inside: avoid; }
/* The running header and footer are page-margin boxes. Chromium draws them
   since version 131 (2024), counters included: `counter(page)` and
   `counter(pages)` give "Page 2 of 5" on every page, in the margin, where
   nothing of the content can run under them (the older trick, a
   `position: fixed` element that Chromium repeats on every printed page,
   sits inside the page area over the content and cannot count pages).
   Firefox and Safari ignore margin boxes and print their own header and
   footer (the page title, page numbers) when the print dialog's option
   is on. The text of the boxes is set per document, after this sheet. */
@page { size: A4; margin: 18mm 14mm 17mm;
  @top-left { font: 7.5pt system-ui, sans-serif; color: #555; vertical-align: bottom; padding-bottom: 3mm; }
  @top-right { font: 7pt ui-monospace, "Liberation Mono", monospace; color: #555; vertical-align: bottom;
    text-align: right; padding-bottom: 3mm; }
  @bottom-left { font: 7.5pt system-ui, sans-serif; color: #555; vertical-align: top; padding-top: 3mm; }
  @bottom-right { font: 7.5pt system-ui, sans-serif; color: #555; vertical-align: top; padding-top: 3mm;
    text-align: right; content: "Page " counter(page) " of " counter(pages); }
}
@media print {
  body { margin: 0; padding: 0; max-width: none; font-size: 9.5pt; }
  a { color: inherit; text-decoration: none; }
  th { background: #eee; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .notice, .verdict { background: none; }
  pre { font-size: 7.5pt; }
  /* A later title (the minutes after a report) starts a page of its own. */
  header.part { margin-top: 0; break-before: page; page-break-before: always; }
}
"#;

/// Tables with at most this many rows are kept on one page when they fit.
const KEEP_ROWS: usize = 12;

/// The page-margin boxes' text for `r`.
fn running_style(r: &Running) -> String {
    let left = match &r.review {
        Some(review) => format!("{} \u{b7} review {review}", r.organisation),
        None => r.organisation.clone(),
    };
    let right = r
        .digest
        .as_ref()
        .map(|d| format!("minutes digest {d}"))
        .unwrap_or_default();
    format!(
        "@page {{\n  @top-left {{ content: {}; }}\n  @top-right {{ content: {}; }}\n  @bottom-left {{ content: {}; }}\n}}\n",
        css_string(&left),
        css_string(&right),
        css_string(&r.footer)
    )
}

/// `text` as a CSS string: every character but ASCII letters, digits, the
/// space and `.,:-_#()` is written as a hex escape (`\3c ` for `<`), so
/// that nothing in it can end the string, the rule or the style element.
pub(crate) fn css_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in clean(text).chars() {
        if c.is_ascii_alphanumeric() || " .,:-_#()".contains(c) {
            out.push(c);
        } else {
            // The space ends the escape and is not part of the text.
            out.push_str(&format!("\\{:x} ", c as u32));
        }
    }
    out.push('"');
    out
}

/// Renders a document as one HTML page.
pub(crate) fn render(doc: &Doc) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    out.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape(&doc.title)));
    out.push_str("<style>");
    out.push_str(STYLE);
    if let Some(r) = &doc.running {
        out.push_str(&running_style(r));
    }
    out.push_str("</style>\n</head>\n<body>\n<main>\n");
    out.push_str(&body(doc));
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// The document's content as HTML elements, without the page around it:
/// what the web console places in its own page (with [`STYLE`] as a style
/// sheet of its own).
pub(crate) fn body(doc: &Doc) -> String {
    let mut out = String::new();
    let mut in_section = false;
    let mut titles = 0;
    for block in &doc.blocks {
        match block {
            Block::Title {
                organisation,
                title,
                subtitle,
            } => {
                if in_section {
                    out.push_str("</section>\n");
                    in_section = false;
                }
                titles += 1;
                out.push_str(if titles > 1 {
                    "<header class=\"part\">\n"
                } else {
                    "<header>\n"
                });
                out.push_str(&format!(
                    "<p class=\"org\">{}</p>\n<h1>{}</h1>\n<p class=\"sub\">{}</p>\n</header>\n",
                    escape(organisation),
                    escape(title),
                    escape(subtitle)
                ));
            }
            Block::Verdict { ok, line } => out.push_str(&format!(
                "<p class=\"verdict {}\">{}</p>\n",
                if *ok { "ok" } else { "failed" },
                inline(line)
            )),
            Block::Heading(h) => {
                if in_section {
                    out.push_str("</section>\n");
                }
                in_section = true;
                out.push_str(&format!("<section>\n<h2>{}</h2>\n", escape(h)));
            }
            Block::Subheading(line) => out.push_str(&format!("<h3>{}</h3>\n", inline(line))),
            Block::Fields(fields) => {
                out.push_str("<dl>\n");
                for (label, value) in fields {
                    out.push_str(&format!(
                        "<dt>{}</dt><dd>{}</dd>\n",
                        escape(label),
                        inline(value)
                    ));
                }
                out.push_str("</dl>\n");
            }
            Block::Para(line) => out.push_str(&format!("<p>{}</p>\n", inline(line))),
            Block::Notice(line) => {
                out.push_str(&format!("<p class=\"notice\">{}</p>\n", inline(line)))
            }
            Block::Pre(t) => out.push_str(&format!("<pre>{}</pre>\n", escape(t))),
            Block::Table { head, rows } => {
                out.push_str(if rows.len() <= KEEP_ROWS {
                    "<table class=\"keep\">\n"
                } else {
                    "<table>\n"
                });
                out.push_str("<thead><tr>");
                for h in head {
                    out.push_str(&format!("<th scope=\"col\">{}</th>", escape(h)));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for r in rows {
                    out.push_str("<tr>");
                    for c in 0..head.len() {
                        let cell = r.get(c).map(inline).unwrap_or_default();
                        out.push_str(&format!("<td>{cell}</td>"));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
        }
    }
    if in_section {
        out.push_str("</section>\n");
    }
    out
}

/// Inline content as HTML; the text's own line breaks become `<br>`.
fn inline(line: &Line) -> String {
    let mut out = String::new();
    for span in line {
        match span {
            Span::Text(t) => out.push_str(&prose(t)),
            Span::Mono(t) => out.push_str(&format!("<code>{}</code>", escape(t))),
            Span::Strong(t) => out.push_str(&format!("<strong>{}</strong>", prose(t))),
            Span::Flag(t) => out.push_str(&format!("<strong class=\"flag\">{}</strong>", prose(t))),
            Span::Muted(t) => out.push_str(&format!("<span class=\"muted\">{}</span>", prose(t))),
            Span::Seq(s) => out.push_str(&format!(
                "<span class=\"seq\" title=\"ledger entry\">{}</span>",
                escape(&s.to_string())
            )),
            // `location` only makes a link of an http(s) URL; the text shown
            // is the URL itself, so a printed copy still says where it is.
            Span::Link(url) if !is_web_url(url) => out.push_str(&escape(url)),
            Span::Link(url) => {
                let url = escape(url);
                out.push_str(&format!(
                    "<a href=\"{url}\" rel=\"noopener noreferrer\">{url}</a>"
                ));
            }
        }
    }
    out
}

/// Text as HTML: escaped, its line breaks kept, its dates unbreakable.
fn prose(t: &str) -> String {
    keep_dates(&escape(t)).replace('\n', "<br>\n")
}

/// Wraps each date (`2026-11-26`) and UTC time (`2026-11-26T12:00:41Z`) in
/// escaped text in a span that does not break, since a browser would
/// otherwise break after any of its hyphens. Escaping leaves digits, `-`,
/// `T`, `:` and `Z` as they are, so the dates are found as written.
fn keep_dates(escaped: &str) -> String {
    let b = escaped.as_bytes();
    let digits = |at: usize, n: usize| {
        b.get(at..at + n)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    let is = |at: usize, c: u8| b.get(at) == Some(&c);
    let mut out = String::with_capacity(escaped.len());
    let (mut i, mut copied) = (0, 0);
    while i < b.len() {
        // A date inside an id (`A-2026-11-26`) is the id's, not a date.
        let starts_word =
            i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b"-_".contains(&b[i - 1]));
        let date = starts_word
            && digits(i, 4)
            && is(i + 4, b'-')
            && digits(i + 5, 2)
            && is(i + 7, b'-')
            && digits(i + 8, 2);
        if !date {
            i += 1;
            continue;
        }
        let mut end = i + 10;
        let time = is(end, b'T')
            && digits(end + 1, 2)
            && is(end + 3, b':')
            && digits(end + 4, 2)
            && is(end + 6, b':')
            && digits(end + 7, 2)
            && is(end + 9, b'Z');
        if time {
            end += 10;
        }
        out.push_str(&escaped[copied..i]);
        out.push_str(&format!("<span class=\"nw\">{}</span>", &escaped[i..end]));
        copied = end;
        i = end;
    }
    out.push_str(&escaped[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_are_kept_whole() {
        let check = |input: &str, expected: &str| {
            assert_eq!(keep_dates(input), expected, "{input:?}");
        };
        let nw = |d: &str| format!("<span class=\"nw\">{d}</span>");
        check("no date here", "no date here");
        check("2026-11-26", &nw("2026-11-26"));
        check(
            "held 2026-11-26 (declared)",
            &format!("held {} (declared)", nw("2026-11-26")),
        );
        check(
            "signed 2026-12-01T12:00:58Z.",
            &format!("signed {}.", nw("2026-12-01T12:00:58Z")),
        );
        check(
            "2025-11-27 to 2026-11-25",
            &format!("{} to {}", nw("2025-11-27"), nw("2026-11-25")),
        );
        // A time that is not a whole UTC time keeps only its date whole.
        check("2026-12-01T12:00", &format!("{}T12:00", nw("2026-12-01")));
        // Not dates: inside a word or a longer number, or malformed.
        check("A-2026-11-26", "A-2026-11-26");
        check("12026-11-26", "12026-11-26");
        check("2026-1-26", "2026-1-26");
        check("2026-11-2", "2026-11-2");
        check("Zoë 2026-11-26", &format!("Zoë {}", nw("2026-11-26")));
    }

    #[test]
    fn running_text_cannot_leave_its_css_string() {
        let check = |input: &str, expected: &str| {
            assert_eq!(css_string(input), expected, "{input:?}");
        };
        check("Northwind Analytics Ltd", "\"Northwind Analytics Ltd\"");
        check("a\"b", "\"a\\22 b\"");
        check("a\\b", "\"a\\5c b\"");
        check(
            "</style><script>",
            "\"\\3c \\2f style\\3e \\3c script\\3e \"",
        );
        check("x; } @page { }", "\"x\\3b  \\7d  \\40 page \\7b  \\7d \"");
        check("Zoë", "\"Zo\\eb \"");
        check("line\nbreak", "\"line\\a break\"");
        // Control characters are made visible first, then escaped.
        check("bell\u{7}", "\"bell\\5c u\\7b 7\\7d \"");
    }
}

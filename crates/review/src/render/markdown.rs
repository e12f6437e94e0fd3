//! The Markdown back end: GitHub-flavoured, with tables.
//!
//! User text is backslash-escaped, so that a summary cannot become a
//! heading, a link, a list or raw HTML (which most Markdown renderers pass
//! through). Inside a table cell a line break becomes a space.

use super::{Block, Doc, Line, Span, clean};

/// Renders a document as Markdown.
pub(crate) fn render(doc: &Doc) -> String {
    let mut out = String::new();
    for block in &doc.blocks {
        if !out.is_empty() {
            out.push('\n');
        }
        match block {
            Block::Title {
                organisation,
                title,
                subtitle,
            } => {
                out.push_str(&format!("# {}\n\n", one_line(&escape(title))));
                out.push_str(&format!(
                    "**{}**: {}\n",
                    one_line(&escape(organisation)),
                    escape(subtitle)
                ));
            }
            Block::Heading(h) => out.push_str(&format!("## {}\n", one_line(&escape(h)))),
            Block::Subheading(line) => {
                out.push_str(&format!("### {}\n", one_line(&inline(line, false))))
            }
            Block::Fields(fields) => {
                for (label, value) in fields {
                    out.push_str(&format!(
                        "- **{}:** {}\n",
                        one_line(&escape(label)),
                        one_line(&inline(value, false))
                    ));
                }
            }
            Block::Para(line) => {
                out.push_str(&hard_breaks(&inline(line, true)));
                out.push('\n');
            }
            Block::Notice(line) | Block::Verdict { ok: false, line } => {
                for l in inline(line, true).split('\n') {
                    out.push_str("> ");
                    out.push_str(l);
                    out.push('\n');
                }
            }
            Block::Verdict { ok: true, line } => {
                out.push_str(&hard_breaks(&inline(line, true)));
                out.push('\n');
            }
            Block::Pre(t) => {
                let t = clean(t);
                let fence = "`".repeat(longest_run(&t, '`').max(2) + 1);
                out.push_str(&format!("{fence}text\n{t}\n{fence}\n"));
            }
            Block::Table { head, rows } => {
                let cell = |s: String| one_line(&s).replace('|', "\\|");
                let head: Vec<String> = head.iter().map(|h| cell(escape(h))).collect();
                out.push_str(&format!("| {} |\n", head.join(" | ")));
                out.push_str(&format!("|{}\n", " --- |".repeat(head.len())));
                for r in rows {
                    let cells: Vec<String> = (0..head.len())
                        .map(|c| r.get(c).map(|l| cell(inline(l, false))).unwrap_or_default())
                        .collect();
                    out.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
            }
        }
    }
    out
}

/// Inline content as Markdown; `block_start` when it opens a block, where
/// a leading `-` or `1.` would start a list.
fn inline(line: &Line, block_start: bool) -> String {
    let mut out = String::new();
    for span in line {
        let at_start = block_start && out.is_empty();
        match span {
            Span::Text(t) | Span::Muted(t) => out.push_str(&escape_at(t, at_start)),
            Span::Strong(t) | Span::Flag(t) => {
                let t = escape(t);
                let body = t.trim();
                if body.is_empty() {
                    out.push_str(&t);
                } else {
                    // `**` must hug the words; keep the spaces outside.
                    let lead = &t[..t.len() - t.trim_start().len()];
                    let trail = &t[t.trim_end().len()..];
                    out.push_str(&format!("{lead}**{body}**{trail}"));
                }
            }
            Span::Mono(t) => out.push_str(&code(t)),
            Span::Seq(s) => out.push_str(&code(&s.to_string())),
            Span::Link(url) => out.push_str(&link(url, at_start)),
        }
    }
    out
}

/// A code span wide enough for any backticks inside.
fn code(t: &str) -> String {
    let t = one_line(&clean(t));
    let ticks = "`".repeat(longest_run(&t, '`') + 1);
    let pad = if t.starts_with('`') || t.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{t}{pad}{ticks}")
}

/// An autolink when the URL can be one, escaped text otherwise.
fn link(url: &str, at_start: bool) -> String {
    let url = clean(url);
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == '\\')
    {
        escape_at(&url, at_start)
    } else {
        format!("<{url}>")
    }
}

fn longest_run(t: &str, ch: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in t.chars() {
        run = if c == ch { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

fn one_line(t: &str) -> String {
    t.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Keeps the text's own line breaks as Markdown hard breaks.
fn hard_breaks(t: &str) -> String {
    t.split('\n')
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\\\n")
}

/// Escapes user text for Markdown in the middle of a line.
pub(crate) fn escape(text: &str) -> String {
    escape_at(text, false)
}

/// Escapes user text for Markdown: punctuation that could start inline
/// markup (emphasis, code, links, raw HTML, entities, table cells) is
/// backslash-escaped, and so is anything that would open a block at the
/// start of a line (a heading, a list, a numbered list, a heading
/// underline): on every line after the first, and on the first when
/// `block_start`.
fn escape_at(text: &str, block_start: bool) -> String {
    let text = clean(text);
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let body = line.trim_start();
        out.push_str(&line[..line.len() - body.len()]);
        let line_start = block_start || i > 0;
        let digits = body.chars().take_while(char::is_ascii_digit).count();
        let ordered =
            line_start && digits > 0 && matches!(body[digits..].chars().next(), Some('.' | ')'));
        if line_start && matches!(body.chars().next(), Some('-' | '+' | '=' | '#')) {
            out.push('\\');
        }
        for (at, c) in body.char_indices() {
            if (ordered && at == digits) || "\\`*_[]<>|~&".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        let check = |text: &str, block_start: bool, expected: &str| {
            assert_eq!(escape_at(text, block_start), expected, "{text:?}");
        };
        check("plain words", true, "plain words");
        check(
            "<script>alert(1)</script>",
            false,
            "\\<script\\>alert(1)\\</script\\>",
        );
        check("a | b", false, "a \\| b");
        check(
            "*bold* _it_ [link](x)",
            false,
            "\\*bold\\* \\_it\\_ \\[link\\](x)",
        );
        check("AT&T ~x~ `c`", false, "AT\\&T \\~x\\~ \\`c\\`");
        // Block markers matter only at the start of a line.
        check("# heading", true, "\\# heading");
        check("# heading", false, "# heading");
        check("guide #1", true, "guide #1");
        check("- item", true, "\\- item");
        check("  + item", true, "  \\+ item");
        check("12. item", true, "12\\. item");
        check("9.3.2 a", false, "9.3.2 a");
        check("9.3.2 a", true, "9\\.3.2 a");
        check("2026-11-26", true, "2026-11-26");
        check(
            "line one\n+ two\n3) three",
            false,
            "line one\n\\+ two\n3\\) three",
        );
        check("esc\u{1b}[2J", false, "esc\\\\u{1b}\\[2J");
    }

    #[test]
    fn code_spans_and_links() {
        assert_eq!(code("abc"), "`abc`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(link("https://x.example/a", false), "<https://x.example/a>");
        assert_eq!(
            link("https://x.example/<a>", false),
            "https://x.example/\\<a\\>"
        );
    }
}

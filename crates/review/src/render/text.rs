//! The text back end: plain and aligned, for terminals.
//!
//! Lines are kept within [`WIDTH`] columns where words allow (a URL or a
//! digest is never broken). A table is laid out in aligned columns, wrapping
//! its widest cells; when even its longest words do not fit side by side,
//! each row is printed as a small record instead, one field a line.
//! Widths count characters, which is right for the Latin text minutes hold
//! and close enough for the rest.

use super::{Block, Doc, clean, plain};

/// The widest line the back end aims for.
pub(crate) const WIDTH: usize = 100;

const INDENT: &str = "  ";
const GAP: &str = "  ";

/// Renders a document as plain text.
pub(crate) fn render(doc: &Doc) -> String {
    let mut out = String::new();
    for block in &doc.blocks {
        match block {
            Block::Title {
                organisation,
                title,
                subtitle,
            } => {
                // A later title (a report's minutes) starts a part of its own.
                if !out.is_empty() {
                    out.push_str("\n\n");
                }
                let lines = [clean(organisation), clean(title), clean(subtitle)];
                let rule = lines.iter().map(|l| width(l)).max().unwrap_or(0).min(WIDTH);
                for l in lines {
                    push_lines(&mut out, &wrap(&l, WIDTH, "", ""));
                }
                out.push_str(&"=".repeat(rule));
                out.push('\n');
            }
            Block::Heading(h) => {
                let h = clean(h);
                out.push_str("\n\n");
                out.push_str(&h);
                out.push('\n');
                out.push_str(&"-".repeat(width(&h).min(WIDTH)));
                out.push('\n');
            }
            Block::Subheading(line) => {
                out.push('\n');
                push_lines(&mut out, &wrap(&plain(line), WIDTH, INDENT, INDENT));
            }
            Block::Fields(fields) => {
                out.push('\n');
                let labels: Vec<String> = fields.iter().map(|(l, _)| clean(l)).collect();
                let w = labels.iter().map(|l| width(l)).max().unwrap_or(0);
                for (label, (_, value)) in labels.iter().zip(fields) {
                    let first = format!("{INDENT}{}{GAP}", pad(label, w));
                    let rest = " ".repeat(width(&first));
                    push_lines(&mut out, &wrap(&plain(value), WIDTH, &first, &rest));
                }
            }
            Block::Para(line) => {
                out.push('\n');
                push_lines(&mut out, &wrap(&plain(line), WIDTH, INDENT, INDENT));
            }
            Block::Notice(line) => {
                out.push('\n');
                push_lines(&mut out, &wrap(&plain(line), WIDTH, "! ", "  "));
            }
            // The verdict opens a report: its first line is the report's.
            Block::Verdict { ok, line } => {
                if !out.is_empty() {
                    out.push('\n');
                }
                let (first, rest) = if *ok { ("", "") } else { ("! ", "  ") };
                push_lines(&mut out, &wrap(&plain(line), WIDTH, first, rest));
            }
            Block::Pre(t) => {
                out.push('\n');
                for l in clean(t).lines() {
                    out.push_str(INDENT);
                    out.push_str(l);
                    out.push('\n');
                }
            }
            Block::Table { head, rows } => {
                out.push('\n');
                let head: Vec<String> = head.iter().map(|h| clean(h)).collect();
                let rows: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        (0..head.len())
                            .map(|c| r.get(c).map(|l| plain(l)).unwrap_or_default())
                            .collect()
                    })
                    .collect();
                table(&mut out, &head, &rows);
            }
        }
    }
    out
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn pad(s: &str, w: usize) -> String {
    let mut out = s.to_owned();
    out.push_str(&" ".repeat(w.saturating_sub(width(s))));
    out
}

fn push_lines(out: &mut String, lines: &[String]) {
    for l in lines {
        out.push_str(l.trim_end());
        out.push('\n');
    }
}

/// Wraps `text` at `max` columns: `first` starts the first line, `rest` the
/// others. Line breaks in the text are kept. A word longer than a line is
/// left whole.
pub(crate) fn wrap(text: &str, max: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_owned();
    let mut fresh = true;
    for (i, para) in text.split('\n').enumerate() {
        if i > 0 {
            lines.push(std::mem::replace(&mut line, rest.to_owned()));
            fresh = true;
        }
        for word in para.split_whitespace() {
            if !fresh && width(&line) + 1 + width(word) > max {
                lines.push(std::mem::replace(&mut line, rest.to_owned()));
                fresh = true;
            }
            if !fresh {
                line.push(' ');
            }
            line.push_str(word);
            fresh = false;
        }
    }
    lines.push(line);
    lines
}

/// Cell lines of `text` wrapped at `w`, without prefixes.
fn cell_lines(text: &str, w: usize) -> Vec<String> {
    wrap(text, w.max(1), "", "")
}

fn longest_word(text: &str) -> usize {
    text.split_whitespace().map(width).max().unwrap_or(0)
}

fn longest_line(text: &str) -> usize {
    text.split('\n').map(width).max().unwrap_or(0)
}

/// Column widths that fit `budget`. Narrow columns keep their natural width
/// (filling water-level fashion: any column no wider than an equal share of
/// what is left keeps its width); the wide ones share the rest in proportion
/// to their natural widths, none below its longest word. `None` when even
/// the longest words do not fit side by side.
fn fit(natural: &[usize], min: &[usize], budget: usize) -> Option<Vec<usize>> {
    if min.iter().sum::<usize>() > budget {
        return None;
    }
    let mut w = natural.to_vec();
    if w.iter().sum::<usize>() <= budget {
        return Some(w);
    }
    let mut flexible: Vec<usize> = (0..w.len()).collect();
    let mut left = budget;
    loop {
        let fair = left / flexible.len().max(1);
        let (narrow, wide): (Vec<usize>, Vec<usize>) =
            flexible.iter().partition(|&&c| natural[c] <= fair);
        if narrow.is_empty() {
            break;
        }
        left -= narrow.iter().map(|&c| natural[c]).sum::<usize>();
        flexible = wide;
    }
    let total: usize = flexible.iter().map(|&c| natural[c]).sum::<usize>().max(1);
    for &c in &flexible {
        w[c] = (natural[c] * left / total).max(min[c]);
    }
    // The longest words may have taken more than the share: give it back
    // from the widest columns that can spare it.
    while w.iter().sum::<usize>() > budget {
        let widest = (0..w.len())
            .filter(|&c| w[c] > min[c])
            .max_by_key(|&c| w[c])?;
        w[widest] -= 1;
    }
    Some(w)
}

/// A cell squeezed into more lines than this makes a table unreadable in
/// a terminal; such a table is printed as records instead.
const MAX_CELL_LINES: usize = 3;

fn table(out: &mut String, head: &[String], rows: &[Vec<String>]) {
    let n = head.len();
    let column =
        |c: usize| std::iter::once(&head[c]).chain(rows.iter().filter_map(move |r| r.get(c)));
    let natural: Vec<usize> = (0..n)
        .map(|c| column(c).map(|s| longest_line(s)).max().unwrap_or(0).max(1))
        .collect();
    let min: Vec<usize> = (0..n)
        .map(|c| column(c).map(|s| longest_word(s)).max().unwrap_or(0).max(1))
        .collect();
    let budget = WIDTH.saturating_sub(INDENT.len() + GAP.len() * n.saturating_sub(1));
    let readable = |widths: &Vec<usize>| {
        rows.iter().all(|r| {
            r.iter()
                .zip(widths)
                .all(|(cell, &w)| cell_lines(cell, w).len() <= MAX_CELL_LINES)
        })
    };
    match fit(&natural, &min, budget).filter(readable) {
        Some(widths) => aligned(out, head, rows, &widths),
        None => stacked(out, head, rows),
    }
}

fn aligned(out: &mut String, head: &[String], rows: &[Vec<String>], widths: &[usize]) {
    let print_row = |out: &mut String, cells: &[String]| {
        let wrapped: Vec<Vec<String>> = widths
            .iter()
            .enumerate()
            .map(|(c, &w)| cell_lines(cells.get(c).map(String::as_str).unwrap_or(""), w))
            .collect();
        let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
        for i in 0..height {
            let mut line = INDENT.to_owned();
            for (c, &w) in widths.iter().enumerate() {
                if c > 0 {
                    line.push_str(GAP);
                }
                let cell = wrapped
                    .get(c)
                    .and_then(|l| l.get(i))
                    .map(String::as_str)
                    .unwrap_or("");
                line.push_str(&pad(cell, w));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        height
    };
    print_row(out, head);
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    out.push_str(INDENT);
    out.push_str(&rule.join(GAP));
    out.push('\n');
    // Rows of several lines read better apart.
    let tall = rows.iter().any(|r| {
        r.iter()
            .zip(widths)
            .any(|(cell, &w)| cell_lines(cell, w).len() > 1)
    });
    for (i, r) in rows.iter().enumerate() {
        if tall && i > 0 {
            out.push('\n');
        }
        print_row(out, r);
    }
}

fn stacked(out: &mut String, head: &[String], rows: &[Vec<String>]) {
    let labels = head.get(1..).unwrap_or(&[]);
    let w = labels.iter().map(|l| width(l)).max().unwrap_or(0);
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let title = r.first().map(String::as_str).unwrap_or("");
        push_lines(out, &wrap(title, WIDTH, INDENT, INDENT));
        for (label, value) in labels.iter().zip(r.iter().skip(1)) {
            let first = format!("{INDENT}{INDENT}{}{GAP}", pad(label, w));
            let rest = " ".repeat(width(&first));
            let value = if value.trim().is_empty() { "-" } else { value };
            push_lines(out, &wrap(value, WIDTH, &first, &rest));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping() {
        let check = |text: &str, max: usize, expected: &[&str]| {
            assert_eq!(wrap(text, max, "> ", "  "), expected, "{text:?} at {max}");
        };
        check("", 10, &["> "]);
        check("one two three", 20, &["> one two three"]);
        check("one two three", 9, &["> one two", "  three"]);
        check("one\ntwo", 20, &["> one", "  two"]);
        check(
            "averyveryverylongword x",
            8,
            &["> averyveryverylongword", "  x"],
        );
    }

    #[test]
    fn fitting_columns() {
        let check =
            |natural: &[usize], min: &[usize], budget: usize, expected: Option<&[usize]>| {
                assert_eq!(
                    fit(natural, min, budget).as_deref(),
                    expected,
                    "{natural:?} {min:?} in {budget}"
                );
            };
        // Fits as it is.
        check(&[5, 10], &[3, 4], 20, Some(&[5, 10]));
        // The narrow column keeps its width, the wide one takes the rest.
        check(&[5, 30], &[3, 4], 20, Some(&[5, 15]));
        // Two wide columns share in proportion.
        check(&[20, 20], &[3, 4], 20, Some(&[10, 10]));
        check(&[3, 60, 30, 5], &[3, 4, 4, 5], 50, Some(&[3, 28, 14, 5]));
        // A long word holds its column open; the other gives way.
        check(&[40, 40], &[30, 4], 40, Some(&[30, 10]));
        // Longest words that cannot sit side by side.
        check(&[20, 20], &[15, 15], 20, None);
    }
}

//! The HTML back end: one self-contained, printable file.
//!
//! The page carries its style inline and loads nothing: no scripts, images,
//! fonts or style sheets, and its content security policy forbids them all
//! should anything slip in. Its only `href`s are document and evidence
//! locations that are `http(s)` URLs, which a reader may follow; nothing
//! has a `src`. Every piece of text is escaped with [`escape`]. A4 print
//! rules keep table rows and headings from splitting across pages.

use super::{Block, Doc, Line, Span, clean, is_web_url};

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

const STYLE: &str = r#"
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
code { font-size: 8.5pt; overflow-wrap: anywhere; word-break: break-all; }
.seq { font-size: 8.5pt; color: #666; white-space: nowrap; }
.muted { color: #666; }
.flag { color: #a40000; font-weight: 700; }
.notice { border: 2px solid #a40000; background: #fff3f3; padding: .4rem .6rem; margin: .5rem 0; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f6f6; border: 1px solid #ddd;
  padding: .5rem; font-size: 8.5pt; }
a { color: #0b4f9c; overflow-wrap: anywhere; }
@page { size: A4; margin: 16mm 14mm 18mm; }
@media print {
  body { margin: 0; padding: 0; max-width: none; font-size: 9.5pt; }
  a { color: inherit; text-decoration: none; }
  th { background: #eee; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .notice { background: none; }
}
"#;

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
    out.push_str("</style>\n</head>\n<body>\n");
    let mut in_section = false;
    for block in &doc.blocks {
        match block {
            Block::Title {
                organisation,
                title,
                subtitle,
            } => {
                out.push_str(&format!(
                    "<header>\n<p class=\"org\">{}</p>\n<h1>{}</h1>\n<p class=\"sub\">{}</p>\n</header>\n<main>\n",
                    escape(organisation),
                    escape(title),
                    escape(subtitle)
                ));
            }
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
                out.push_str("<table>\n<thead><tr>");
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
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// Inline content as HTML; the text's own line breaks become `<br>`.
fn inline(line: &Line) -> String {
    let mut out = String::new();
    for span in line {
        match span {
            Span::Text(t) => out.push_str(&breaks(&escape(t))),
            Span::Mono(t) => out.push_str(&format!("<code>{}</code>", escape(t))),
            Span::Strong(t) => out.push_str(&format!("<strong>{}</strong>", breaks(&escape(t)))),
            Span::Flag(t) => out.push_str(&format!(
                "<strong class=\"flag\">{}</strong>",
                breaks(&escape(t))
            )),
            Span::Muted(t) => out.push_str(&format!(
                "<span class=\"muted\">{}</span>",
                breaks(&escape(t))
            )),
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

fn breaks(escaped: &str) -> String {
    escaped.replace('\n', "<br>\n")
}

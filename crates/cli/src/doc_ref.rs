//! `TITLE=LOCATION` and `TITLE=LOCATION=@FILE`: how `review circulate --doc`
//! and `review input --evidence` name a document.
//!
//! The title is everything before the first `=`. The file, when given, is
//! everything after the last `=@` (as in curl's `-F name=@file`, `@` says
//! "read this file"). The location is what lies between, so a URL's query
//! (`?id=42&v=3`) needs no escaping; the one thing a location cannot hold is
//! `=@` (a URL writes `@` as `%40`). Spaces around each part are dropped.
//!
//! ```text
//! Risk register=https://dms.example/doc?id=42=@risk-register.xlsx
//! └── title ──┘ └──────── location ────────┘  └──── file ────┘
//! ```
//!
//! The file is read for its blake3 digest (FORMAT.md 2.1) and nothing else:
//! its path is never stored, because a path on this machine means nothing to
//! the other attendees or to an auditor. For the same reason a location that
//! is a path on this machine (absolute, home-relative, `./`-relative, a
//! Windows drive path, or a `file:` URL) is refused. A UNC path
//! (`\\server\share\…`) names a shared location and is accepted.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use review::member::check_text;
use review::vocab::{Document, Evidence};

use crate::cmd_review::file_digest;

/// A parsed `TITLE=LOCATION[=@FILE]`, with the flag and text it came from.
#[derive(Debug, PartialEq, Eq)]
pub struct DocRef {
    /// What the document is.
    pub title: String,
    /// Where others find it.
    pub location: String,
    /// A local copy to digest; its path is not stored.
    pub file: Option<PathBuf>,
    flag: &'static str,
    value: String,
}

/// Whether the stored reference needs a digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Digest {
    /// A circulated document: `Document.digest` is not optional.
    Required,
    /// Evidence: `Evidence.digest` is optional.
    Optional,
}

/// The separator before the file.
const FILE_MARK: &str = "=@";

/// Parses `value`, given to `flag`. Reads no file.
pub fn parse(flag: &'static str, value: &str, digest: Digest) -> Result<DocRef> {
    let at = || format!("{flag} {value:?}");
    let Some((title, rest)) = value.split_once('=') else {
        bail!(
            "{}: no `=`: write TITLE=LOCATION{}, e.g. \"Risk register=https://dms.example/doc/42{}\"",
            at(),
            if digest == Digest::Required {
                "=@FILE"
            } else {
                " or TITLE=LOCATION=@FILE"
            },
            if digest == Digest::Required {
                "=@risk-register.xlsx"
            } else {
                ""
            },
        );
    };
    let (location, file) = match rest.rsplit_once(FILE_MARK) {
        Some((location, file)) => (location, Some(file.trim())),
        None => (rest, None),
    };
    let (title, location) = (title.trim(), location.trim());
    if title.is_empty() {
        bail!("{}: the title (before the first `=`) is empty", at());
    }
    check_text("title", title).with_context(at)?;
    if location.is_empty() {
        bail!(
            "{}: the location is empty: give where others find the document \
             (a URL, or a reference such as DMS-1234)",
            at()
        );
    }
    if let Some(what) = review::vocab::local_location(location) {
        bail!(
            "{}: the location {location:?} is {what}, which nobody else can open: give a shared \
             location (a URL, or a reference such as DMS-1234 or \"SharePoint: ISMS/Pack/risk.xlsx\"); \
             to store the digest of a local copy, put its path after `=@`: \"{title}=LOCATION=@{location}\"",
            at()
        );
    }
    check_text("location", location).with_context(at)?;
    let file = match file {
        Some("") => bail!(
            "{}: nothing after `=@`: name the file to digest (a URL writes `@` as %40)",
            at()
        ),
        Some(f) => Some(PathBuf::from(f)),
        None if digest == Digest::Required => bail!(
            "{}: no file to digest: the pack records the blake3 digest of each document sent, \
             so give a local copy after `=@`: \"{title}={location}=@FILE\"",
            at()
        ),
        None => None,
    };
    Ok(DocRef {
        title: title.to_owned(),
        location: location.to_owned(),
        file,
        flag,
        value: value.to_owned(),
    })
}

impl DocRef {
    /// The blake3 digest of the file, if one was given.
    pub fn digest(&self) -> Result<Option<ledger_core::Hash>> {
        self.file
            .as_deref()
            .map(|f| {
                file_digest(f).map_err(|e| {
                    anyhow!(
                        "{} {:?}: {e:#} (the part after the last `=@` is the file to digest; \
                         a URL writes `@` as %40)",
                        self.flag,
                        self.value
                    )
                })
            })
            .transpose()
    }

    /// A circulated document: title, location and the file's digest.
    pub fn document(&self) -> Result<Document> {
        let digest = self
            .digest()?
            .with_context(|| format!("{} {:?}: no file to digest", self.flag, self.value))?;
        Ok(Document {
            title: self.title.clone(),
            location: self.location.clone(),
            digest,
        })
    }

    /// Evidence behind an input, with the file's digest when one was given.
    pub fn evidence(&self) -> Result<Evidence> {
        Ok(Evidence {
            title: self.title.clone(),
            location: self.location.clone(),
            digest: self.digest()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `value` parses to `(title, location, file)`, or fails with a message
    /// holding every fragment of `Err`.
    fn check(value: &str, digest: Digest, expected: Result<(&str, &str, Option<&str>), &[&str]>) {
        let got = parse("--doc", value, digest);
        match (got, expected) {
            (Ok(r), Ok((title, location, file))) => {
                assert_eq!(
                    (r.title.as_str(), r.location.as_str(), r.file.as_deref()),
                    (title, location, file.map(std::path::Path::new)),
                    "{value:?}"
                );
            }
            (Err(e), Err(fragments)) => {
                let msg = format!("{e:#}");
                assert!(
                    msg.starts_with(&format!("--doc {value:?}: ")),
                    "{value:?}: the message names the flag and value: {msg}"
                );
                for f in fragments {
                    assert!(msg.contains(f), "{value:?}: {msg:?} should say {f:?}");
                }
            }
            (got, expected) => panic!("{value:?}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn accepted() {
        use Digest::{Optional, Required};
        let ok = |v: &str, d, t, l, f| check(v, d, Ok((t, l, f)));
        ok(
            "Risk register=DMS-1234",
            Optional,
            "Risk register",
            "DMS-1234",
            None,
        );
        ok(
            "Risk register=SharePoint: ISMS/Pack/risk.xlsx",
            Optional,
            "Risk register",
            "SharePoint: ISMS/Pack/risk.xlsx",
            None,
        );
        // A URL keeps every `=` of its query.
        ok(
            "Audit=https://dms.example/doc?id=42&v=3",
            Optional,
            "Audit",
            "https://dms.example/doc?id=42&v=3",
            None,
        );
        ok(
            "Audit=https://dms.example/doc?id=42&v=3=@audit.pdf",
            Required,
            "Audit",
            "https://dms.example/doc?id=42&v=3",
            Some("audit.pdf"),
        );
        // The file may be anywhere on this machine: only its digest is stored.
        ok(
            "Risk=DMS-7=@/home/isms/pack/risk.xlsx",
            Required,
            "Risk",
            "DMS-7",
            Some("/home/isms/pack/risk.xlsx"),
        );
        // The last `=@` starts the file; an `@` without `=` is part of the location.
        ok(
            "Minutes=mailto:isms@example.org=@m.pdf",
            Required,
            "Minutes",
            "mailto:isms@example.org",
            Some("m.pdf"),
        );
        ok("A=x?q=@b=@c.pdf", Required, "A", "x?q=@b", Some("c.pdf"));
        // Spaces around the parts are dropped.
        ok(
            " Risk  = DMS-1 =@ r.xlsx ",
            Required,
            "Risk",
            "DMS-1",
            Some("r.xlsx"),
        );
        // A UNC path names a shared location; a relative name is a reference.
        ok(
            r"Pack=\\fileserver\isms\pack.pdf",
            Optional,
            "Pack",
            r"\\fileserver\isms\pack.pdf",
            None,
        );
        ok(
            "Pack=ISMS/Pack/risk.xlsx",
            Optional,
            "Pack",
            "ISMS/Pack/risk.xlsx",
            None,
        );
        ok("Pack=.well-known", Optional, "Pack", ".well-known", None);
    }

    #[test]
    fn refused_naming_the_fault() {
        use Digest::{Optional, Required};
        let bad = |v: &str, d, f: &[&str]| check(v, d, Err(f));
        bad("risk.xlsx", Optional, &["no `=`", "TITLE=LOCATION"]);
        bad("risk.xlsx", Required, &["no `=`", "TITLE=LOCATION=@FILE"]);
        bad("=DMS-1", Optional, &["the title", "is empty"]);
        bad("  =DMS-1", Optional, &["the title", "is empty"]);
        bad("Risk=", Optional, &["the location is empty"]);
        bad("Risk= =@r.xlsx", Required, &["the location is empty"]);
        bad("Risk=DMS-1=@", Required, &["nothing after `=@`"]);
        bad(
            "Risk=DMS-1",
            Required,
            &["no file to digest", "Risk=DMS-1=@FILE"],
        );
        bad(
            "Risk=/home/isms/risk.xlsx",
            Optional,
            &[
                "\"/home/isms/risk.xlsx\" is an absolute path",
                "shared location",
                "Risk=LOCATION=@/home/isms/risk.xlsx",
            ],
        );
        bad(
            "Risk=/home/isms/risk.xlsx=@/home/isms/risk.xlsx",
            Required,
            &["is an absolute path"],
        );
        bad(
            "Risk=file:///home/isms/risk.xlsx",
            Optional,
            &["is a file: URL"],
        );
        bad("Risk=FILE:/x", Optional, &["is a file: URL"]);
        bad(r"Risk=\pack\risk.xlsx", Optional, &["is an absolute path"]);
        bad("Risk=~/pack/risk.xlsx", Optional, &["in a home directory"]);
        bad("Risk=./risk.xlsx", Optional, &["relative to a directory"]);
        bad(r"Risk=..\risk.xlsx", Optional, &["relative to a directory"]);
        bad(r"Risk=C:\Users\isms\risk.xlsx", Optional, &["a drive path"]);
        bad("Risk=d:/risk.xlsx", Optional, &["a drive path"]);
        bad(
            "Ri\tsk=DMS-1",
            Optional,
            &["title: must not contain control characters"],
        );
        let long = format!("Risk=https://dms.example/{}", "x".repeat(200));
        bad(&long, Optional, &["location: ", "over the limit of 200"]);
    }

    #[test]
    fn the_file_is_read_for_its_digest_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("risk.xlsx");
        std::fs::write(&path, b"the register").unwrap();
        let value = format!("Risk=DMS-9=@{}", path.display());
        let doc = parse("--doc", &value, Digest::Required)
            .unwrap()
            .document()
            .unwrap();
        assert_eq!(doc.title, "Risk");
        assert_eq!(doc.location, "DMS-9");
        assert_eq!(doc.digest.0, *blake3::hash(b"the register").as_bytes());

        let missing = format!("Risk=DMS-9=@{}", dir.path().join("nope").display());
        let e = parse("--evidence", &missing, Digest::Optional)
            .unwrap()
            .evidence()
            .unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.starts_with(&format!("--evidence {missing:?}")), "{msg}");
        assert!(msg.contains("cannot read") && msg.contains("nope"), "{msg}");

        let none = parse("--evidence", "Risk=DMS-9", Digest::Optional)
            .unwrap()
            .evidence()
            .unwrap();
        assert_eq!(none.digest, None);
    }
}

//! The README's tour runs as written: its `sh` blocks, in order, in one
//! shell, against the binary cargo built beside this test, in a temporary
//! directory with its own home (so the trusted state and the verified cache
//! stay there). Blocks that build or test the checkout itself (`cargo ...`)
//! are skipped: the binary is already built, and the tests are running.

use std::path::Path;
use std::process::Command;

/// The `sh` blocks of `markdown`, in order.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_readme_tour_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks: Vec<String> = shell_blocks(&readme)
        .into_iter()
        .filter(|b| !b.lines().any(|l| l.trim_start().starts_with("cargo ")))
        .collect();
    assert!(blocks.len() >= 4, "the tour's blocks: {blocks:?}");
    let script = format!(
        "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{}",
        blocks.join("\n")
    );
    let tmp = tempfile::tempdir().unwrap();
    let bin_dir = e2e::binary().parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(tmp.path())
        .env("PATH", path)
        .env("HOME", tmp.path())
        .env("XDG_CONFIG_HOME", tmp.path().join(".config"))
        .env("REVIEW_LEDGER_CACHE", tmp.path().join(".cache"))
        .env_remove("REVIEW_LEDGER_DIR")
        .env_remove("REVIEW_LEDGER_SERVER")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README's tour failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // What the tour promises: the review holds, offline too, and the files exist.
    assert!(stdout.contains("the review holds"), "{stdout}");
    for file in [
        "minutes.html",
        "2026.bundle",
        "report.html",
        "ceo.pem",
        "ceo.pem.pub",
    ] {
        assert!(tmp.path().join(file).is_file(), "{file} was not written");
    }
}

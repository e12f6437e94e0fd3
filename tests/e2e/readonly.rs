//! A ledger directory nobody can write (an auditor's copy with the write
//! bits removed, a read-only mount) can be verified and read, leaves no
//! trace, and refuses writes naming the directory. Root ignores permission
//! bits: where `chmod` leaves the directory writable, a read-only bind
//! mount is used instead, and where the machine allows neither the test
//! says it was skipped.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use e2e::run;
use ledger_store::SledStore;
use serde_json::Value;

use crate::mounts::{Mount, can_write};

/// Restores the write bits removed from a tree when dropped, so that the
/// temporary directory can be deleted.
struct Chmodded(PathBuf);

impl Drop for Chmodded {
    fn drop(&mut self) {
        set_writable(&self.0, true);
    }
}

fn set_writable(path: &Path, writable: bool) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        for item in std::fs::read_dir(path).into_iter().flatten().flatten() {
            set_writable(&item.path(), writable);
        }
    }
    let mode = meta.permissions().mode();
    let mode = if writable {
        mode | 0o200
    } else {
        mode & !0o222
    };
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

/// How the directory was made read-only, kept alive for the test.
enum ReadOnly {
    Bits(#[allow(dead_code)] Chmodded),
    Mounted(#[allow(dead_code)] Mount),
}

/// `ledger` made read-only: the path to read it at, or `None` (said on
/// stderr) when this machine allows no way.
fn read_only(ledger: &Path, root: &Path) -> Option<(PathBuf, ReadOnly)> {
    set_writable(ledger, false);
    let bits = Chmodded(ledger.to_owned());
    if !can_write(ledger) {
        return Some((ledger.to_owned(), ReadOnly::Bits(bits)));
    }
    drop(bits);
    eprintln!(
        "readonly: this process can write a directory without write bits (root): using a read-only bind mount"
    );
    let point = root.join("mounted");
    let mount = Mount::read_only_bind(ledger, &point, "readonly")?;
    assert!(!can_write(&point), "the bind mount is writable");
    Some((point, ReadOnly::Mounted(mount)))
}

/// Every file under `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for item in std::fs::read_dir(&d).unwrap().flatten() {
            let path = item.path();
            let meta = item.metadata().unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path, (bytes, meta.modified().unwrap()));
            }
        }
    }
    out
}

/// A read command: its arguments (after `--ledger DIR`), and what its
/// JSON output must hold.
struct Read {
    args: &'static [&'static str],
    check: fn(&Value) -> bool,
}

fn reads() -> Vec<Read> {
    vec![
        Read {
            args: &["verify"],
            check: |v| {
                v["valid"] == true && v["warnings"].to_string().contains("cannot be written")
            },
        },
        Read {
            args: &["log", "--limit", "5"],
            check: |v| v.as_array().is_some_and(|a| a.len() == 5),
        },
        Read {
            args: &["checkpoint"],
            check: |v| v["size"].as_u64().is_some_and(|n| n > 5),
        },
        Read {
            args: &["prove", "--seq", "3"],
            check: |v| v["seq"] == 3,
        },
        Read {
            args: &["reviews"],
            check: |v| v.to_string().contains("mr-current"),
        },
        Read {
            args: &["minutes", "show", "--review", "mr-current"],
            check: |v| v.to_string().contains("mr-current"),
        },
        Read {
            args: &["member", "list"],
            check: |v| v.to_string().contains("ops"),
        },
    ]
}

#[test]
fn a_read_only_ledger_is_verified_and_read_and_refuses_writes() {
    let root = tempfile::tempdir().unwrap();
    let demo = root.path().join("demo");
    let (code, _, stderr) = run(&["demo", "--json", "--dir", demo.to_str().unwrap()]).unwrap();
    assert_eq!(code, 0, "{stderr}");
    let ledger = demo.join("ledger");
    let Some((at, _guard)) = read_only(&ledger, root.path()) else {
        return;
    };
    let l = at.to_str().unwrap();
    let before = snapshot(&ledger);

    for read in reads() {
        let args: Vec<&str> = [&["--json"][..], read.args, &["--ledger", l]].concat();
        let (code, stdout, stderr) = run(&args).unwrap();
        assert_eq!(code, 0, "{args:?}: {stderr}");
        let v: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        assert!((read.check)(&v), "{args:?}: {stdout}");
        if read.args[0] != "verify" {
            assert!(
                stderr.contains("reading a private copy"),
                "{args:?} should say it reads a copy: {stderr}"
            );
        }
    }

    // A write is refused, naming the directory.
    let key = demo.join("keys").join("hr.pem");
    let (code, _, stderr) = run(&[
        "member",
        "revoke",
        "--ledger",
        l,
        "--key",
        key.to_str().unwrap(),
        "--id",
        "hr",
    ])
    .unwrap();
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("ledger {l} is read-only")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    assert!(snapshot(&ledger) == before, "reading changed the directory");
}

/// A read-only view of a directory that a writer still holds (the
/// writer's own mount is writable) is refused, naming the writer, rather
/// than copied while it changes.
#[test]
fn a_read_only_view_of_a_ledger_in_use_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ledger");
    let org = e2e::Org::new(3);
    let (ledger, _) = org.found(&dir).unwrap();
    ledger.close();
    drop(ledger);
    let point = root.path().join("mounted");
    let Some(_mount) = Mount::read_only_bind(&dir, &point, "readonly") else {
        return;
    };
    let writer = SledStore::open(&dir).unwrap();
    let (code, _, stderr) = run(&["verify", "--ledger", point.to_str().unwrap()]).unwrap();
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "in use by another process (pid {})",
            std::process::id()
        )),
        "{stderr}"
    );
    drop(writer);
    let (code, _, stderr) = run(&["verify", "--ledger", point.to_str().unwrap()]).unwrap();
    assert_eq!(code, 0, "{stderr}");
}

/// Whether this test runs as root and can run the binary as `nobody` (it
/// cannot when a directory above the binary is closed to other users).
fn can_become_nobody() -> bool {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    root && std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(e2e::binary())
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// An auditor who is another user reads the organisation's directory in
/// place: the checkpoint key file (0600) is unreadable to them, which says
/// nothing about the ledger; verify says so and the ledger verifies.
#[test]
fn another_user_verifies_a_directory_whose_key_file_it_cannot_read() {
    if !can_become_nobody() {
        eprintln!(
            "readonly: skipped: needs root, setpriv, and a binary other users may run, to run as another user"
        );
        return;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let demo = root.path().join("demo");
    e2e::rl(&["demo", "--dir", demo.to_str().unwrap()], 0);
    let ledger = demo.join("ledger");
    let status = std::process::Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(&ledger)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::set_permissions(
        ledger.join("checkpoint.pem"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(e2e::binary())
        .args(["verify", "--json", "--ledger"])
        .arg(&ledger)
        .env("HOME", root.path())
        .env("TMPDIR", std::env::temp_dir())
        .env("REVIEW_LEDGER_CACHE", root.path().join("cache"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["valid"], true, "{report}");
    assert!(
        report["warnings"]
            .to_string()
            .contains("cannot be read by this user"),
        "{report}"
    );
}

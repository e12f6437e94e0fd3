//! Real filesystems for the tests that need one: a small tmpfs to fill, a
//! read-only bind mount. Mounting needs privileges; where the machine
//! refuses, the test says it was skipped and returns.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A mount point, unmounted when dropped.
pub struct Mount {
    point: PathBuf,
}

impl Mount {
    /// The mounted directory.
    pub fn path(&self) -> &Path {
        &self.point
    }

    /// Mounts a tmpfs of `size` (`mount -o size=...`) at `point`, or says
    /// why not on stderr (prefixed with `test`, the caller's name).
    pub fn tmpfs(point: &Path, size: &str, test: &str) -> Option<Mount> {
        std::fs::create_dir_all(point).ok()?;
        let opts = format!("size={size}");
        mount(test, point, &["-t", "tmpfs", "-o", &opts, "tmpfs"])
    }

    /// Binds `source` read-only at `point`, or says why not.
    pub fn read_only_bind(source: &Path, point: &Path, test: &str) -> Option<Mount> {
        std::fs::create_dir_all(point).ok()?;
        let bound = mount(test, point, &["--bind", source.to_str()?])?;
        // Remounting read-only after the bind is what makes a bind mount read-only.
        let status = Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(point)
            .output();
        match status {
            Ok(o) if o.status.success() => Some(bound),
            Ok(o) => {
                eprintln!(
                    "{test}: skipped: cannot remount read-only: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("{test}: skipped: cannot run mount: {e}");
                None
            }
        }
    }
}

fn mount(test: &str, point: &Path, args: &[&str]) -> Option<Mount> {
    match Command::new("mount").args(args).arg(point).output() {
        Ok(o) if o.status.success() => Some(Mount {
            point: point.to_owned(),
        }),
        Ok(o) => {
            eprintln!(
                "{test}: skipped: mount {args:?} failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            None
        }
        Err(e) => {
            eprintln!("{test}: skipped: cannot run mount: {e}");
            None
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        // A process of the test may still be letting go of a file: retry
        // for a bounded while, then detach the mount lazily.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let ok = Command::new("umount")
                .arg(&self.point)
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return;
            }
            if Instant::now() > deadline {
                let _ = Command::new("umount").arg("-l").arg(&self.point).output();
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Fills the filesystem holding `dir` with a ballast file until a write
/// fails for lack of space (at most `limit` bytes); returns its path.
pub fn fill(dir: &Path, limit: u64) -> PathBuf {
    use std::io::Write;
    let path = dir.join("ballast");
    let mut file = std::fs::File::create(&path).expect("ballast file");
    let chunk = vec![0xa5u8; 64 * 1024];
    let mut written = 0u64;
    // Whole chunks until one fails, then single bytes: the disk is full to the byte.
    for size in [chunk.len(), 4096, 1] {
        while written < limit {
            match file.write(&chunk[..size]) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(_) => break,
            }
        }
    }
    let _ = file.sync_all();
    assert!(
        written < limit,
        "the filesystem did not fill up in {limit} bytes"
    );
    path
}

/// Whether this process can create a file in `dir` (root can, whatever
/// the permission bits say).
pub fn can_write(dir: &Path) -> bool {
    let probe = dir.join(".write-probe");
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

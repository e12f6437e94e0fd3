//! One process at a time per ledger directory.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{Result, StoreError};

/// How often a busy lock is tried again before giving up, and the pause between tries.
const RETRIES: u32 = 10;
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(30);

/// An exclusive advisory lock on `DIR/LOCK`, held until dropped. The file
/// holds the holder's process id so that a second opener can name it.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock or fails at once, naming the holder.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        if !dir.is_dir() {
            return Err(StoreError::NotALedger(dir.to_owned()));
        }
        let path = dir.join("LOCK");
        let io = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // A lock just released can stay held for a moment by a child process
        // between fork and exec, which shares the open file: retry briefly.
        let mut attempt = 0;
        let locked = loop {
            match file.try_lock() {
                Err(TryLockError::WouldBlock) if attempt < RETRIES => {
                    attempt += 1;
                    std::thread::sleep(RETRY_PAUSE);
                }
                other => break other,
            }
        };
        match locked {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(held(dir, &mut file)),
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DirLock { _file: file })
    }

    /// Takes a shared lock on `DIR/LOCK` without writing anything, for a
    /// reader of a directory it cannot write: fails, naming the holder,
    /// while a writer holds the directory. `None` when there is no lock
    /// file (no process ever opened the directory for writing).
    pub fn acquire_shared(dir: &Path) -> Result<Option<SharedLock>> {
        let path = dir.join("LOCK");
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        let mut attempt = 0;
        loop {
            match file.try_lock_shared() {
                Ok(()) => return Ok(Some(SharedLock { _file: file })),
                Err(TryLockError::WouldBlock) if attempt < RETRIES => {
                    attempt += 1;
                    std::thread::sleep(RETRY_PAUSE);
                }
                Err(TryLockError::WouldBlock) => return Err(held(dir, &mut file)),
                Err(TryLockError::Error(source)) => return Err(StoreError::Io { path, source }),
            }
        }
    }
}

/// A shared lock on `DIR/LOCK`, held until dropped.
#[derive(Debug)]
pub struct SharedLock {
    _file: File,
}

/// The refusal of a lock `dir`'s `LOCK` file holds, naming the holder by
/// the process id it wrote there.
fn held(dir: &Path, file: &mut File) -> StoreError {
    let mut holder = String::new();
    let _ = file.read_to_string(&mut holder);
    let holder = match holder.trim() {
        "" => "unknown process".to_owned(),
        pid => format!("pid {pid}"),
    };
    StoreError::Locked {
        path: dir.to_owned(),
        holder,
    }
}

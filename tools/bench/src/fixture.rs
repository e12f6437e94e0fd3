//! A fresh ledger on disk and the events the scenarios append to it.
//!
//! Every scenario starts from the same organisation: a founder's genesis
//! with a roster quorum of one, then one top-management member per writer
//! thread, enrolled by the founder. Each benchmark event is then a
//! `roster.propose` of a fresh enrolment by one of those writers: with a
//! quorum of one it applies at once, so any number of them, in any order,
//! are admissible. Every one carries a fresh key and a handle of its own,
//! which makes it a realistic roster event of a few hundred bytes.
//!
//! Enrolments grow the roster by one member per entry, which no real
//! ledger does for long. [`Events::Reaffirm`] is the steady alternative:
//! each writer proposes to keep itself top management, a change that is
//! admissible any number of times and leaves the admission state as it
//! was, as the review events of a long-lived ledger would.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use ed25519_dalek::SigningKey;
use ledger_core::{EventId, Hash, KeyPair, LedgerId, Seq, SignedEvent, UnixMicros};
use ledger_store::{Ledger, Receipt, SledStore, Store, system_clock};
use rand_core::{OsRng, RngCore};
use rayon::prelude::*;
use review::{Genesis, LedgerState, MemberId, MemberRecord, Payload, Policy, Quorum, RosterChange};
use tempfile::TempDir;

/// Which benchmark events to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Events {
    /// `roster.propose` enrolling a fresh member: the roster grows by one
    /// member per entry.
    Enrol,
    /// `roster.propose` keeping the writer top management: the roster stays
    /// as it is.
    Reaffirm,
}

impl Events {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Events::Enrol => "enrol",
            Events::Reaffirm => "reaffirm",
        }
    }
}

/// The ledger writer the scenarios drive.
pub type Writer = Ledger<SledStore, LedgerState>;

/// A ledger in a temporary directory, founded and with its writers enrolled.
pub struct Fixture {
    /// Removed when the fixture (or what [`Fixture::close`] returns) is dropped.
    pub dir: TempDir,
    /// The real writer over the real sled store and the real admission rules.
    pub ledger: Writer,
    /// The genesis entry hash.
    pub ledger_id: LedgerId,
    /// One top-management key per writer thread.
    pub writers: Vec<KeyPair>,
}

impl Fixture {
    /// Entries a fixture holds before any benchmark event: genesis and one
    /// enrolment per writer.
    pub fn setup_entries(writers: usize) -> u64 {
        1 + writers as u64
    }

    /// Creates the ledger under `parent` (the system temp dir by default)
    /// and appends genesis and the writers' enrolments.
    pub fn create(parent: Option<&Path>, writers: usize) -> Result<Fixture> {
        let dir = match parent {
            Some(p) => tempfile::Builder::new().prefix("bench-").tempdir_in(p),
            None => tempfile::Builder::new().prefix("bench-").tempdir(),
        }
        .context("cannot create a temporary directory")?;
        let checkpoint_key = new_key();
        let store = SledStore::create(&dir.path().join("ledger"), &checkpoint_key)?;
        let ledger = Ledger::start(
            store,
            LedgerState::new(),
            checkpoint_key.clone(),
            system_clock(),
        )?;

        let founder = new_key();
        let genesis = Payload::Genesis(Genesis {
            organisation: "Benchmark Holdings Ltd".into(),
            founder: record("founder", "Founding Director", &founder, true)?,
            checkpoint_key: checkpoint_key.public(),
            policy: Policy {
                roster_quorum: Quorum::AtLeast(1),
                ..Policy::default()
            },
        });
        let receipt = append(&ledger, sign(Hash::ZERO, &founder, &genesis))?;
        let ledger_id = receipt.hash;

        let writers: Vec<KeyPair> = (0..writers).map(|_| new_key()).collect();
        for (t, key) in writers.iter().enumerate() {
            let handle = writer_handle(t);
            let change = RosterChange::Enrol(record(handle.as_str(), "Board Director", key, true)?);
            append(
                &ledger,
                sign(ledger_id, &founder, &Payload::Propose(change)),
            )?;
        }
        Ok(Fixture {
            dir,
            ledger,
            ledger_id,
            writers,
        })
    }

    /// The ledger directory.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("ledger")
    }

    /// Up to `limit` stored entries after the setup ones, for measuring the limit.
    pub fn sample(&self, limit: usize) -> Result<Vec<Vec<u8>>> {
        let first = Seq(Self::setup_entries(self.writers.len()));
        let entries = self.ledger.store().range(first, limit)?;
        Ok(entries.into_iter().map(|(_, bytes)| bytes).collect())
    }

    /// Stops the writer and closes the store (releasing the directory
    /// lock), keeping the directory.
    pub fn close(self) -> TempDir {
        let Fixture { dir, ledger, .. } = self;
        ledger.close();
        drop(ledger);
        dir
    }

    /// `count` benchmark events of kind `kind` signed by writer `t`,
    /// numbered from `first` (the numbers make enrolled handles unique),
    /// signed on all cores.
    pub fn events(&self, kind: Events, t: usize, first: u64, count: u64) -> Vec<SignedEvent> {
        let key = &self.writers[t];
        (first..first + count)
            .into_par_iter()
            .map(|i| {
                let change = match kind {
                    Events::Enrol => enrolment(t, i),
                    Events::Reaffirm => RosterChange::SetTopManagement {
                        handle: writer_handle(t),
                        top_management: true,
                    },
                };
                sign(self.ledger_id, key, &Payload::Propose(change))
            })
            .collect()
    }
}

/// Appends and waits until durable.
pub fn append(ledger: &Writer, signed: SignedEvent) -> Result<Receipt> {
    ledger
        .append(signed)
        .map_err(|e| anyhow!("append failed: {e}"))
}

/// Writer `t`'s `i`th enrolment: the fresh member `m{t}-{i}` with a fresh key.
pub(crate) fn enrolment(t: usize, i: u64) -> RosterChange {
    let handle = format!("m{t}-{i}");
    let member = record(&handle, "Information Security Officer", &new_key(), false)
        .expect("generated handles are valid");
    RosterChange::Enrol(member)
}

/// The handle of writer `t`.
fn writer_handle(t: usize) -> MemberId {
    MemberId::new(format!("w{t}")).expect("writer handles are valid")
}

fn record(handle: &str, role: &str, key: &KeyPair, top_management: bool) -> Result<MemberRecord> {
    Ok(MemberRecord {
        handle: MemberId::new(handle).map_err(|e| anyhow!("{e}"))?,
        name: format!("Member {handle} of the Benchmark Board"),
        role: role.into(),
        top_management,
        key: key.public(),
    })
}

/// `payload` by `author` for `ledger`, with a fresh event id, now.
pub(crate) fn sign(ledger: LedgerId, author: &KeyPair, payload: &Payload) -> SignedEvent {
    review::compose(ledger, new_event_id(), author, now(), payload).sign(author)
}

fn new_key() -> KeyPair {
    KeyPair::from_signing_key(SigningKey::generate(&mut OsRng))
}

fn new_event_id() -> EventId {
    let mut id = [0u8; 16];
    OsRng.fill_bytes(&mut id);
    EventId(id)
}

fn now() -> UnixMicros {
    (system_clock())()
}

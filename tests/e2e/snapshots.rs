//! Snapshots of the admission state on a real store: a writer closed
//! cleanly leaves one, opening starts from it and folds only what came
//! after, and a snapshot that is damaged, of another history or ahead of
//! the log is named and never trusted: opening replays every entry instead
//! and reaches the same state.

use std::path::Path;

use e2e::{Org, run};
use ledger_core::LedgerId;
use ledger_store::{Ledger, SledStore, load, replay, system_clock};
use review::LedgerState;

use crate::service::enrol;

/// Roster proposals by member 0, events `first..first + n`.
fn proposals(ledger: &e2e::OpenLedger, org: &Org, id: LedgerId, first: u64, n: u64) {
    for k in first..first + n {
        ledger.append(enrol(org, id, k)).unwrap();
    }
}

/// A ledger of `org` with `n` proposals after founding, closed cleanly.
fn ledger(dir: &Path, org: &Org, n: u64) -> LedgerId {
    let (ledger, id) = org.found(dir).unwrap();
    proposals(&ledger, org, id, 1000, n);
    ledger.close();
    id
}

/// The state and how it was loaded, beside a full replay's.
fn opened(dir: &Path) -> (ledger_store::Loaded, LedgerState, LedgerState) {
    let store = SledStore::open(dir).unwrap();
    let mut loaded_state = LedgerState::new();
    let loaded = load(&store, &mut loaded_state).unwrap();
    let mut replayed = LedgerState::new();
    replay(&store, &mut replayed).unwrap();
    (loaded, loaded_state, replayed)
}

/// The stored state snapshot of the ledger in `dir`.
fn snapshot_of(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("state.snapshot")).unwrap()
}

fn put_snapshot(dir: &Path, bytes: &[u8]) {
    std::fs::write(dir.join("state.snapshot"), bytes).unwrap();
}

#[test]
fn a_clean_close_leaves_a_snapshot_and_opening_folds_only_what_came_after() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ledger");
    let org = Org::new(4);
    let id = ledger(&dir, &org, 6);
    let (loaded, state, replayed) = opened(&dir);
    let size = replayed.size;
    assert_eq!(loaded.from, Some(size), "{:?}", loaded.ignored);
    assert_eq!(state, replayed);

    // Entries appended after a snapshot are folded on top of it: three more
    // appends, then the older snapshot put back in place of the newer one.
    let before = snapshot_of(&dir);
    let store = SledStore::open(&dir).unwrap();
    let key = store.checkpoint_key().unwrap();
    let writer = Ledger::start(store, LedgerState::new(), key, system_clock()).unwrap();
    proposals(&writer, &org, id, 2000, 3);
    writer.close();
    drop(writer);
    put_snapshot(&dir, &before);
    let (loaded, state, replayed) = opened(&dir);
    assert_eq!(loaded.from, Some(size));
    assert_eq!(replayed.size, size + 3);
    assert_eq!(state, replayed, "the snapshot and the three after it");
}

#[test]
fn a_snapshot_that_does_not_match_the_log_is_named_and_never_trusted() {
    let root = tempfile::tempdir().unwrap();
    let org = Org::new(4);
    // Another history of the same organisation (other rotations), and the
    // same history grown longer.
    let other = root.path().join("other");
    {
        let (l, id) = org.found(&other).unwrap();
        proposals(&l, &org, id, 5000, 6);
        l.close();
    }
    let longer = root.path().join("longer");
    ledger(&longer, &org, 9);
    let (other_snapshot, longer_snapshot) = (snapshot_of(&other), snapshot_of(&longer));
    type Damage = Box<dyn Fn(&[u8]) -> Vec<u8>>;
    let cases: Vec<(&str, Damage, &str)> = vec![
        (
            "a flipped byte in the state",
            Box::new(|s| {
                let mut s = s.to_vec();
                let at = s.len() - 10;
                s[at] ^= 1;
                s
            }),
            "its hash does not match",
        ),
        (
            "cut short",
            Box::new(|s| s[..s.len() / 2].to_vec()),
            "does not decode",
        ),
        (
            "of another history",
            Box::new(move |_| other_snapshot.clone()),
            "of another history",
        ),
        (
            "ahead of the log",
            Box::new(move |_| longer_snapshot.clone()),
            "are stored",
        ),
    ];
    for (name, damage, said) in cases {
        let dir = root.path().join(name.replace(' ', "-"));
        ledger(&dir, &org, 6);
        put_snapshot(&dir, &damage(&snapshot_of(&dir)));
        let (loaded, state, replayed) = opened(&dir);
        assert_eq!(loaded.from, None, "{name}: trusted");
        let why = loaded.ignored.unwrap_or_default();
        assert!(why.contains(said), "{name}: {why}");
        assert_eq!(state, replayed, "{name}");
        // The CLI says so, and answers from the entries.
        let (code, out, err) =
            run(&["reviews", "--json", "--ledger", dir.to_str().unwrap()]).unwrap();
        assert_eq!(code, 0, "{name}: {err}");
        assert!(err.contains(said), "{name}: {err}");
        assert!(out.trim_start().starts_with('['), "{name}: {out}");
        // The next clean close stores a good one again.
        let store = SledStore::open(&dir).unwrap();
        let key = store.checkpoint_key().unwrap();
        let writer = Ledger::start(store, LedgerState::new(), key, system_clock()).unwrap();
        proposals(&writer, &org, state.roster.ledger_id.unwrap(), 7000, 1);
        writer.close();
        drop(writer);
        let (loaded, state, replayed) = opened(&dir);
        assert_eq!(loaded.from, Some(replayed.size), "{name}: rebuilt");
        assert_eq!(state, replayed, "{name}");
    }
}

/// A store that counts the entries read from it.
struct Counting {
    inner: SledStore,
    read: std::sync::atomic::AtomicU64,
}

impl Counting {
    fn count(&self, n: usize) {
        self.read
            .fetch_add(n as u64, std::sync::atomic::Ordering::SeqCst);
    }
}

impl ledger_store::Store for Counting {
    fn head(&self) -> ledger_store::Result<ledger_store::Head> {
        self.inner.head()
    }
    fn entry(&self, seq: ledger_core::Seq) -> ledger_store::Result<Option<Vec<u8>>> {
        self.count(1);
        self.inner.entry(seq)
    }
    fn range(
        &self,
        start: ledger_core::Seq,
        limit: usize,
    ) -> ledger_store::Result<Vec<(ledger_core::Seq, Vec<u8>)>> {
        let got = self.inner.range(start, limit)?;
        self.count(got.len());
        Ok(got)
    }
    fn seq_of(&self, id: &ledger_core::EventId) -> ledger_store::Result<Option<ledger_core::Seq>> {
        self.inner.seq_of(id)
    }
    fn node(&self, level: u32, index: u64) -> ledger_store::Result<Option<ledger_core::Hash>> {
        self.inner.node(level, index)
    }
    fn checkpoint(&self) -> ledger_store::Result<Option<String>> {
        self.inner.checkpoint()
    }
    fn witness(&self) -> ledger_store::Result<Option<String>> {
        self.inner.witness()
    }
    fn append(&self, batch: &ledger_store::Batch) -> ledger_store::Result<()> {
        self.inner.append(batch)
    }
    fn snapshot(&self) -> ledger_store::Result<Option<Vec<u8>>> {
        self.inner.snapshot()
    }
}

/// `export` (and `GetBundle`) start from the state snapshot and read the
/// bundle's own entries, not the ledger's: on the demo ledger, the bundle
/// of the first review leaves the second review's entries unread. The
/// bundle is the one a full replay gives, and it verifies.
#[test]
fn an_export_reads_its_own_entries_only() {
    let root = tempfile::tempdir().unwrap();
    let demo = root.path().join("demo");
    let (code, _, err) = run(&["demo", "--dir", demo.to_str().unwrap()]).unwrap();
    assert_eq!(code, 0, "{err}");
    let dir = demo.join("ledger");
    let store = Counting {
        inner: SledStore::open(&dir).unwrap(),
        read: Default::default(),
    };
    let review = review::ReviewId::new("mr-prev").unwrap();
    let bundle = service::export::bundle(&store, &review).unwrap();
    let read = store.read.load(std::sync::atomic::Ordering::SeqCst);
    let size = ledger_store::Store::head(&store.inner).unwrap().size;
    // The snapshot's first and last entries are read to check it against
    // the log; the rest are the bundle's.
    assert!(
        read <= bundle.entries.len() as u64 + 2,
        "read {read} entries for a bundle of {} in a ledger of {size}",
        bundle.entries.len()
    );
    assert!(
        bundle.entries.len() as u64 + 10 < size,
        "the demo has a second review"
    );

    let mut state = LedgerState::new();
    replay(&store.inner, &mut state).unwrap();
    let replayed = service::export::bundle_of(&store.inner, &state, &review).unwrap();
    assert_eq!(bundle, replayed, "the same bundle as from a full replay");
    let (report, _) = review::bundle::verify(
        &bundle,
        state.roster.ledger_id.unwrap(),
        review::Date::parse("as_of", "2026-01-15").unwrap(),
    )
    .unwrap();
    assert_eq!(report.entries, bundle.entries.len());
}

//! One suite, two stores: what every `Store` must do, run on sled in a
//! temporary directory and on PostgreSQL in a cluster of its own (skipped,
//! saying so, where the server binaries are missing), then what only the
//! PostgreSQL store has: one writer per ledger, tables that refuse changes
//! in place, several ledgers in one database, and a ledger moved from sled.

use std::path::Path;

use e2e::{Org, event_id};
use ledger_core::{Checkpoint, Entry, Event, Seq, merkle};
use ledger_pg::cluster::Postgres;
use ledger_pg::{Access, PgStore, StoreUrl};
use ledger_store::{Batch, SledStore, Store, StoreError, StoreNodes, verify};
use review::LedgerState;

/// Members of the suite's organisation: 2 * 40 - 2 entries, several of the
/// PostgreSQL store's statements and more than one leaf of every level of
/// the tree up to 64.
const MEMBERS: usize = 40;

/// The cluster, or `None` after saying the test was skipped.
fn postgres(test: &str) -> Option<Postgres> {
    e2e::postgres(test, Postgres::start)
}

fn url(text: &str) -> StoreUrl {
    text.parse().expect("store address")
}

/// What every store must do, on a store that `create` makes empty and
/// `open` opens again once the first is dropped.
fn suite<S: Store>(create: impl FnOnce() -> S, open: impl FnOnce() -> S) {
    let org = Org::new(MEMBERS);
    let (ledger, id) = org.found_in(create()).expect("found the ledger");
    let store = ledger.store().clone();
    let head = store.head().unwrap();
    let size = (2 * MEMBERS - 2) as u64;
    assert_eq!(head.size, size);

    // Entries read back whole, in order, one by one and by event id.
    let all = store.range(Seq(0), 1000).unwrap();
    assert_eq!(all.len() as u64, size);
    let mut tree = ledger_core::MemoryTree::default();
    for (i, (seq, bytes)) in all.iter().enumerate() {
        assert_eq!(seq.0, i as u64);
        assert_eq!(
            store.entry(*seq).unwrap().as_deref(),
            Some(bytes.as_slice())
        );
        let entry = Entry::decode(bytes).unwrap();
        let event = Event::decode(&entry.event).unwrap();
        assert_eq!(store.seq_of(&event.id).unwrap(), Some(*seq));
        tree.push(&ledger_core::hash_entry_bytes(bytes));
    }
    assert_eq!(store.range(Seq(10), 5).unwrap(), all[10..15].to_vec());
    assert!(store.range(Seq(size), 5).unwrap().is_empty());
    assert_eq!(store.entry(Seq(size)).unwrap(), None);
    assert_eq!(store.seq_of(&event_id(10_000)).unwrap(), None);

    // The stored tree proves every entry against the signed checkpoint.
    let note = store.checkpoint().unwrap().expect("a checkpoint");
    assert_eq!(store.end().unwrap(), (head.clone(), Some(note.clone())));
    let cp = Checkpoint::verify(&note, &org.checkpoint.public()).unwrap();
    assert_eq!((cp.size, cp.root, cp.head), (size, tree.root(), head.hash));
    for (seq, bytes) in &all {
        let leaf = ledger_core::hash_entry_bytes(bytes);
        let proof = merkle::prove_inclusion(&StoreNodes(&*store), seq.0, size).unwrap();
        merkle::verify_inclusion(&leaf, &proof, &cp.root).unwrap();
    }

    // A batch that does not start at the stored end is refused and
    // changes nothing.
    let stray = Batch {
        entries: vec![(Seq(size + 1), event_id(10_001), all[1].1.clone())],
        head: ledger_store::Head {
            size: size + 2,
            ..head.clone()
        },
        checkpoint: note.clone(),
        ..Batch::default()
    };
    let refused = store.append(&stray).unwrap_err();
    assert!(refused.to_string().contains("another writer"), "{refused}");
    assert_eq!(store.head().unwrap(), head);
    assert_eq!(store.entry(Seq(size + 1)).unwrap(), None);
    assert_eq!(store.seq_of(&event_id(10_001)).unwrap(), None);
    drop(store);
    ledger.close();
    drop(ledger);

    // Everything is there once opened again, and verifies as a whole.
    let store = open();
    assert_eq!(store.head().unwrap(), head);
    assert_eq!(store.checkpoint().unwrap(), Some(note));
    assert_eq!(store.range(Seq(0), 1000).unwrap(), all);
    // One index record an entry; a node for every perfect subtree.
    let nodes = (0..64).map(|level| size >> level).sum();
    assert_eq!(store.derived_counts().unwrap(), Some((size, nodes)));
    let report = verify(&store, LedgerState::new(), Some(id), &mut |_, _| {}).unwrap();
    assert!(report.fault.is_none(), "{:?}", report.fault);
    assert_eq!(report.entries, size);

    // The snapshot record is replaced whole.
    store.put_snapshot(b"first").unwrap();
    assert_eq!(store.snapshot().unwrap().as_deref(), Some(&b"first"[..]));
    store.put_snapshot(b"second").unwrap();
    assert_eq!(store.snapshot().unwrap().as_deref(), Some(&b"second"[..]));
}

#[test]
fn sled_keeps_what_every_store_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let org = Org::new(MEMBERS);
    suite(
        || SledStore::create(dir.path(), &org.checkpoint).unwrap(),
        || SledStore::open(dir.path()).unwrap(),
    );
}

#[test]
fn postgres_keeps_what_every_store_keeps() {
    let Some(pg) = postgres("postgres_keeps_what_every_store_keeps") else {
        return;
    };
    let db = url(&pg.database().unwrap());
    let org = Org::new(MEMBERS);
    suite(
        || PgStore::create(&db, &org.checkpoint).unwrap(),
        || PgStore::open(&db, None, Access::Write).unwrap(),
    );
}

#[test]
fn a_postgres_ledger_has_one_writer_at_a_time() {
    let Some(pg) = postgres("a_postgres_ledger_has_one_writer_at_a_time") else {
        return;
    };
    let db = url(&pg.database().unwrap());
    let org = Org::new(3);
    let (ledger, id) = org
        .found_in(PgStore::create(&db, &org.checkpoint).unwrap())
        .unwrap();
    let busy = PgStore::open(&db, Some(id), Access::Write)
        .err()
        .expect("a second writer");
    match &busy {
        StoreError::Busy { ledger, holder, .. } => {
            assert_eq!(ledger, &id.to_hex());
            assert!(holder.contains("review-ledger"), "{holder}");
        }
        other => panic!("not Busy: {other}"),
    }
    // Readers are not writers: they open, read and cannot append.
    let reader = PgStore::open(&db, Some(id), Access::Read).unwrap();
    assert_eq!(reader.head().unwrap(), ledger.store().head().unwrap());
    let refused = reader
        .append(&Batch::default())
        .expect_err("a reader appends nothing");
    assert!(matches!(refused, StoreError::ReadOnly { .. }), "{refused}");
    // Once the writer is gone, the next one takes the lock.
    ledger.close();
    drop(ledger);
    let next = PgStore::open(&db, Some(id), Access::Write).unwrap();
    assert_eq!(next.head().unwrap(), reader.head().unwrap());
}

#[test]
fn postgres_refuses_to_change_entries_in_place() {
    let Some(pg) = postgres("postgres_refuses_to_change_entries_in_place") else {
        return;
    };
    let text = pg.database().unwrap();
    let org = Org::new(3);
    let (ledger, _) = org
        .found_in(PgStore::create(&url(&text), &org.checkpoint).unwrap())
        .unwrap();
    let before = ledger.store().range(Seq(0), 100).unwrap();
    let mut client = postgres::Client::connect(&text, postgres::NoTls).unwrap();
    for sql in [
        "UPDATE rl_entries SET entry = '\\x00' WHERE seq = 1",
        "DELETE FROM rl_entries WHERE seq = 1",
        "TRUNCATE rl_entries CASCADE",
        "UPDATE rl_nodes SET hash = hash WHERE level = 0",
        "DELETE FROM rl_event_ids",
        "TRUNCATE rl_nodes",
    ] {
        let err = client.batch_execute(sql).expect_err(sql);
        let message = err
            .as_db_error()
            .map(|d| d.message().to_owned())
            .unwrap_or_default();
        assert!(
            message.contains("never changed in place"),
            "{sql}: {message}"
        );
    }
    assert_eq!(ledger.store().range(Seq(0), 100).unwrap(), before);
}

#[test]
fn one_database_holds_several_ledgers() {
    let Some(pg) = postgres("one_database_holds_several_ledgers") else {
        return;
    };
    let db = url(&pg.database().unwrap());
    let (small, large) = (Org::new(3), Org::new(5));
    let (a, a_id) = small
        .found_in(PgStore::create(&db, &small.checkpoint).unwrap())
        .unwrap();
    let (b, b_id) = large
        .found_in(PgStore::create(&db, &large.checkpoint).unwrap())
        .unwrap();
    assert_eq!(PgStore::ledgers(&db).unwrap(), vec![a_id, b_id]);
    let which = PgStore::open(&db, None, Access::Read)
        .err()
        .expect("ambiguous");
    let which = which.to_string();
    assert!(
        which.contains("holds 2 ledgers") && which.contains(&b_id.to_hex()),
        "{which}"
    );
    for (id, ledger, size) in [(a_id, &a, 4), (b_id, &b, 8)] {
        let store = PgStore::open(&db, Some(id), Access::Read).unwrap();
        assert_eq!(store.head().unwrap().size, size);
        assert_eq!(store.head().unwrap(), ledger.store().head().unwrap());
        let report = verify(&store, LedgerState::new(), Some(id), &mut |_, _| {}).unwrap();
        assert!(report.fault.is_none(), "{:?}", report.fault);
    }
}

/// A sled ledger of `org` in `dir`, closed.
fn sled_ledger(org: &Org, dir: &Path) -> ledger_core::LedgerId {
    let (ledger, id) = org.found(dir).unwrap();
    ledger.close();
    id
}

#[test]
fn a_sled_ledger_moves_to_postgres_and_verifies_the_same() {
    let Some(pg) = postgres("a_sled_ledger_moves_to_postgres_and_verifies_the_same") else {
        return;
    };
    let db = url(&pg.database().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let org = Org::new(MEMBERS);
    let id = sled_ledger(&org, dir.path());
    let sled = SledStore::open(dir.path()).unwrap();
    let mut seen = 0;
    let moved = PgStore::import(&db, &sled, &sled.checkpoint_key().unwrap(), &mut |n, _| {
        seen = n
    })
    .unwrap();
    assert_eq!(seen, sled.head().unwrap().size);
    assert_eq!(moved.head().unwrap(), sled.head().unwrap());
    assert_eq!(moved.checkpoint().unwrap(), sled.checkpoint().unwrap());
    assert_eq!(
        moved.range(Seq(0), 1000).unwrap(),
        sled.range(Seq(0), 1000).unwrap()
    );
    assert_eq!(
        moved.checkpoint_key().unwrap().public(),
        org.checkpoint.public()
    );
    let report = verify(&moved, LedgerState::new(), Some(id), &mut |_, _| {}).unwrap();
    assert!(report.fault.is_none(), "{:?}", report.fault);
    assert_eq!(PgStore::ledgers(&db).unwrap(), vec![id]);
    drop(moved);

    // The same ledger twice is refused.
    let again = PgStore::import(&db, &sled, &org.checkpoint, &mut |_, _| {})
        .err()
        .expect("a second copy");
    assert!(
        again.to_string().contains("already holds ledger"),
        "{again}"
    );
}

/// A sled store whose entry `bad` reads with one byte flipped: a damaged
/// source.
struct Damaged {
    sled: SledStore,
    bad: u64,
}

impl Store for Damaged {
    fn head(&self) -> ledger_store::Result<ledger_store::Head> {
        self.sled.head()
    }
    fn entry(&self, seq: Seq) -> ledger_store::Result<Option<Vec<u8>>> {
        self.sled.entry(seq)
    }
    fn range(&self, start: Seq, limit: usize) -> ledger_store::Result<Vec<(Seq, Vec<u8>)>> {
        let mut out = self.sled.range(start, limit)?;
        for (seq, bytes) in &mut out {
            if seq.0 == self.bad {
                let last = bytes.len() - 1;
                bytes[last] ^= 1;
            }
        }
        Ok(out)
    }
    fn seq_of(&self, id: &ledger_core::EventId) -> ledger_store::Result<Option<Seq>> {
        self.sled.seq_of(id)
    }
    fn node(&self, level: u32, index: u64) -> ledger_store::Result<Option<ledger_core::Hash>> {
        self.sled.node(level, index)
    }
    fn checkpoint(&self) -> ledger_store::Result<Option<String>> {
        self.sled.checkpoint()
    }
    fn witness(&self) -> ledger_store::Result<Option<String>> {
        self.sled.witness()
    }
    fn append(&self, batch: &Batch) -> ledger_store::Result<()> {
        self.sled.append(batch)
    }
}

#[test]
fn a_damaged_ledger_is_not_moved_and_leaves_nothing_behind() {
    let Some(pg) = postgres("a_damaged_ledger_is_not_moved_and_leaves_nothing_behind") else {
        return;
    };
    let db = url(&pg.database().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let org = Org::new(MEMBERS);
    sled_ledger(&org, dir.path());
    let damaged = Damaged {
        sled: SledStore::open(dir.path()).unwrap(),
        bad: 50,
    };
    let refused = PgStore::import(&db, &damaged, &org.checkpoint, &mut |_, _| {})
        .err()
        .expect("a damaged entry");
    assert!(refused.to_string().contains("entry #50"), "{refused}");
    assert!(PgStore::ledgers(&db).unwrap().is_empty());
}

/// `verify --json` without the fields that say where the ledger was.
fn verdict(args: &[&str]) -> serde_json::Value {
    let (mut v, _) = e2e::rl(args, 0);
    if let Some(o) = v.as_object_mut() {
        o.remove("trusted_state");
        o.remove("warnings");
    }
    v
}

#[test]
fn the_binary_moves_the_demo_to_postgres_and_verifies_it_there() {
    let Some(pg) = postgres("the_binary_moves_the_demo_to_postgres_and_verifies_it_there") else {
        return;
    };
    let db = pg.database().unwrap();
    // A password the server does not need, to see it is never printed.
    let with_password = db.replacen("ledger@", "ledger:s3cret-pw@", 1);
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    e2e::rl(&["demo", "--dir", demo.to_str().unwrap()], 0);
    let ledger = demo.join("ledger");
    let ledger = ledger.to_str().unwrap();
    let (v, _) = e2e::rl(&["verify", "--ledger", ledger, "--json"], 0);
    let id = v["ledger_id"].as_str().unwrap().to_owned();

    let (moved, text) = e2e::rl(
        &[
            "migrate",
            "--from",
            ledger,
            "--to",
            &with_password,
            "--json",
        ],
        0,
    );
    assert!(!text.contains("s3cret-pw"), "{text}");
    assert_eq!(moved["ledger_id"], id.as_str());
    assert_eq!(moved["valid"], true);
    assert_eq!(moved["entries"], v["entries"]);

    // The copy gives the same verdict, whole and on a review.
    let state = tmp.path().join("trusted.json");
    let state = state.to_str().unwrap();
    let here = verdict(&["verify", "--ledger", ledger, "--json"]);
    let there = verdict(&[
        "verify",
        "--store",
        &with_password,
        "--trust",
        &id,
        "--state",
        state,
        "--json",
    ]);
    assert_eq!(here, there);
    let (reviews, _) = e2e::rl(&["reviews", "--ledger", ledger, "--json"], 0);
    let review = reviews.as_array().and_then(|r| r.last()).expect("a review")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let here = verdict(&["verify", "--ledger", ledger, "--review", &review, "--json"]);
    let (there, text) = e2e::rl(
        &[
            "verify",
            "--store",
            &db,
            "--ledger-id",
            &id,
            "--review",
            &review,
            "--json",
        ],
        0,
    );
    assert!(!text.contains("s3cret-pw"));
    assert_eq!(here, there);

    // The same ledger twice is refused, the password still unsaid.
    let (code, stdout, stderr) =
        e2e::run(&["migrate", "--from", ledger, "--to", &with_password]).unwrap();
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("already holds ledger"), "{stderr}");
    assert!(!(stdout + &stderr).contains("s3cret-pw"));
    // A ledger id the database does not hold is named.
    let other = "ab".repeat(32);
    refused(
        &["verify", "--store", &db, "--ledger-id", &other],
        &format!("holds no ledger {other}"),
    );
}

#[test]
fn the_demo_and_every_local_command_run_on_postgres() {
    let Some(pg) = postgres("the_demo_and_every_local_command_run_on_postgres") else {
        return;
    };
    let db = pg.database().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    let demo = demo.to_str().unwrap();
    let (v, _) = e2e::rl(&["demo", "--dir", demo, "--store", &db, "--json"], 0);
    assert_eq!(v["valid"], true, "{v}");
    let id = v["ledger_id"].as_str().unwrap().to_owned();
    let entries = v["entries"].as_u64().unwrap();
    let review = v["review"].as_str().unwrap().to_owned();
    // Run again, it leaves the ledger alone.
    let (again, _) = e2e::rl(&["demo", "--dir", demo, "--store", &db, "--json"], 0);
    assert_eq!(again["already_exists"], true);
    assert_eq!(again["entries"], entries);

    let at = ["--store", db.as_str(), "--json"];
    let read = |args: &[&str]| e2e::rl(&[args, &at[..]].concat(), 0).0;
    assert_eq!(read(&["reviews"]).as_array().unwrap().len(), 2);
    assert_eq!(
        read(&["member", "list"])["members"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(read(&["checkpoint"])["size"], entries);
    assert_eq!(
        read(&["log", "--from", "0", "--limit", "5"])
            .as_array()
            .unwrap()
            .len(),
        5
    );
    read(&["prove", "--seq", "1"]);
    read(&["agenda", "--review", &review]);
    read(&["check", "--review", &review]);
    let minutes = read(&["minutes", "show", "--review", &review]);
    assert!(minutes["digest"].is_string(), "{minutes}");
    let bundle = tmp.path().join("bundle.json");
    let bundle = bundle.to_str().unwrap();
    e2e::rl(
        &[
            "export", "--store", &db, "--review", &review, "--out", bundle,
        ],
        0,
    );
    let (checked, _) = e2e::rl(&["verify-bundle", bundle, "--trust", &id, "--json"], 0);
    assert_eq!(checked["valid"], true, "{checked}");

    // An append through --store, by the action's owner.
    let isms = format!("{demo}/keys/isms.pem");
    let (update, _) = e2e::rl(
        &[
            "action",
            "update",
            "--store",
            &db,
            "--key",
            &isms,
            "--action",
            "cur-a1",
            "--status",
            "in-progress",
            "--note",
            "Half done.",
            "--json",
        ],
        0,
    );
    assert_eq!(update["kind"], "action.update", "{update}");
    let (v, _) = e2e::rl(&["verify", "--store", &db, "--trust", &id, "--json"], 0);
    assert_eq!(
        (v["valid"].clone(), v["entries"].as_u64()),
        (true.into(), Some(entries + 1))
    );

    // While a server writes the ledger, a local append is refused, naming it.
    let server = crate::service::Server::start(&[], "127.0.0.1:0", &["--store", &db]);
    refused(
        &[
            "action",
            "update",
            "--store",
            &db,
            "--key",
            &isms,
            "--action",
            "cur-a1",
            "--status",
            "completed",
            "--note",
            "Done.",
        ],
        "being written by another process",
    );
    assert!(server.stop().success());
    // Readers are not writers: a read while a server writes works.
    let _server = crate::service::Server::start(&[], "127.0.0.1:0", &["--store", &db]);
    assert_eq!(read(&["checkpoint"])["size"], entries + 1);
    // Repair is for directories, and says so.
    refused(&["repair", "--store", &db], "refuse changes in place");
}

#[test]
fn init_founds_a_ledger_in_a_database_beside_another() {
    let Some(pg) = postgres("init_founds_a_ledger_in_a_database_beside_another") else {
        return;
    };
    let db = pg.database().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("ceo.pem");
    let key = key.to_str().unwrap();
    e2e::rl(&["key", "new", "--out", key, "--name", "Ada Okafor"], 0);
    let found = |org: &str| {
        e2e::rl(
            &[
                "init",
                "--store",
                &db,
                "--org",
                org,
                "--key",
                key,
                "--id",
                "ceo",
                "--name",
                "Ada Okafor",
                "--role",
                "Chief Executive",
                "--json",
            ],
            0,
        )
        .0["ledger_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first = found("Example Ltd");
    let second = found("Example Holdings");
    assert_ne!(first, second);
    // With two ledgers, a command must name one.
    let stderr = refused(&["member", "list", "--store", &db], "holds 2 ledgers");
    assert!(stderr.contains(&second), "{stderr}");
    for (id, org) in [(&first, "Example Ltd"), (&second, "Example Holdings")] {
        let (v, _) = e2e::rl(
            &[
                "member",
                "list",
                "--store",
                &db,
                "--ledger-id",
                id,
                "--json",
            ],
            0,
        );
        assert_eq!(v["organisation"], org, "{v}");
    }
    // A server hosts the ledgers it is told to, or every one.
    let only = crate::service::Server::start(
        &[],
        "127.0.0.1:0",
        &["--store", &db, "--ledger-id", &second],
    );
    let every = crate::service::Server::start(&[], "127.0.0.1:0", &["--store", &db]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listed = |server: &crate::service::Server| {
        let mut ids: Vec<String> = runtime.block_on(async {
            server
                .ledger()
                .await
                .list_ledgers(service::pb::ListLedgersRequest {})
                .await
                .unwrap()
                .into_inner()
                .ledgers
                .into_iter()
                .map(|l| l.ledger_id)
                .collect()
        });
        ids.sort();
        ids
    };
    assert_eq!(listed(&only), vec![second.clone()]);
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(listed(&every), both);
    refused(
        &["serve", "--store", &db, "--ledger-id", &"cd".repeat(32)],
        "holds no ledger",
    );
    // A reader creates nothing: an empty database stays empty.
    let empty = pg.database().unwrap();
    refused(
        &["verify", "--store", &empty],
        "holds no review-ledger tables",
    );
    let mut client = postgres::Client::connect(&empty, postgres::NoTls).unwrap();
    let created: bool = client
        .query_one("SELECT to_regclass('rl_schema') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(!created, "a reader created the schema");
}

/// Runs the binary expecting a refusal (exit 2) that says `phrase`;
/// returns its stderr.
fn refused(args: &[&str], phrase: &str) -> String {
    let (code, stdout, stderr) = e2e::run(args).unwrap();
    assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
    assert!(stderr.contains(phrase), "{args:?}: {stderr}");
    stderr
}

/// A certificate authority and a certificate it issued for `names`, in PEM:
/// (the authority's certificate, the leaf's certificate, the leaf's key).
fn issued(names: &[&str]) -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let leaf = rcgen::CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    (ca_cert.pem(), leaf.pem(), key.serialize_pem())
}

#[test]
fn the_database_is_reached_over_verified_tls_when_the_address_asks() {
    let (ca, cert_pem, key_pem) = issued(&["127.0.0.1", "localhost"]);
    let tls = ledger_pg::cluster::ServerTls { cert_pem, key_pem };
    let test = "the_database_is_reached_over_verified_tls_when_the_address_asks";
    let Some(pg) = e2e::postgres(test, || Postgres::start_tls(tls)) else {
        return;
    };
    // The cluster takes TCP connections only over TLS, so a store that opens
    // at all was reached over TLS.
    let db = pg.database().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let ca_file = file("ca.pem", &ca);
    let (other_ca, _, _) = issued(&["127.0.0.1"]);
    let other_ca_file = file("other-ca.pem", &other_ca);
    let not_pem = file("not-pem.txt", "not a certificate\n");
    let with = |query: &str| format!("{db}?{query}");

    let org = Org::new(3);
    let verified = with(&format!("sslmode=verify-full&sslrootcert={ca_file}"));
    assert!(url(&verified).encrypted());
    let (ledger, id) = org
        .found_in(PgStore::create(&url(&verified), &org.checkpoint).unwrap())
        .unwrap();
    ledger.close();
    drop(ledger);
    // `require` verifies as much as `verify-full`, and other parameters of
    // the address still reach the driver.
    let required = with(&format!(
        "application_name=auditor&sslmode=require&sslrootcert={ca_file}"
    ));
    let reads = PgStore::open(&url(&required), Some(id), Access::Read).unwrap();
    let report = verify(&reads, LedgerState::new(), Some(id), &mut |_, _| {}).unwrap();
    assert!(report.fault.is_none(), "{:?}", report.fault);
    drop(reads);
    // The binary takes the same address.
    let trust = id.to_hex();
    let (v, _) = e2e::rl(
        &["verify", "--store", &verified, "--trust", &trust, "--json"],
        0,
    );
    assert_eq!(v["valid"], true, "{v}");

    // Refused: each names what is wrong.
    for (query, phrase) in [
        (
            format!("sslmode=verify-full&sslrootcert={other_ca_file}"),
            "invalid peer certificate",
        ),
        ("sslmode=disable".to_owned(), "no encryption"),
        (String::new(), "no encryption"),
    ] {
        let address = match query.is_empty() {
            true => db.clone(),
            false => with(&query),
        };
        let err = PgStore::open(&url(&address), Some(id), Access::Read)
            .err()
            .unwrap_or_else(|| panic!("{query}: opened"))
            .to_string();
        assert!(err.contains(phrase), "{query}: {err}");
    }
    for (query, phrase) in [
        (
            format!("sslmode=require&sslrootcert={not_pem}"),
            "not-pem.txt",
        ),
        (
            format!(
                "sslmode=require&sslrootcert={}",
                tmp.path().join("absent.pem").display()
            ),
            "absent.pem",
        ),
        ("sslmode=always".to_owned(), "sslmode \"always\""),
    ] {
        let err = with(&query).parse::<StoreUrl>().err().unwrap().to_string();
        assert!(err.contains(phrase), "{query}: {err}");
    }
    // A certificate for another name, from a trusted authority, is
    // refused; so is a server without TLS when the address asks for it.
    drop(pg);
    let (ca, cert_pem, key_pem) = issued(&["db.example"]);
    let ca_file = file("ca2.pem", &ca);
    let renamed = Postgres::start_tls(ledger_pg::cluster::ServerTls { cert_pem, key_pem }).unwrap();
    let plain = Postgres::start().unwrap();
    for (pg, mode, phrase) in [
        (&renamed, "verify-full", "not valid for name"),
        (&plain, "require", "does not support TLS"),
    ] {
        let db = pg.database().unwrap();
        let address = format!("{db}?sslmode={mode}&sslrootcert={ca_file}");
        let err = PgStore::create(&url(&address), &org.checkpoint)
            .err()
            .unwrap_or_else(|| panic!("{address}: opened"))
            .to_string();
        assert!(err.contains(phrase), "{address}: {err}");
    }
}

//! [`PgStore`]: one ledger in a PostgreSQL database.
//!
//! | table | row | changed in place |
//! | --- | --- | --- |
//! | `rl_ledgers` | a ledger: its id (set by its genesis batch) and checkpoint key | the id, once |
//! | `rl_entries` | `(ledger, seq)`: the canonical entry bytes | never (a trigger refuses) |
//! | `rl_event_ids` | `(ledger, event id)`: the entry's seq | never (a trigger refuses) |
//! | `rl_nodes` | `(ledger, level, idx)`: a Merkle node | never (a trigger refuses) |
//! | `rl_ends` | the head and the latest signed checkpoint | each batch |
//! | `rl_snapshots` | the state snapshot record | each snapshot |
//!
//! A batch is one transaction: its entries, index rows, nodes, head and
//! checkpoint commit together or not at all, on a session with
//! `synchronous_commit` on, so that [`Store::append`] returns only once the
//! commit is durable. The transaction first locks the ledger's end row and
//! refuses a batch that does not start where the stored head ends: two
//! writers can never interleave, even one that lost its lock unknowingly.
//!
//! A store opened with [`Access::Write`] holds the session-level advisory
//! lock of its ledger for as long as it lives: one writer per ledger,
//! whichever process or server it runs in. When the session ends (the
//! process died, the connection broke), PostgreSQL releases the lock and
//! another process may take it. A store whose connection broke connects
//! again at its next call and takes the lock again, or says who holds it.

use std::sync::Mutex;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ledger_core::{
    Chain, EventId, Frontier, Hash, KeyPair, LedgerId, Seq, codec, entry::verify_entries,
};
use ledger_store::{Batch, Head, Store, StoreError};
use postgres::{Client, NoTls, Transaction};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::schema;
use crate::tls::Tls;
use crate::url::StoreUrl;

type Result<T> = std::result::Result<T, StoreError>;

/// The first key of every ledger's advisory lock (the second is the
/// ledger's row id): "RLWR".
const LOCK_CLASS: i32 = 0x524c_5752;

/// Entries a statement or an import step carries at most.
const CHUNK: usize = 2048;

/// How long a connection attempt may take, unless the address says.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a store is opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reading and verifying: no lock, appends refused.
    Read,
    /// Appending: the ledger's writer lock is held while the store lives.
    Write,
}

/// One ledger in a PostgreSQL database.
pub struct PgStore {
    url: StoreUrl,
    /// The ledger's row in `rl_ledgers`.
    row: i64,
    access: Access,
    /// `None` after the connection broke, until the next call connects again.
    client: Mutex<Option<Session>>,
}

/// A connection, and whether it holds the ledger's writer lock.
struct Session {
    client: Client,
    locked: bool,
}

impl PgStore {
    /// Creates a new ledger in the database at `url` (creating or migrating
    /// its tables first), with `checkpoint_key` as its checkpoint key, and
    /// opens it for writing. Its id is set by its genesis batch.
    pub fn create(url: &StoreUrl, checkpoint_key: &KeyPair) -> Result<PgStore> {
        let mut client = connect(url, Access::Write)?;
        let pem = pem(url, checkpoint_key)?;
        let row: i64 = client
            .query_one(
                "INSERT INTO rl_ledgers (checkpoint_key) VALUES ($1) RETURNING id",
                &[&pem],
            )
            .map_err(|e| engine(url, &e))?
            .get(0);
        PgStore::hold(url, client, row, Access::Write)
    }

    /// Opens the ledger `ledger` of the database at `url`, or its only
    /// ledger when `ledger` is `None`. With [`Access::Write`] it takes the
    /// ledger's writer lock, or says who holds it.
    pub fn open(url: &StoreUrl, ledger: Option<LedgerId>, access: Access) -> Result<PgStore> {
        let mut client = connect(url, access)?;
        let row = find(url, &mut client, ledger)?;
        PgStore::hold(url, client, row, access)
    }

    /// The ids of the ledgers the database at `url` holds, oldest first.
    pub fn ledgers(url: &StoreUrl) -> Result<Vec<LedgerId>> {
        let mut client = session(url)?;
        if !schema::exists(&mut client).map_err(|message| StoreError::Engine {
            store: url.to_string(),
            message,
        })? {
            return Ok(Vec::new());
        }
        prepare(url, &mut client, Access::Read)?;
        ledger_ids(url, &mut client)
    }

    /// The database, without its password.
    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// The ledger's checkpoint key, which the database keeps (so that any
    /// server of the database can sign checkpoints once it holds the lock).
    pub fn checkpoint_key(&self) -> Result<KeyPair> {
        let text: String = self.with_client(|c| {
            Ok(c.query_one(
                "SELECT checkpoint_key FROM rl_ledgers WHERE id = $1",
                &[&self.row],
            )?
            .get(0))
        })?;
        let key = SigningKey::from_pkcs8_pem(&text).map_err(|e| StoreError::Damaged {
            what: "checkpoint key".into(),
            reason: format!("not a PKCS#8 PEM ed25519 private key: {e}"),
        })?;
        Ok(KeyPair::from_signing_key(key))
    }

    /// Copies every entry of `source` into a new ledger of the database at
    /// `url`, in one transaction, checking as it goes what a verifier
    /// checks of each entry on its own and of the chain: it decodes, its
    /// signature verifies, it links to the one before. The Merkle nodes,
    /// the event-id index and the head are derived here again from the
    /// entries, and the head must be the source's; the source's signed
    /// checkpoint and state snapshot are copied as they are. A ledger the
    /// database already holds is refused. `progress` is told the entries
    /// copied and the total. The admission rules are not replayed here:
    /// `verify` does that, on the source before and the copy after.
    pub fn import<S: Store + ?Sized>(
        url: &StoreUrl,
        source: &S,
        checkpoint_key: &KeyPair,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<PgStore> {
        let head = source.head()?;
        let checkpoint = source.checkpoint()?.ok_or_else(|| StoreError::Damaged {
            what: "checkpoint".into(),
            reason: "the source stores none".into(),
        })?;
        let mut client = connect(url, Access::Write)?;
        let pem = pem(url, checkpoint_key)?;
        let row = {
            let mut tx = client.transaction().map_err(|e| engine(url, &e))?;
            let row = copy(url, &mut tx, source, &head, &checkpoint, &pem, progress)?;
            tx.commit().map_err(|e| engine(url, &e))?;
            row
        };
        PgStore::hold(url, client, row, Access::Write)
    }

    /// The store of ledger `row` on `client`, which takes the writer lock
    /// first for [`Access::Write`].
    fn hold(url: &StoreUrl, mut client: Client, row: i64, access: Access) -> Result<PgStore> {
        let locked = access == Access::Write;
        if locked {
            lock(url, &mut client, row)?;
        }
        Ok(PgStore {
            url: url.clone(),
            row,
            access,
            client: Mutex::new(Some(Session { client, locked })),
        })
    }

    /// Runs `f` on the connection, connecting again if the last call broke
    /// it; with `write`, on a session that holds the ledger's writer lock
    /// (taken again after a reconnection, or refused naming its holder).
    /// Reads never wait for the lock: a writer whose lock another process
    /// took after a broken connection still serves reads.
    fn session<T>(&self, write: bool, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let mut guard = self.client.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let client = connect(&self.url, self.access)?;
            *guard = Some(Session {
                client,
                locked: false,
            });
        }
        let session = guard.as_mut().expect("connected above");
        let out = match write && !session.locked {
            true => lock(&self.url, &mut session.client, self.row).map(|()| session.locked = true),
            false => Ok(()),
        }
        .and_then(|()| f(&mut session.client));
        if session.client.is_closed() {
            *guard = None;
        }
        out
    }

    /// [`PgStore::session`] for reads.
    fn with_client<T>(
        &self,
        f: impl FnOnce(&mut Client) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        self.session(false, |c| f(c).map_err(|e| engine(&self.url, &e)))
    }

    /// Writes `batch` in `tx`, refusing one that does not start at the
    /// stored end.
    fn write(&self, tx: &mut Transaction<'_>, batch: &Batch) -> Result<()> {
        let start = batch.start();
        let stored = tx
            .query_opt(
                "SELECT head FROM rl_ends WHERE ledger = $1 FOR UPDATE",
                &[&self.row],
            )
            .map_err(|e| engine(&self.url, &e))?
            .map(|r| decode_head(r.get(0)))
            .transpose()?
            .map_or(0, |h| h.size);
        batch.check_start(stored)?;
        let entries: Vec<(Seq, EventId, &[u8])> = batch
            .entries
            .iter()
            .map(|(s, id, b)| (*s, *id, b.as_slice()))
            .collect();
        insert(&self.url, tx, self.row, &entries, &batch.nodes)?;
        set_end(&self.url, tx, self.row, &batch.head, &batch.checkpoint)?;
        if let Some(record) = &batch.snapshot {
            put_snapshot(&self.url, tx, self.row, record)?;
        }
        if start == 0
            && let Some((_, _, genesis)) = batch.entries.first()
        {
            let id = ledger_core::entry::hash_entry_bytes(genesis);
            tx.execute(
                "UPDATE rl_ledgers SET ledger_id = $2 WHERE id = $1 AND ledger_id IS NULL",
                &[&self.row, &&id.0[..]],
            )
            .map_err(|e| engine(&self.url, &e))?;
        }
        Ok(())
    }
}

impl Store for PgStore {
    fn head(&self) -> Result<Head> {
        let head: Option<Vec<u8>> = self.with_client(|c| {
            Ok(
                c.query_opt("SELECT head FROM rl_ends WHERE ledger = $1", &[&self.row])?
                    .map(|r| r.get(0)),
            )
        })?;
        head.map_or(Ok(Head::default()), decode_head)
    }

    fn entry(&self, seq: Seq) -> Result<Option<Vec<u8>>> {
        self.with_client(|c| {
            Ok(c.query_opt(
                "SELECT entry FROM rl_entries WHERE ledger = $1 AND seq = $2",
                &[&self.row, &to_i64(seq.0)],
            )?
            .map(|r| r.get(0)))
        })
    }

    fn range(&self, start: Seq, limit: usize) -> Result<Vec<(Seq, Vec<u8>)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.with_client(|c| {
            c.query(
                "SELECT seq, entry FROM rl_entries WHERE ledger = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
                &[&self.row, &to_i64(start.0), &limit],
            )
        })?;
        Ok(rows
            .into_iter()
            .map(|r| (Seq(r.get::<_, i64>(0) as u64), r.get(1)))
            .collect())
    }

    fn seq_of(&self, id: &EventId) -> Result<Option<Seq>> {
        let seq: Option<i64> = self.with_client(|c| {
            Ok(c.query_opt(
                "SELECT seq FROM rl_event_ids WHERE ledger = $1 AND event_id = $2",
                &[&self.row, &&id.0[..]],
            )?
            .map(|r| r.get(0)))
        })?;
        Ok(seq.map(|s| Seq(s as u64)))
    }

    fn node(&self, level: u32, index: u64) -> Result<Option<Hash>> {
        let hash: Option<Vec<u8>> = self.with_client(|c| {
            Ok(c.query_opt(
                "SELECT hash FROM rl_nodes WHERE ledger = $1 AND level = $2 AND idx = $3",
                &[&self.row, &(level as i32), &to_i64(index)],
            )?
            .map(|r| r.get(0)))
        })?;
        hash.map(|h| {
            h.as_slice()
                .try_into()
                .map(Hash)
                .map_err(|_| StoreError::Damaged {
                    what: format!("Merkle node {level}/{index}"),
                    reason: format!("{} bytes instead of 32", h.len()),
                })
        })
        .transpose()
    }

    fn seqs_of(&self, ids: &[EventId]) -> Result<Vec<Option<Seq>>> {
        let keys: Vec<&[u8]> = ids.iter().map(|id| &id.0[..]).collect();
        let rows = self.with_client(|c| {
            c.query(
                "SELECT event_id, seq FROM rl_event_ids WHERE ledger = $1 AND event_id = ANY($2)",
                &[&self.row, &keys],
            )
        })?;
        let found: std::collections::HashMap<Vec<u8>, i64> =
            rows.into_iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok(ids
            .iter()
            .map(|id| found.get(&id.0[..]).map(|s| Seq(*s as u64)))
            .collect())
    }

    fn nodes(&self, keys: &[(u32, u64)]) -> Result<Vec<Option<Hash>>> {
        let levels: Vec<i32> = keys.iter().map(|(l, _)| *l as i32).collect();
        let idxs: Vec<i64> = keys.iter().map(|(_, i)| to_i64(*i)).collect();
        let rows = self.with_client(|c| {
            c.query(
                "SELECT n.level, n.idx, n.hash FROM rl_nodes n
                   JOIN unnest($2::int4[], $3::int8[]) AS k (level, idx)
                     ON n.level = k.level AND n.idx = k.idx
                  WHERE n.ledger = $1",
                &[&self.row, &levels, &idxs],
            )
        })?;
        let mut found = std::collections::HashMap::new();
        for r in rows {
            let (level, idx, hash): (i32, i64, Vec<u8>) = (r.get(0), r.get(1), r.get(2));
            let hash = hash
                .as_slice()
                .try_into()
                .map(Hash)
                .map_err(|_| StoreError::Damaged {
                    what: format!("Merkle node {level}/{idx}"),
                    reason: format!("{} bytes instead of 32", hash.len()),
                })?;
            found.insert((level as u32, idx as u64), hash);
        }
        Ok(keys.iter().map(|k| found.get(k).copied()).collect())
    }

    fn derived_counts(&self) -> Result<Option<(u64, u64)>> {
        let (index, nodes): (i64, i64) = self.with_client(|c| {
            let r = c.query_one(
                "SELECT (SELECT count(*) FROM rl_event_ids WHERE ledger = $1),
                        (SELECT count(*) FROM rl_nodes WHERE ledger = $1)",
                &[&self.row],
            )?;
            Ok((r.get(0), r.get(1)))
        })?;
        Ok(Some((index as u64, nodes as u64)))
    }

    fn checkpoint(&self) -> Result<Option<String>> {
        self.with_client(|c| {
            Ok(c.query_opt(
                "SELECT checkpoint FROM rl_ends WHERE ledger = $1",
                &[&self.row],
            )?
            .map(|r| r.get(0)))
        })
    }

    fn end(&self) -> Result<(Head, Option<String>)> {
        let row: Option<(Vec<u8>, String)> = self.with_client(|c| {
            Ok(c.query_opt(
                "SELECT head, checkpoint FROM rl_ends WHERE ledger = $1",
                &[&self.row],
            )?
            .map(|r| (r.get(0), r.get(1))))
        })?;
        match row {
            None => Ok((Head::default(), None)),
            Some((head, checkpoint)) => Ok((decode_head(head)?, Some(checkpoint))),
        }
    }

    /// None: the witness guards against sled silently rolling its log back
    /// after damage. A PostgreSQL commit that returned is durable; what can
    /// still lose one is a failover to a standby that had not received it,
    /// which synchronous replication prevents (docs/POSTGRES.md).
    fn witness(&self) -> Result<Option<String>> {
        Ok(None)
    }

    fn append(&self, batch: &Batch) -> Result<()> {
        self.check_writable()?;
        self.session(true, |client| {
            let mut tx = client.transaction().map_err(|e| engine(&self.url, &e))?;
            self.write(&mut tx, batch)?;
            tx.commit().map_err(|e| engine(&self.url, &e))
        })
    }

    fn snapshot(&self) -> Result<Option<Vec<u8>>> {
        self.with_client(|c| {
            Ok(c.query_opt(
                "SELECT record FROM rl_snapshots WHERE ledger = $1",
                &[&self.row],
            )?
            .map(|r| r.get(0)))
        })
    }

    fn put_snapshot(&self, record: &[u8]) -> Result<()> {
        self.check_writable()?;
        self.session(true, |c| {
            let mut tx = c.transaction().map_err(|e| engine(&self.url, &e))?;
            put_snapshot(&self.url, &mut tx, self.row, record)?;
            tx.commit().map_err(|e| engine(&self.url, &e))
        })
    }

    fn check_writable(&self) -> Result<()> {
        match self.access {
            Access::Write => Ok(()),
            Access::Read => Err(StoreError::ReadOnly {
                path: self.url.to_string().into(),
                reason: "opened for reading".into(),
            }),
        }
    }

    /// Asks on this store's session, which a standby already holds for its
    /// reads, so that waiting for the lock costs no session of its own.
    fn writer_lock_holder(&self) -> Result<Option<String>> {
        let key = lock_key(&self.url, self.row)?;
        self.session(false, |c| holder(&self.url, c, key))
    }

    /// Whether this store's session still holds the lock: the lock is
    /// let go only with its session, so a session that took it and still
    /// answers holds it. One that ended (a restart, an administrator, a cut
    /// network) took the lock with it, and is not connected again here.
    fn holds_writer_lock(&self) -> Result<bool> {
        let mut guard = self.client.lock().unwrap_or_else(|e| e.into_inner());
        let Some(session) = guard.as_mut().filter(|s| s.locked) else {
            return Ok(false);
        };
        let answered = session.client.simple_query("SELECT 1");
        if session.client.is_closed() {
            *guard = None;
            return Ok(false);
        }
        answered.map(|_| true).map_err(|e| engine(&self.url, &e))
    }
}

impl Drop for PgStore {
    /// Lets go of the writer lock before the connection closes, so that the
    /// next writer can take it at once rather than when the server notices
    /// the session is gone. The driver blocks on a runtime of its own,
    /// which it may not do on an async runtime's thread (a server drops its
    /// stores there as it stops): the session is closed on a thread of its
    /// own.
    fn drop(&mut self) {
        let session = self
            .client
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(Session { mut client, locked }) = session {
            let unlock = locked;
            let closing = std::thread::spawn(move || {
                if unlock {
                    let _ = client.batch_execute("SELECT pg_advisory_unlock_all()");
                }
                drop(client);
            });
            let _ = closing.join();
        }
    }
}

/// Connects ([`session`]) and brings the schema up to date, or for a
/// reader checks it ([`prepare`]).
fn connect(url: &StoreUrl, access: Access) -> Result<Client> {
    let mut client = session(url)?;
    prepare(url, &mut client, access)?;
    Ok(client)
}

/// A connection with the session's settings.
fn session(url: &StoreUrl) -> Result<Client> {
    let mut config = url.config().clone();
    config.application_name("review-ledger");
    // A peer that vanishes without a word (a dead machine, a cut network)
    // is noticed in seconds, both here and by the server, which then ends
    // the session and frees its writer lock for a standby to take.
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config
        .keepalives_idle(Duration::from_secs(10))
        .keepalives_interval(Duration::from_secs(5))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(30));
    let mut client = match url.tls() {
        Tls::Off => config.connect(NoTls),
        Tls::Verified(tls) => config.connect(MakeRustlsConnect::new((**tls).clone())),
    }
    .map_err(|e| engine(url, &e))?;
    client
        .batch_execute(
            "SET synchronous_commit TO on;
             SET tcp_keepalives_idle TO 10;
             SET tcp_keepalives_interval TO 5;
             SET tcp_keepalives_count TO 3;
             SET tcp_user_timeout TO 30000",
        )
        .map_err(|e| engine(url, &e))?;
    Ok(client)
}

/// Whoever writes brings the schema up to date; a reader (an auditor's
/// read-only role, a replica) only checks it.
fn prepare(url: &StoreUrl, client: &mut Client, access: Access) -> Result<()> {
    let checked = match access {
        Access::Write => schema::migrate(client).map(drop),
        Access::Read => schema::check(client),
    };
    checked.map_err(|message| StoreError::Engine {
        store: url.to_string(),
        message,
    })
}

/// The row of ledger `ledger`, or of the only ledger when `None`.
fn find(url: &StoreUrl, client: &mut Client, ledger: Option<LedgerId>) -> Result<i64> {
    let not_found = |what: String| StoreError::Engine {
        store: url.to_string(),
        message: what,
    };
    match ledger {
        Some(id) => client
            .query_opt(
                "SELECT id FROM rl_ledgers WHERE ledger_id = $1",
                &[&&id.0[..]],
            )
            .map_err(|e| engine(url, &e))?
            .map(|r| r.get(0))
            .ok_or_else(|| not_found(format!("it holds no ledger {id}"))),
        None => {
            let rows = client
                .query(
                    "SELECT id FROM rl_ledgers WHERE ledger_id IS NOT NULL ORDER BY id",
                    &[],
                )
                .map_err(|e| engine(url, &e))?;
            match rows.as_slice() {
                [one] => Ok(one.get(0)),
                [] => Err(not_found(
                    "it holds no ledger (create one with `review-ledger init --store URL`)".into(),
                )),
                many => Err(not_found(format!(
                    "it holds {} ledgers: name one with --ledger-id ({})",
                    many.len(),
                    ledger_ids(url, client)?
                        .iter()
                        .map(|id| id.to_hex())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
    }
}

fn ledger_ids(url: &StoreUrl, client: &mut Client) -> Result<Vec<LedgerId>> {
    let rows = client
        .query(
            "SELECT ledger_id FROM rl_ledgers WHERE ledger_id IS NOT NULL ORDER BY id",
            &[],
        )
        .map_err(|e| engine(url, &e))?;
    rows.into_iter()
        .map(|r| {
            let bytes: Vec<u8> = r.get(0);
            bytes
                .as_slice()
                .try_into()
                .map(Hash)
                .map_err(|_| StoreError::Damaged {
                    what: "ledger id".into(),
                    reason: format!("{} bytes instead of 32", bytes.len()),
                })
        })
        .collect()
}

/// The second key of ledger `row`'s advisory lock.
fn lock_key(url: &StoreUrl, row: i64) -> Result<i32> {
    i32::try_from(row).map_err(|_| StoreError::Engine {
        store: url.to_string(),
        message: format!("ledger row {row} is beyond the advisory lock's key space"),
    })
}

/// Who holds the writer lock `key` in this database, if anyone: the
/// program, its address and its backend.
fn holder(url: &StoreUrl, client: &mut Client, key: i32) -> Result<Option<String>> {
    Ok(client
        .query_opt(
            "SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local')
               FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'advisory' AND l.granted
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND l.classid = $1::oid AND l.objid = $2::oid AND l.objsubid = 2",
            &[&(LOCK_CLASS as u32), &(key as u32)],
        )
        .map_err(|e| engine(url, &e))?
        .map(|r| {
            let (pid, app, addr): (i32, String, String) = (r.get(0), r.get(1), r.get(2));
            format!("{app} from {addr}, database backend {pid}")
        }))
}

/// Takes the writer lock of ledger `row` on this session, or says who
/// holds it.
fn lock(url: &StoreUrl, client: &mut Client, row: i64) -> Result<()> {
    let key = lock_key(url, row)?;
    let took: bool = client
        .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&LOCK_CLASS, &key])
        .map_err(|e| engine(url, &e))?
        .get(0);
    if took {
        return Ok(());
    }
    let holder =
        holder(url, client, key)?.unwrap_or_else(|| "a session that has since ended".into());
    let ledger: Option<Vec<u8>> = client
        .query_one("SELECT ledger_id FROM rl_ledgers WHERE id = $1", &[&row])
        .map_err(|e| engine(url, &e))?
        .get(0);
    Err(StoreError::Busy {
        store: url.to_string(),
        ledger: ledger.map_or_else(|| format!("#{row}"), hex_of),
        holder,
    })
}

/// Inserts entries, their index rows and nodes, a statement a table.
fn insert(
    url: &StoreUrl,
    tx: &mut Transaction<'_>,
    row: i64,
    entries: &[(Seq, EventId, &[u8])],
    nodes: &[ledger_core::merkle::NewNode],
) -> Result<()> {
    let err = |e: postgres::Error| engine(url, &e);
    let seqs: Vec<i64> = entries.iter().map(|(s, _, _)| to_i64(s.0)).collect();
    let bytes: Vec<&[u8]> = entries.iter().map(|(_, _, b)| *b).collect();
    let ids: Vec<&[u8]> = entries.iter().map(|(_, id, _)| &id.0[..]).collect();
    tx.execute(
        "INSERT INTO rl_entries (ledger, seq, entry)
         SELECT $1, * FROM unnest($2::int8[], $3::bytea[])",
        &[&row, &seqs, &bytes],
    )
    .map_err(err)?;
    tx.execute(
        "INSERT INTO rl_event_ids (ledger, event_id, seq)
         SELECT $1, * FROM unnest($2::bytea[], $3::int8[])",
        &[&row, &ids, &seqs],
    )
    .map_err(|e| {
        if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) {
            StoreError::Derived {
                record: "event-id index".into(),
                reason: "an event of this batch is already in the ledger".into(),
            }
        } else {
            err(e)
        }
    })?;
    let levels: Vec<i32> = nodes.iter().map(|n| n.level as i32).collect();
    let idxs: Vec<i64> = nodes.iter().map(|n| to_i64(n.index)).collect();
    let hashes: Vec<&[u8]> = nodes.iter().map(|n| &n.hash.0[..]).collect();
    tx.execute(
        "INSERT INTO rl_nodes (ledger, level, idx, hash)
         SELECT $1, * FROM unnest($2::int4[], $3::int8[], $4::bytea[])",
        &[&row, &levels, &idxs, &hashes],
    )
    .map_err(err)?;
    Ok(())
}

/// Records the end of the log: the head and the checkpoint that states it.
fn set_end(
    url: &StoreUrl,
    tx: &mut Transaction<'_>,
    row: i64,
    head: &Head,
    checkpoint: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO rl_ends (ledger, head, checkpoint) VALUES ($1, $2, $3)
         ON CONFLICT (ledger) DO UPDATE SET head = excluded.head, checkpoint = excluded.checkpoint",
        &[&row, &codec::encode(head), &checkpoint],
    )
    .map_err(|e| engine(url, &e))?;
    Ok(())
}

/// Replaces the ledger's snapshot record.
fn upsert_snapshot(
    tx: &mut Transaction<'_>,
    row: i64,
    record: &[u8],
) -> std::result::Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO rl_snapshots (ledger, record) VALUES ($1, $2)
         ON CONFLICT (ledger) DO UPDATE SET record = excluded.record",
        &[&row, &record],
    )
    .map(drop)
}

/// [`upsert_snapshot`], its error named.
fn put_snapshot(url: &StoreUrl, tx: &mut Transaction<'_>, row: i64, record: &[u8]) -> Result<()> {
    upsert_snapshot(tx, row, record).map_err(|e| engine(url, &e))
}

/// [`PgStore::import`]'s transaction: the new ledger's row and every entry.
fn copy<S: Store + ?Sized>(
    url: &StoreUrl,
    tx: &mut Transaction<'_>,
    source: &S,
    head: &Head,
    checkpoint: &str,
    pem: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<i64> {
    let genesis = source.entry(Seq(0))?.ok_or_else(|| StoreError::Damaged {
        what: "entry #0".into(),
        reason: "the source has no genesis entry".into(),
    })?;
    let id = ledger_core::entry::hash_entry_bytes(&genesis);
    let held = tx
        .query_opt(
            "SELECT 1 FROM rl_ledgers WHERE ledger_id = $1",
            &[&&id.0[..]],
        )
        .map_err(|e| engine(url, &e))?;
    if held.is_some() {
        return Err(StoreError::Engine {
            store: url.to_string(),
            message: format!("it already holds ledger {id}"),
        });
    }
    let row: i64 = tx
        .query_one(
            "INSERT INTO rl_ledgers (ledger_id, checkpoint_key) VALUES ($1, $2) RETURNING id",
            &[&&id.0[..], &pem],
        )
        .map_err(|e| engine(url, &e))?
        .get(0);
    let mut chain = Chain::default();
    let mut frontier = Frontier::default();
    loop {
        let chunk = source.range(Seq(chain.size), CHUNK)?;
        if chunk.is_empty() {
            break;
        }
        let bytes: Vec<Vec<u8>> = chunk.into_iter().map(|(_, b)| b).collect();
        let checked = verify_entries(Seq(chain.size), &bytes);
        let mut entries = Vec::with_capacity(bytes.len());
        let mut nodes = Vec::new();
        for (v, b) in checked.into_iter().zip(&bytes) {
            let at = chain.size;
            let fault = |reason: String| StoreError::Damaged {
                what: format!("entry #{at}"),
                reason,
            };
            let v = v.map_err(|e| fault(e.to_string()))?;
            chain.link(&v).map_err(|e| fault(e.to_string()))?;
            nodes.extend(frontier.push(&v.hash));
            entries.push((v.entry.seq, v.event.id, b.as_slice()));
        }
        insert(url, tx, row, &entries, &nodes)?;
        progress(chain.size, head.size);
    }
    let copied = Head {
        size: chain.size,
        hash: chain.head,
        received: chain.last_received,
        frontier,
    };
    if copied != *head {
        return Err(StoreError::HeadMismatch {
            head_size: head.size,
            head_hash: head.hash.to_hex(),
            found: format!(
                "the entries give {} entries ending in {}",
                copied.size,
                copied.hash.to_hex()
            ),
        });
    }
    set_end(url, tx, row, head, checkpoint)?;
    if let Some(record) = source.snapshot()? {
        put_snapshot(url, tx, row, &record)?;
    }
    Ok(row)
}

fn pem(url: &StoreUrl, key: &KeyPair) -> Result<String> {
    key.signing_key()
        .to_pkcs8_pem(LineEnding::LF)
        .map(|p| p.to_string())
        .map_err(|e| StoreError::Engine {
            store: url.to_string(),
            message: format!("cannot encode the checkpoint key: {e}"),
        })
}

fn decode_head(bytes: Vec<u8>) -> Result<Head> {
    codec::decode("head", &bytes).map_err(|e| StoreError::Damaged {
        what: "head".into(),
        reason: e.to_string(),
    })
}

fn engine(url: &StoreUrl, e: &postgres::Error) -> StoreError {
    // The driver's own words name only the kind of failure ("error
    // performing TLS handshake"); the cause says what went wrong.
    let message = match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => db.message().to_owned(),
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    };
    StoreError::Engine {
        store: url.to_string(),
        message,
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn hex_of(bytes: Vec<u8>) -> String {
    ledger_core::types::to_hex(&bytes)
}

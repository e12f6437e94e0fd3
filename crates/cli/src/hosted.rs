//! Hosted mode for appending, reading and auditing: a ledger hosted by
//! `review-ledger serve`, reached over gRPC. Every command that takes
//! `--server` reaches it through [`Hosted`].
//!
//! The server is trusted for nothing it says about the ledger's content.
//! [`Hosted::replay`] fetches every entry up to the server's latest
//! checkpoint and runs the auditor's own verification over them
//! (`ledger_store::verify_into`: canonical decoding, `verify_strict`
//! signatures, chain links, entry hashes, the admission rules, and the
//! recomputed Merkle root, head and subject map against the checkpoint,
//! whose signature is checked under the key genesis names, for the ledger id
//! the user pinned). The state it leaves is what events are built from and
//! what `minutes sign` signs. Only signed events leave this machine; keys
//! never do.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use ledger_core::merkle::ConsistencyProof;
use ledger_core::{
    Admission, Checkpoint, Entry, Event, EventId, Hash, LedgerId, Seq, SignedEvent, UnixMicros,
    VerifiedEntry,
};
use ledger_store::{Batch, Head, Receipt, Start, Store, StoreError, verify_from};
use review::LedgerState;
use service::pb;
use service::pb::ledger_service_client::LedgerServiceClient;
use service::pb::review_service_client::ReviewServiceClient;
use tonic::transport::Channel;

use crate::cache::Ids;
use crate::cmd_feed::ServerArgs;

/// Where a command's ledger is: a local directory, or a ledger on a server.
#[derive(Args, Clone, Debug)]
pub struct Place {
    /// The ledger directory (local mode).
    #[arg(long = "ledger", env = "REVIEW_LEDGER_DIR", default_value = "ledger")]
    pub path: PathBuf,
    /// Talk to this server instead of a ledger directory (remote mode; it
    /// takes precedence over --ledger), e.g. `http://127.0.0.1:7327`.
    /// Events are still built and signed on this machine. Only ever taken
    /// from the command line: an environment variable must not silently
    /// turn `verify --ledger ./copy` into a check of some server.
    #[arg(long)]
    pub server: Option<String>,
    /// A ledger in a PostgreSQL database instead of a directory:
    /// `postgres://USER@HOST:PORT/DATABASE` (the password in the address or
    /// in PGPASSWORD; never printed). docs/POSTGRES.md.
    #[arg(long, value_name = "URL", conflicts_with = "server")]
    pub store: Option<String>,
    /// With --server: the hosted ledger's id (64 hex digits); with --store,
    /// the ledger's id when the database holds several.
    #[arg(long)]
    pub ledger_id: Option<String>,
    /// With --server: the bearer token for reads, when the server requires one.
    #[arg(long, env = "REVIEW_LEDGER_TOKEN")]
    pub token: Option<String>,
    /// With --server: the CA certificate (PEM) that signed the server's certificate.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
}

impl Place {
    /// Where the ledger is, when this is not remote mode.
    pub fn at(&self) -> crate::stores::Where {
        crate::stores::Where::of(&self.path, self.store.as_deref(), self.ledger_id.as_deref())
    }

    /// The server and ledger id, when this is remote mode.
    pub fn remote(&self) -> Result<Option<(ServerArgs, LedgerId)>> {
        let Some(server) = &self.server else {
            return Ok(None);
        };
        let id = self
            .ledger_id
            .as_deref()
            .context("--server needs --ledger-id (the hosted ledger's id, 64 hex digits)")?;
        let id = Hash::from_hex("--ledger-id", id)?;
        Ok(Some((
            ServerArgs {
                server: server.clone(),
                token: self.token.clone(),
                ca_cert: self.ca_cert.clone(),
            },
            id,
        )))
    }
}

/// A gRPC status as an error that names the server, the call and the code.
fn refused(server: &str, call: &str, s: tonic::Status) -> anyhow::Error {
    anyhow!(
        "{server} refused {call}: {:?}: {}",
        s.code(),
        if s.message().is_empty() {
            "no message"
        } else {
            s.message()
        }
    )
}

/// Why a signed event is not known to be appended.
pub enum Delivery {
    /// The server refused it: nothing was appended.
    Refused(anyhow::Error),
    /// No answer says what became of it.
    Unknown(String),
}

/// Whether a status refuses a call outright (nothing was done), rather than
/// leaving its outcome unknown (the server stopped, failed or never answered).
fn refuses(code: tonic::Code) -> bool {
    use tonic::Code::*;
    matches!(
        code,
        InvalidArgument
            | PermissionDenied
            | FailedPrecondition
            | AlreadyExists
            | NotFound
            | Unauthenticated
            | ResourceExhausted
            | OutOfRange
            | Unimplemented
    )
}

/// The ledger's entries and checkpoint, verified on this machine.
pub struct Verified {
    /// The state after the last verified entry.
    pub state: LedgerState,
    /// The checkpoint note they were verified against.
    pub checkpoint: String,
}

/// One ledger on one server, with a runtime to call it from synchronous code.
pub struct Hosted {
    runtime: tokio::runtime::Runtime,
    server: ServerArgs,
    /// The ledger id the user pinned.
    pub ledger_id: LedgerId,
    ledger: LedgerServiceClient<Channel>,
    review: ReviewServiceClient<Channel>,
}

impl Hosted {
    /// A client for ledger `ledger_id` on `server` (connects on first call).
    pub fn connect(server: ServerArgs, ledger_id: LedgerId) -> Result<Hosted> {
        // One worker of its own drives the connection while this thread
        // verifies, or waits at a prompt, outside any call: the server pings
        // an idle connection and closes it if no answer comes, and a
        // connection no one drives cannot answer (the next append then
        // fails with its outcome unknown).
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let channel = {
            let _entered = runtime.enter();
            server.channel()?
        };
        Ok(Hosted {
            runtime,
            ledger: LedgerServiceClient::new(channel.clone())
                .max_decoding_message_size(service::limits::MAX_RESPONSE),
            review: ReviewServiceClient::new(channel)
                .max_decoding_message_size(service::limits::MAX_RESPONSE),
            server,
            ledger_id,
        })
    }

    /// Opens the ledger a `Place` names, if it names a server.
    pub fn of(place: &Place) -> Result<Option<Hosted>> {
        place
            .remote()?
            .map(|(server, id)| Hosted::connect(server, id))
            .transpose()
    }

    /// The ledger id in hex, as requests carry it.
    pub fn id_hex(&self) -> String {
        self.ledger_id.to_hex()
    }

    /// Runs one call of the review service.
    pub fn review_call<T, R>(
        &mut self,
        call: &str,
        message: T,
        f: impl AsyncFnOnce(
            &mut ReviewServiceClient<Channel>,
            tonic::Request<T>,
        ) -> Result<tonic::Response<R>, tonic::Status>,
    ) -> Result<R> {
        let request = self.server.request(message)?;
        let client = &mut self.review;
        let result = self.runtime.block_on(f(client, request));
        result
            .map(tonic::Response::into_inner)
            .map_err(|s| refused(&self.server.server, call, s))
    }

    /// Runs one call of the ledger service.
    fn ledger_call<T, R>(
        &mut self,
        call: &str,
        message: T,
        f: impl AsyncFnOnce(
            &mut LedgerServiceClient<Channel>,
            tonic::Request<T>,
        ) -> Result<tonic::Response<R>, tonic::Status>,
    ) -> Result<R> {
        let request = self.server.request(message)?;
        let client = &mut self.ledger;
        let result = self.runtime.block_on(f(client, request));
        result
            .map(tonic::Response::into_inner)
            .map_err(|s| refused(&self.server.server, call, s))
    }

    /// Sends one signed event; returns once the server has it durable.
    pub fn append(&mut self, signed: &SignedEvent) -> Result<Receipt, Delivery> {
        let message = pb::AppendRequest {
            ledger_id: self.id_hex(),
            event: Some(service::convert::signed_event_pb(signed)),
        };
        let request = self.server.request(message).map_err(Delivery::Refused)?;
        let client = &mut self.ledger;
        let r = match self.runtime.block_on(client.append(request)) {
            Ok(r) => r.into_inner(),
            Err(s) if refuses(s.code()) => {
                // The server's rules said no: the same as a local refusal.
                let by_rules = matches!(
                    s.code(),
                    tonic::Code::FailedPrecondition | tonic::Code::PermissionDenied
                );
                return Err(Delivery::Refused(if by_rules {
                    crate::failure::Refused::by_server(format!(
                        "{} refused the event: {}",
                        self.server.server,
                        s.message()
                    ))
                    .into()
                } else {
                    refused(&self.server.server, "the event", s)
                }));
            }
            Err(s) => {
                return Err(Delivery::Unknown(format!(
                    "{} answered {:?}: {}",
                    self.server.server,
                    s.code(),
                    s.message()
                )));
            }
        };
        let hash: [u8; 32] = r.entry_hash.as_slice().try_into().map_err(|_| {
            Delivery::Unknown(format!(
                "the server's receipt has a {}-byte entry hash",
                r.entry_hash.len()
            ))
        })?;
        Ok(Receipt {
            seq: Seq(r.seq),
            hash: Hash(hash),
            received: UnixMicros(r.received_micros),
            checkpoint: r.checkpoint,
        })
    }

    /// The stored entry holding event `id`, if the server has one.
    pub fn entry_of(&mut self, id: EventId) -> Result<Option<(Seq, Vec<u8>)>> {
        let message = pb::GetByEventIdRequest {
            ledger_id: self.id_hex(),
            event_id: id.to_hex(),
        };
        let request = self.server.request(message)?;
        let client = &mut self.ledger;
        match self.runtime.block_on(client.get_by_event_id(request)) {
            Ok(r) => {
                let e = r.into_inner();
                Ok(Some((Seq(e.seq), e.entry)))
            }
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(refused(&self.server.server, "the event lookup", s)),
        }
    }

    /// The server's latest checkpoint note (not yet verified).
    pub fn checkpoint(&mut self) -> Result<String> {
        let message = pb::GetCheckpointRequest {
            ledger_id: self.id_hex(),
        };
        Ok(self
            .ledger_call("GetCheckpoint", message, async |c, r| {
                c.get_checkpoint(r).await
            })?
            .note)
    }

    /// Fetches every entry up to the latest checkpoint and verifies them
    /// here, exactly as `review-ledger verify` verifies a directory. Refuses
    /// anything that does not verify, naming the entry at fault.
    pub fn replay(&mut self) -> Result<Verified> {
        let note = self.checkpoint()?;
        // The size the note states; the note itself is verified below, with
        // the entries, under the checkpoint key that genesis names.
        let size = note
            .split_once("\n\n")
            .and_then(|(body, _)| ledger_core::Checkpoint::parse_body(&format!("{body}\n")).ok())
            .map(|cp| cp.size)
            .with_context(|| format!("{}: the checkpoint does not parse", self.server.server))?;
        // What this machine verified of this ledger on this server before:
        // only the entries after it are fetched and verified.
        let server = self.server.server.clone();
        let before =
            crate::cache::load(&server, &self.ledger_id).and_then(crate::cache::Verified::resume);
        let seen = crate::cache::load_seen(&server, &self.ledger_id);
        let verified_before = before
            .as_ref()
            .map(|(start, ..)| start.chain.size)
            .max(seen.as_ref().map(|s| s.size))
            .unwrap_or(0);
        if verified_before > size {
            bail!(
                "{server} now states {size} entries, fewer than the {verified_before} this machine \
                 verified before: the ledger was rolled back or rewritten (`verify --server --trust` \
                 reports it; {})",
                crate::cache::start_over(&server, &self.ledger_id)
            );
        }
        let cached = before.is_some();
        let (start, mut state, earlier) =
            before.unwrap_or_else(|| (Start::default(), LedgerState::new(), Ids::default()));
        let from = start.chain.size;
        let mut entries: Vec<Vec<u8>> = Vec::with_capacity((size - from) as usize);
        while from + (entries.len() as u64) < size {
            let next = from + entries.len() as u64;
            let message = pb::ReadRangeRequest {
                ledger_id: self.id_hex(),
                start: next,
                limit: 0,
            };
            let got = self.ledger_call("ReadRange", message, async |c, r| c.read_range(r).await)?;
            if got.entries.is_empty() {
                bail!("{server} sent no entries from #{next} though its checkpoint states {size}");
            }
            for e in got.entries {
                let due = from + entries.len() as u64;
                if e.seq != due {
                    bail!("{server} sent entry #{} where #{due} was due", e.seq);
                }
                if due == size {
                    break;
                }
                entries.push(e.entry);
            }
        }
        let store = Fetched::after(&start, earlier, entries, note.clone());
        let report = verify_from(
            &store,
            &mut state,
            start,
            Some(self.ledger_id),
            &mut |_, _| {},
        )?;
        if let Some(f) = report.fault {
            let since = if from > 0 {
                format!(" after the {from} entries this machine verified before")
            } else {
                String::new()
            };
            bail!(
                "the ledger on {server} does not verify{since}{}: {}",
                f.seq.map(|s| format!(" at entry #{s}")).unwrap_or_default(),
                f.reason
            );
        }
        // The last entry verified before, when the cached state is older:
        // the server must show the same one now.
        if let Some(seen) = &seen
            && seen.size > from
            && let Some(bytes) = store.entries.get((seen.size - 1 - from) as usize)
            && ledger_core::hash_entry_bytes(bytes) != seen.head
        {
            bail!(
                "the ledger on {server} does not verify after the {from} entries this machine \
                 verified before: entry #{} is not the one it verified before (the server shows \
                 another history; {})",
                seen.size - 1,
                crate::cache::start_over(&server, &self.ledger_id)
            );
        }
        let chain = ledger_core::Chain {
            size: report.entries,
            head: report.head,
            ledger_id: report.ledger_id,
            last_received: store.head.received,
        };
        if (!cached || chain.size - from >= crate::cache::REWRITE_AFTER)
            && let Some(v) = crate::cache::Verified::new(
                &server,
                &chain,
                store.head.frontier.clone(),
                note.clone(),
                store.ids(),
                &state,
            )
        {
            crate::cache::store(&v);
        }
        crate::cache::store_seen(&crate::cache::Seen::new(
            &server,
            self.ledger_id,
            chain.size,
            chain.head,
        ));
        Ok(Verified {
            state,
            checkpoint: note,
        })
    }
}

/// The auditor's calls: `verify --server` and `export --server`. What they
/// return is checked here, never taken on the server's word.
impl Hosted {
    /// The evidence bundle of `review`, as the server built it (to be
    /// verified, not trusted).
    pub fn bundle(&mut self, review: &str) -> Result<Vec<u8>> {
        let message = pb::GetBundleRequest {
            ledger_id: self.id_hex(),
            review: review.to_owned(),
        };
        Ok(self
            .review_call("GetBundle", message, async |c, r| c.get_bundle(r).await)?
            .bundle)
    }

    /// The latest checkpoint, verified under the checkpoint key that the
    /// genesis entry names; the genesis entry must hash to the pinned id.
    pub fn verified_checkpoint(&mut self) -> Result<(String, Checkpoint)> {
        let trusted = self.ledger_id;
        let message = pb::ReadRangeRequest {
            ledger_id: self.id_hex(),
            start: 0,
            limit: 1,
        };
        let range = self.ledger_call("ReadRange", message, async |c, r| c.read_range(r).await)?;
        let genesis = range
            .entries
            .first()
            .with_context(|| format!("{} has no genesis entry", self.server.server))?;
        let v = VerifiedEntry::from_bytes(&genesis.entry).with_context(|| {
            format!("{}: the genesis entry does not verify", self.server.server)
        })?;
        if v.hash != trusted {
            bail!(
                "{}: the genesis entry hashes to {}, not the trusted {trusted}",
                self.server.server,
                v.hash
            );
        }
        let mut state = LedgerState::new();
        let effect = state.check(v.entry.seq, v.entry.received, &v.event, v.signed_by)?;
        state.apply(v.entry.seq, v.hash, v.entry.received, effect);
        let key = state
            .roster
            .checkpoint_key
            .context("genesis names no checkpoint key")?;
        let note = self.checkpoint()?;
        let cp = Checkpoint::verify(&note, &key)
            .with_context(|| format!("{}: the checkpoint", self.server.server))?;
        if cp.ledger_id != trusted {
            bail!(
                "{}: the checkpoint is for ledger {}",
                self.server.server,
                cp.ledger_id
            );
        }
        Ok((note, cp))
    }

    /// A consistency proof from `old` entries to `new` (checked by the caller).
    pub fn consistency(&mut self, old: u64, new: u64) -> Result<ConsistencyProof> {
        let message = pb::GetConsistencyProofRequest {
            ledger_id: self.id_hex(),
            old_size: old,
            new_size: new,
        };
        let p = self.ledger_call("GetConsistencyProof", message, async |c, r| {
            c.get_consistency_proof(r).await
        })?;
        let path = p
            .path
            .iter()
            .map(|h| <[u8; 32]>::try_from(h.as_slice()).map(Hash))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                anyhow!(
                    "{}: the consistency proof holds a node that is not 32 bytes",
                    self.server.server
                )
            })?;
        Ok(ConsistencyProof {
            old_size: p.old_size,
            new_size: p.new_size,
            path,
        })
    }

    /// The server's address, as the user gave it.
    pub fn server(&self) -> &str {
        &self.server.server
    }
}

/// Entries fetched from a server, held in memory so that the auditor's
/// verification (`ledger_store::verify_into`) runs over them unchanged.
/// Only what that verification reads is meaningful: the head is computed
/// from the entries themselves, and no Merkle nodes are kept (the root is
/// recomputed from the entries).
struct Fetched {
    /// The sequence number of the first fetched entry.
    first: u64,
    entries: Vec<Vec<u8>>,
    /// The event ids of the entries before the fetched ones.
    earlier: Ids,
    /// Those of the fetched entries.
    index: HashMap<EventId, Seq>,
    head: Head,
    checkpoint: String,
}

impl Fetched {
    /// The entries fetched after those `start` covers (whose event ids are
    /// `earlier`), and the checkpoint note they are to be verified against.
    fn after(start: &Start, earlier: Ids, entries: Vec<Vec<u8>>, checkpoint: String) -> Fetched {
        let first = start.chain.size;
        let mut index: HashMap<EventId, Seq> = HashMap::new();
        let mut head = Head {
            size: first + entries.len() as u64,
            hash: start.chain.head,
            received: start.chain.last_received,
            frontier: start.frontier.clone(),
        };
        for (i, bytes) in entries.iter().enumerate() {
            let hash = ledger_core::hash_entry_bytes(bytes);
            head.frontier.push(&hash);
            head.hash = hash;
            // Undecodable entries are left for the verification to report.
            if let Ok(entry) = Entry::decode(bytes) {
                head.received = entry.received;
                if let Ok(event) = Event::decode(&entry.event)
                    && earlier.get(&event.id).is_none()
                {
                    // The first holder of an id: a second one is then a fault.
                    index.entry(event.id).or_insert(Seq(first + i as u64));
                }
            }
        }
        Fetched {
            first,
            entries,
            earlier,
            index,
            head,
            checkpoint,
        }
    }

    /// Every event id verified, with its entry.
    fn ids(&self) -> Ids {
        let fetched = self.index.iter().map(|(id, seq)| (*id, seq.0));
        Ids::new(self.earlier.all().chain(fetched).collect())
    }
}

impl Store for Fetched {
    fn head(&self) -> ledger_store::Result<Head> {
        Ok(self.head.clone())
    }

    fn entry(&self, seq: Seq) -> ledger_store::Result<Option<Vec<u8>>> {
        let Some(i) = seq.0.checked_sub(self.first) else {
            return Ok(None);
        };
        Ok(self.entries.get(i as usize).cloned())
    }

    fn range(&self, start: Seq, limit: usize) -> ledger_store::Result<Vec<(Seq, Vec<u8>)>> {
        let skip = start.0.saturating_sub(self.first) as usize;
        Ok(self
            .entries
            .iter()
            .enumerate()
            .skip(skip)
            .take(limit)
            .map(|(i, e)| (Seq(self.first + i as u64), e.clone()))
            .collect())
    }

    fn seq_of(&self, id: &EventId) -> ledger_store::Result<Option<Seq>> {
        Ok(self
            .earlier
            .get(id)
            .map(Seq)
            .or_else(|| self.index.get(id).copied()))
    }

    fn node(&self, _level: u32, _index: u64) -> ledger_store::Result<Option<Hash>> {
        Ok(None)
    }

    fn keeps_nodes(&self) -> bool {
        false
    }

    fn checkpoint(&self) -> ledger_store::Result<Option<String>> {
        Ok(Some(self.checkpoint.clone()))
    }

    fn witness(&self) -> ledger_store::Result<Option<String>> {
        Ok(None)
    }

    fn append(&self, _batch: &Batch) -> ledger_store::Result<()> {
        Err(StoreError::Database {
            path: PathBuf::from("<fetched entries>"),
            message: "entries fetched from a server are read-only".into(),
        })
    }
}

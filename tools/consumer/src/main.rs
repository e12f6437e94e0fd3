//! `feed-consumer`: an example of what a GRC platform does with a
//! review-ledger feed. It follows `LedgerService.Feed` from a cursor,
//! checks every entry from its raw bytes (canonical decoding, the author's
//! `verify_strict` signature, the entry hash the server states, the link to
//! the entry before, the ledger id), keeps an action log from the typed
//! events, and prints the changed action as a JSON line (or the whole log as
//! a table) on each change.
//!
//! Its state (the next sequence number, the last entry's hash and the action
//! log) lives in a small JSON file, replaced atomically (write, fsync,
//! rename) before anything is printed, so a restarted consumer resumes from
//! where it stopped: no gap, no duplicate, and the chain link is checked
//! across the restart.
//!
//! ```text
//! feed-consumer --server http://127.0.0.1:7327 --ledger-id <hex> --state actions.json
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use ledger_core::{Hash, Seq, VerifiedEntry};
use review::Payload;
use review::vocab::ActionState;
use serde::{Deserialize, Serialize};
use service::pb;
use service::pb::ledger_service_client::LedgerServiceClient;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

#[derive(Parser)]
#[command(
    name = "feed-consumer",
    about = "Follow a review-ledger feed and keep an action log"
)]
struct Args {
    /// The server, e.g. `http://127.0.0.1:7327`.
    #[arg(long)]
    server: String,
    /// The ledger to follow (64 hex digits).
    #[arg(long)]
    ledger_id: String,
    /// The bearer token, when the server requires one.
    #[arg(long)]
    token: Option<String>,
    /// The CA certificate (PEM) of the server's certificate.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// The state file: cursor, last entry hash and the action log. Created
    /// when missing (the feed is then followed from entry 0).
    #[arg(long)]
    state: PathBuf,
    /// How to print each change.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Stop once the log holds the first N entries (for scripts and tests).
    #[arg(long, value_name = "N")]
    until: Option<u64>,
    /// Give up after this many seconds without reaching the server.
    #[arg(long, default_value_t = 30)]
    retry_for: u64,
}

/// How to print a change.
#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// One JSON object per change: the entry and the action as it is now.
    Json,
    /// The whole action log as a table.
    Table,
}

/// One action as the GRC platform keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Action {
    id: String,
    review: String,
    owner: String,
    due: String,
    status: String,
    text: String,
    /// The entry that last changed it.
    seq: u64,
}

/// What survives a restart.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    ledger_id: String,
    /// The next sequence number to ask for.
    next: u64,
    /// The hash of entry `next - 1`, hex (empty before entry 0).
    head: String,
    actions: BTreeMap<String, Action>,
}

impl State {
    fn load(path: &Path, ledger_id: &str) -> Result<State> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let s: State = serde_json::from_slice(&bytes)
                    .with_context(|| format!("state file {} is not valid", path.display()))?;
                if s.ledger_id != ledger_id {
                    bail!(
                        "state file {} follows ledger {}, not {ledger_id}",
                        path.display(),
                        s.ledger_id
                    );
                }
                Ok(s)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State {
                ledger_id: ledger_id.to_owned(),
                ..State::default()
            }),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Replaces the file atomically: write a temporary, fsync, rename.
    fn save(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&serde_json::to_vec_pretty(self).expect("state serialises"))?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        write().with_context(|| format!("cannot write state file {}", path.display()))
    }

    /// Checks one feed message against the raw entry bytes and the chain so
    /// far, and applies it. Returns the action it changed, if any.
    fn apply(&mut self, ledger: &Hash, m: &pb::FeedMessage) -> Result<Option<Action>> {
        let e = m.entry.as_ref().context("feed message without an entry")?;
        let seq = e.seq;
        if seq != self.next {
            bail!("the server sent entry #{seq} where #{} was due", self.next);
        }
        let v = VerifiedEntry::from_bytes(&e.entry)
            .with_context(|| format!("entry #{seq} does not verify"))?;
        if v.hash.0.as_slice() != e.entry_hash.as_slice() {
            bail!(
                "entry #{seq}: the raw bytes hash to {} but the server states {}",
                v.hash,
                hex::encode(&e.entry_hash)
            );
        }
        if v.entry.seq != Seq(seq) {
            bail!("entry #{seq} says it is #{}", v.entry.seq);
        }
        let prev = if self.head.is_empty() {
            Hash::ZERO
        } else {
            Hash::from_hex("head", &self.head)?
        };
        if v.entry.prev != prev {
            bail!(
                "entry #{seq} links to {} but entry #{} hashes to {prev}",
                v.entry.prev,
                seq.wrapping_sub(1)
            );
        }
        if seq == 0 && v.hash != *ledger {
            bail!("genesis hashes to {}, not the ledger id {ledger}", v.hash);
        }
        if seq > 0 && v.event.ledger != *ledger {
            bail!("entry #{seq} was signed for ledger {}", v.event.ledger);
        }
        self.next = seq + 1;
        self.head = v.hash.to_hex();
        // Kinds this version does not know are skipped, not fatal.
        let Ok(payload) = Payload::decode(&v.event.kind, &v.event.payload) else {
            return Ok(None);
        };
        let changed = match payload {
            Payload::Act(c) => {
                let a = Action {
                    id: c.body.action.as_str().to_owned(),
                    review: c.review.as_str().to_owned(),
                    owner: c.body.owner.as_str().to_owned(),
                    due: c.body.due.to_string(),
                    status: ActionState::Open.label().to_owned(),
                    text: c.body.text,
                    seq,
                };
                // Recording an action again replaces it (an amendment).
                self.actions.insert(a.id.clone(), a.clone());
                Some(a)
            }
            Payload::ActionStatus(c) => self.status(c.body.action.as_str(), &c.body.status, seq),
            Payload::ActionUpdate(u) => self.status(u.action.as_str(), &u.status, seq),
            _ => None,
        };
        Ok(changed)
    }

    fn status(&mut self, id: &str, status: &ActionState, seq: u64) -> Option<Action> {
        let a = self.actions.get_mut(id)?;
        if let ActionState::Overdue { revised_due, owner } = status {
            a.due = revised_due.to_string();
            a.owner = owner.as_str().to_owned();
        }
        a.status = status.label().to_owned();
        a.seq = seq;
        Some(a.clone())
    }
}

fn table(actions: &BTreeMap<String, Action>) -> String {
    let mut s = format!(
        "{:<16} {:<12} {:<10} {:<10} {:<12} {}\n",
        "ACTION", "REVIEW", "OWNER", "DUE", "STATUS", "TEXT"
    );
    for a in actions.values() {
        s.push_str(&format!(
            "{:<16} {:<12} {:<10} {:<10} {:<12} {}\n",
            a.id, a.review, a.owner, a.due, a.status, a.text
        ));
    }
    s
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts");
    match runtime.block_on(follow(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn follow(a: Args) -> Result<()> {
    let ledger =
        Hash::from_hex("--ledger-id", &a.ledger_id).context("--ledger-id is not a ledger id")?;
    let mut state = State::load(&a.state, &ledger.to_hex())?;
    let mut endpoint = Endpoint::from_shared(a.server.clone())
        .with_context(|| format!("--server {} is not a URL", a.server))?;
    if let Some(ca) = &a.ca_cert {
        let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
        endpoint = endpoint
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))?;
    }
    let mut client = LedgerServiceClient::new(endpoint.connect_lazy())
        .max_decoding_message_size(service::limits::MAX_RESPONSE);
    let mut stdout = std::io::stdout().lock();
    let mut failing_since: Option<Instant> = None;
    let mut unsaved = 0u32;
    loop {
        if a.until.is_some_and(|n| state.next >= n) {
            return state.save(&a.state);
        }
        let mut request = tonic::Request::new(pb::FeedRequest {
            ledger_id: ledger.to_hex(),
            from: state.next,
        });
        if let Some(t) = &a.token {
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {t}")
                    .parse()
                    .context("--token is not a header value")?,
            );
        }
        let result = match client.feed(request).await {
            Ok(response) => {
                let mut stream = response.into_inner();
                loop {
                    match stream.message().await {
                        Ok(Some(m)) => {
                            failing_since = None;
                            let changed = state.apply(&ledger, &m)?;
                            unsaved += 1;
                            // Saved before it is printed: a change shown is a change kept.
                            if changed.is_some() || unsaved >= 256 {
                                state.save(&a.state)?;
                                unsaved = 0;
                            }
                            if let Some(action) = changed {
                                match a.format {
                                    Format::Json => writeln!(
                                        stdout,
                                        "{}",
                                        serde_json::json!({
                                            "seq": action.seq,
                                            "kind": m.entry.as_ref().and_then(|e| e.event.as_ref()).map(|e| e.kind.clone()),
                                            "action": action,
                                        })
                                    )?,
                                    Format::Table => writeln!(stdout, "{}", table(&state.actions))?,
                                }
                                stdout.flush()?;
                            }
                            if a.until.is_some_and(|n| state.next >= n) {
                                return state.save(&a.state);
                            }
                        }
                        Ok(None) => break Ok(()),
                        Err(status) => break Err(status),
                    }
                }
            }
            Err(status) => Err(status),
        };
        state.save(&a.state)?;
        unsaved = 0;
        if let Err(status) = result {
            use tonic::Code;
            if !matches!(
                status.code(),
                Code::Unavailable | Code::Unknown | Code::Cancelled
            ) {
                bail!("feed refused: {:?}: {}", status.code(), status.message());
            }
        }
        // The server went away or stopped: resume from the next entry.
        let since = *failing_since.get_or_insert_with(Instant::now);
        if since.elapsed() > Duration::from_secs(a.retry_for) {
            bail!("cannot reach {} for {} s", a.server, a.retry_for);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

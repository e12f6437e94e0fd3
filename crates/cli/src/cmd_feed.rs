//! `feed`: follow a ledger on a server, one JSON object per entry (NDJSON).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::{Value, json};
use service::pb;
use service::pb::ledger_service_client::LedgerServiceClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::Verdict;

/// How to reach a server.
#[derive(Args, Clone, Debug)]
pub struct ServerArgs {
    /// The server, e.g. `http://127.0.0.1:7327` or `https://ledger.example:7327`.
    #[arg(long, env = "REVIEW_LEDGER_SERVER")]
    pub server: String,
    /// The bearer token for reads, when the server requires one.
    #[arg(long, env = "REVIEW_LEDGER_TOKEN")]
    pub token: Option<String>,
    /// The CA certificate (PEM) that signed the server's certificate.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
}

impl ServerArgs {
    /// A channel to the server (connected lazily).
    pub fn channel(&self) -> Result<Channel> {
        if !self.server.starts_with("http://") && !self.server.starts_with("https://") {
            anyhow::bail!(
                "--server {0} has no scheme: give http://{0} (or https:// with --ca-cert)",
                self.server
            );
        }
        let mut endpoint = Endpoint::from_shared(self.server.clone())
            .with_context(|| format!("--server {} is not a URL", self.server))?;
        if let Some(ca) = &self.ca_cert {
            let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))?;
        }
        Ok(endpoint.connect_lazy())
    }

    /// A request with the bearer token attached.
    pub fn request<T>(&self, message: T) -> Result<tonic::Request<T>> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.token {
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {token}")
                    .parse()
                    .context("--token is not a valid header value")?,
            );
        }
        Ok(request)
    }
}

#[derive(Args)]
pub struct FeedArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The ledger to follow (hex).
    #[arg(long)]
    pub ledger_id: String,
    /// The first sequence number to print.
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// Stop once the entries stored when the feed started have been printed.
    #[arg(long)]
    pub no_follow: bool,
    /// Give up after this many seconds without reaching the server.
    #[arg(long, default_value_t = 30)]
    pub retry_for: u64,
}

/// The NDJSON form of one feed message.
pub fn message_json(m: &pb::FeedMessage) -> Value {
    let e = m.entry.clone().unwrap_or_default();
    let ev = e.event.clone().unwrap_or_default();
    let payload = service::convert::entry_payload_json(&e.entry);
    json!({
        "specversion": "1.0",
        "id": m.id,
        "source": m.source,
        "type": m.r#type,
        "time": m.time,
        "recordedtime": m.recordedtime,
        "sequence": m.sequence,
        "subject": m.subject,
        "seq": e.seq,
        "entry_hash": hex::encode(&e.entry_hash),
        "prev_hash": hex::encode(&e.prev_hash),
        "entry": hex::encode(&e.entry),
        "data": {
            "kind": ev.kind,
            "event_id": ev.event_id,
            "author": ev.author,
            "review": ev.review,
            "summary": ev.summary,
            "payload": payload,
        },
    })
}

pub fn run(a: FeedArgs) -> Result<Verdict> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(follow(a))
}

async fn follow(a: FeedArgs) -> Result<Verdict> {
    let mut next = a.from;
    let mut failing_since: Option<std::time::Instant> = None;
    let mut client = LedgerServiceClient::new(a.server.channel()?)
        .max_decoding_message_size(service::limits::MAX_RESPONSE);
    // With --no-follow, the size to stop at; a server not answering yet
    // (just started, restarting) is waited for as the feed itself is.
    let stop_at = if a.no_follow {
        let started = std::time::Instant::now();
        loop {
            let r = a.server.request(pb::GetCheckpointRequest {
                ledger_id: a.ledger_id.clone(),
            })?;
            match client.get_checkpoint(r).await {
                Ok(cp) => break Some(cp.into_inner().size),
                Err(s) if s.code() == tonic::Code::Unavailable => {
                    if started.elapsed() > Duration::from_secs(a.retry_for) {
                        bail!("cannot reach {} for {} s", a.server.server, a.retry_for);
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(s) => bail!(
                    "{} refused the checkpoint: {}",
                    a.server.server,
                    s.message()
                ),
            }
        }
    } else {
        None
    };
    let mut stdout = std::io::stdout().lock();
    loop {
        if stop_at.is_some_and(|s| next >= s) {
            return Ok(Verdict::Ok);
        }
        let request = a.server.request(pb::FeedRequest {
            ledger_id: a.ledger_id.clone(),
            from: next,
        })?;
        // The server ends feeds when it stops; resume from the next entry,
        // so a restart loses nothing and repeats nothing.
        let result = match client.feed(request).await {
            Ok(response) => {
                let mut stream = response.into_inner();
                loop {
                    match stream.message().await {
                        Ok(Some(m)) => {
                            failing_since = None;
                            let seq = m.entry.as_ref().map(|e| e.seq).unwrap_or(next);
                            if seq != next {
                                bail!("the server sent entry {seq} where {next} was due");
                            }
                            if !write_line(&mut stdout, &message_json(&m).to_string())? {
                                return Ok(Verdict::Ok);
                            }
                            next = seq + 1;
                            if stop_at.is_some_and(|s| next >= s) {
                                return Ok(Verdict::Ok);
                            }
                        }
                        Ok(None) => break Ok(()),
                        Err(status) => break Err(status),
                    }
                }
            }
            Err(status) => Err(status),
        };
        if let Err(status) = result {
            use tonic::Code;
            if !matches!(
                status.code(),
                Code::Unavailable | Code::Unknown | Code::Cancelled
            ) {
                bail!("feed refused: {}: {}", status.code(), status.message());
            }
        }
        let since = *failing_since.get_or_insert_with(std::time::Instant::now);
        if since.elapsed() > Duration::from_secs(a.retry_for) {
            bail!("cannot reach {} for {} s", a.server.server, a.retry_for);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[derive(Args)]
pub struct LedgersArgs {
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `ledgers --server URL`: the ledgers a server hosts that this caller may
/// read (`ListLedgers`), with organisation, size and checkpoint.
pub fn ledgers(a: LedgersArgs, out: &crate::out::Out) -> Result<Verdict> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let list = runtime.block_on(async {
        let mut client = LedgerServiceClient::new(a.server.channel()?)
            .max_decoding_message_size(service::limits::MAX_RESPONSE);
        let request = a.server.request(pb::ListLedgersRequest {})?;
        client
            .list_ledgers(request)
            .await
            .map(|r| r.into_inner().ledgers)
            .map_err(|s| {
                anyhow::anyhow!(
                    "{} refused to list its ledgers: {}",
                    a.server.server,
                    s.message()
                )
            })
    })?;
    let rows: Vec<Value> = list
        .iter()
        .map(|l| {
            json!({
                "ledger_id": l.ledger_id,
                "organisation": l.organisation,
                "size": l.size,
                "checkpoint": l.checkpoint.as_ref().map(|c| c.note.clone()),
            })
        })
        .collect();
    out.emit(
        &json!({ "server": a.server.server, "ledgers": rows }),
        || {
            list.iter()
                .map(|l| format!("{}  {:>8} entries  {}", l.ledger_id, l.size, l.organisation))
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
    Ok(Verdict::Ok)
}

/// Writes one message and a newline, flushed; `false` when the reader has
/// gone away (`review-ledger feed | head`), which ends the feed quietly, as
/// it ends every command ([`crate::out::say`]).
fn write_line(out: &mut impl Write, line: &str) -> Result<bool> {
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to standard output")),
    }
}

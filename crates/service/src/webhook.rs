//! Webhooks: every new entry, and every reminder as it falls due, POSTed to
//! a GRC platform as a CloudEvents 1.0 event in structured JSON mode.
//!
//! Per webhook and hosted ledger, one task delivers in order, from a cursor
//! kept in a small file of its own (`--webhook-state DIR`), so that a
//! restart resumes where delivery stopped. An event is retried with
//! exponential backoff (0.5 s doubling to 60 s) until the receiver answers
//! 2xx; the cursor moves only then. Delivery is therefore at least once:
//! a receiver deduplicates by the event's `id` (`<ledger id>-<seq>` for
//! entries) or its `sequence` extension. Each body is signed: the header
//! `X-Review-Ledger-Signature: sha256=<hex>` carries HMAC-SHA256 of the
//! body under the webhook's secret. `docs/SERVICE.md`, "Webhooks".

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use ledger_core::Seq;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::host::Hosted;
use crate::hosts::Hosts;

/// The header carrying the body's HMAC.
pub const SIGNATURE_HEADER: &str = "X-Review-Ledger-Signature";

/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How often reminders are looked at while no entry arrives.
const REMIND_EVERY: Duration = Duration::from_secs(60);

/// One webhook: where, and the secret its bodies are signed with.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// The receiver's URL (`http://` or `https://`).
    pub url: String,
    /// The shared secret.
    pub secret: Vec<u8>,
}

/// Where delivery stands for one webhook and ledger.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    url: String,
    ledger: String,
    /// The next entry to deliver.
    next: u64,
    /// Reminders delivered already, as `kind id due`.
    reminded: BTreeSet<String>,
}

impl Cursor {
    fn path(dir: &Path, url: &str, ledger: &str) -> PathBuf {
        let key = blake3::hash(format!("{url}\n{ledger}").as_bytes()).to_hex();
        dir.join(format!("{}.json", &key[..32]))
    }

    fn load(path: &Path, url: &str, ledger: &str) -> Cursor {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_else(|| Cursor {
                url: url.to_owned(),
                ledger: ledger.to_owned(),
                ..Cursor::default()
            })
    }

    /// Replaces the file whole (write, sync, rename).
    fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    }
}

/// The HMAC-SHA256 of `body` under `secret`, as the header's value.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The CloudEvent for entry `seq` of `ledger`, from the entry as the
/// service decodes it for every reader (`convert::stored_entry`).
pub fn entry_event(ledger: &str, seq: u64, bytes: &[u8]) -> Option<Value> {
    let stored = crate::convert::stored_entry(Seq(seq), bytes.to_vec()).ok()?;
    let decoded = stored.event.as_ref()?;
    // The JSON this server fills for the clients that still read it: the
    // entry is decoded once, here as for every reader.
    #[allow(deprecated)]
    let payload: Value = serde_json::from_str(&decoded.payload_json).unwrap_or(Value::Null);
    Some(json!({
        "specversion": "1.0",
        "id": format!("{ledger}-{seq}"),
        "source": format!("/review-ledger/ledgers/{ledger}"),
        "type": "org.review-ledger.entry",
        "subject": decoded.kind,
        "time": review::render::rfc3339(ledger_core::UnixMicros(stored.received_micros)),
        "datacontenttype": "application/json",
        "sequence": seq.to_string(),
        "ledgerid": ledger,
        "data": {
            "seq": seq,
            "entry_hash": hex::encode(&stored.entry_hash),
            "event_id": decoded.event_id,
            "kind": decoded.kind,
            "author": decoded.author,
            "review": decoded.review,
            "summary": decoded.summary,
            "payload": payload,
        },
    }))
}

/// The CloudEvent for a reminder that fell due.
fn reminder_event(ledger: &str, r: &review::reminders::Reminder, today: review::Date) -> Value {
    json!({
        "specversion": "1.0",
        "id": format!("{ledger}-reminder-{}-{}-{}", r.kind, r.id, r.due),
        "source": format!("/review-ledger/ledgers/{ledger}"),
        "type": "org.review-ledger.reminder",
        "subject": r.kind,
        "time": format!("{today}T00:00:00Z"),
        "datacontenttype": "application/json",
        "ledgerid": ledger,
        "data": r,
    })
}

/// POSTs `body` once; `Ok` on a 2xx answer.
fn post(agent: &ureq::Agent, url: &str, secret: &[u8], body: &[u8]) -> Result<(), String> {
    agent
        .post(url)
        .header("content-type", "application/cloudevents+json")
        .header(SIGNATURE_HEADER, &signature(secret, body))
        .send(body)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Starts delivery for every webhook and hosted ledger; tasks end when the
/// server stops.
pub fn spawn(hosts: &Arc<Hosts>, hooks: Vec<Webhook>, state: PathBuf) -> std::io::Result<()> {
    std::fs::create_dir_all(&state)?;
    for hook in hooks {
        for host in hosts.all() {
            let (host, hook, state) = (host.clone(), hook.clone(), state.clone());
            let stopping = hosts.stopping();
            tokio::spawn(async move { deliver(host, hook, state, stopping).await });
        }
    }
    Ok(())
}

async fn deliver(
    host: Arc<Hosted>,
    hook: Webhook,
    dir: PathBuf,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let ledger = host.id.to_hex();
    let path = Cursor::path(&dir, &hook.url, &ledger);
    let mut cursor = Cursor::load(&path, &hook.url, &ledger);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut sizes = host.subscribe();
    loop {
        if *stopping.borrow() {
            return;
        }
        // Entries, in order.
        while cursor.next < host.size() {
            let seq = cursor.next;
            let read = {
                let host = host.clone();
                tokio::task::spawn_blocking(move || host.store().entry(Seq(seq))).await
            };
            let Ok(Ok(Some(bytes))) = read else {
                eprintln!("webhook {}: cannot read entry {seq} of {ledger}", hook.url);
                break;
            };
            let Some(event) = entry_event(&ledger, seq, &bytes) else {
                eprintln!(
                    "webhook {}: entry {seq} of {ledger} does not decode",
                    hook.url
                );
                break;
            };
            if !send(&agent, &hook, &event, &mut stopping).await {
                return;
            }
            cursor.next = seq + 1;
            if let Err(e) = cursor.save(&path) {
                eprintln!(
                    "webhook {}: cannot keep its cursor in {}: {e}",
                    hook.url,
                    path.display()
                );
            }
        }
        // Reminders that fell due today or earlier, once each.
        let today = review::Date::of_micros(ledger_store::system_clock()());
        if let Some(today) = today {
            let due: Vec<_> = review::reminders::reminders(&host.state(), today, 0)
                .into_iter()
                .filter(|r| r.due <= today)
                .collect();
            for r in due {
                let key = format!("{} {} {}", r.kind, r.id, r.due);
                if cursor.reminded.contains(&key) {
                    continue;
                }
                if !send(
                    &agent,
                    &hook,
                    &reminder_event(&ledger, &r, today),
                    &mut stopping,
                )
                .await
                {
                    return;
                }
                cursor.reminded.insert(key);
                let _ = cursor.save(&path);
            }
        }
        tokio::select! {
            _ = sizes.changed() => {}
            _ = tokio::time::sleep(REMIND_EVERY) => {}
            _ = stopping.changed() => {}
        }
    }
}

/// Sends `event` until the receiver takes it; `false` if the server began
/// to stop first.
async fn send(
    agent: &ureq::Agent,
    hook: &Webhook,
    event: &Value,
    stopping: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    let body = serde_json::to_vec(event).expect("JSON values serialise");
    let mut backoff = Duration::from_millis(500);
    loop {
        let attempt = {
            let (agent, url, secret, body) = (
                agent.clone(),
                hook.url.clone(),
                hook.secret.clone(),
                body.clone(),
            );
            tokio::task::spawn_blocking(move || post(&agent, &url, &secret, &body)).await
        };
        match attempt {
            Ok(Ok(())) => return true,
            Ok(Err(e)) => eprintln!("webhook {}: {e}; retrying in {backoff:?}", hook.url),
            Err(e) => eprintln!("webhook {}: {e}", hook.url),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stopping.changed() => return false,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

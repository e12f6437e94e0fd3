//! Reaching a server instead of a ledger directory, for the auditor's
//! commands: `export --server`, `verify --server`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use ledger_core::merkle::ConsistencyProof;
use ledger_core::{Admission, Checkpoint, Hash, LedgerId, VerifiedEntry};
use review::LedgerState;
use service::pb;
use service::pb::ledger_service_client::LedgerServiceClient;
use service::pb::review_service_client::ReviewServiceClient;
use tonic::transport::Channel;

use crate::cmd_feed::ServerArgs;

/// Where to read from when not from a ledger directory.
#[derive(Args, Clone, Debug, Default)]
pub struct Remote {
    /// Read from this server (e.g. `https://ledger.example:7327`) instead of `--ledger`.
    #[arg(long, requires = "ledger_id")]
    pub server: Option<String>,
    /// The hosted ledger to read (hex), with --server.
    #[arg(long)]
    pub ledger_id: Option<String>,
    /// The bearer token, with --server.
    #[arg(long, env = "REVIEW_LEDGER_TOKEN")]
    pub token: Option<String>,
    /// The CA certificate (PEM) of the server, with --server.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
}

/// A connected auditor's client.
pub struct Client {
    /// The server's address and credentials.
    pub args: ServerArgs,
    /// The ledger on it.
    pub ledger_id: String,
    /// The runtime the calls run on.
    pub runtime: tokio::runtime::Runtime,
    ledger: LedgerServiceClient<Channel>,
    review: ReviewServiceClient<Channel>,
}

impl Remote {
    /// A client, when `--server` was given.
    pub fn client(&self) -> Result<Option<Client>> {
        let Some(server) = &self.server else {
            return Ok(None);
        };
        let args = ServerArgs {
            server: server.clone(),
            token: self.token.clone(),
            ca_cert: self.ca_cert.clone(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let channel = {
            let _guard = runtime.enter();
            args.channel()?
        };
        Ok(Some(Client {
            ledger_id: self
                .ledger_id
                .clone()
                .context("--ledger-id is required with --server")?,
            ledger: LedgerServiceClient::new(channel.clone())
                .max_decoding_message_size(service::limits::MAX_RESPONSE),
            review: ReviewServiceClient::new(channel)
                .max_decoding_message_size(service::limits::MAX_RESPONSE),
            args,
            runtime,
        }))
    }
}

impl Client {
    /// The evidence bundle of `review`, as the server built it (to be verified, not trusted).
    pub fn bundle(&mut self, review: &str) -> Result<Vec<u8>> {
        let request = self.args.request(pb::GetBundleRequest {
            ledger_id: self.ledger_id.clone(),
            review: review.to_owned(),
        })?;
        let response = self
            .runtime
            .block_on(self.review.get_bundle(request))
            .map_err(status)?;
        Ok(response.into_inner().bundle)
    }

    /// The latest checkpoint, verified under the checkpoint key of the
    /// genesis entry, whose hash must be `trusted`.
    pub fn checkpoint(&mut self, trusted: LedgerId) -> Result<(String, Checkpoint)> {
        let request = self.args.request(pb::ReadRangeRequest {
            ledger_id: self.ledger_id.clone(),
            start: 0,
            limit: 1,
        })?;
        let range = self
            .runtime
            .block_on(self.ledger.read_range(request))
            .map_err(status)?
            .into_inner();
        let genesis = range
            .entries
            .first()
            .context("the server has no genesis entry")?;
        let v = VerifiedEntry::from_bytes(&genesis.entry)
            .context("the server's genesis entry does not verify")?;
        if v.hash != trusted {
            bail!(
                "the server's genesis hashes to {}, not the trusted {trusted}",
                v.hash
            );
        }
        let mut state = LedgerState::new();
        let effect = state.check(v.entry.seq, v.entry.received, &v.event)?;
        state.apply(v.entry.seq, v.hash, v.entry.received, effect);
        let key = state
            .roster
            .checkpoint_key
            .context("genesis names no checkpoint key")?;
        let request = self.args.request(pb::GetCheckpointRequest {
            ledger_id: self.ledger_id.clone(),
        })?;
        let note = self
            .runtime
            .block_on(self.ledger.get_checkpoint(request))
            .map_err(status)?
            .into_inner()
            .note;
        let cp = Checkpoint::verify(&note, &key).context("the server's checkpoint")?;
        if cp.ledger_id != trusted {
            bail!("the server's checkpoint is for ledger {}", cp.ledger_id);
        }
        Ok((note, cp))
    }

    /// A consistency proof from `old` entries to `new`.
    pub fn consistency(&mut self, old: u64, new: u64) -> Result<ConsistencyProof> {
        let request = self.args.request(pb::GetConsistencyProofRequest {
            ledger_id: self.ledger_id.clone(),
            old_size: old,
            new_size: new,
        })?;
        let p = self
            .runtime
            .block_on(self.ledger.get_consistency_proof(request))
            .map_err(status)?
            .into_inner();
        let path = p
            .path
            .iter()
            .map(|h| <[u8; 32]>::try_from(h.as_slice()).map(Hash))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                anyhow::anyhow!("the server's consistency proof holds a node that is not 32 bytes")
            })?;
        Ok(ConsistencyProof {
            old_size: p.old_size,
            new_size: p.new_size,
            path,
        })
    }
}

fn status(s: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("server: {}: {}", s.code(), s.message())
}

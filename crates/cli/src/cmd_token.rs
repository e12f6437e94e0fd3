//! `token new`: mint a bearer token for a server's `--tokens` file.

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use ledger_core::Hash;
use rand_core::{OsRng, RngCore};
use serde_json::json;
use service::Tokens;

use crate::Verdict;
use crate::out::Out;

/// What a token may do.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TokenRole {
    /// Entries, the feed, checkpoints, proofs and projections.
    Reader,
    /// A reader that may also run the whole-ledger verification.
    Auditor,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Print a new random token, and the line that grants it in a tokens
    /// file (which stores only the token's hash).
    New {
        /// The role it grants.
        #[arg(long, value_enum)]
        role: TokenRole,
        /// The ledger it grants it on (64 hex digits), or `*` for every ledger.
        #[arg(long)]
        ledger_id: String,
    },
}

pub fn run(cmd: TokenCommand, out: &Out) -> Result<Verdict> {
    let TokenCommand::New { role, ledger_id } = cmd;
    let ledger = if ledger_id == "*" {
        ledger_id
    } else {
        Hash::from_hex("--ledger-id", &ledger_id)?.to_hex()
    };
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let token = format!("rlt_{}", hex::encode(secret));
    let role = match role {
        TokenRole::Reader => "reader",
        TokenRole::Auditor => "auditor",
    };
    let line = format!("{} {role} {ledger}", Tokens::hash(&token).to_hex());
    out.emit(
        &json!({"token": token, "role": role, "ledger_id": ledger, "tokens_line": line}),
        || {
            format!(
                "token: {token}\n\
                 (shown once: give it to the reader; the server keeps only its hash)\n\
                 add this line to the server's --tokens file:\n{line}"
            )
        },
    );
    Ok(Verdict::Ok)
}

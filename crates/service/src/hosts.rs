//! The ledgers a server hosts, and who may read them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ledger_core::Hash;
use tokio::sync::watch;
use tonic::Status;
use tonic::metadata::MetadataMap;

use crate::convert;
use crate::error::ServiceError;
use crate::host::Hosted;

/// What a call needs from its bearer token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Entries, the feed, checkpoints, proofs and projections.
    Reader,
    /// Everything a reader may, and the whole-ledger verification.
    Auditor,
}

/// What a call is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// An append: authorised by the event's signature and the admission rules alone.
    Write,
    /// A read that needs at least this role when tokens are on.
    Read(Role),
}

/// The bearer tokens of a server, kept as blake3 hashes only.
///
/// The file has one token a line: `<blake3 hex of the token> <reader|auditor> <ledger id hex|*>`.
/// Blank lines and lines starting with `#` are ignored.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    grants: HashMap<Hash, Vec<(Role, Option<Hash>)>>,
}

/// The context string of token hashes.
pub const TOKEN_CONTEXT: &str = "review-ledger/v1 bearer token";

impl Tokens {
    /// The stored form of a token: blake3 in derive-key mode, so that a
    /// token hash is useless as any other kind of hash.
    pub fn hash(token: &str) -> Hash {
        Hash(blake3::derive_key(TOKEN_CONTEXT, token.as_bytes()))
    }

    /// Parses a token file.
    pub fn parse(path: &Path, text: &str) -> Result<Tokens, ServiceError> {
        let mut grants: HashMap<Hash, Vec<(Role, Option<Hash>)>> = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: String| ServiceError::Tokens {
                path: path.to_owned(),
                line: i + 1,
                reason,
            };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [hash, role, ledger] = fields[..] else {
                return Err(bad(format!(
                    "expected `<token hash> <reader|auditor> <ledger id|*>`, found {} fields",
                    fields.len()
                )));
            };
            let hash = Hash::from_hex("token hash", hash).map_err(|e| bad(e.to_string()))?;
            let role = match role {
                "reader" => Role::Reader,
                "auditor" => Role::Auditor,
                other => return Err(bad(format!("role `{other}` is not reader or auditor"))),
            };
            let ledger = match ledger {
                "*" => None,
                id => Some(Hash::from_hex("ledger id", id).map_err(|e| bad(e.to_string()))?),
            };
            grants.entry(hash).or_default().push((role, ledger));
        }
        Ok(Tokens { grants })
    }

    /// The best role `token` grants on `ledger`, if it is known and grants any.
    pub fn role_of(&self, token: &str, ledger: &Hash) -> Option<Role> {
        self.grants
            .get(&Tokens::hash(token))?
            .iter()
            .filter(|(_, l)| l.is_none_or(|l| &l == ledger))
            .map(|(r, _)| *r)
            .max()
    }

    /// Checks the `authorization: Bearer <token>` header for `need` on `ledger`.
    fn check(&self, meta: &MetadataMap, ledger: &Hash, need: Role) -> Result<(), Status> {
        let header = meta
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("this server needs a bearer token"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| {
                Status::unauthenticated("authorization header is not `Bearer <token>`")
            })?;
        let grants = self
            .grants
            .get(&Tokens::hash(token))
            .ok_or_else(|| Status::unauthenticated("unknown bearer token"))?;
        let best = grants
            .iter()
            .filter(|(_, l)| l.is_none_or(|l| &l == ledger))
            .map(|(r, _)| *r)
            .max()
            .ok_or_else(|| {
                Status::permission_denied(format!("the token grants nothing on ledger {ledger}"))
            })?;
        if best < need {
            return Err(Status::permission_denied(format!(
                "the token is a {best:?} token on ledger {ledger}; this call needs {need:?}"
            )));
        }
        Ok(())
    }
}

/// Every hosted ledger, by id.
pub struct Hosts {
    ledgers: HashMap<Hash, Arc<Hosted>>,
    tokens: Option<Tokens>,
    stop: watch::Sender<bool>,
}

impl Hosts {
    /// Opens every directory, each with a sled cache of `cache_bytes`
    /// (see [`crate::limits::CACHE_BYTES`]); two directories may not hold
    /// the same ledger.
    pub fn open(
        dirs: &[PathBuf],
        tokens: Option<Tokens>,
        cache_bytes: u64,
    ) -> Result<Hosts, ServiceError> {
        let each = cache_share(cache_bytes, dirs.len());
        let hosted = dirs
            .iter()
            .map(|dir| Hosted::open(dir, each))
            .collect::<Result<Vec<_>, _>>()?;
        Hosts::of(hosted, tokens)
    }

    /// Hosts ledgers already opened (from directories or a database); two
    /// may not be the same ledger.
    pub fn of(hosted: Vec<Hosted>, tokens: Option<Tokens>) -> Result<Hosts, ServiceError> {
        let mut ledgers: HashMap<Hash, Arc<Hosted>> = HashMap::new();
        for hosted in hosted {
            if let Some(first) = ledgers.get(&hosted.id) {
                return Err(ServiceError::SameLedger {
                    id: hosted.id.to_hex(),
                    first: first.dir.clone(),
                    second: hosted.dir.clone(),
                });
            }
            let hosted = Arc::new(hosted);
            hosted.follow();
            ledgers.insert(hosted.id, hosted);
        }
        let (stop, _) = watch::channel(false);
        Ok(Hosts {
            ledgers,
            tokens,
            stop,
        })
    }

    /// The hosted ledgers.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Hosted>> {
        self.ledgers.values()
    }

    /// Finds the ledger a call names and checks the caller may make it.
    /// The token is checked first, so that a caller without one learns
    /// nothing about which ledgers exist.
    pub fn get(&self, meta: &MetadataMap, id: &str, access: Access) -> Result<Arc<Hosted>, Status> {
        let id = convert::ledger_id(id)?;
        if let (Some(tokens), Access::Read(role)) = (&self.tokens, access) {
            tokens.check(meta, &id, role)?;
        }
        self.ledgers
            .get(&id)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("no ledger {id} on this server")))
    }

    /// The hosted ledgers the caller may read, by id: all of them without
    /// tokens; with tokens, those the bearer token grants reader on.
    pub fn readable(&self, meta: &MetadataMap) -> Result<Vec<Arc<Hosted>>, Status> {
        let mut out: Vec<Arc<Hosted>> = match &self.tokens {
            None => self.ledgers.values().cloned().collect(),
            Some(tokens) => {
                if meta.get("authorization").is_none() {
                    return Err(Status::unauthenticated("this server needs a bearer token"));
                }
                self.ledgers
                    .iter()
                    .filter(|(id, _)| tokens.check(meta, id, Role::Reader).is_ok())
                    .map(|(_, h)| h.clone())
                    .collect()
            }
        };
        out.sort_by_key(|h| h.id);
        Ok(out)
    }

    /// The ledger `id`, whoever asks: for a caller that checks access itself
    /// (the web console, by its sessions).
    pub fn ledger(&self, id: &Hash) -> Option<Arc<Hosted>> {
        self.ledgers.get(id).cloned()
    }

    /// The bearer tokens, when the server asks for them.
    pub fn tokens(&self) -> Option<&Tokens> {
        self.tokens.as_ref()
    }

    /// A receiver that turns true when the server begins to stop.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Tells feeds to end.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

/// Each of `ledgers` ledgers' share of the server's sled cache of
/// `total` bytes, and never less than [`limits::MIN_CACHE_BYTES`].
pub fn cache_share(total: u64, ledgers: usize) -> u64 {
    (total / ledgers.max(1) as u64).max(crate::limits::MIN_CACHE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_shared_between_ledgers() {
        let mib = 1 << 20;
        for (total, ledgers, each) in [
            (256 * mib, 1, 256 * mib),
            (256 * mib, 4, 64 * mib),
            (256 * mib, 0, 256 * mib),
            // 1,000 small ledgers in 2 GB: each gets its floor.
            (256 * mib, 1000, crate::limits::MIN_CACHE_BYTES),
        ] {
            assert_eq!(cache_share(total, ledgers), each, "{total} over {ledgers}");
        }
    }

    /// The stored form of a token is part of the token file's format: if it
    /// changed, every token already issued would be refused. docs/SERVICE.md
    /// shows this example.
    #[test]
    fn token_hash_is_frozen() {
        let token = "rlt_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let expected = "f7847edc951c29625661f5abb0f202c60ce868dde0ce0e035be17c96502c8fe6";
        assert_eq!(
            blake3::derive_key("review-ledger/v1 bearer token", token.as_bytes()),
            Tokens::hash(token).0
        );
        assert_eq!(Tokens::hash(token).to_hex(), expected);
    }
}

//! Who is looking: sessions opened by a key or a bearer token, the
//! sign-in challenges that open them, and the CSRF token of each.
//!
//! Everything is in memory: a restarted server forgets its sessions and
//! people sign in again, which costs a member one signature. Both maps are
//! bounded ([`MAX_SESSIONS`], [`MAX_CHALLENGES`]) and swept of expired
//! entries when they fill, so a flood of sign-in attempts costs memory no
//! larger than the bound.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ledger_core::{LedgerId, PublicKey};
use rand_core::{OsRng, RngCore};
use review::MemberId;
use service::Role;

/// A session ends this long after it was opened.
pub const SESSION_LIFE: Duration = Duration::from_secs(8 * 3600);
/// A sign-in challenge must be answered within this.
pub const CHALLENGE_LIFE: Duration = Duration::from_secs(120);
/// Sessions open at once, on the whole server.
pub const MAX_SESSIONS: usize = 10_000;
/// Challenges waiting for an answer, on the whole server.
pub const MAX_CHALLENGES: usize = 10_000;

/// The name of the session cookie (scoped to one ledger's path).
pub const COOKIE: &str = "rl_session";

/// 32 random bytes, shown as hex: a session id, a CSRF token or a challenge.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Secret([u8; 32]);

impl std::fmt::Debug for Secret {
    /// Never the secret itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A fresh secret from the operating system's generator.
    pub fn random() -> Secret {
        let mut b = [0u8; 32];
        OsRng.fill_bytes(&mut b);
        Secret(b)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Secret> {
        let mut b = [0u8; 32];
        hex::decode_to_slice(text, &mut b).ok()?;
        Some(Secret(b))
    }

    /// The hex form.
    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `text` is this secret, compared in constant time (blake3's
    /// hash equality is).
    pub fn matches(&self, text: &str) -> bool {
        let given = Secret::from_hex(text).unwrap_or(Secret([0; 32]));
        blake3::hash(&given.0) == blake3::hash(&self.0)
    }
}

/// Who a session belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// A member, proven by a signature of an enrolled key.
    Member {
        /// Their handle.
        handle: MemberId,
        /// The key that signed in: the author of what they sign here.
        key: PublicKey,
    },
    /// A bearer of one of the server's tokens.
    Token(Role),
}

/// One open session.
#[derive(Clone, Debug)]
pub struct Session {
    /// The ledger it is for.
    pub ledger: LedgerId,
    /// Whose it is.
    pub who: Who,
    /// The token every form posted in this session carries.
    pub csrf: Secret,
    expires: Instant,
}

/// The server's sessions and outstanding challenges.
#[derive(Default)]
pub struct Sessions {
    open: Mutex<HashMap<Secret, Session>>,
    challenges: Mutex<HashMap<Secret, (LedgerId, Instant)>>,
}

/// Why a session or challenge could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Full {
    /// Too many sessions.
    #[error("{MAX_SESSIONS} sessions are open on this server; try again later")]
    Sessions,
    /// Too many challenges.
    #[error("{MAX_CHALLENGES} sign-ins are waiting on this server; try again later")]
    Challenges,
}

impl Sessions {
    /// Opens a session for `who` on `ledger`; returns its id.
    pub fn open(&self, ledger: LedgerId, who: Who) -> Result<(Secret, Session), Full> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if open.len() >= MAX_SESSIONS {
            open.retain(|_, s| s.expires > now);
            if open.len() >= MAX_SESSIONS {
                return Err(Full::Sessions);
            }
        }
        let id = Secret::random();
        let session = Session {
            ledger,
            who,
            csrf: Secret::random(),
            expires: now + SESSION_LIFE,
        };
        open.insert(id, session.clone());
        Ok((id, session))
    }

    /// The live session with id `id` on `ledger`.
    pub fn get(&self, ledger: &LedgerId, id: &str) -> Option<Session> {
        let id = Secret::from_hex(id)?;
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        match open.get(&id) {
            Some(s) if s.expires <= Instant::now() => {
                open.remove(&id);
                None
            }
            Some(s) if &s.ledger == ledger => Some(s.clone()),
            _ => None,
        }
    }

    /// Ends the session `id`.
    pub fn close(&self, id: &str) {
        if let Some(id) = Secret::from_hex(id) {
            self.open
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        }
    }

    /// A fresh challenge for signing in to `ledger`.
    pub fn challenge(&self, ledger: LedgerId) -> Result<Secret, Full> {
        let mut waiting = self.challenges.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if waiting.len() >= MAX_CHALLENGES {
            waiting.retain(|_, (_, expires)| *expires > now);
            if waiting.len() >= MAX_CHALLENGES {
                return Err(Full::Challenges);
            }
        }
        let c = Secret::random();
        waiting.insert(c, (ledger, now + CHALLENGE_LIFE));
        Ok(c)
    }

    /// Takes the challenge `c` for `ledger`: it answers one sign-in at most,
    /// and only before it expires.
    pub fn take_challenge(&self, ledger: &LedgerId, c: &Secret) -> bool {
        let mut waiting = self.challenges.lock().unwrap_or_else(|p| p.into_inner());
        match waiting.remove(c) {
            Some((l, expires)) => &l == ledger && expires > Instant::now(),
            None => false,
        }
    }
}

/// What a browser signs to sign in: the ledger id, then the challenge. The
/// signature's purpose (`review-ledger/v1 console sign-in`) is prefixed by
/// the key's `sign`, so it is never valid as an event signature.
pub fn sign_in_message(ledger: &LedgerId, challenge: &Secret) -> Vec<u8> {
    [ledger.0.as_slice(), challenge.bytes()].concat()
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_answers_once_and_for_its_ledger_only() {
        let sessions = Sessions::default();
        let a = LedgerId::default();
        let mut b = LedgerId::default();
        b.0[0] = 1;
        let c = sessions.challenge(a).unwrap();
        assert!(
            !sessions.take_challenge(&b, &c),
            "another ledger's challenge"
        );
        let c = sessions.challenge(a).unwrap();
        assert!(sessions.take_challenge(&a, &c));
        assert!(
            !sessions.take_challenge(&a, &c),
            "a challenge answered twice"
        );
    }

    #[test]
    fn a_session_is_found_only_on_its_ledger() {
        let sessions = Sessions::default();
        let a = LedgerId::default();
        let mut b = LedgerId::default();
        b.0[0] = 1;
        let (id, s) = sessions.open(a, Who::Token(Role::Reader)).unwrap();
        assert!(sessions.get(&a, &id.to_hex()).is_some());
        assert!(sessions.get(&b, &id.to_hex()).is_none());
        assert!(sessions.get(&a, "zz").is_none());
        assert!(s.csrf.matches(&s.csrf.to_hex()));
        assert!(!s.csrf.matches(&Secret::random().to_hex()));
        assert!(!s.csrf.matches(""));
        sessions.close(&id.to_hex());
        assert!(sessions.get(&a, &id.to_hex()).is_none());
    }

    #[test]
    fn cookies_are_read_by_name() {
        for (header, want) in [
            ("rl_session=abc", Some("abc")),
            ("a=1; rl_session=abc; b=2", Some("abc")),
            ("rl_sessionx=abc", None),
            ("", None),
        ] {
            assert_eq!(cookie(header, COOKIE), want, "{header}");
        }
    }
}

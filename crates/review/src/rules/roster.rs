//! The roster: who may sign, rebuilt from the ledger's own events.
//!
//! Rules, in the order they are checked:
//! - every event after genesis is signed by a key that is active now: enrolled,
//!   not rotated away, not revoked, its member not removed;
//! - a roster change is proposed by top management, and takes effect once
//!   top management at the quorum of the policy (counting the proposer)
//!   has signed it; approvals come one event each;
//! - revoking one's own keys, or retiring one of them, takes effect at once;
//! - a member may hold several active keys (`AddKey`, `AddDeviceKey`,
//!   `AddPasskey`), each rotated, retired (`RetireKey`) or revoked on its
//!   own; a passkey is named by its key id wherever a key is named;
//! - a rotation is signed by the old key as the event's author and by the
//!   new key over a [`RotationStatement`];
//! - a key enrolled once, for anyone, is never enrolled again, and weak keys never.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ledger_core::{Credential, EventId, LedgerId, PublicKey, Purpose, Seq, codec};
use serde::{Deserialize, Serialize};

use crate::error::Rejection;
use crate::member::{MemberId, MemberRecord, check_text};
use crate::payload::{Genesis, RosterChange, Rotation, RotationStatement};
use crate::policy::{KeyPolicy, Policy, Thresholds};

/// A member as the roster knows them now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The handle.
    pub handle: MemberId,
    /// Full name.
    pub name: String,
    /// Role title.
    pub role: String,
    /// Whether they are top management.
    pub top_management: bool,
    /// Their active keys, in the order they were enrolled (none after a
    /// revocation until a rekey).
    pub keys: Vec<PublicKey>,
    /// Whether they have been removed.
    pub removed: bool,
    /// The entry that enrolled them.
    pub enrolled_at: Seq,
    /// How their standing changed, entry by entry, from enrolment on: what
    /// [`Roster::as_at`] reads to judge an event by the roster it was
    /// admitted against.
    #[serde(skip)]
    pub history: Vec<(Seq, Standing)>,
}

/// What a member was at some point of the ledger: the part of the roster
/// that verdicts depend on. Names and roles never change once enrolled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// Top management.
    pub top_management: bool,
    /// Removed from the roster.
    pub removed: bool,
    /// Holding an active key (false after a revocation until a rekey).
    pub has_key: bool,
}

impl Standing {
    /// Whether the member counts as having left: removed, or holding no
    /// active key (revoked with no replacement). A member who left can
    /// neither sign nor own an action or objective.
    pub fn left(self) -> bool {
        self.removed || !self.has_key
    }

    /// Top management and still on the roster.
    pub fn top(self) -> bool {
        self.top_management && !self.removed
    }
}

impl Member {
    /// The member's standing now.
    pub fn standing(&self) -> Standing {
        Standing {
            top_management: self.top_management,
            removed: self.removed,
            has_key: !self.keys.is_empty(),
        }
    }

    /// Records the standing after a change made by entry `seq`.
    fn record(&mut self, seq: Seq) {
        let now = self.standing();
        match self.history.last_mut() {
            Some((at, last)) if *at == seq => *last = now,
            Some((_, last)) if *last == now => {}
            _ => self.history.push((seq, now)),
        }
    }
}

/// The roster as it was when one entry was admitted: every roster change
/// made by the entries before it, none made by it or after it. Made by
/// [`Roster::as_at`]; every verdict about an event reads the roster through
/// one of these, so that no later roster event changes it.
#[derive(Clone, Copy, Debug)]
pub struct RosterAsAt<'r> {
    roster: &'r Roster,
    /// The entry whose roster this is.
    pub seq: Seq,
}

impl<'r> RosterAsAt<'r> {
    /// The member `handle` and their standing, if they were enrolled before the entry.
    pub fn member(&self, handle: &MemberId) -> Option<(&'r Member, Standing)> {
        let m = self.roster.members.get(handle)?;
        let i = m.history.partition_point(|(at, _)| *at < self.seq);
        let standing = m.history[..i].last()?.1;
        Some((m, standing))
    }

    /// The standing of `handle`, if they were enrolled before the entry.
    pub fn standing(&self, handle: &MemberId) -> Option<Standing> {
        self.member(handle).map(|(_, s)| s)
    }

    /// Whether `handle` was top management (and on the roster).
    pub fn is_top_management(&self, handle: &MemberId) -> bool {
        self.standing(handle).is_some_and(Standing::top)
    }

    /// Whether `handle` was an enrolled member who had not been removed.
    pub fn enrolled(&self, handle: &MemberId) -> bool {
        self.standing(handle).is_some_and(|s| !s.removed)
    }

    /// Whether `handle` could act: enrolled, not removed, holding an active key.
    pub fn can_act(&self, handle: &MemberId) -> bool {
        self.standing(handle).is_some_and(|s| !s.left())
    }

    /// Why `handle` could not act, in words, or `None` if they could.
    pub fn why_not_able(&self, handle: &MemberId) -> Option<String> {
        match self.standing(handle) {
            None => Some(format!("{handle} was not an enrolled member")),
            Some(s) if s.removed => Some(format!("{handle} had been removed from the roster")),
            Some(s) if !s.has_key => Some(format!(
                "{handle} held no active key (revoked with no replacement)"
            )),
            Some(_) => None,
        }
    }

    /// The conformance thresholds in force.
    pub fn thresholds(&self) -> Thresholds {
        let set = &self.roster.thresholds;
        let i = set.partition_point(|(at, _)| *at < self.seq);
        set[..i].last().map(|(_, t)| t.clone()).unwrap_or_default()
    }

    /// Whether a minutes signature by `key`, made as `signed_by` says, at
    /// this roster meets the key policy in force; if not, the policy and
    /// the entry that set it.
    pub fn minutes_key_policy_unmet(
        &self,
        key: &PublicKey,
        signed_by: ledger_core::SignedBy,
    ) -> Option<(KeyPolicy, Option<Seq>)> {
        let (policy, at) = self.key_policy();
        let with = self
            .roster
            .keys
            .get(key)
            .map(|k| k.kind.signed_with(signed_by))
            .unwrap_or(SignedWith::KeyFile);
        (!policy.met_by_minutes_signature(with)).then_some((policy, at))
    }

    /// The key policy in force, and the entry that set it (`None` for the
    /// default).
    pub fn key_policy(&self) -> (KeyPolicy, Option<Seq>) {
        let set = &self.roster.key_policies;
        let i = set.partition_point(|(at, _)| *at < self.seq);
        set[..i]
            .last()
            .map(|(at, p)| (*p, Some(*at)))
            .unwrap_or_default()
    }

    /// The entry at which `handle` left (removed, or lost their last key)
    /// at or before this roster, if they had.
    pub fn left_at(&self, handle: &MemberId) -> Option<Seq> {
        let m = self.roster.members.get(handle)?;
        let i = m.history.partition_point(|(at, _)| *at < self.seq);
        let upto = &m.history[..i];
        match upto.last() {
            Some((at, s)) if s.left() => Some(*at),
            _ => None,
        }
    }
}

/// What became of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    /// It signs for its member.
    Active,
    /// It was replaced at this entry.
    Rotated(Seq),
    /// It was revoked at this entry.
    Revoked(Seq),
}

/// Every key the ledger has ever enrolled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Whose key it is.
    pub member: MemberId,
    /// Where it was enrolled.
    pub since: Seq,
    /// Its state now.
    pub state: KeyState,
    /// What kind of key it is.
    pub kind: KeyKind,
}

/// What kind of key a member enrolled: what reports say a signature was
/// made with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyKind {
    /// An ed25519 key from a key file (genesis, `Enrol`, `AddKey`,
    /// `Rekey`, a rotation).
    KeyFile,
    /// An ed25519 key a browser made and keeps (`AddDeviceKey`).
    DeviceKey,
    /// A passkey (`AddPasskey`).
    Passkey(Credential),
}

/// What a signature was made with, as reports say it: the kind of key
/// that signed and, for a passkey, whether the authenticator verified the
/// user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedWith {
    /// An ed25519 key from a key file.
    KeyFile,
    /// An ed25519 key a browser keeps.
    DeviceKey,
    /// A passkey.
    Passkey {
        /// The authenticator verified the user (biometric or PIN).
        user_verified: bool,
    },
}

impl Serialize for SignedWith {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::fmt::Display for SignedWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignedWith::KeyFile => "key file",
            SignedWith::DeviceKey => "device key",
            SignedWith::Passkey {
                user_verified: true,
            } => "passkey, user verified",
            SignedWith::Passkey {
                user_verified: false,
            } => "passkey, user not verified",
        })
    }
}

impl KeyKind {
    /// What a signature by a key of this kind was made with, given what
    /// the signature itself says.
    pub fn signed_with(&self, signed_by: ledger_core::SignedBy) -> SignedWith {
        match (self, signed_by) {
            (_, ledger_core::SignedBy::Passkey { user_verified }) => {
                SignedWith::Passkey { user_verified }
            }
            (KeyKind::DeviceKey, _) => SignedWith::DeviceKey,
            _ => SignedWith::KeyFile,
        }
    }

    /// The kind in words: `key file`, `device key`, `passkey (ES256, example.org)`.
    pub fn describe(&self) -> String {
        match self {
            KeyKind::KeyFile => "key file".into(),
            KeyKind::DeviceKey => "device key".into(),
            KeyKind::Passkey(c) => format!("passkey ({}, {})", c.algorithm_name(), c.rp_id),
        }
    }

    /// The text form of `key` of this kind: `ed25519:<hex>`, or
    /// `passkey:<hex of its key id>`.
    pub fn key_text(&self, key: &PublicKey) -> String {
        match self {
            KeyKind::Passkey(_) => format!("passkey:{}", key.to_hex()),
            _ => key.to_text(),
        }
    }

    /// The passkey, if the key is one.
    pub fn passkey(&self) -> Option<&Credential> {
        match self {
            KeyKind::Passkey(c) => Some(c),
            _ => None,
        }
    }
}

/// A roster change waiting for its quorum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The proposing event.
    pub id: EventId,
    /// Its entry.
    pub seq: Seq,
    /// The change.
    pub change: RosterChange,
    /// The top-management members who have signed it so far.
    pub approvals: BTreeSet<MemberId>,
}

/// One state change the roster makes when an admitted event is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RosterOp {
    /// Found the roster.
    Found(Genesis),
    /// Record a proposal.
    Propose {
        /// The proposing event.
        id: EventId,
        /// The change.
        change: RosterChange,
        /// The proposer.
        by: MemberId,
    },
    /// Record an approval.
    Approve {
        /// The proposal.
        id: EventId,
        /// The approver.
        by: MemberId,
    },
    /// A proposal has its quorum: drop it from the pending list.
    Settle(EventId),
    /// Make a change effective.
    Apply(RosterChange),
    /// Replace a member's key.
    Rotate {
        /// The member.
        member: MemberId,
        /// The key replaced.
        old: PublicKey,
        /// The new key.
        new: PublicKey,
    },
}

/// The roster of one ledger. (Serialized only for snapshots,
/// `rules::snapshot`.)
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    /// The ledger id, once genesis is applied.
    pub ledger_id: Option<LedgerId>,
    /// The organisation.
    pub organisation: String,
    /// The checkpoint key named in genesis.
    pub checkpoint_key: Option<PublicKey>,
    /// The policy from genesis.
    pub policy: Policy,
    /// Members by handle.
    #[serde(with = "crate::rules::snapshot::members")]
    pub members: BTreeMap<MemberId, Member>,
    /// Every key ever enrolled.
    #[serde(with = "crate::rules::snapshot::keys")]
    pub keys: HashMap<PublicKey, KeyRecord>,
    /// Changes waiting for their quorum, by proposing event id.
    pub pending: BTreeMap<EventId, Pending>,
    /// Conformance thresholds set after genesis, with the entry that set
    /// each; [`Thresholds::default`] before the first.
    pub thresholds: Vec<(Seq, Thresholds)>,
    /// Key policies set after genesis, with the entry that set each;
    /// [`KeyPolicy::AnyKey`] before the first.
    pub key_policies: Vec<(Seq, KeyPolicy)>,
    /// How many members are top management now, kept as members change so
    /// that quorum checks do not walk the roster.
    top_count: usize,
    /// Each enrolled passkey's public key, with its key id, kept as keys
    /// are enrolled so that enrolling a key does not walk every key.
    passkey_publics: BTreeMap<Vec<u8>, PublicKey>,
}

impl Roster {
    /// The roster that entry `seq` was admitted against: the one function
    /// that answers who was what at entry `seq`.
    pub fn as_at(&self, seq: Seq) -> RosterAsAt<'_> {
        RosterAsAt { roster: self, seq }
    }

    /// Whether genesis has been applied.
    pub fn founded(&self) -> bool {
        self.ledger_id.is_some()
    }

    /// The active member whose key signed an event, or why that key signs nothing.
    pub fn signer(&self, key: &PublicKey) -> Result<&Member, Rejection> {
        let record = self.keys.get(key).ok_or_else(|| Rejection::UnknownKey {
            key: key.fingerprint(),
        })?;
        match record.state {
            KeyState::Rotated(at) => Err(Rejection::KeyRotated {
                key: key.fingerprint(),
                member: record.member.clone(),
                at,
            }),
            KeyState::Revoked(at) => Err(Rejection::KeyRevoked {
                key: key.fingerprint(),
                member: record.member.clone(),
                at,
            }),
            KeyState::Active => {
                let member = &self.members[&record.member];
                if member.removed {
                    return Err(Rejection::MemberRemoved(member.handle.clone()));
                }
                Ok(member)
            }
        }
    }

    /// The number of current top-management members.
    pub fn top_management_count(&self) -> usize {
        debug_assert_eq!(
            self.top_count,
            self.members
                .values()
                .filter(|m| m.top_management && !m.removed)
                .count()
        );
        self.top_count
    }

    /// Approvals a roster change needs now.
    pub fn roster_quorum(&self) -> usize {
        self.policy
            .roster_quorum
            .required(self.top_management_count())
    }

    fn member(&self, handle: &MemberId) -> Result<&Member, Rejection> {
        match self.members.get(handle) {
            Some(m) if !m.removed => Ok(m),
            _ => Err(Rejection::UnknownMember(handle.clone())),
        }
    }

    fn check_new_key(&self, field: &'static str, key: &PublicKey) -> Result<(), Rejection> {
        key.verifying_key().map_err(|e| Rejection::BadKey {
            field,
            reason: e.to_string(),
        })?;
        self.check_key_free(field, key)?;
        self.check_public_key_free(field, &key.0)
    }

    /// Checks that no enrolled key, ed25519 or passkey, has the public key
    /// bytes `public`.
    fn check_public_key_free(&self, field: &'static str, public: &[u8]) -> Result<(), Rejection> {
        let passkey = self
            .passkey_publics
            .get(public)
            .and_then(|id| self.keys.get(id));
        let key_file = <[u8; 32]>::try_from(public)
            .ok()
            .and_then(|k| self.keys.get(&PublicKey(k)))
            .filter(|r| !matches!(r.kind, KeyKind::Passkey(_)));
        match passkey.or(key_file) {
            Some(r) => Err(Rejection::BadKey {
                field,
                reason: format!("its public key is already enrolled, for {}", r.member),
            }),
            None => Ok(()),
        }
    }

    /// Checks that no one holds `key` (an ed25519 key or a passkey's key
    /// id) and that it is not the checkpoint key.
    fn check_key_free(&self, field: &'static str, key: &PublicKey) -> Result<(), Rejection> {
        if let Some(record) = self.keys.get(key) {
            return Err(Rejection::KeyTaken {
                key: key.fingerprint(),
                member: record.member.clone(),
            });
        }
        if Some(*key) == self.checkpoint_key {
            return Err(Rejection::BadKey {
                field,
                reason: "the ledger's checkpoint key cannot sign for a member".into(),
            });
        }
        Ok(())
    }

    /// Checks a genesis offered at `seq` by `author`.
    pub fn check_genesis(
        &self,
        seq: Seq,
        author: &PublicKey,
        g: &Genesis,
    ) -> Result<Vec<RosterOp>, Rejection> {
        if self.founded() || seq != Seq(0) {
            return Err(Rejection::GenesisAgain { seq });
        }
        check_text("genesis.organisation", &g.organisation)?;
        g.founder.check()?;
        g.policy.check()?;
        if !g.founder.top_management {
            return Err(Rejection::Field {
                field: "genesis.founder.top_management".into(),
                reason: "the founder must be top management".into(),
            });
        }
        if g.founder.key != *author {
            return Err(Rejection::Field {
                field: "genesis.founder.key".into(),
                reason: "genesis must be signed by the founder's own key".into(),
            });
        }
        g.checkpoint_key
            .verifying_key()
            .map_err(|e| Rejection::BadKey {
                field: "genesis.checkpoint_key",
                reason: e.to_string(),
            })?;
        if g.checkpoint_key == g.founder.key {
            return Err(Rejection::BadKey {
                field: "genesis.checkpoint_key",
                reason: "the checkpoint key must not be a member's key".into(),
            });
        }
        Ok(vec![RosterOp::Found(g.clone())])
    }

    /// Checks that `change` could take effect now.
    fn check_change(&self, change: &RosterChange) -> Result<(), Rejection> {
        match change {
            RosterChange::Enrol(record) | RosterChange::EnrolDevice(record) => {
                record.check()?;
                if self.members.contains_key(&record.handle) {
                    return Err(Rejection::HandleTaken(record.handle.clone()));
                }
                self.check_new_key("member.key", &record.key)
            }
            RosterChange::SetTopManagement {
                handle,
                top_management,
            } => {
                let m = self.member(handle)?;
                if m.top_management && !top_management && self.top_management_count() == 1 {
                    return Err(Rejection::LastTopManagement(handle.clone()));
                }
                Ok(())
            }
            RosterChange::Revoke { handle } => match self.member(handle)?.keys.is_empty() {
                false => Ok(()),
                true => Err(Rejection::Field {
                    field: "revoke.handle".into(),
                    reason: format!("{handle} has no active key to revoke"),
                }),
            },
            RosterChange::AddKey { handle, key } | RosterChange::AddDeviceKey { handle, key } => {
                self.member(handle)?;
                self.check_new_key("add_key.key", key)
            }
            RosterChange::AddPasskey { handle, credential } => {
                self.member(handle)?;
                credential.check().map_err(|e| Rejection::BadKey {
                    field: "add_passkey.credential",
                    reason: e.to_string(),
                })?;
                self.check_key_free("add_passkey.credential", &credential.key_id())?;
                // The assertion authenticates the public key, not the
                // credential id: one authenticator key is one key, whatever
                // id or relying party it comes with.
                self.check_public_key_free("add_passkey.credential", &credential.public_key)
            }
            RosterChange::SetKeyPolicy(_) => Ok(()),
            RosterChange::RetireKey { handle, key } => {
                if self.member(handle)?.keys.contains(key) {
                    Ok(())
                } else {
                    Err(Rejection::Field {
                        field: "retire_key.key".into(),
                        reason: format!("{} is not an active key of {handle}", key.fingerprint()),
                    })
                }
            }
            RosterChange::Rekey { handle, key } => {
                if !self.member(handle)?.keys.is_empty() {
                    return Err(Rejection::Field {
                        field: "rekey.handle".into(),
                        reason: format!("{handle} still has an active key: rotate it instead"),
                    });
                }
                self.check_new_key("rekey.key", key)
            }
            RosterChange::Remove { handle } => {
                let m = self.member(handle)?;
                if m.top_management && self.top_management_count() == 1 {
                    return Err(Rejection::LastTopManagement(handle.clone()));
                }
                Ok(())
            }
            RosterChange::SetThresholds(t) => t.check(),
        }
    }

    /// Checks a proposal by `by` carried in event `id`.
    pub fn check_propose(
        &self,
        id: EventId,
        by: &Member,
        change: &RosterChange,
    ) -> Result<Vec<RosterOp>, Rejection> {
        self.check_change(change)?;
        let own_revocation = matches!(change,
            RosterChange::Revoke { handle } | RosterChange::RetireKey { handle, .. }
                if *handle == by.handle);
        if own_revocation {
            return Ok(vec![RosterOp::Apply(change.clone())]);
        }
        if !by.top_management {
            return Err(Rejection::NotTopManagement {
                member: by.handle.clone(),
                action: "propose a roster change",
            });
        }
        let mut ops = vec![RosterOp::Propose {
            id,
            change: change.clone(),
            by: by.handle.clone(),
        }];
        if self.roster_quorum() <= 1 {
            ops.push(RosterOp::Settle(id));
            ops.push(RosterOp::Apply(change.clone()));
        }
        Ok(ops)
    }

    /// Checks an approval by `by` of the pending change `id`.
    pub fn check_approve(&self, by: &Member, id: EventId) -> Result<Vec<RosterOp>, Rejection> {
        if !by.top_management {
            return Err(Rejection::NotTopManagement {
                member: by.handle.clone(),
                action: "approve a roster change",
            });
        }
        let pending = self
            .pending
            .get(&id)
            .ok_or(Rejection::UnknownProposal(id))?;
        if pending.approvals.contains(&by.handle) {
            return Err(Rejection::AlreadyApproved {
                member: by.handle.clone(),
                proposal: id,
            });
        }
        let mut ops = vec![RosterOp::Approve {
            id,
            by: by.handle.clone(),
        }];
        // Count only approvers who are still top management.
        let still_top = pending
            .approvals
            .iter()
            .filter(|h| {
                self.members
                    .get(*h)
                    .is_some_and(|m| m.top_management && !m.removed)
            })
            .count();
        if still_top + 1 >= self.roster_quorum() {
            // The roster may have moved since the proposal: check it again.
            self.check_change(&pending.change)?;
            ops.push(RosterOp::Settle(id));
            ops.push(RosterOp::Apply(pending.change.clone()));
        }
        Ok(ops)
    }

    /// Checks a rotation signed by `by`'s current key `old`.
    pub fn check_rotate(
        &self,
        by: &Member,
        old: &PublicKey,
        r: &Rotation,
    ) -> Result<Vec<RosterOp>, Rejection> {
        self.check_new_key("rotation.new_key", &r.new_key)?;
        let statement = RotationStatement {
            ledger: self.ledger_id.unwrap_or_default(),
            handle: by.handle.clone(),
            old_key: *old,
            new_key: r.new_key,
        };
        r.new_key
            .verify(Purpose::KeyRotation, &codec::encode(&statement), &r.proof)
            .map_err(|_| Rejection::BadRotationProof {
                member: by.handle.clone(),
            })?;
        Ok(vec![RosterOp::Rotate {
            member: by.handle.clone(),
            old: *old,
            new: r.new_key,
        }])
    }

    /// Applies what a check decided, for the event stored at `seq`.
    pub fn apply(&mut self, seq: Seq, ops: Vec<RosterOp>) {
        for op in ops {
            match op {
                RosterOp::Found(g) => {
                    self.organisation = g.organisation;
                    self.checkpoint_key = Some(g.checkpoint_key);
                    self.policy = g.policy;
                    self.enrol(seq, g.founder, KeyKind::KeyFile);
                }
                RosterOp::Propose { id, change, by } => {
                    self.pending.insert(
                        id,
                        Pending {
                            id,
                            seq,
                            change,
                            approvals: BTreeSet::from([by]),
                        },
                    );
                }
                RosterOp::Approve { id, by } => {
                    if let Some(p) = self.pending.get_mut(&id) {
                        p.approvals.insert(by);
                    }
                }
                RosterOp::Settle(id) => {
                    self.pending.remove(&id);
                }
                RosterOp::Apply(change) => self.apply_change(seq, change),
                RosterOp::Rotate { member, old, new } => {
                    if let Some(k) = self.keys.get_mut(&old) {
                        k.state = KeyState::Rotated(seq);
                    }
                    self.insert_key(
                        new,
                        KeyRecord {
                            member: member.clone(),
                            since: seq,
                            state: KeyState::Active,
                            kind: KeyKind::KeyFile,
                        },
                    );
                    if let Some(m) = self.members.get_mut(&member) {
                        for k in m.keys.iter_mut().filter(|k| **k == old) {
                            *k = new;
                        }
                    }
                }
            }
        }
    }

    /// Enrols `key` as `record`, keeping the passkeys' public keys.
    fn insert_key(&mut self, key: PublicKey, record: KeyRecord) {
        if let KeyKind::Passkey(c) = &record.kind {
            self.passkey_publics.insert(c.public_key.clone(), key);
        }
        self.keys.insert(key, record);
    }

    fn enrol(&mut self, seq: Seq, r: MemberRecord, kind: KeyKind) {
        self.top_count += usize::from(r.top_management);
        self.insert_key(
            r.key,
            KeyRecord {
                member: r.handle.clone(),
                since: seq,
                state: KeyState::Active,
                kind,
            },
        );
        self.members.insert(
            r.handle.clone(),
            Member {
                handle: r.handle,
                name: r.name,
                role: r.role,
                top_management: r.top_management,
                keys: vec![r.key],
                removed: false,
                enrolled_at: seq,
                history: vec![(
                    seq,
                    Standing {
                        top_management: r.top_management,
                        removed: false,
                        has_key: true,
                    },
                )],
            },
        );
    }

    /// Revokes `key` of `handle`, or every key they hold when `key` is `None`.
    fn revoke_keys(&mut self, seq: Seq, handle: &MemberId, key: Option<&PublicKey>) {
        let Some(m) = self.members.get_mut(handle) else {
            return;
        };
        let revoked: Vec<PublicKey> = match key {
            Some(key) => m.keys.iter().filter(|k| *k == key).copied().collect(),
            None => m.keys.clone(),
        };
        m.keys.retain(|k| !revoked.contains(k));
        m.record(seq);
        for key in revoked {
            if let Some(k) = self.keys.get_mut(&key) {
                k.state = KeyState::Revoked(seq);
            }
        }
    }

    /// Enrols `key` as one more active key of `handle`.
    fn add_key(&mut self, seq: Seq, handle: MemberId, key: PublicKey, kind: KeyKind) {
        self.insert_key(
            key,
            KeyRecord {
                member: handle.clone(),
                since: seq,
                state: KeyState::Active,
                kind,
            },
        );
        if let Some(m) = self.members.get_mut(&handle) {
            m.keys.push(key);
            m.record(seq);
        }
    }

    fn apply_change(&mut self, seq: Seq, change: RosterChange) {
        match change {
            RosterChange::Enrol(r) => self.enrol(seq, r, KeyKind::KeyFile),
            RosterChange::EnrolDevice(r) => self.enrol(seq, r, KeyKind::DeviceKey),
            RosterChange::SetTopManagement {
                handle,
                top_management,
            } => {
                if let Some(m) = self.members.get_mut(&handle)
                    && m.top_management != top_management
                {
                    m.top_management = top_management;
                    m.record(seq);
                    if top_management {
                        self.top_count += 1;
                    } else {
                        self.top_count -= 1;
                    }
                }
            }
            RosterChange::Revoke { handle } => self.revoke_keys(seq, &handle, None),
            RosterChange::RetireKey { handle, key } => self.revoke_keys(seq, &handle, Some(&key)),
            RosterChange::Rekey { handle, key } | RosterChange::AddKey { handle, key } => {
                self.add_key(seq, handle, key, KeyKind::KeyFile)
            }
            RosterChange::AddDeviceKey { handle, key } => {
                self.add_key(seq, handle, key, KeyKind::DeviceKey)
            }
            RosterChange::AddPasskey { handle, credential } => self.add_key(
                seq,
                handle,
                credential.key_id(),
                KeyKind::Passkey(credential),
            ),
            RosterChange::SetThresholds(t) => self.thresholds.push((seq, t)),
            RosterChange::SetKeyPolicy(p) => self.key_policies.push((seq, p)),
            RosterChange::Remove { handle } => {
                self.revoke_keys(seq, &handle, None);
                if let Some(m) = self.members.get_mut(&handle) {
                    if m.top_management {
                        self.top_count -= 1;
                    }
                    m.removed = true;
                    m.top_management = false;
                    m.record(seq);
                }
            }
        }
    }
}

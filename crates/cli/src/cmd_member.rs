//! `member add|approve|rotate|revoke|rekey|promote|demote|remove|list`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use ledger_core::{EventId, Hash, KeyPair, Seq};
use ledger_store::keyfile;
use review::policy::Thresholds;
use review::roster::RosterOp;
use review::{Effect, LedgerState, MemberId, MemberRecord, Payload, RosterChange};
use serde_json::{Value, json};

use crate::Verdict;
use crate::hosted::Place;
use crate::out::Out;
use crate::target::Retry;
use crate::target::{Appended, Target};

#[derive(Args)]
pub struct Signer {
    #[command(flatten)]
    pub ledger: Place,
    /// The private key of the member signing this change (it never leaves this machine).
    #[arg(long)]
    pub key: PathBuf,
    #[command(flatten)]
    pub retry: Retry,
}

#[derive(Subcommand)]
pub enum MemberCommand {
    /// Propose enrolling a member (takes effect at the roster quorum).
    Add {
        #[command(flatten)]
        signer: Signer,
        /// The new member's handle.
        #[arg(long)]
        id: String,
        /// Full name.
        #[arg(long)]
        name: String,
        /// Role title.
        #[arg(long)]
        role: String,
        /// Their public key: a `.pub` file or `ed25519:<hex>`.
        #[arg(long)]
        public_key: String,
        /// Enrol them as top management.
        #[arg(long)]
        top_management: bool,
        /// The key is a browser's device key (the console's "This device"
        /// page shows it): reports call its signatures "device key".
        #[arg(long)]
        device: bool,
    },
    /// Approve a pending roster change.
    Approve {
        #[command(flatten)]
        signer: Signer,
        /// The pending change's id (see `member list`).
        #[arg(long)]
        proposal: String,
    },
    /// Replace your key: signed by the old key (`--key`) and the new one.
    Rotate {
        #[command(flatten)]
        signer: Signer,
        /// The new private key file.
        #[arg(long)]
        new_key: PathBuf,
    },
    /// Enrol one more key for a member (a browser on another device, a
    /// key file); it signs beside their other keys (takes effect at the
    /// roster quorum).
    AddKey {
        #[command(flatten)]
        signer: Signer,
        /// The member.
        #[arg(long)]
        id: String,
        /// The key: a `.pub` file or `ed25519:<hex>`.
        #[arg(long)]
        public_key: String,
        /// The key is a browser's device key (the console's "This device"
        /// page shows it): reports call its signatures "device key" rather
        /// than "key file".
        #[arg(long)]
        device: bool,
    },
    /// Retire one of a member's keys; their other keys go on signing (your
    /// own takes effect at once).
    RetireKey {
        #[command(flatten)]
        signer: Signer,
        /// The member.
        #[arg(long)]
        id: String,
        /// The key: a `.pub` file, `ed25519:<hex>`, or `passkey:<key id>`
        /// as `member list` shows it.
        #[arg(long)]
        public_key: String,
    },
    /// Set which keys may sign what (takes effect at the roster quorum):
    /// `verified-passkey-for-minutes` counts a minutes signature only if a
    /// passkey made it and its authenticator verified the user;
    /// `verified-passkey-for-top-management` also refuses any other event a
    /// top manager signs without one (enrolling a passkey excepted);
    /// `any-key` counts any enrolled key.
    KeyPolicy {
        #[command(flatten)]
        signer: Signer,
        /// `any-key`, `verified-passkey-for-minutes` or
        /// `verified-passkey-for-top-management`.
        policy: String,
    },
    /// Revoke every key of a member (your own takes effect at once).
    Revoke {
        #[command(flatten)]
        signer: Signer,
        /// The member whose key is revoked.
        #[arg(long)]
        id: String,
    },
    /// Give a member whose key was revoked a new one.
    Rekey {
        #[command(flatten)]
        signer: Signer,
        /// The member.
        #[arg(long)]
        id: String,
        /// Their new public key.
        #[arg(long)]
        public_key: String,
    },
    /// Make a member top management.
    Promote {
        #[command(flatten)]
        signer: Signer,
        /// The member.
        #[arg(long)]
        id: String,
    },
    /// Stop a member being top management.
    Demote {
        #[command(flatten)]
        signer: Signer,
        /// The member.
        #[arg(long)]
        id: String,
    },
    /// Set the conformance thresholds (takes effect at the roster quorum);
    /// what is not given keeps its value in force.
    Thresholds {
        #[command(flatten)]
        signer: Signer,
        /// Rule 15: a meeting longer than this many minutes is an observation.
        #[arg(long)]
        meeting_limit_minutes: Option<u16>,
        /// Rule 15: this many reviews in a row past the limit is a warning.
        #[arg(long)]
        long_meetings_in_a_row: Option<u16>,
        /// Rule 11: boilerplate covering this percentage of a summary's words makes it boilerplate.
        #[arg(long)]
        boilerplate_share_percent: Option<u8>,
        /// Rule 11: the boilerplate phrases, replacing the list (repeat for each).
        #[arg(long = "boilerplate")]
        boilerplate: Vec<String>,
        /// Rules 1, 7, 8: the placeholder texts, replacing the list (repeat for each).
        #[arg(long = "placeholder")]
        placeholders: Vec<String>,
    },
    /// Remove a member from the roster.
    Remove {
        #[command(flatten)]
        signer: Signer,
        /// The member.
        #[arg(long)]
        id: String,
    },
    /// List the members, their keys and pending changes.
    List {
        #[command(flatten)]
        ledger: Place,
    },
}

pub fn run(cmd: MemberCommand, out: &Out) -> Result<Verdict> {
    let change = |signer: Signer, change: RosterChange| -> Result<Verdict> {
        submit(&signer, |_, _| Ok(Payload::Propose(change)), out)
    };
    match cmd {
        MemberCommand::Add {
            signer,
            id,
            name,
            role,
            public_key,
            top_management,
            device,
        } => {
            let record = MemberRecord {
                handle: MemberId::new(id)?,
                name,
                role,
                top_management,
                key: keyfile::read_public(&public_key)?,
            };
            change(
                signer,
                if device {
                    RosterChange::EnrolDevice(record)
                } else {
                    RosterChange::Enrol(record)
                },
            )
        }
        MemberCommand::Approve { signer, proposal } => {
            let id = EventId::from_hex(&proposal)?;
            submit(&signer, |_, _| Ok(Payload::Approve(id)), out)
        }
        MemberCommand::Rotate { signer, new_key } => {
            let new = keyfile::read_private(&new_key)?;
            submit(
                &signer,
                |state, old| {
                    let member = state.roster.signer(&old.public())?;
                    Ok(review::rotation(
                        state.roster.ledger_id.unwrap_or(Hash::ZERO),
                        &member.handle,
                        old,
                        &new,
                    ))
                },
                out,
            )
        }
        MemberCommand::AddKey {
            signer,
            id,
            public_key,
            device,
        } => {
            let (handle, key) = (MemberId::new(id)?, keyfile::read_public(&public_key)?);
            change(
                signer,
                if device {
                    RosterChange::AddDeviceKey { handle, key }
                } else {
                    RosterChange::AddKey { handle, key }
                },
            )
        }
        MemberCommand::RetireKey {
            signer,
            id,
            public_key,
        } => {
            // A passkey is named by its key id, as `member list` prints it.
            let key = match public_key.trim().strip_prefix("passkey:") {
                Some(id) => ledger_core::PublicKey::from_hex(id)?,
                None => keyfile::read_public(&public_key)?,
            };
            change(
                signer,
                RosterChange::RetireKey {
                    handle: MemberId::new(id)?,
                    key,
                },
            )
        }
        MemberCommand::KeyPolicy { signer, policy } => change(
            signer,
            RosterChange::SetKeyPolicy(review::KeyPolicy::parse(&policy)?),
        ),
        MemberCommand::Revoke { signer, id } => change(
            signer,
            RosterChange::Revoke {
                handle: MemberId::new(id)?,
            },
        ),
        MemberCommand::Rekey {
            signer,
            id,
            public_key,
        } => change(
            signer,
            RosterChange::Rekey {
                handle: MemberId::new(id)?,
                key: keyfile::read_public(&public_key)?,
            },
        ),
        MemberCommand::Promote { signer, id } => change(
            signer,
            RosterChange::SetTopManagement {
                handle: MemberId::new(id)?,
                top_management: true,
            },
        ),
        MemberCommand::Demote { signer, id } => change(
            signer,
            RosterChange::SetTopManagement {
                handle: MemberId::new(id)?,
                top_management: false,
            },
        ),
        MemberCommand::Remove { signer, id } => change(
            signer,
            RosterChange::Remove {
                handle: MemberId::new(id)?,
            },
        ),
        MemberCommand::Thresholds {
            signer,
            meeting_limit_minutes,
            long_meetings_in_a_row,
            boilerplate_share_percent,
            boilerplate,
            placeholders,
        } => {
            let lower = |l: Vec<String>| -> Vec<String> {
                l.iter()
                    .map(|p| review::wording::words(p).join(" "))
                    .collect()
            };
            let (boilerplate, placeholders) = (lower(boilerplate), lower(placeholders));
            submit(
                &signer,
                |state, _| {
                    // What is not given keeps the value in force at the ledger's end.
                    let current = state.roster.as_at(Seq(u64::MAX)).thresholds();
                    let t = Thresholds {
                        meeting_limit_minutes: meeting_limit_minutes
                            .unwrap_or(current.meeting_limit_minutes),
                        long_meetings_in_a_row: long_meetings_in_a_row
                            .unwrap_or(current.long_meetings_in_a_row),
                        boilerplate_share_percent: boilerplate_share_percent
                            .unwrap_or(current.boilerplate_share_percent),
                        boilerplate: if boilerplate.is_empty() {
                            current.boilerplate
                        } else {
                            boilerplate
                        },
                        placeholders: if placeholders.is_empty() {
                            current.placeholders
                        } else {
                            placeholders
                        },
                    };
                    Ok(Payload::Propose(RosterChange::SetThresholds(t)))
                },
                out,
            )
        }
        MemberCommand::List { ledger } => list(&ledger, out),
    }
}

/// Appends the payload that `build` makes and says what it did.
fn submit(
    signer: &Signer,
    build: impl FnOnce(&LedgerState, &KeyPair) -> Result<Payload>,
    out: &Out,
) -> Result<Verdict> {
    let key = keyfile::read_private(&signer.key)?;
    let Some(mut target) = Target::open(&signer.ledger, &signer.retry, &key, out)? else {
        return Ok(Verdict::Ok);
    };
    let payload = build(target.state()?, &key)?;
    let Appended {
        receipt,
        event_id,
        effect,
    } = target.append(&key, &payload)?;
    let ops = match &effect {
        Effect::Roster(ops) => ops.as_slice(),
        Effect::Review(_) => &[],
    };
    let applied: Vec<String> = ops
        .iter()
        .filter_map(|op| match op {
            RosterOp::Apply(c) => Some(review::describe::roster_change(c)),
            RosterOp::Rotate { member, new, .. } => {
                Some(format!("{member} now signs with {}", new.fingerprint()))
            }
            _ => None,
        })
        .collect();
    // Remote: read back from the server, verified, with everyone's appends.
    let state = target.state()?;
    let pending = state
        .roster
        .pending
        .get(&event_id)
        .or_else(|| match payload {
            Payload::Approve(id) => state.roster.pending.get(&id),
            _ => None,
        });
    let pending_json = pending.map(|p| {
        json!({
            "proposal": p.id.to_hex(),
            "approvals": p.approvals,
            "needed": state.roster.roster_quorum(),
        })
    });
    out.emit(
        &json!({
            "seq": receipt.seq.0,
            "hash": receipt.hash.to_hex(),
            "event_id": event_id.to_hex(),
            "applied": applied,
            "pending": pending_json,
        }),
        || {
            let mut s = format!("appended entry {} ({})\n", receipt.seq, receipt.hash);
            for a in &applied {
                s.push_str(&format!("applied: {a}\n"));
            }
            if let Some(p) = pending {
                s.push_str(&format!(
                    "pending: {} has {} of {} approvals; others approve with `review-ledger member approve --proposal {}`\n",
                    review::describe::roster_change(&p.change),
                    p.approvals.len(),
                    state.roster.roster_quorum(),
                    p.id
                ));
            }
            s
        },
    );
    Ok(Verdict::Ok)
}

fn list(place: &Place, out: &Out) -> Result<Verdict> {
    let (state, _) = crate::target::read_state(place)?;
    let roster = &state.roster;
    let members: Vec<Value> = roster
        .members
        .values()
        .map(|m| {
            let kind = |k: &ledger_core::PublicKey| {
                roster
                    .keys
                    .get(k)
                    .map(|r| r.kind.clone())
                    .unwrap_or(review::KeyKind::KeyFile)
            };
            json!({
                "id": m.handle,
                "name": m.name,
                "role": m.role,
                "top_management": m.top_management,
                // The first active key, as before members held several.
                "public_key": m.keys.first().map(|k| k.to_text()),
                "fingerprint": m.keys.first().map(|k| k.fingerprint()),
                "public_keys": m.keys.iter().map(|k| kind(k).key_text(k)).collect::<Vec<_>>(),
                "keys": m.keys.iter().map(|k| json!({
                    "key": kind(k).key_text(k),
                    "fingerprint": k.fingerprint(),
                    "kind": kind(k).describe(),
                })).collect::<Vec<_>>(),
                "removed": m.removed,
                "enrolled_at": m.enrolled_at.0,
            })
        })
        .collect();
    let pending: Vec<Value> = roster
        .pending
        .values()
        .map(|p| {
            json!({
                "proposal": p.id.to_hex(),
                "seq": p.seq.0,
                "change": review::describe::roster_change(&p.change),
                "approvals": p.approvals,
                "needed": roster.roster_quorum(),
            })
        })
        .collect();
    out.emit(
        &json!({
            "organisation": roster.organisation,
            "ledger_id": roster.ledger_id.map(|h| h.to_hex()),
            "members": members,
            "pending": pending,
        }),
        || {
            let mut s = format!(
                "{} (ledger {})\n",
                roster.organisation,
                roster.ledger_id.unwrap_or_default()
            );
            for m in roster.members.values() {
                let status = match (m.removed, m.keys.as_slice()) {
                    (true, _) => "removed".to_owned(),
                    (false, []) => "no active key".to_owned(),
                    (false, keys) => keys
                        .iter()
                        .map(|k| k.fingerprint())
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                let top = if m.top_management {
                    "top management"
                } else {
                    ""
                };
                s.push_str(&format!(
                    "  {:<12} {:<24} {:<28} {:<15} {status}\n",
                    m.handle, m.name, m.role, top
                ));
            }
            for p in roster.pending.values() {
                s.push_str(&format!(
                    "  pending {}: {} ({} of {} approvals)\n",
                    p.id,
                    review::describe::roster_change(&p.change),
                    p.approvals.len(),
                    roster.roster_quorum()
                ));
            }
            s
        },
    );
    Ok(Verdict::Ok)
}

//! Minutes signed with passkeys: what each signature is reported as made
//! with, and the key policy that counts only user-verified passkeys.

use ledger_core::passkey::{FLAG_USER_PRESENT, SoftAuthenticator};

use crate::audit::audit;
use crate::conformance::tests::{held, today};
use crate::conformance::{self, Severity};
use crate::member::MemberId;
use crate::payload::{Payload, RosterChange};
use crate::policy::KeyPolicy;
use crate::rehearsal::Rehearsal;
use crate::roster::SignedWith;
use crate::story::{Step, current_id};

const RP: &str = "review.example.org";
const ORIGIN: &str = "https://review.example.org";

/// The story up to the current minutes' signatures, with a passkey
/// enrolled for `ceo` and `ops` (`ops`'s does not verify its user).
fn closed_with_passkeys() -> (Rehearsal, SoftAuthenticator, SoftAuthenticator) {
    let mut r = Rehearsal::founded(today());
    let steps: Vec<Step> = crate::story::story(held())
        .into_iter()
        .filter(|s| !matches!(s, Step::Sign { review, .. } if *review == current_id()))
        .collect();
    r.run(&steps).expect("the story runs");
    let ceo = SoftAuthenticator::new([0x71; 32], RP, ORIGIN);
    let mut ops = SoftAuthenticator::new([0x72; 32], RP, ORIGIN);
    ops.flags = FLAG_USER_PRESENT;
    for (handle, a) in [("ceo", &ceo), ("ops", &ops)] {
        enact(
            &mut r,
            RosterChange::AddPasskey {
                handle: MemberId::new(handle).unwrap(),
                credential: a.credential.clone(),
            },
        );
    }
    (r, ceo, ops)
}

/// Proposes `change` as `ceo` and approves it as `ops`.
fn enact(r: &mut Rehearsal, change: RosterChange) {
    let id = r
        .append("ceo", &Payload::Propose(change))
        .expect("proposed");
    r.append("ops", &Payload::Approve(id)).expect("approved");
}

fn signed_with(r: &Rehearsal) -> Vec<SignedWith> {
    let view = crate::view::MinutesView::of(&r.state, &current_id(), None).unwrap();
    view.signatures.iter().map(|s| s.signed_with).collect()
}

fn policy_findings(r: &Rehearsal) -> Vec<String> {
    conformance::check(&r.state, &current_id(), today())
        .unwrap()
        .findings
        .into_iter()
        .filter(|f| f.severity == Severity::Nonconformity && f.message.contains("key policy"))
        .map(|f| f.message)
        .collect()
}

#[test]
fn reports_say_what_each_signature_was_made_with() {
    let (mut r, ceo, ops) = closed_with_passkeys();
    let sign = r.sign_request(&current_id()).unwrap();
    r.append_by_passkey(&ceo, &sign)
        .expect("ceo signs with a passkey");
    r.append_by_passkey(&ops, &sign)
        .expect("ops signs with a passkey");
    assert_eq!(
        signed_with(&r),
        [
            SignedWith::Passkey {
                user_verified: true
            },
            SignedWith::Passkey {
                user_verified: false
            },
        ]
    );
    assert_eq!(signed_with(&r)[0].to_string(), "passkey, user verified");
    // Without a key policy every enrolled key counts.
    assert!(audit(&r.state, &current_id()).unwrap().holds());
    assert!(policy_findings(&r).is_empty());
}

#[test]
fn the_key_policy_counts_only_user_verified_passkeys() {
    let (mut r, ceo, mut ops) = closed_with_passkeys();
    enact(
        &mut r,
        RosterChange::SetKeyPolicy(KeyPolicy::VerifiedPasskeyForMinutes),
    );
    let policy_at = r.events.len() as u64 - 1;
    let sign = r.sign_request(&current_id()).unwrap();
    r.append_by_passkey(&ceo, &sign).expect("ceo signs");
    // ops signs with their key file: admitted, reported, not counted.
    r.append("ops", &sign)
        .expect("a key file signature is evidence too");
    let a = audit(&r.state, &current_id()).unwrap();
    assert!(!a.quorum.met, "a key file signature must not count");
    let findings = policy_findings(&r);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].contains("by ops: made with a key file")
            && findings[0].contains(&format!("set at #{policy_at},")),
        "{findings:?}"
    );
    // Again with a passkey that does not verify the user: still not counted.
    r.append_by_passkey(&ops, &sign)
        .expect("a member may sign again when their signature does not count");
    assert!(!audit(&r.state, &current_id()).unwrap().quorum.met);
    let findings = policy_findings(&r);
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(
        findings[1].contains("made with a passkey, user not verified"),
        "{findings:?}"
    );
    // Once the authenticator verifies them, the signature counts, the
    // earlier ones are replaced, and the review holds.
    ops.flags |= ledger_core::passkey::FLAG_USER_VERIFIED;
    r.append_by_passkey(&ops, &sign)
        .expect("ops signs, verified");
    assert!(audit(&r.state, &current_id()).unwrap().holds());
    assert!(policy_findings(&r).is_empty());
    // And a counted signature is not given twice.
    let again = r.append_by_passkey(&ops, &sign).unwrap_err().to_string();
    assert!(again.contains("already signed"), "{again}");
}

#[test]
fn a_passkey_signs_only_for_the_member_it_is_enrolled_for() {
    let (mut r, ceo, _) = closed_with_passkeys();
    let stranger = SoftAuthenticator::new([0x73; 32], RP, ORIGIN);
    let sign = r.sign_request(&current_id()).unwrap();
    let err = r
        .append_by_passkey(&stranger, &sign)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not enrolled"), "{err}");
    // Enrolled twice, for anyone, is refused.
    let taken = r
        .append(
            "ceo",
            &Payload::Propose(RosterChange::AddPasskey {
                handle: MemberId::new("ops").unwrap(),
                credential: ceo.credential.clone(),
            }),
        )
        .unwrap_err()
        .to_string();
    assert!(taken.contains("ceo"), "{taken}");
    // A passkey event signed over another event's challenge is refused
    // before the rules see it.
    let mut forged = SoftAuthenticator::new([0x71; 32], RP, ORIGIN);
    forged.origin = "https://elsewhere.example".into();
    let err = r.append_by_passkey(&forged, &sign).unwrap_err().to_string();
    assert!(err.contains("does not belong"), "{err}");
}

#[test]
fn one_authenticator_key_is_enrolled_once() {
    let (mut r, ceo, _) = closed_with_passkeys();
    // The same key under another credential id, for another member.
    let mut copy = ceo.credential.clone();
    copy.credential_id = vec![9; 16];
    let err = r
        .append(
            "ceo",
            &Payload::Propose(RosterChange::AddPasskey {
                handle: MemberId::new("isms").unwrap(),
                credential: copy,
            }),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("already enrolled, for ceo"), "{err}");
}

#[test]
fn a_passkey_cannot_found_a_ledger() {
    let a = SoftAuthenticator::new([0x74; 32], RP, ORIGIN);
    let r = Rehearsal::founded(today());
    let genesis = r.events[0].clone();
    let event = ledger_core::Event::decode(&genesis.event).unwrap();
    let payload = crate::payload::Payload::decode(&event.kind, &event.payload).unwrap();
    let fresh = crate::state::LedgerState::new();
    let passkey_genesis = crate::compose_for(
        ledger_core::Hash::ZERO,
        ledger_core::EventId([1; 16]),
        ledger_core::Author::Passkey(a.credential.clone()),
        ledger_core::UnixMicros(0),
        &payload,
    );
    let err = fresh
        .admit(
            ledger_core::Seq(0),
            ledger_core::UnixMicros(0),
            &passkey_genesis,
            ledger_core::SignedBy::Passkey {
                user_verified: true,
            },
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a passkey"), "{err}");
}

#[test]
fn a_signature_the_policy_did_not_count_may_be_given_again_after_it_changes() {
    let (mut r, ceo, _) = closed_with_passkeys();
    enact(
        &mut r,
        RosterChange::SetKeyPolicy(KeyPolicy::VerifiedPasskeyForMinutes),
    );
    let sign = r.sign_request(&current_id()).unwrap();
    r.append_by_passkey(&ceo, &sign).unwrap();
    r.append("ops", &sign)
        .expect("a key file signature, not counted");
    assert!(!audit(&r.state, &current_id()).unwrap().quorum.met);
    // The quorum goes back to any key: the earlier signature still does not
    // count (judged by the policy at its own entry), and ops may sign again.
    enact(&mut r, RosterChange::SetKeyPolicy(KeyPolicy::AnyKey));
    r.append("ops", &sign)
        .expect("the earlier signature did not count when it was made");
    assert!(audit(&r.state, &current_id()).unwrap().holds());
    assert!(policy_findings(&r).is_empty(), "{:?}", policy_findings(&r));
}

#[test]
fn a_signature_not_counted_is_replaced_by_one_on_later_minutes() {
    use crate::vocab::{Content, Input};
    let (mut r, ceo, mut ops) = closed_with_passkeys();
    enact(
        &mut r,
        RosterChange::SetKeyPolicy(KeyPolicy::VerifiedPasskeyForMinutes),
    );
    let sign = r.sign_request(&current_id()).unwrap();
    r.append_by_passkey(&ceo, &sign).unwrap();
    r.append("ops", &sign).unwrap();
    assert_eq!(policy_findings(&r).len(), 1);
    // The minutes are amended; both sign the new version with passkeys
    // that verify them.
    r.append(
        "isms",
        &Payload::Input(Content {
            review: current_id(),
            amendment: Some("Figures corrected after the meeting".into()),
            body: Input {
                input: crate::InputKey::Risk,
                summary: "The risk treatment plan is 80 percent complete; two treatments slipped to the next quarter.".into(),
                evidence: vec![],
                nothing_to_report: false,
            },
        }),
    )
    .unwrap();
    ops.flags |= ledger_core::passkey::FLAG_USER_VERIFIED;
    let again = r.sign_request(&current_id()).unwrap();
    r.append_by_passkey(&ceo, &again).unwrap();
    r.append_by_passkey(&ops, &again).unwrap();
    assert!(audit(&r.state, &current_id()).unwrap().holds());
    assert!(policy_findings(&r).is_empty(), "{:?}", policy_findings(&r));
}

#[test]
fn top_management_signs_with_verified_passkeys_under_the_strict_policy() {
    let (mut r, ceo, mut ops) = closed_with_passkeys();
    enact(
        &mut r,
        RosterChange::SetKeyPolicy(KeyPolicy::VerifiedPasskeyForTopManagement),
    );
    let enrol = |n: u8| {
        Payload::Propose(RosterChange::Enrol(crate::member::MemberRecord {
            handle: MemberId::new(format!("new{n}")).unwrap(),
            name: format!("New Member {n}"),
            role: "Analyst".into(),
            top_management: false,
            key: ledger_core::KeyPair::from_seed([0x60 + n; 32]).public(),
        }))
    };
    // A top manager's key file signs nothing else now.
    let err = r.append("ceo", &enrol(1)).unwrap_err().to_string();
    assert!(
        err.contains("ceo is top management and signed with an ed25519 key"),
        "{err}"
    );
    // Nor does a passkey that did not verify them.
    ops.flags = ledger_core::passkey::FLAG_USER_PRESENT;
    let err = r
        .append_by_passkey(&ops, &enrol(2))
        .unwrap_err()
        .to_string();
    assert!(err.contains("a passkey that did not verify them"), "{err}");
    // A verified passkey signs.
    r.append_by_passkey(&ceo, &enrol(3))
        .expect("a verified passkey signs");
    // Enrolling a passkey stays open to the keys a member has.
    let third = SoftAuthenticator::new([0x75; 32], RP, ORIGIN);
    let id = r
        .append(
            "ceo",
            &Payload::Propose(RosterChange::AddPasskey {
                handle: MemberId::new("ceo").unwrap(),
                credential: third.credential.clone(),
            }),
        )
        .expect("proposing a passkey with a key file");
    r.append("ops", &Payload::Approve(id))
        .expect("approving a passkey with a key file");
    // Members who are not top management sign as before.
    r.append(
        "isms",
        &Payload::ActionUpdate(crate::vocab::ActionUpdate {
            action: crate::ActionId::new("cur-a1").unwrap(),
            status: crate::vocab::ActionState::InProgress,
            note: "Tooling chosen.".into(),
        }),
    )
    .expect("the ISMS lead's key file");
}

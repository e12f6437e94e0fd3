//! Minutes signed with a passkey from the web console, in headless
//! Chromium with a virtual authenticator (WebDriver's WebAuthn extension,
//! which ChromeDriver implements), against the real `serve --http` on
//! loopback, opened as `http://localhost` (a relying party id cannot be an
//! IP address).
//!
//! The operations director registers a passkey in the console; the chief
//! executive approves it from the command line; the director signs the
//! minutes with it. `verify --review` and an auditor's offline
//! `verify-bundle` report "passkey, user verified" and the key policy that
//! requires it is met. Then a security key that does not verify its user
//! signs the next review's minutes: the same policy reports it and the
//! review does not hold.
//!
//! Needs `chromium` and `chromedriver`, as `console` does; without them
//! the test says it was skipped.

use std::path::Path;

use e2e::rl;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, Locator};
use review::Date;
use serde_json::{Value, json};

use crate::console::{
    Driver, Serving, click_when_enabled, have_browser, make_key, roster_json, screenshot, serve,
    sign_in, signed_onto, text_when,
};
use crate::review::{Meeting, found, hold};

/// A command of WebDriver's WebAuthn extension: `POST
/// /session/{id}/webauthn/{path}` with a JSON body.
#[derive(Debug)]
struct WebAuthn {
    path: String,
    body: Value,
}

impl WebDriverCompatibleCommand for WebAuthn {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/webauthn/{}", self.path))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// Adds a virtual authenticator to the browser; returns its id.
async fn authenticator(b: &Client, protocol: &str, transport: &str, verifies_user: bool) -> String {
    let made = b
        .issue_cmd(WebAuthn {
            path: "authenticator".into(),
            body: json!({
                "protocol": protocol,
                "transport": transport,
                // A security key without user verification keeps no
                // discoverable credentials (Chrome would ask it for a PIN).
                "hasResidentKey": verifies_user,
                "hasUserVerification": verifies_user,
                "isUserConsenting": true,
                "isUserVerified": verifies_user,
            }),
        })
        .await
        .expect("ChromeDriver adds a virtual authenticator");
    made.as_str().expect("an authenticator id").to_owned()
}

async fn remove_authenticator(b: &Client, id: &str) {
    #[derive(Debug)]
    struct Remove(String);
    impl WebDriverCompatibleCommand for Remove {
        fn endpoint(&self, base: &url::Url, s: Option<&str>) -> Result<url::Url, url::ParseError> {
            base.join(&format!(
                "session/{}/webauthn/authenticator/{}",
                s.unwrap_or_default(),
                self.0
            ))
        }
        fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
            (http::Method::DELETE, None)
        }
    }
    b.issue_cmd(Remove(id.to_owned())).await.unwrap();
}

/// Registers a passkey on the roster page and returns the pending
/// proposal's id, which the chief executive approves.
async fn register_passkey(b: &Client, s: &Serving, ceo: &dyn Fn(&[&str])) {
    b.goto(&format!("{}/l/{}/roster", s.web, s.ledger))
        .await
        .unwrap();
    click_when_enabled(b, "form.passkey-enrol button[type=submit]").await;
    text_when(b, "main", |t| t.contains("enrol a passkey for ops")).await;
    let v = roster_json(s);
    let pending = &v["pending"][0];
    assert!(
        pending["change"]
            .as_str()
            .unwrap()
            .starts_with("enrol a passkey for ops"),
        "{v}"
    );
    ceo(&[
        "member",
        "approve",
        "--proposal",
        pending["proposal"].as_str().unwrap(),
    ]);
}

/// Signs `review`'s minutes with the passkey button and waits for the
/// review page.
async fn sign_with_passkey(b: &Client, s: &Serving, review: &str) {
    b.goto(&format!("{}/l/{}/reviews/{review}/sign", s.web, s.ledger))
        .await
        .unwrap();
    text_when(b, "#digest", |t| t.len() == 64).await;
    b.find(Locator::Css("#confirm"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find(Locator::Css("form.sign-event button.passkey"))
        .await
        .expect("the form offers the member's passkey")
        .click()
        .await
        .unwrap();
    signed_onto(b, &format!("{}/l/{}/reviews/{review}", s.web, s.ledger)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_director_signs_the_minutes_with_a_passkey() {
    if !have_browser() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut org = found(
        tmp.path(),
        &[
            ("isms", "Chloe Varga", "ISMS Lead", false),
            ("it", "Dev Patel", "Head of IT", false),
            ("hr", "Erin Walsh", "Head of HR", false),
        ],
    );
    // The policy, set while the chief executive is the only top manager:
    // minutes count only when a passkey that verified its user signed them.
    let (v, _) = org.by(
        "ceo",
        &[
            "member",
            "key-policy",
            "verified-passkey-for-minutes",
            "--json",
        ],
        0,
    );
    assert!(v["pending"].is_null(), "{v}");
    let l = org.ledger();
    let mut s = serve(Path::new(&l));
    s.web = s.web.replace("127.0.0.1", "localhost");
    org.remote = Some((s.grpc.clone(), s.ledger.clone()));
    let driver = Driver::start();
    let ops = driver.browser("ops", true).await;
    let with_uv = authenticator(&ops, "ctap2", "internal", true).await;

    // The operations director's browser makes its device key; the chief
    // executive enrols them as top management.
    let key = make_key(&ops, &s).await;
    org.by(
        "ceo",
        &[
            "member",
            "add",
            "--json",
            "--id",
            "ops",
            "--name",
            "Ben Marsh",
            "--role",
            "Operations Director",
            "--public-key",
            &key,
            "--top-management",
        ],
        0,
    );
    sign_in(&ops, &s).await;
    let ceo = |args: &[&str]| {
        org.by("ceo", args, 0);
    };
    register_passkey(&ops, &s, &ceo).await;
    let v = roster_json(&s);
    let ops_keys = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "ops")
        .unwrap()["keys"]
        .clone();
    assert!(
        ops_keys.to_string().contains("passkey (ES256, localhost)"),
        "{ops_keys}"
    );

    // The review is recorded from the command line; the operations
    // director chairs, and is the top manager who must sign.
    let today = Date::of_micros(ledger_store::system_clock()()).unwrap();
    let meeting = Meeting {
        chair: "ops",
        expected: "ceo,ops,isms,it",
        present: "ops,isms,it",
        apologies: "ceo",
        signers: &[],
    };
    let pack = tmp.path().join("risk-register.xlsx");
    std::fs::write(&pack, "contents of the risk register").unwrap();
    let pack = [pack];
    hold(
        &org,
        "2026",
        today.plus_days(-7),
        None,
        &[],
        &pack,
        &meeting,
    );
    sign_with_passkey(&ops, &s, "2026").await;
    screenshot(&ops, "passkey-signed").await;

    // The command line reports how the minutes were signed, and the policy met.
    let verify = |review: &str, code: i32| {
        rl(
            &[
                "verify",
                "--server",
                &s.grpc,
                "--ledger-id",
                &s.ledger,
                "--trust",
                &s.ledger,
                "--review",
                review,
            ],
            code,
        )
        .1
    };
    let report = verify("2026", 0);
    assert!(report.contains("passkey, user verified"), "{report}");
    assert!(!report.contains("key policy"), "{report}");

    // An auditor verifies an exported bundle offline.
    let bundle = tmp.path().join("2026.bundle");
    let b = bundle.to_str().unwrap();
    rl(
        &[
            "export",
            "--review",
            "2026",
            "--out",
            b,
            "--server",
            &s.grpc,
            "--ledger-id",
            &s.ledger,
        ],
        0,
    );
    let (v, text) = rl(&["verify-bundle", b, "--trust", &s.ledger, "--json"], 0);
    assert_eq!(v["holds"], true, "{text}");
    assert!(text.contains("passkey, user verified"), "{text}");

    // A security key without user verification: registered, approved, and
    // used for the next review's minutes. The policy reports it.
    remove_authenticator(&ops, &with_uv).await;
    // (An older security key: U2F, which has no user verification.)
    authenticator(&ops, "ctap1/u2f", "usb", false).await;
    register_passkey(&ops, &s, &ceo).await;
    hold(&org, "2027", today, Some("2026"), &[], &pack, &meeting);
    // The form offers both passkeys; the second is the security key.
    ops.goto(&format!("{}/l/{}/reviews/2027/sign", s.web, s.ledger))
        .await
        .unwrap();
    let buttons = ops
        .find_all(Locator::Css("form.sign-event button.passkey"))
        .await
        .unwrap();
    assert_eq!(buttons.len(), 2);
    // Sign with the last one: the first lived on the authenticator removed.
    text_when(&ops, "#digest", |t| t.len() == 64).await;
    ops.find(Locator::Css("#confirm"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    buttons[1].click().await.unwrap();
    text_when(&ops, "main", |t| t.contains("passkey, user not verified")).await;
    let report = verify("2027", 1);
    assert!(report.contains("passkey, user not verified"), "{report}");
    assert!(
        report.contains("requires that minutes are signed with a passkey that verified the user"),
        "{report}"
    );
}

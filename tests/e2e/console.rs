//! The web console in a real browser: headless Chromium driven through
//! ChromeDriver (WebDriver, the `fantoccini` crate), against the real
//! `serve --http` on 127.0.0.1.
//!
//! Two browser profiles stand for two directors: each makes its own device
//! key, is enrolled from the command line, signs in with it, and signs the
//! minutes; one approves the other's enrolment from its console. The
//! command line then verifies their signatures. Forged posts are refused
//! with nothing appended, pages read without JavaScript, and a screenshot
//! of each main page is written under `target/console-screenshots/`.
//!
//! Needs `chromium` and `chromedriver` (Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs them). Without them the test says
//! it was skipped.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e::rl;
use fantoccini::{Client, ClientBuilder, Locator};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use ledger_core::{EventId, KeyPair, PublicKey, Purpose};
use review::{Date, Payload};
use serde_json::json;

use crate::review::{INPUTS, found};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a page may take to show what a step waits for before the test
/// fails: a bound on a hang, not a measured figure.
const PATIENCE: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `serve --http` on 127.0.0.1: the gRPC address and the console's.
pub(crate) struct Serving {
    _child: Killed,
    pub(crate) grpc: String,
    pub(crate) web: String,
    pub(crate) ledger: String,
}

pub(crate) fn serve(dir: &Path) -> Serving {
    serve_with(dir, &[])
}

pub(crate) fn serve_with(dir: &Path, extra: &[&str]) -> Serving {
    let mut child = Command::new(e2e::binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .arg("--ledger")
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("review-ledger serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let child = Killed(child);
    let mut next = || lines.next().expect("serve prints").expect("stdout reads");
    let grpc = next().strip_prefix("listening on ").unwrap().to_owned();
    let web = next()
        .strip_prefix("web console on ")
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let ledger = next()
        .split_whitespace()
        .nth(1)
        .expect("ledger <id> at <dir>")
        .to_owned();
    Serving {
        _child: child,
        grpc: format!("http://{grpc}"),
        web,
        ledger,
    }
}

/// ChromeDriver on a free port, and the browsers it starts.
pub(crate) struct Driver {
    _child: Killed,
    url: String,
    profiles: tempfile::TempDir,
}

impl Driver {
    pub(crate) fn start() -> Driver {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let child = Killed(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < PATIENCE, "chromedriver never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
            profiles: tempfile::tempdir().unwrap(),
        }
    }

    /// A browser with a profile of its own; `javascript: false` turns
    /// scripts off.
    pub(crate) async fn browser(&self, name: &str, javascript: bool) -> Client {
        let profile = self.profiles.path().join(name);
        let mut options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        });
        if !javascript {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let caps = json!({ "goog:chromeOptions": options });
        let caps = caps.as_object().unwrap().clone();
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a browser session starts")
    }
}

/// Waits until the element at `css` exists and its text satisfies `ok`;
/// returns the text.
pub(crate) async fn text_when(b: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    let mut last = String::new();
    loop {
        if let Ok(e) = b.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            if ok(&t) {
                return t;
            }
            last = t;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{css} never showed what was awaited; last: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks `css` once it is enabled.
pub(crate) async fn click_when_enabled(b: &Client, css: &str) {
    let started = Instant::now();
    loop {
        if let Ok(e) = b.find(Locator::Css(css)).await
            && e.is_enabled().await.unwrap_or(false)
        {
            e.click().await.unwrap();
            return;
        }
        assert!(started.elapsed() < PATIENCE, "{css} never became enabled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) async fn screenshot(b: &Client, name: &str) {
    let png = b.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// A browser makes its device key; returns its public key as text.
pub(crate) async fn make_key(b: &Client, s: &Serving) -> String {
    b.goto(&format!("{}/l/{}/device", s.web, s.ledger))
        .await
        .unwrap();
    click_when_enabled(b, "#make-key").await;
    let key = text_when(b, "#public-key", |t| t.starts_with("ed25519:")).await;
    // The page shows the fingerprint the server computes from it.
    let fp = text_when(b, "#fingerprint", |t| !t.is_empty()).await;
    let parsed = PublicKey::from_text(&key).unwrap();
    assert_eq!(fp, parsed.fingerprint());
    key
}

pub(crate) async fn sign_in(b: &Client, s: &Serving) {
    b.goto(&format!("{}/l/{}/signin", s.web, s.ledger))
        .await
        .unwrap();
    click_when_enabled(b, "#sign-in-key").await;
    let overview = format!("{}/l/{}/", s.web, s.ledger);
    let started = Instant::now();
    while b.current_url().await.unwrap().as_str() != overview {
        assert!(
            started.elapsed() < PATIENCE,
            "sign-in never reached the overview"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sign_minutes(b: &Client, s: &Serving, review: &str) {
    b.goto(&format!("{}/l/{}/reviews/{review}/sign", s.web, s.ledger))
        .await
        .unwrap();
    // The digest shown is the one the ledger computes.
    text_when(b, "#digest", |t| t.len() == 64).await;
    b.find(Locator::Css("#confirm"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click_when_enabled(b, "form.sign-event button[type=submit]").await;
    signed_onto(b, &format!("{}/l/{}/reviews/{review}", s.web, s.ledger)).await;
}

/// Waits until signing has led the browser to `page`, failing on a "Not
/// signed" status.
pub(crate) async fn signed_onto(b: &Client, page: &str) {
    let started = Instant::now();
    while b.current_url().await.unwrap().as_str() != page {
        let status = match b.find(Locator::Css(".sign-status")).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        assert!(!status.starts_with("Not signed"), "{status}");
        assert!(
            started.elapsed() < PATIENCE,
            "signing never finished: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The roster as `member list --json` shows it through the server.
pub(crate) fn roster_json(s: &Serving) -> serde_json::Value {
    rl(
        &[
            "member",
            "list",
            "--json",
            "--server",
            &s.grpc,
            "--ledger-id",
            &s.ledger,
        ],
        0,
    )
    .0
}

/// Plain HTTP, for what a browser would not send.
struct Http {
    client: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
}

impl Http {
    fn new() -> Http {
        Http {
            client: hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> (u16, String) {
        let (code, _, body) = self.exchange(method, url, cookie, form).await;
        (code, body)
    }

    /// The status, headers and body of one request.
    async fn exchange(
        &self,
        method: &str,
        url: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> (u16, hyper::HeaderMap, String) {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(url)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header("cookie", format!("rl_session={c}"));
        }
        let res = self
            .client
            .request(req.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// The ledger's size, as a page states it for its live updates.
    async fn size(&self, s: &Serving) -> u64 {
        let (_, page) = self
            .send("GET", &format!("{}/l/{}/", s.web, s.ledger), None, &[])
            .await;
        let at = page.find("data-live=\"").expect("the overview is live") + 11;
        page[at..].split('"').next().unwrap().parse().unwrap()
    }
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Submits the form of `kind` on the page at `url` with `fields` set, and
/// waits until the ledger holds one more entry.
async fn submit(
    b: &Client,
    http: &Http,
    s: &Serving,
    url: &str,
    kind: &str,
    fields: &[(&str, String)],
) {
    b.goto(url).await.unwrap();
    fill_and_sign(b, http, s, &format!("form[data-kind='{kind}']"), fields).await;
}

/// Sets `fields` of the form `form` (a CSS selector) on the current page,
/// signs it, and waits until the ledger holds one more entry.
async fn fill_and_sign(
    b: &Client,
    http: &Http,
    s: &Serving,
    form: &str,
    fields: &[(&str, String)],
) {
    let before = http.size(s).await;
    let script = "const [form, pairs] = arguments; \
        const f = document.querySelector(form); \
        for (const [n, v] of pairs) { const e = f.elements[n]; \
          if (e.type === 'checkbox') e.checked = v === 'yes'; else e.value = v; } \
        return true;";
    b.execute(script, vec![json!(form), json!(fields)])
        .await
        .unwrap();
    click_when_enabled(b, &format!("{form} button[type=submit]")).await;
    let started = Instant::now();
    while http.size(s).await == before {
        let status = match b.find(Locator::Css(&format!("{form} .sign-status"))).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        assert!(!status.starts_with("Not signed"), "{form}: {status}");
        assert!(
            started.elapsed() < PATIENCE,
            "{form} was never recorded: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A whole review recorded through the forms: schedule, the pack (its
/// document's digest computed from the uploaded file), the meeting, every
/// input, the outputs, an action, an objective and the close.
async fn record_in_browser(
    b: &Client,
    http: &Http,
    s: &Serving,
    review: &str,
    held: Date,
    pack: &Path,
) {
    let t = |v: &str| v.to_owned();
    let record = format!("{}/l/{}/record", s.web, s.ledger);
    submit(
        b,
        http,
        s,
        &record,
        "review.schedule",
        &[
            ("review", t(review)),
            ("title", t("Annual ISMS management review")),
            ("planned", held.to_string()),
            ("period_start", t("2025-01-01")),
            ("period_end", t("2025-12-31")),
            ("chair", t("ops")),
            ("expected", t("ceo, ops, fin, isms, it, hr")),
        ],
    )
    .await;
    let url = format!("{}/l/{}/reviews/{review}/record", s.web, s.ledger);
    // The pack: the file goes to the server for its digest only.
    b.goto(&url).await.unwrap();
    b.find(Locator::Css("#review-circulate-doc_file_1"))
        .await
        .unwrap()
        .send_keys(pack.to_str().unwrap())
        .await
        .unwrap();
    let want = blake3::hash(&std::fs::read(pack).unwrap())
        .to_hex()
        .to_string();
    let started = Instant::now();
    loop {
        let e = b
            .find(Locator::Css("#review-circulate-doc_digest_1"))
            .await
            .unwrap();
        if e.prop("value").await.unwrap().as_deref() == Some(want.as_str()) {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "the digest never arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fill_and_sign(
        b,
        http,
        s,
        "form[data-kind='review.circulate']",
        &[
            ("circulated", held.working_days_before(6).to_string()),
            ("doc_title_1", t("Risk register")),
            (
                "doc_location_1",
                t("https://dms.northwind.example/isms/risk-register.xlsx"),
            ),
        ],
    )
    .await;
    let mut steps: Vec<(&str, Vec<(&str, String)>)> = vec![(
        "review.open",
        vec![
            ("held", held.to_string()),
            ("chair", t("ops")),
            ("present", t("ops, fin, isms, it")),
            ("apologies", t("ceo, hr")),
        ],
    )];
    for key in INPUTS {
        steps.push((
            "review.input",
            vec![
                ("input", t(key)),
                ("summary", format!("The {key} input was presented with its trend over the period, challenged by the chair and accepted with follow-up actions where needed.")),
                ("evidence", t("Report=https://docs.example/isms")),
            ],
        ));
    }
    steps.extend([
        (
            "review.decide",
            vec![
                ("decision_kind", t("resources")),
                (
                    "text",
                    t("The ISMS is adequately resourced for the coming year."),
                ),
                ("inputs", t("monitoring, risk")),
            ],
        ),
        (
            "review.decide",
            vec![
                ("decision_kind", t("improvement")),
                ("text", t("Automate quarterly access reviews.")),
                ("inputs", t("improvement")),
            ],
        ),
        (
            "review.act",
            vec![
                ("owner", t("it")),
                ("due", held.plus_months(3).to_string()),
                (
                    "text",
                    t("Automate access reviews on all production systems."),
                ),
                ("decision", t("2")),
            ],
        ),
        (
            "review.objective-set",
            vec![
                ("objective", format!("{review}-o1")),
                ("text", t("Patch critical vulnerabilities quickly")),
                ("owner", t("it")),
                ("measure", t("Median days to patch")),
                ("target", t("7 days")),
                ("due", held.plus_months(12).to_string()),
            ],
        ),
        (
            "review.close",
            vec![("next_review", held.plus_months(12).to_string())],
        ),
    ]);
    for (kind, fields) in &steps {
        submit(b, http, s, &url, kind, fields).await;
    }
}

/// axe-core, the accessibility engine, where `.ci/run` installs it from the
/// npm registry (or `AXE_CORE_JS`).
fn axe_source() -> Option<String> {
    let path = std::env::var("AXE_CORE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/axe/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(&path).ok()
}

/// Checks the page `b` shows against WCAG 2.1 A and AA with axe-core, and
/// that it fits a phone's width; returns what is wrong.
async fn accessibility(b: &Client, axe: &str) -> Vec<String> {
    b.execute(&format!("{axe}\n;return true;"), vec![])
        .await
        .unwrap();
    let found = b
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }) \
               .then(r => done(r.violations.map(v => `${v.id} (${v.impact}): ${v.nodes.length} nodes, e.g. ${v.nodes[0].target}`))) \
               .catch(e => done([`axe failed: ${e}`]));",
            vec![],
        )
        .await
        .unwrap();
    let mut problems: Vec<String> = serde_json::from_value(found).unwrap();
    let overflow = b
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    if overflow.as_i64().unwrap_or(0) > 1 {
        problems.push(format!("wider than the phone's screen by {overflow} px"));
    }
    problems
}

pub(crate) fn have_browser() -> bool {
    let ok = Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file();
    if !ok {
        eprintln!(
            "skipped: the web console's browser tests need {CHROMIUM} and {CHROMEDRIVER} \
             (Debian's chromium and chromium-driver; .ci/run installs them)"
        );
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directors_sign_the_minutes_from_their_browsers() {
    if !have_browser() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // The chief executive founds the ledger from the command line; the ISMS
    // lead, IT and HR hold key files.
    let mut org = found(
        tmp.path(),
        &[
            ("isms", "Chloe Varga", "ISMS Lead", false),
            ("it", "Dev Patel", "Head of IT", false),
            ("hr", "Erin Walsh", "Head of HR", false),
        ],
    );
    let l = org.ledger();
    let s = serve(Path::new(&l));
    org.remote = Some((s.grpc.clone(), s.ledger.clone()));
    let http = Http::new();
    let driver = Driver::start();
    let ops = driver.browser("ops", true).await;
    let fin = driver.browser("fin", true).await;

    // Each director's browser makes its own key; the page shows the
    // enrolment request.
    let ops_key = make_key(&ops, &s).await;
    let fin_key = make_key(&fin, &s).await;
    assert_ne!(ops_key, fin_key);
    screenshot(&fin, "device").await;

    // A key not yet enrolled cannot sign in.
    fin.goto(&format!("{}/l/{}/signin", s.web, s.ledger))
        .await
        .unwrap();
    click_when_enabled(&fin, "#sign-in-key").await;
    let refused = text_when(&fin, "#sign-in-status", |t| t.starts_with("Not signed in")).await;
    assert!(
        refused.contains("not enrolled") || refused.contains("unknown"),
        "{refused}"
    );

    // The chief executive enrols both from the command line; with two top
    // managers the second enrolment waits for the operations director, who
    // approves it in the console.
    let add = |who: &str, name: &str, role: &str, key: &str| {
        let (v, _) = org.by(
            "ceo",
            &[
                "member",
                "add",
                "--json",
                "--id",
                who,
                "--name",
                name,
                "--role",
                role,
                "--public-key",
                key,
                "--top-management",
                "--device",
            ],
            0,
        );
        v
    };
    let v = add("ops", "Ben Marsh", "Operations Director", &ops_key);
    assert!(v["pending"].is_null(), "{v}");
    let v = add("fin", "Farah Nouri", "Finance Director", &fin_key);
    assert!(v["pending"]["proposal"].is_string(), "{v}");

    sign_in(&ops, &s).await;
    screenshot(&ops, "overview-empty").await;
    ops.goto(&format!("{}/l/{}/roster", s.web, s.ledger))
        .await
        .unwrap();
    screenshot(&ops, "roster-pending").await;
    click_when_enabled(&ops, "form[data-kind='roster.approve'] button[type=submit]").await;
    // The roster page comes back with the enrolment made.
    text_when(&ops, "main", |t| {
        t.contains("Farah Nouri") && !t.contains("enrol fin")
    })
    .await;
    let members = roster_json(&s);
    assert!(members.to_string().contains("\"fin\""), "{members}");

    // The operations director records the review through the console's
    // forms, as the ISMS lead would; the two directors attended.
    let today = Date::of_micros(ledger_store::system_clock()()).unwrap();
    let pack = tmp.path().join("risk-register.xlsx");
    std::fs::write(&pack, "contents of the risk register").unwrap();
    record_in_browser(&ops, &http, &s, "2026", today, &pack).await;
    screenshot(&ops, "record").await;
    let (v, _) = rl(
        &[
            "reviews",
            "--json",
            "--server",
            &s.grpc,
            "--ledger-id",
            &s.ledger,
        ],
        0,
    );
    assert_eq!(v[0]["status"], "closed", "{v}");
    assert_eq!(v[0]["inputs"], 10, "{v}");

    // The review page says first that signatures are missing.
    let review_url = format!("{}/l/{}/reviews/2026", s.web, s.ledger);
    ops.goto(&review_url).await.unwrap();
    let banner = text_when(&ops, ".verdict", |t| t.contains("awaiting signatures")).await;
    assert!(banner.contains("Farah Nouri"), "{banner}");
    screenshot(&ops, "review-awaiting").await;
    ops.goto(&format!("{review_url}/sign")).await.unwrap();
    text_when(&ops, "#digest", |t| t.len() == 64).await;
    screenshot(&ops, "sign").await;

    // The operations director signs; the finance director signs in and
    // signs while the first one's review page is open, and that page
    // follows the ledger by itself.
    sign_minutes(&ops, &s, "2026").await;
    text_when(&ops, ".verdict", |t| t.contains("1 of 2")).await;
    sign_in(&fin, &s).await;
    sign_minutes(&fin, &s, "2026").await;
    let banner = text_when(&ops, ".verdict", |t| t.contains("holds")).await;
    assert!(banner.starts_with("Review 2026: holds"), "{banner}");
    screenshot(&ops, "review-holds").await;

    // The command line accepts the browsers' signatures, offline too.
    let remote = [
        "--server",
        s.grpc.as_str(),
        "--ledger-id",
        s.ledger.as_str(),
    ];
    let trusted = tmp.path().join("trusted.json");
    let trusted = trusted.to_str().unwrap();
    let mut verify = vec!["verify", "--json", "--trust", &s.ledger, "--review", "2026"];
    verify.extend(["--state", trusted]);
    verify.extend(remote);
    let (v, _) = rl(&verify, 0);
    assert_eq!(v["holds"], json!(true), "{v}");
    let signers: Vec<&str> = v["review"]["audit"]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signer"]["handle"].as_str().unwrap())
        .collect();
    assert_eq!(signers, ["ops", "fin"], "{v}");
    // Keys their browsers made, enrolled as such.
    for s in v["review"]["audit"]["signatures"].as_array().unwrap() {
        assert_eq!(s["signed_with"], "device key", "{s}");
    }
    let bundle = tmp.path().join("2026.bundle");
    let b = bundle.to_str().unwrap();
    let mut export = vec!["export", "--review", "2026", "--out", b];
    export.extend(remote);
    rl(&export, 0);
    rl(&["verify-bundle", b, "--trust", &s.ledger], 0);
    let mut check = vec!["check", "--review", "2026"];
    check.extend(remote);
    rl(&check, 0);

    // The auditor's pages: the verification report of the review, and a
    // bundle checked in the server's verifier against a pinned ledger id,
    // as uploaded; a bundle changed by one byte fails.
    ops.goto(&format!("{review_url}/report")).await.unwrap();
    let verdict = text_when(&ops, ".verdict", |t| !t.is_empty()).await;
    assert!(verdict.starts_with("VERIFIED"), "{verdict}");
    screenshot(&ops, "report").await;
    let mut tampered = std::fs::read(&bundle).unwrap();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    let tampered_path = tmp.path().join("tampered.bundle");
    std::fs::write(&tampered_path, &tampered).unwrap();
    for (file, expect) in [
        (&bundle, "VERIFIED"),
        (&tampered_path, "VERIFICATION FAILED"),
    ] {
        ops.goto(&format!("{}/l/{}/check", s.web, s.ledger))
            .await
            .unwrap();
        ops.find(Locator::Css("#bundle"))
            .await
            .unwrap()
            .send_keys(file.to_str().unwrap())
            .await
            .unwrap();
        ops.find(Locator::Css("main form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let verdict = text_when(&ops, ".verdict", |t| !t.is_empty()).await;
        assert!(verdict.starts_with(expect), "{}: {verdict}", file.display());
    }

    // A director's second device: its key is enrolled beside the first
    // (proposed by a top manager in the console, approved by the chief
    // executive from the command line),
    // signs in, and is then retired by the director from their laptop,
    // after which it signs nothing; the laptop's key goes on signing.
    let phone = driver.browser("fin-phone", true).await;
    let phone_key = make_key(&phone, &s).await;
    let roster = format!("{}/l/{}/roster", s.web, s.ledger);
    ops.goto(&roster).await.unwrap();
    fill_and_sign(
        &ops,
        &http,
        &s,
        "form[data-kind='roster.propose']:has(input[value='add-device-key'])",
        &[("member", "fin".into()), ("public_key", phone_key.clone())],
    )
    .await;
    let pending = roster_json(&s);
    let proposal = pending["pending"][0]["proposal"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        pending["pending"][0]["change"]
            .as_str()
            .unwrap()
            .starts_with("enrol a browser's device key for fin"),
        "{pending}"
    );
    org.by("ceo", &["member", "approve", "--proposal", &proposal], 0);
    sign_in(&phone, &s).await;
    let members = roster_json(&s);
    let fin_keys = &members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "fin")
        .unwrap()["public_keys"];
    assert_eq!(fin_keys, &json!([fin_key, phone_key]), "{members}");
    fin.goto(&roster).await.unwrap();
    screenshot(&fin, "roster-keys").await;
    fill_and_sign(
        &fin,
        &http,
        &s,
        &format!("form[data-kind='roster.propose']:has(input[value='{phone_key}'])"),
        &[("confirm", "yes".into())],
    )
    .await;
    // The retired key's session ends with it.
    phone
        .goto(&format!("{}/l/{}/", s.web, s.ledger))
        .await
        .unwrap();
    let who = text_when(&phone, ".who", |_| true).await;
    assert!(!who.contains("Signed in"), "{who}");
    phone
        .goto(&format!("{}/l/{}/signin", s.web, s.ledger))
        .await
        .unwrap();
    click_when_enabled(&phone, "#sign-in-key").await;
    let refused = text_when(&phone, "#sign-in-status", |t| {
        t.starts_with("Not signed in")
    })
    .await;
    assert!(refused.contains("revoked"), "{refused}");
    sign_in(&fin, &s).await;

    // Forged posts are refused and append nothing.
    ops.goto(&review_url).await.unwrap();
    let before = http.size(&s).await;
    let cookie = ops.get_named_cookie("rl_session").await.unwrap();
    let cookie = cookie.value().to_owned();
    let csrf = ops
        .find(Locator::Css("meta[name=csrf]"))
        .await
        .unwrap()
        .attr("content")
        .await
        .unwrap()
        .unwrap();
    let append = format!("{}/l/{}/append", s.web, s.ledger);
    let prepare = format!("{}/l/{}/prepare", s.web, s.ledger);
    // A wrong CSRF token.
    let (code, body) = http
        .send(
            "POST",
            &prepare,
            Some(&cookie),
            &[
                ("csrf", &"0".repeat(64)),
                ("kind", "minutes.sign"),
                ("review", "2026"),
            ],
        )
        .await;
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("CSRF"), "{body}");
    // No session at all.
    let (code, _) = http
        .send(
            "POST",
            &prepare,
            None,
            &[
                ("csrf", &csrf),
                ("kind", "minutes.sign"),
                ("review", "2026"),
            ],
        )
        .await;
    assert_eq!(code, 403);
    // Another member's session with this page's CSRF token: the token
    // belongs to the operations director's session only.
    let fin_cookie = fin.get_named_cookie("rl_session").await.unwrap();
    let (code, body) = http
        .send(
            "POST",
            &prepare,
            Some(fin_cookie.value()),
            &[
                ("csrf", &csrf),
                ("kind", "minutes.sign"),
                ("review", "2026"),
            ],
        )
        .await;
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("CSRF"), "{body}");
    // Another member's event in this session: signed by the chief
    // executive's key file, posted in the operations director's session.
    let ceo = ledger_store::keyfile::read_private(Path::new(&org.key("ceo"))).unwrap();
    let ledger_id = ledger_core::Hash::from_hex("ledger", &s.ledger).unwrap();
    let approve = Payload::Approve(EventId([7; 16]));
    let now = ledger_store::system_clock()();
    let event = review::compose(ledger_id, EventId([9; 16]), &ceo, now, &approve);
    let signed = event.sign(&ceo);
    let (code, body) = http
        .send(
            "POST",
            &append,
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("event", &hex::encode(&signed.event)),
                (
                    "signature",
                    &hex::encode(signed.signature.ed25519().expect("an ed25519 signature").0),
                ),
            ],
        )
        .await;
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("not by the key signed in here"), "{body}");
    // Event bytes authored by the session's own key, with a signature over
    // other bytes.
    let ops_public = PublicKey::from_text(&ops_key).unwrap();
    let event = review::compose_for(
        ledger_id,
        EventId([10; 16]),
        ledger_core::Author::Ed25519(ops_public),
        now,
        &approve,
    );
    let other = KeyPair::from_seed([3; 32]).sign(Purpose::Event, &event.encode());
    let (code, body) = http
        .send(
            "POST",
            &append,
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("event", &hex::encode(event.encode())),
                ("signature", &hex::encode(other.0)),
            ],
        )
        .await;
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("signature"), "{body}");
    assert_eq!(
        http.size(&s).await,
        before,
        "a refused post appended something"
    );

    // Every main page meets WCAG 2.1 AA as axe-core checks it, on a
    // phone's screen.
    match axe_source() {
        None => eprintln!(
            "skipped: the accessibility check needs axe-core (.ci/run installs it with npm into target/axe)"
        ),
        Some(axe) => {
            ops.set_window_size(390, 844).await.unwrap();
            let mut all = Vec::new();
            for path in [
                "",
                "reviews/2026",
                "reviews/2026/sign",
                "reviews/2026/record",
                "record",
                "actions",
                "objectives",
                "roster",
                "log",
                "log/3",
                "device",
                "signin",
                "check",
            ] {
                ops.goto(&format!("{}/l/{}/{path}", s.web, s.ledger))
                    .await
                    .unwrap();
                for p in accessibility(&ops, &axe).await {
                    all.push(format!("/{path}: {p}"));
                }
            }
            ops.goto(&review_url).await.unwrap();
            screenshot(&ops, "phone-review").await;
            assert!(all.is_empty(), "{}", all.join("\n"));
            ops.set_window_size(1280, 1000).await.unwrap();
        }
    }

    // Every page reads without JavaScript; signing says what it needs.
    let plain = driver.browser("plain", false).await;
    for (path, name, heading) in [
        ("", "overview", "Northwind"),
        ("reviews/2026", "review", "Minutes"),
        ("actions", "actions", "Action log"),
        ("objectives", "objectives", "Objectives"),
        ("roster", "roster", "Roster"),
        ("log", "ledger", "The ledger"),
        ("log/3", "entry", "Entry 3"),
    ] {
        plain
            .goto(&format!("{}/l/{}/{path}", s.web, s.ledger))
            .await
            .unwrap();
        let text = plain
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains(heading), "{path}: {text}");
        screenshot(&plain, name).await;
    }
    plain
        .goto(&format!("{}/l/{}/signin", s.web, s.ledger))
        .await
        .unwrap();
    let button = plain.find(Locator::Css("#sign-in-key")).await.unwrap();
    assert!(
        !button.is_enabled().await.unwrap(),
        "a key button without a script"
    );

    for b in [ops, fin, phone, plain] {
        b.close().await.unwrap();
    }
}

/// With `--tokens`, the console shows nothing without a session, and a
/// token opens one with its role: a reader's cannot download evidence
/// bundles, an auditor's can. Plain HTTP: no browser needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_open_sessions_with_their_role() {
    let tmp = tempfile::tempdir().unwrap();
    let org = found(tmp.path(), &[]);
    let l = org.ledger();
    let l = l.as_str();
    let mint = |role: &str| {
        let (v, _) = rl(
            &["token", "new", "--json", "--role", role, "--ledger-id", "*"],
            0,
        );
        (
            v["token"].as_str().unwrap().to_owned(),
            v["tokens_line"].as_str().unwrap().to_owned(),
        )
    };
    let (reader, reader_line) = mint("reader");
    let (auditor, auditor_line) = mint("auditor");
    let tokens = tmp.path().join("tokens");
    std::fs::write(&tokens, format!("{reader_line}\n{auditor_line}\n")).unwrap();
    let s = serve_with(Path::new(l), &["--tokens", tokens.to_str().unwrap()]);
    let http = Http::new();
    let base = format!("{}/l/{}", s.web, s.ledger);

    // Nothing without a session, and no list of ledgers.
    let (code, headers, _) = http.exchange("GET", &format!("{base}/"), None, &[]).await;
    assert_eq!(code, 303);
    assert_eq!(
        headers["location"],
        format!("/l/{}/signin", s.ledger).as_str()
    );
    let (code, index) = http.send("GET", &format!("{}/", s.web), None, &[]).await;
    assert_eq!(code, 200);
    assert!(!index.contains(&s.ledger), "{index}");

    // Someone not yet enrolled can still make their key.
    let (code, page) = http.send("GET", &format!("{base}/device"), None, &[]).await;
    assert_eq!(code, 200);
    assert!(
        page.contains("make-key") && !page.contains("Northwind"),
        "{page}"
    );

    // A wrong token opens nothing.
    let signin = format!("{base}/signin/token");
    let (code, headers, _) = http
        .exchange("POST", &signin, None, &[("token", "rlt_wrong")])
        .await;
    assert_eq!(code, 401);
    assert!(headers.get("set-cookie").is_none());

    let session = |headers: &hyper::HeaderMap| {
        let cookie = headers["set-cookie"].to_str().unwrap().to_owned();
        for attr in [
            "HttpOnly",
            "SameSite=Strict",
            &format!("Path=/l/{}/", s.ledger),
        ] {
            assert!(cookie.contains(attr), "{cookie}");
        }
        cookie
            .strip_prefix("rl_session=")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    };
    let (code, headers, _) = http
        .exchange("POST", &signin, None, &[("token", &reader)])
        .await;
    assert_eq!(code, 303);
    let as_reader = session(&headers);
    let (code, page) = http
        .send("GET", &format!("{base}/"), Some(&as_reader), &[])
        .await;
    assert_eq!(code, 200);
    assert!(
        page.contains("Northwind") && page.contains("reader (token)"),
        "{page}"
    );
    let (_, headers, _) = http
        .exchange("GET", &format!("{base}/roster"), Some(&as_reader), &[])
        .await;
    for header in [
        "content-security-policy",
        "x-content-type-options",
        "referrer-policy",
    ] {
        assert!(headers.contains_key(header), "{header}");
    }
    let bundle = format!("{base}/reviews/2026/bundle");
    let (code, body) = http.send("GET", &bundle, Some(&as_reader), &[]).await;
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("auditor"), "{body}");

    let (_, headers, _) = http
        .exchange("POST", &signin, None, &[("token", &auditor)])
        .await;
    let as_auditor = session(&headers);
    // Past the role check: the ledger has no review 2026.
    let (code, body) = http.send("GET", &bundle, Some(&as_auditor), &[]).await;
    assert_eq!(code, 404, "{body}");
    // A token session cannot sign.
    let (code, body) = http
        .send(
            "POST",
            &format!("{base}/prepare"),
            Some(&as_auditor),
            &[("csrf", "00"), ("kind", "minutes.sign")],
        )
        .await;
    assert_eq!(code, 403, "{body}");
}

/// The console's listener has the server's connection cap and idle limit:
/// a connection beyond the cap is closed at once, and one that sends
/// nothing is closed after the idle limit. Plain TCP: no browser needed.
#[test]
fn the_console_caps_connections_and_closes_silent_ones() {
    use std::io::Read;
    let tmp = tempfile::tempdir().unwrap();
    let org = found(tmp.path(), &[]);
    let l = org.ledger();
    let s = serve_with(
        Path::new(&l),
        &["--max-connections", "2", "--idle-secs", "3"],
    );
    let addr = s.web.trim_start_matches("http://").to_owned();
    let connect = || {
        let c = std::net::TcpStream::connect(&addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        c
    };
    let mut held: Vec<_> = (0..2).map(|_| connect()).collect();
    // Give the server a moment to accept both before the third arrives.
    std::thread::sleep(Duration::from_millis(300));
    let mut surplus = connect();
    let mut buf = [0u8; 16];
    assert_eq!(
        surplus.read(&mut buf).unwrap(),
        0,
        "the third connection is closed"
    );
    for c in &mut held {
        // Closed by the server once silent for the idle limit (before the
        // 20 s read timeout, which would be an error).
        match c.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("a silent connection was not closed: {other:?}"),
        }
    }
    // Then there is room again.
    let mut fresh = connect();
    use std::io::Write;
    fresh
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    fresh.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// One HTTP/1.1 exchange over TLS with `addr`, trusting only `root`.
async fn https(addr: &str, root: &[u8], request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::{self, pki_types::CertificateDer, pki_types::ServerName};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(root.to_vec())).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// With the server's certificate the console serves TLS, and its session
/// cookie is `Secure`; plain HTTP on that port gets no page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_serves_tls_with_the_servers_certificate() {
    use std::io::{Read, Write};
    let tmp = tempfile::tempdir().unwrap();
    let org = found(tmp.path(), &[]);
    let l = org.ledger();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let (v, _) = rl(
        &[
            "token",
            "new",
            "--json",
            "--role",
            "reader",
            "--ledger-id",
            "*",
        ],
        0,
    );
    let token = v["token"].as_str().unwrap();
    let tokens = tmp.path().join("tokens");
    std::fs::write(&tokens, format!("{}\n", v["tokens_line"].as_str().unwrap())).unwrap();
    let s = serve_with(
        Path::new(&l),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--tokens",
            tokens.to_str().unwrap(),
        ],
    );
    let addr = s
        .web
        .strip_prefix("https://")
        .expect("the console says it serves https")
        .to_owned();
    let root = ck.cert.der().to_vec();
    let index = https(
        &addr,
        &root,
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(index.starts_with("HTTP/1.1 200"), "{index}");
    let body = format!("token={token}");
    let signin = https(
        &addr,
        &root,
        &format!(
            "POST /l/{}/signin/token HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            s.ledger,
            body.len()
        ),
    )
    .await;
    assert!(signin.starts_with("HTTP/1.1 303"), "{signin}");
    let cookie = signin
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("{signin}"));
    assert!(cookie.contains("; Secure"), "{cookie}");
    // Plain HTTP gets no page.
    let mut plain = std::net::TcpStream::connect(&addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(
        !String::from_utf8_lossy(&got).contains("200 OK"),
        "a page over plain HTTP"
    );
}

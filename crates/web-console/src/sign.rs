//! Signing in, and appending from the browser.
//!
//! An append takes two requests, and the member's key acts between them in
//! their browser:
//! 1. `prepare`: the server builds the event from the form (author: the key
//!    the session signed in with; a fresh event id; its own clock), checks
//!    it against the rules as the ledger stands, and returns its canonical
//!    bytes with a description;
//! 2. the browser checks the header fields it can (version, ledger id,
//!    author = its own key, kind, clock within a minute) and signs the
//!    bytes with its key;
//! 3. `append`: the server appends the signed event by the same path as
//!    gRPC `Append` (the writer checks the signature and every rule again).
//!
//! Every post in a session carries the session's CSRF token; an event is
//! appended only if its author is the key the session signed in with, or
//! one of the same member's passkeys. A passkey signs in step 2 through
//! `navigator.credentials.get`, with the challenge the browser computes
//! itself from the event's bytes (`docs/FORMAT.md`, "Passkeys").

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ledger_core::{
    Assertion, Author, Event, EventId, EventSignature, LedgerId, PublicKey, Purpose, Seq,
    Signature, SignedBy, SignedEvent,
};
use rand_core::{OsRng, RngCore};
use review::{LedgerState, Payload};
use serde::Deserialize;
use serde_json::json;

use crate::Console;
use crate::error::WebError;
use crate::forms::{self, Fields};
use crate::pages::{ledger_id, session_of};
use crate::session::{COOKIE, SESSION_LIFE, Secret, Who, sign_in_message};
use service::host::Hosted;

/// A JSON answer with the security headers.
fn answer(value: serde_json::Value) -> Response {
    let mut r = Json(value).into_response();
    crate::pages::layout::secure(&mut r);
    r
}

fn cookie_header(console: &Console, ledger: &LedgerId, value: &str, max_age: u64) -> HeaderValue {
    let secure = if console.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let text = format!(
        "{COOKIE}={value}; Path=/l/{}/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
        ledger.to_hex()
    );
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
}

fn with_session(console: &Console, ledger: &LedgerId, id: &Secret, mut r: Response) -> Response {
    r.headers_mut().insert(
        header::SET_COOKIE,
        cookie_header(console, ledger, &id.to_hex(), SESSION_LIFE.as_secs()),
    );
    crate::pages::layout::secure(&mut r);
    r
}

/// The token sign-in form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    /// The bearer token, as `review-ledger token` printed it.
    #[serde(default)]
    pub token: String,
}

/// `POST /l/<id>/signin/token`: a session for a bearer token's role.
pub async fn token(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    axum::Form(form): axum::Form<TokenForm>,
) -> Result<Response, WebError> {
    let id = ledger_id(&ledger)?;
    let Some(tokens) = console.hosts.tokens() else {
        return Err(WebError::bad(
            "this server asks for no token: every page can be read without one",
        ));
    };
    let role = tokens
        .role_of(form.token.trim(), &id)
        .filter(|_| console.hosts.ledger(&id).is_some())
        .ok_or_else(|| {
            WebError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "the token is unknown, or grants nothing on this ledger",
            )
        })?;
    let (sid, _) = console
        .sessions
        .open(id, Who::Token(role))
        .map_err(|e| WebError::unavailable(e.to_string()))?;
    let to = Redirect::to(&format!("/l/{}/", id.to_hex())).into_response();
    Ok(with_session(&console, &id, &sid, to))
}

/// `POST /l/<id>/signin/challenge`: a one-time challenge for a key to sign.
pub async fn challenge(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
) -> Result<Response, WebError> {
    let id = ledger_id(&ledger).map_err(WebError::as_json)?;
    let c = console
        .sessions
        .challenge(id)
        .map_err(|e| WebError::unavailable(e.to_string()).as_json())?;
    Ok(answer(json!({
        "challenge": c.to_hex(),
        "ledger": id.to_hex(),
        "context": String::from_utf8_lossy(Purpose::ConsoleSignIn.context()),
    })))
}

/// The key sign-in request.
#[derive(Debug, Deserialize)]
pub struct KeySignIn {
    /// The browser's public key, `ed25519:<hex>` or hex.
    pub key: String,
    /// The challenge, hex.
    pub challenge: String,
    /// Ed25519 over the sign-in context, the ledger id and the challenge, hex.
    pub signature: String,
}

fn signature(text: &str) -> Result<Signature, WebError> {
    let mut b = [0u8; 64];
    hex::decode_to_slice(text.trim(), &mut b)
        .map_err(|_| WebError::bad("the signature is not 128 hex digits").as_json())?;
    Ok(Signature(b))
}

/// `POST /l/<id>/signin/key`: opens a member's session once their key has
/// signed an unused challenge and the roster says the key signs for them now.
pub async fn key(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    Json(req): Json<KeySignIn>,
) -> Result<Response, WebError> {
    let id = ledger_id(&ledger).map_err(WebError::as_json)?;
    let refuse = |m: String| WebError::forbidden(m).as_json();
    let challenge = Secret::from_hex(req.challenge.trim())
        .ok_or_else(|| WebError::bad("the challenge is not 64 hex digits").as_json())?;
    let key = PublicKey::from_text(&req.key).map_err(|e| WebError::bad(e.to_string()).as_json())?;
    let sig = signature(&req.signature)?;
    if !console.sessions.take_challenge(&id, &challenge) {
        return Err(refuse(
            "the challenge is unknown, used or expired: sign in again".into(),
        ));
    }
    key.verify(
        Purpose::ConsoleSignIn,
        &sign_in_message(&id, &challenge),
        &sig,
    )
    .map_err(|e| refuse(e.to_string()))?;
    let host = console
        .hosts
        .ledger(&id)
        .ok_or_else(|| refuse("this key signs nothing on this ledger".into()))?;
    let handle = {
        let state = host.state();
        let member = state.roster.signer(&key).map_err(|e| {
            refuse(format!(
                "{e}; show this key's fingerprint ({}) to top management to have it enrolled",
                key.fingerprint()
            ))
        })?;
        member.handle.clone()
    };
    let (sid, _) = console
        .sessions
        .open(
            id,
            Who::Member {
                handle: handle.clone(),
                key,
            },
        )
        .map_err(|e| WebError::unavailable(e.to_string()).as_json())?;
    let r = Json(json!({
        "member": handle.as_str(),
        "redirect": format!("/l/{}/", id.to_hex()),
    }))
    .into_response();
    Ok(with_session(&console, &id, &sid, r))
}

/// A form that carries the session's CSRF token.
#[derive(Debug, Default, Deserialize)]
pub struct Posted {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// For `append`: the event's canonical bytes, hex.
    #[serde(default)]
    pub event: String,
    /// For `append`: the ed25519 signature, hex.
    #[serde(default)]
    pub signature: String,
    /// For `append` by a passkey: the authenticator data, base64url.
    #[serde(default)]
    pub authenticator_data: String,
    /// For `append` by a passkey: the client data JSON, base64url.
    #[serde(default)]
    pub client_data_json: String,
    /// For `append` by a passkey: the assertion's signature, base64url.
    #[serde(default)]
    pub assertion_signature: String,
}

fn b64(field: &str, text: &str) -> Result<Vec<u8>, WebError> {
    URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|_| WebError::bad(format!("{field}: not base64url")).as_json())
}

/// What a post in a member's session acts with: the ledger, the key the
/// member signed in with, and the hosted ledger; the CSRF token checked.
fn member_post(
    console: &Console,
    ledger: &str,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<(LedgerId, PublicKey, Arc<Hosted>), WebError> {
    let id = ledger_id(ledger).map_err(WebError::as_json)?;
    let (_, session) = session_of(console, &id, headers)
        .ok_or_else(|| WebError::forbidden("sign in with your key first").as_json())?;
    if !session.csrf.matches(csrf) {
        return Err(WebError::forbidden(
            "the form's CSRF token is not this session's: reload the page and try again",
        )
        .as_json());
    }
    let Who::Member { key, .. } = session.who else {
        return Err(
            WebError::forbidden("a token session cannot sign: sign in with your key").as_json(),
        );
    };
    let host = console
        .hosts
        .ledger(&id)
        .ok_or_else(|| WebError::not_found("no such ledger on this server").as_json())?;
    Ok((id, key, host))
}

/// `POST /l/<id>/signout`.
pub async fn sign_out(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<Posted>,
) -> Result<Response, WebError> {
    let id = ledger_id(&ledger)?;
    let (sid, session) = session_of(&console, &id, &headers)
        .ok_or_else(|| WebError::bad("you are not signed in"))?;
    if !session.csrf.matches(&form.csrf) {
        return Err(WebError::forbidden(
            "the form's CSRF token is not this session's",
        ));
    }
    console.sessions.close(&sid);
    let mut r = Redirect::to(&format!("/l/{}/signin", id.to_hex())).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, cookie_header(&console, &id, "", 0));
    Ok(r)
}

/// The event carrying `payload` for `key` to sign now (a fresh random id,
/// the server's clock), if the rules admit it as the ledger stands.
pub fn build(
    state: &LedgerState,
    ledger: LedgerId,
    author: Author,
    payload: &Payload,
) -> Result<Event, review::Rejection> {
    let mut id = [0u8; 16];
    OsRng.fill_bytes(&mut id);
    let now = ledger_store::system_clock()();
    // What the signature will say is not known yet: judged as a passkey
    // that verifies the user, or as the ed25519 key it is.
    let signed_by = match author {
        Author::Ed25519(_) => SignedBy::Ed25519,
        Author::Passkey(_) => SignedBy::Passkey {
            user_verified: true,
        },
    };
    let event = review::compose_for(ledger, EventId(id), author, now, payload);
    state.admit(Seq(state.size), now, &event, signed_by)?;
    Ok(event)
}

/// The author a form asks to sign with: the session's key, or (`signer` =
/// a key id in hex) one of the same member's active passkeys.
fn author_for(
    state: &LedgerState,
    session_key: PublicKey,
    signer: &str,
) -> Result<Author, WebError> {
    if signer.is_empty() {
        return Ok(Author::Ed25519(session_key));
    }
    let key =
        PublicKey::from_hex(signer).map_err(|_| WebError::bad("signer: not a key id").as_json())?;
    let member = state.roster.signer(&session_key).ok().map(|m| &m.handle);
    let record = state.roster.keys.get(&key);
    match record {
        Some(r) if Some(&r.member) == member && r.state == review::KeyState::Active => r
            .kind
            .passkey()
            .map(|c| Author::Passkey(c.clone()))
            .ok_or_else(|| WebError::bad("signer: that key is not a passkey").as_json()),
        _ => Err(WebError::forbidden("signer: not an active passkey of yours").as_json()),
    }
}

fn conflict(m: impl Into<String>) -> WebError {
    WebError::new(axum::http::StatusCode::CONFLICT, m).as_json()
}

/// `POST /l/<id>/prepare`: builds the event a form asks for, authored by the
/// session's key, checks it against the rules now, and returns its bytes.
pub async fn prepare(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<Fields>,
) -> Result<Response, WebError> {
    let field = |name: &str| form.get(name).map(|s| s.trim()).unwrap_or("");
    let (id, key, host) = member_post(&console, &ledger, &headers, field("csrf"))?;
    let state = host.state();
    let payload = match field("kind") {
        "minutes.sign" => {
            let review = review::ReviewId::new(field("review"))
                .map_err(|e| WebError::bad(e.to_string()).as_json())?;
            let r = state
                .reviews
                .reviews
                .get(&review)
                .ok_or_else(|| WebError::not_found(format!("no review {review}")).as_json())?;
            let sign = r.sign_request();
            if sign.digest.to_hex() != field("digest") {
                return Err(conflict(
                    "the minutes changed since this page showed them: read them again before signing",
                ));
            }
            Payload::Sign(sign)
        }
        "roster.approve" => {
            let proposal = EventId::from_hex(field("proposal"))
                .map_err(|e| WebError::bad(e.to_string()).as_json())?;
            Payload::Approve(proposal)
        }
        kind => forms::payload(kind, &form, &state)
            .map_err(|e| WebError::bad(e.to_string()).as_json())?,
    };
    let author = author_for(&state, key, field("signer"))?;
    let passkey = author.passkey().map(|c| {
        json!({
            "key_id": c.key_id().to_hex(),
            "credential_id": URL_SAFE_NO_PAD.encode(&c.credential_id),
            "rp_id": c.rp_id,
        })
    });
    let author_key = author.key();
    let event = build(&state, id, author, &payload).map_err(|e| conflict(e.to_string()))?;
    Ok(answer(json!({
        "event": hex::encode(event.encode()),
        "kind": event.kind.to_string(),
        "description": review::describe::payload(&payload),
        "ledger": id.to_hex(),
        "author": author_key.to_hex(),
        "passkey": passkey,
        "context": String::from_utf8_lossy(Purpose::Event.context()),
    })))
}

/// `POST /l/<id>/digest`: the blake3 digest of an uploaded file, for a
/// pack's document; the file is read into memory, digested and dropped,
/// never stored.
pub async fn digest(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    headers: HeaderMap,
    mut upload: axum::extract::Multipart,
) -> Result<Response, WebError> {
    let (mut csrf, mut digest) = (String::new(), None);
    while let Some(field) = upload
        .next_field()
        .await
        .map_err(|e| WebError::bad(format!("the upload is malformed: {e}")).as_json())?
    {
        match field.name().unwrap_or_default() {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "file" => {
                let bytes = field.bytes().await.map_err(|e| {
                    WebError::bad(format!("the file did not arrive whole: {e}")).as_json()
                })?;
                digest = Some((blake3::hash(&bytes), bytes.len()));
            }
            _ => {}
        }
    }
    member_post(&console, &ledger, &headers, &csrf)?;
    let (hash, len) = digest.ok_or_else(|| WebError::bad("no file was sent").as_json())?;
    Ok(answer(
        json!({ "digest": hash.to_hex().as_str(), "bytes": len }),
    ))
}

/// `POST /l/<id>/append`: appends an event the session's member signed in
/// their browser, by the path of gRPC `Append`; answers once it is durable.
pub async fn append(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<Posted>,
) -> Result<Response, WebError> {
    let (id, key, host) = member_post(&console, &ledger, &headers, &form.csrf)?;
    let bytes = hex::decode(form.event.trim())
        .map_err(|_| WebError::bad("the event is not hex").as_json())?;
    let event = Event::decode(&bytes).map_err(|e| WebError::bad(e.to_string()).as_json())?;
    let own = match &event.author {
        Author::Ed25519(author) => *author == key,
        Author::Passkey(c) => author_for(&host.state(), key, &c.key_id().to_hex()).is_ok(),
    };
    if !own {
        return Err(WebError::forbidden(
            "this event is not by the key signed in here nor one of your passkeys: nothing was appended",
        )
        .as_json());
    }
    if event.ledger != id {
        return Err(
            WebError::bad("this event is for another ledger: nothing was appended").as_json(),
        );
    }
    let signature = match event.author {
        Author::Ed25519(_) => EventSignature::Ed25519(signature(&form.signature)?),
        Author::Passkey(_) => EventSignature::Passkey(Assertion {
            authenticator_data: b64("authenticator_data", &form.authenticator_data)?,
            client_data_json: b64("client_data_json", &form.client_data_json)?,
            signature: b64("assertion_signature", &form.assertion_signature)?,
        }),
    };
    let signed = SignedEvent {
        event: bytes,
        signature,
    };
    let receipt = tokio::task::spawn_blocking(move || host.append(signed))
        .await
        .map_err(|e| WebError::internal(e.to_string()).as_json())?
        .map_err(|e| WebError::from(service::error::append_status(e)).as_json())?;
    Ok(answer(json!({
        "seq": receipt.seq.0,
        "hash": receipt.hash.to_hex(),
        "checkpoint": receipt.checkpoint,
    })))
}

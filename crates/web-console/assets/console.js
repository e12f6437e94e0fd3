// The review-ledger web console's one script, an ES module embedded in the
// server. It does what needs the member's key, which never leaves this
// browser: making the key (WebCrypto Ed25519, non-extractable, kept in
// IndexedDB), signing in with it, and signing the events the server builds,
// with that key or with one of the member's passkeys (WebAuthn). Every page
// reads without it.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? null;
const ledger = meta("ledger");
const csrf = meta("csrf");
const memberKey = meta("member-key");
const page = document.body.dataset.page;
const passkeys = JSON.parse(meta("passkeys") ?? "[]");

// The context strings of docs/FORMAT.md, section 6: the browser decides
// what purpose it signs for, never the server.
const EVENT_CONTEXT = "review-ledger/v1 event\0";
const SIGN_IN_CONTEXT = "review-ledger/v1 console sign-in\0";
const FORMAT_VERSION = 1;
// docs/FORMAT.md, section 20: a passkey signs version-2 events, over a
// challenge the browser computes itself from the event's bytes.
const PASSKEY_FORMAT_VERSION = 2;
const PASSKEY_CHALLENGE_CONTEXT = "review-ledger/v2 passkey challenge\0";
const CLOCK_SLACK_MS = 60_000;

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (text) => {
  if (!/^([0-9a-f]{2})*$/.test(text)) throw new Error("the server sent bytes that are not hex");
  return Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
};
const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const unb64url = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const utf8 = (text) => new TextEncoder().encode(text);
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};

// --- The key store: one key per ledger, by ledger id. ---------------------

function openStore() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open("review-ledger", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("keys");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function request(mode, act) {
  const db = await openStore();
  return new Promise((resolve, reject) => {
    const r = act(db.transaction("keys", mode).objectStore("keys"));
    r.onsuccess = () => resolve(r.result ?? null);
    r.onerror = () => reject(r.error);
  });
}

const loadKey = () => request("readonly", (s) => s.get(ledger));

async function makeKey() {
  // Non-extractable: the private key can sign, and can never be read out.
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const record = { privateKey: pair.privateKey, publicKey: pair.publicKey, public: hex(raw), created: new Date().toISOString() };
  await request("readwrite", (s) => s.put(record, ledger));
  return record;
}

async function sign(record, context, message) {
  const signed = concat(new TextEncoder().encode(context), message);
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, record.privateKey, signed));
}

async function post(path, body, json = false) {
  const res = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": json ? "application/json" : "application/x-www-form-urlencoded" },
    body: json ? JSON.stringify(body) : new URLSearchParams(body),
  });
  const answer = await res.json().catch(() => ({ error: `the server answered ${res.status}` }));
  if (!res.ok) throw new Error(answer.error ?? `the server answered ${res.status}`);
  return answer;
}

// --- Checking what the server asks us to sign. ------------------------------

// The header of an event's canonical bytes (docs/FORMAT.md, sections 5
// and 20): version u16, ledger 32 bytes, id 16, then the author (32 key
// bytes in version 1; in version 2 a passkey: RP id, credential id, COSE
// algorithm i32, public key), time i64 (microseconds), kind as a u64
// length and its bytes, all little-endian. `author` is the key this browser
// holds ({ ed25519: hex }) or the passkey chosen ({ passkey }).
export function checkEvent(bytes, kind, author) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (n) => { if (n > bytes.length) throw new Error("the event is too short to be one"); };
  const chunk = (at) => {
    need(at + 8);
    const n = Number(view.getBigUint64(at, true));
    need(at + 8 + n);
    return [bytes.subarray(at + 8, at + 8 + n), at + 8 + n];
  };
  need(50);
  const version = view.getUint16(0, true);
  if (hex(bytes.subarray(2, 34)) !== ledger) throw new Error("the event is for another ledger");
  let at;
  if (author.passkey) {
    if (version !== PASSKEY_FORMAT_VERSION) throw new Error("the event is not of format version 2, which passkeys sign");
    const [rp, afterRp] = chunk(50);
    const [id, afterId] = chunk(afterRp);
    need(afterId + 4);
    const algorithm = view.getInt32(afterId, true);
    const [key, afterKey] = chunk(afterId + 4);
    const p = author.passkey;
    if (new TextDecoder().decode(rp) !== p.rp_id || b64url(id) !== p.credential_id
      || algorithm !== p.algorithm || b64url(key) !== p.public_key) {
      throw new Error("the event names another author than the passkey chosen");
    }
    at = afterKey;
  } else {
    if (version !== FORMAT_VERSION) throw new Error("the event is not of format version 1");
    need(82);
    if (hex(bytes.subarray(50, 82)) !== author.ed25519) throw new Error("the event names another author than this browser's key");
    at = 82;
  }
  need(at + 8);
  const ms = Number(view.getBigInt64(at, true) / 1000n);
  if (Math.abs(ms - Date.now()) > CLOCK_SLACK_MS) throw new Error("the event's time is more than a minute from this device's clock");
  const [got, afterKind] = chunk(at + 8);
  if (got.length < 1 || got.length > 64) throw new Error("the event's kind is malformed");
  const name = new TextDecoder().decode(got);
  if (name !== kind) throw new Error(`the event is a ${name}, not the ${kind} this form asks for`);
  return bytes.subarray(afterKind + 8);
}

// A passkey's signature of an event: the challenge is SHA-256 over the
// passkey context, the event context and the event's bytes, computed here,
// so the passkey signs exactly the event this browser checked.
async function passkeySign(passkey, bytes) {
  const challenge = new Uint8Array(await crypto.subtle.digest("SHA-256",
    concat(utf8(PASSKEY_CHALLENGE_CONTEXT), utf8(EVENT_CONTEXT), bytes)));
  const credential = await navigator.credentials.get({
    publicKey: {
      challenge,
      rpId: passkey.rp_id,
      allowCredentials: [{ type: "public-key", id: unb64url(passkey.credential_id) }],
      userVerification: "preferred",
      timeout: 120_000,
    },
  });
  const r = credential.response;
  return {
    authenticator_data: b64url(new Uint8Array(r.authenticatorData)),
    client_data_json: b64url(new Uint8Array(r.clientDataJSON)),
    assertion_signature: b64url(new Uint8Array(r.signature)),
  };
}

// Registers a passkey for this site and fills the enrolment form with what
// the ledger keeps of it. Attestation is not asked for: the key is vouched
// for by the top managers who approve it, as any key is.
async function registerPasskey(form) {
  const member = form.elements.member.value;
  const credential = await navigator.credentials.create({
    publicKey: {
      rp: { id: location.hostname, name: "review-ledger" },
      user: { id: crypto.getRandomValues(new Uint8Array(16)), name: member, displayName: member },
      challenge: crypto.getRandomValues(new Uint8Array(32)),
      pubKeyCredParams: [{ type: "public-key", alg: -7 }, { type: "public-key", alg: -8 }],
      authenticatorSelection: { residentKey: "preferred", userVerification: "preferred" },
      attestation: "none",
      timeout: 120_000,
    },
  });
  const r = credential.response;
  form.elements.credential_id.value = b64url(new Uint8Array(credential.rawId));
  form.elements.algorithm.value = String(r.getPublicKeyAlgorithm());
  form.elements.public_key_der.value = b64url(new Uint8Array(r.getPublicKey()));
  form.elements.rp_id.value = location.hostname;
}

// A minutes signature's payload (docs/FORMAT.md, `minutes.sign`): the review
// as a u64 length and its bytes, then the 32-byte digest. The browser signs
// only the digest the page showed.
function checkMinutesSignature(payload, review, digest) {
  if (payload.length < 8) throw new Error("the signature's payload is too short");
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n + 32 > payload.length) throw new Error("the signature's payload is malformed");
  const named = new TextDecoder().decode(payload.subarray(8, 8 + n));
  if (named !== review) throw new Error(`the signature names review ${named}, not ${review}`);
  if (hex(payload.subarray(8 + n, 8 + n + 32)) !== digest) {
    throw new Error("the signature would cover other minutes than the digest this page shows");
  }
}

// --- Pages. -----------------------------------------------------------------

function say(el, text) {
  if (el) el.textContent = text;
}

function supported() {
  return window.isSecureContext && crypto?.subtle && window.indexedDB;
}

async function devicePage() {
  const status = document.getElementById("key-status");
  const button = document.getElementById("make-key");
  if (!button) return; // the page already shows a key
  if (!supported()) return say(status, "This browser cannot keep a key here (it needs a secure context, WebCrypto and IndexedDB).");
  const existing = await loadKey();
  if (existing) {
    location.replace(`?key=${existing.public}`);
    return;
  }
  say(status, "This browser holds no key for this ledger yet.");
  button.disabled = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const record = await makeKey();
      location.replace(`?key=${record.public}`);
    } catch (e) {
      say(status, `No key was made: ${e.message}. This browser may not support Ed25519 keys.`);
      button.disabled = false;
    }
  });
}

async function signInPage() {
  const status = document.getElementById("sign-in-status");
  const button = document.getElementById("sign-in-key");
  if (!supported()) return say(status, "This browser cannot hold a key here; use a token, or another browser.");
  button.disabled = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const record = await loadKey();
      if (!record) throw new Error("this browser holds no key for this ledger: create one on the device page");
      const { challenge } = await post(`/l/${ledger}/signin/challenge`, {});
      const signature = await sign(record, SIGN_IN_CONTEXT, concat(unhex(ledger), unhex(challenge)));
      const answer = await post(`/l/${ledger}/signin/key`, { key: record.public, challenge, signature: hex(signature) }, true);
      say(status, `Signed in as ${answer.member}.`);
      location.assign(answer.redirect);
    } catch (e) {
      say(status, `Not signed in: ${e.message}`);
      button.disabled = false;
    }
  });
}

let busy = false;

// Prepares the form's event, checks it, signs it with this browser's key
// (`record`) or a passkey (`passkey`), and appends it.
async function signAndAppend(form, status, { record, passkey }) {
  say(status, "Preparing the event\u2026");
  const fields = Object.fromEntries(new FormData(form));
  if (passkey) fields.signer = passkey.key_id;
  const prepared = await post(`/l/${ledger}/prepare`, fields);
  const bytes = unhex(prepared.event);
  const payload = checkEvent(bytes, form.dataset.kind, passkey ? { passkey } : { ed25519: record.public });
  if (form.dataset.kind === "minutes.sign") {
    checkMinutesSignature(payload, fields.review, fields.digest);
  }
  say(status, `Signing${passkey ? " with your passkey" : ""}: ${prepared.description}`);
  const signature = passkey
    ? await passkeySign(passkey, bytes)
    : { signature: hex(await sign(record, EVENT_CONTEXT, bytes)) };
  const done = await post(`/l/${ledger}/append`, { csrf, event: prepared.event, ...signature });
  say(status, `Signed and recorded as entry ${done.seq}.`);
  // Show the ledger with the new entry: the form's next page, or this
  // one again (the live stream must not reload it first).
  location.assign(form.dataset.done ?? location.href);
}

async function signForms() {
  const forms = document.querySelectorAll("form.sign-event");
  if (forms.length === 0) return;
  const record = supported() ? await loadKey() : null;
  for (const form of forms) {
    const status = form.querySelector(".sign-status");
    const button = form.querySelector("button[type=submit]");
    const act = async (how, control) => {
      busy = true;
      control.disabled = true;
      try {
        if (form.classList.contains("passkey-enrol")) {
          say(status, "Registering a passkey\u2026");
          await registerPasskey(form);
        }
        await signAndAppend(form, status, how);
      } catch (e) {
        say(status, `Not signed: ${e.message}`);
        control.disabled = false;
        busy = false;
      }
    };
    // Every form a member signs may be signed with one of their passkeys.
    if (!form.classList.contains("passkey-enrol") && window.PublicKeyCredential) {
      let last = button;
      for (const passkey of passkeys) {
        const other = document.createElement("button");
        other.type = "button";
        other.className = "passkey";
        other.textContent = `Sign with passkey ${passkey.label}`;
        other.addEventListener("click", () => {
          if (form.reportValidity()) act({ passkey }, other);
        });
        last.after(" ", other);
        last = other;
      }
    }
    if (!record) {
      say(status, passkeys.length
        ? "This browser holds no key for this ledger: sign with a passkey."
        : "This browser holds no key for this ledger, so it cannot sign here.");
      continue;
    }
    if (memberKey && record.public !== memberKey) {
      say(status, "You signed in with another key than this browser holds: sign in again here.");
      continue;
    }
    button.disabled = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      act({ record }, button);
    });
  }
}

// A pack document's file is sent once, to compute its blake3 digest (the
// server keeps the digest, never the file), and the digest fills its field.
function digestFiles() {
  for (const input of document.querySelectorAll("input.digest-file")) {
    input.addEventListener("change", async () => {
      const target = document.getElementById(input.dataset.digest);
      const file = input.files?.[0];
      if (!file || !target) return;
      const body = new FormData();
      body.append("csrf", csrf ?? "");
      body.append("file", file);
      target.value = "";
      const res = await fetch(`/l/${ledger}/digest`, { method: "POST", credentials: "same-origin", body });
      const answer = await res.json().catch(() => ({}));
      if (res.ok) target.value = answer.digest;
      else target.placeholder = answer.error ?? `the server answered ${res.status}`;
    });
  }
}

function live() {
  const shown = Number(document.body.dataset.live);
  if (!ledger || Number.isNaN(shown) || !window.EventSource) return;
  const notice = document.getElementById("live-notice");
  const source = new EventSource(`/l/${ledger}/live`);
  // A page left for another may be kept (the back-forward cache): its
  // stream must not hold one of the few connections a browser opens to a
  // server, so it ends when the page is hidden and the page, if shown
  // again, is loaded afresh.
  // Nor may it reload a page being left: that would cancel the navigation.
  addEventListener("beforeunload", () => source.close());
  addEventListener("pagehide", () => source.close());
  addEventListener("pageshow", (e) => { if (e.persisted) location.reload(); });
  source.addEventListener("size", (e) => {
    const size = Number(e.data);
    if (size <= shown) return;
    if (busy || document.querySelector("form.sign-event input:checked")) {
      notice.hidden = false;
      say(notice, `The ledger has ${size - shown} new entries: reload to see them.`);
    } else {
      source.close();
      location.reload();
    }
  });
}

if (page === "device") devicePage();
if (page === "signin") signInPage();
signForms();
digestFiles();
if (document.body.dataset.live !== undefined) live();

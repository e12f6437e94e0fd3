#!/usr/bin/env python3
"""An independent verifier of passkey signatures (docs/FORMAT.md, section 20),
written from that page alone, in another language than the reference.

It reads tests/vectors/passkey.json and, for every signed event in it (the
worked examples and the cases), decodes the bytes, verifies the assertion
by sections 20.1 to 20.5 and compares its verdict with the file's. It uses
only the standard library and the `cryptography` package (P-256 ECDSA and
Ed25519). Exit 0 when every verdict matches, 1 otherwise.

    python3 tools/passkey_verifier.py [tests/vectors/passkey.json]
"""

import base64
import hashlib
import json
import re
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

CHALLENGE_CONTEXT = b"review-ledger/v2 passkey challenge\x00"
EVENT_CONTEXT = b"review-ledger/v1 event\x00"
ES256, EDDSA = -7, -8


class Refused(Exception):
    pass


class Reader:
    """The canonical codec (section 3): fixed-width little-endian fields."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, n):
        if self.at + n > len(self.data):
            raise Refused("truncated")
        out = self.data[self.at:self.at + n]
        self.at += n
        return out

    def u16(self):
        return struct.unpack("<H", self.take(2))[0]

    def i32(self):
        return struct.unpack("<i", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def bytes(self):
        return self.take(self.u64())

    def end(self):
        if self.at != len(self.data):
            raise Refused("trailing bytes")


def credential(r):
    rp_id = r.bytes().decode("ascii")
    cred_id = r.bytes()
    alg = r.i32()
    key = r.bytes()
    if not re.fullmatch(r"[a-z0-9.-]{1,253}", rp_id) or rp_id[0] == "." or rp_id[-1] == ".":
        raise Refused("rp_id is not a lowercase domain name")
    if not 1 <= len(cred_id) <= 1023:
        raise Refused("credential id length")
    if alg == ES256:
        if len(key) != 65 or key[0] != 4:
            raise Refused("an ES256 key is 65 bytes, 04 || x || y")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
    elif alg == EDDSA:
        public = Ed25519PublicKey.from_public_bytes(key)
    else:
        raise Refused(f"COSE algorithm {alg}")
    return rp_id, alg, public


def origin_belongs(origin, rp_id):
    m = re.fullmatch(r"(https?)://([a-z0-9.-]+)(?::([0-9]+))?", origin)
    if not m:
        return False
    scheme, host = m.group(1), m.group(2)
    same_site = host == rp_id or host.endswith("." + rp_id)
    return same_site and (scheme == "https" or (rp_id == "localhost" and host == "localhost"))


def verify_signed_event(data):
    """Section 7 with section 20: returns (key_id, user_verified)."""
    if len(data) > 66560:
        raise Refused("over the signed-event limit")
    r = Reader(data)
    event = r.bytes()
    e = Reader(event)
    if e.u16() != 2:
        raise Refused("not a version-2 event")
    e.take(32 + 16)  # ledger, id
    start = e.at
    rp_id, alg, public = credential(e)
    cred_bytes = event[start:e.at]
    e.take(8)  # time
    kind = e.bytes()
    payload = e.bytes()
    e.end()
    if not 1 <= len(kind) <= 64 or len(payload) > 65536:
        raise Refused("kind or payload out of range")
    auth_data, client_json, sig = r.bytes(), r.bytes(), r.bytes()
    r.end()
    if len(auth_data) > 1024 or len(client_json) > 2048 or len(sig) > 128:
        raise Refused("assertion field over its limit")
    # 20.5 step 2.
    if len(auth_data) < 37:
        raise Refused("authenticator data shorter than 37 bytes")
    if auth_data[:32] != hashlib.sha256(rp_id.encode()).digest():
        raise Refused("another relying party")
    flags = auth_data[32]
    if not flags & 0x01:
        raise Refused("user-present flag not set")
    # 20.4 and 20.5 step 3.
    challenge = hashlib.sha256(CHALLENGE_CONTEXT + EVENT_CONTEXT + event).digest()
    expected = base64.urlsafe_b64encode(challenge).rstrip(b"=").decode()
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise Refused("client data names a member twice")
        return dict(pairs)

    try:
        client = json.loads(client_json, object_pairs_hook=no_duplicates)
    except ValueError:
        raise Refused("client data is not JSON")
    if not isinstance(client, dict):
        raise Refused("client data is not a JSON object")
    if client.get("type") != "webauthn.get":
        raise Refused("client data type")
    if client.get("challenge") != expected:
        raise Refused("challenge")
    if not isinstance(client.get("origin"), str) or not origin_belongs(client["origin"], rp_id):
        raise Refused("origin does not belong")
    if client.get("crossOrigin", False) is not False:
        raise Refused("cross-origin")
    # Step 5.
    signed = auth_data + hashlib.sha256(client_json).digest()
    try:
        if alg == ES256:
            public.verify(sig, signed, ec.ECDSA(hashes.SHA256()))
        else:
            public.verify(sig, signed)
    except InvalidSignature:
        raise Refused("does not verify")
    return cred_bytes, bool(flags & 0x04)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/vectors/passkey.json"
    vectors = json.load(open(path))
    failures = []
    for name in ("es256", "eddsa"):
        ex = vectors[name]
        try:
            cred_bytes, uv = verify_signed_event(bytes.fromhex(ex["signed_event_bytes"]))
            if cred_bytes.hex() != ex["credential_bytes"] or uv is not True:
                failures.append(f"{name}: credential or user verification differs")
            challenge = hashlib.sha256(bytes.fromhex(ex["challenge_input"])).hexdigest()
            if challenge != ex["challenge"]:
                failures.append(f"{name}: challenge differs")
        except Refused as e:
            failures.append(f"{name}: refused: {e}")
    for case in vectors["cases"]:
        expect = case["expect"]
        try:
            _, uv = verify_signed_event(bytes.fromhex(case["signed_event_bytes"]))
            verdict = {"valid": True, "user_verified": uv}
        except Refused as e:
            verdict = {"valid": False, "why": str(e)}
        ok = verdict["valid"] == expect["valid"] and (
            not expect["valid"] or verdict["user_verified"] == expect["user_verified"]
        )
        print(f"{'ok  ' if ok else 'FAIL'} {case['case']}: {verdict}")
        if not ok:
            failures.append(case["case"])
    if failures:
        print("failures:", failures)
        return 1
    print("every passkey vector verifies as the file says")
    return 0


if __name__ == "__main__":
    sys.exit(main())

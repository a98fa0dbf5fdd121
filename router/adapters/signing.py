"""Standard Webhooks signing, both directions (docs/agency-guide.md §2).

signature = base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{raw body}")), sent as
`v1,<signature>`; several space-separated signatures are allowed during key rotation. Secrets
look like `whsec_<base64 of 24 to 64 random bytes>`; the HMAC key is the decoded bytes.

An agency on 国密 signs, and is signed for, with HMAC-SM3 instead, announced by its own version
tag: `v1sm3,<signature>`. Which one an agency uses is set per agency (`signing`), and only that
one is accepted from it, so a call cannot be downgraded to the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as c_hmac

PREFIX = "whsec_"
HMAC_SHA256, HMAC_SM3 = "hmac-sha256", "hmac-sm3"
TAGS = {HMAC_SHA256: "v1", HMAC_SM3: "v1sm3"}  # the signature's version tag, by algorithm


def new_secret(nbytes: int = 32) -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret; raises ValueError on anything else."""
    if not secret.startswith(PREFIX):
        raise ValueError("secret must start with whsec_")
    key = base64.b64decode(secret[len(PREFIX):], validate=True)
    if not 24 <= len(key) <= 64:
        raise ValueError("secret must decode to 24 to 64 bytes")
    return key


BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def signed_payload(method: str, target: str, body: bytes) -> bytes:
    """What a call is signed over: a POST's (PUT's, PATCH's) raw body; any other call's `METHOD
    target` (the path and, when there is one, `?` and the query string, as sent), whatever body it
    carries. An empty body's signature would otherwise fit every GET of the agency (another
    handoff's parties, another page of its feed), and a GET sent with a signed body as its payload
    would fit any target (docs/agency-guide.md §2). A body names what it acts on (an event names its
    handoff), which the endpoint checks against the path."""
    method = method.upper()
    return body if method in BODY_METHODS else f"{method} {target}".encode()


def _hmac_sm3(key: bytes, data: bytes) -> bytes:
    m = c_hmac.HMAC(key, hashes.SM3())  # the standard library's hmac has no SM3
    m.update(data)
    return m.finalize()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes, algorithm: str = HMAC_SHA256) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    key = secret_key(secret)
    mac = hmac.new(key, signed, hashlib.sha256).digest() if algorithm == HMAC_SHA256 else _hmac_sm3(key, signed)
    return f"{TAGS[algorithm]}," + base64.b64encode(mac).decode()


def headers(secrets_: list[str], msg_id: str, timestamp: int, body: bytes,
            algorithm: str = HMAC_SHA256) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every given secret (rotation)."""
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(sign(s, msg_id, timestamp, body, algorithm) for s in secrets_)}


def verify(secrets_: list[str], msg_id: str, timestamp: str, body: bytes, signature_header: str, *, now: int,
           tolerance: int = 300, algorithm: str = HMAC_SHA256) -> bool:
    """Constant-time check of any signature with the algorithm's tag (`v1,` by default) against any
    active secret, within the window."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - ts) > tolerance:
        return False
    tag = TAGS[algorithm] + ","
    offered = [p.split(",", 1)[1] for p in signature_header.split() if p.startswith(tag)]
    ok = False
    for s in secrets_:
        expected = sign(s, msg_id, ts, body, algorithm).split(",", 1)[1]
        for o in offered:
            ok |= hmac.compare_digest(expected.encode(), o.encode())
    return ok

"""Standard Webhooks signing, both directions (docs/agency-guide.md §2).

signature = base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{raw body}")), sent as
`v1,<signature>`; several space-separated signatures are allowed during key rotation. Secrets
look like `whsec_<base64 of 24 to 64 random bytes>`; the HMAC key is the decoded bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


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


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every given secret (rotation)."""
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)}


def verify(secrets_: list[str], msg_id: str, timestamp: str, body: bytes, signature_header: str, *, now: int,
           tolerance: int = 300) -> bool:
    """Constant-time check of any `v1,` signature against any active secret, within the window."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - ts) > tolerance:
        return False
    offered = [p.split(",", 1)[1] for p in signature_header.split() if p.startswith("v1,")]
    ok = False
    for s in secrets_:
        expected = sign(s, msg_id, ts, body).split(",", 1)[1]
        for o in offered:
            ok |= hmac.compare_digest(expected.encode(), o.encode())
    return ok

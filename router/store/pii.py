"""Personal data at rest (个人信息保护法 51): AES-GCM ciphertext plus a keyed hash for exact lookup.

Both keys are derived from ROUTER_PII_KEY with HKDF so one secret is all an operator manages;
the lookup hash is keyed so a leaked table cannot be reversed by hashing all ID numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"


def _derive(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


class PiiCipher:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(_derive(key, b"dispute-router pii encrypt v1"))
        self._mac_key = _derive(key, b"dispute-router pii lookup v1")

    def encrypt(self, value: str, context: str) -> bytes:
        """`context` (e.g. 'id_number') is bound as associated data: a ciphertext can't be moved columns."""
        nonce = os.urandom(12)
        return VERSION + nonce + self._aead.encrypt(nonce, value.encode(), context.encode())

    def decrypt(self, blob: bytes, context: str) -> str:
        if not blob or blob[:1] != VERSION:
            raise ValueError("unknown PII ciphertext version")
        return self._aead.decrypt(blob[1:13], blob[13:], context.encode()).decode()

    def lookup_hash(self, value: str, context: str) -> str:
        return hmac.new(self._mac_key, f"{context}:{value}".encode(), hashlib.sha256).hexdigest()

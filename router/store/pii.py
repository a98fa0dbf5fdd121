"""Personal data at rest (个人信息保护法 51): authenticated ciphertext plus a keyed hash for exact lookup.

Both keys are derived from ROUTER_PII_KEY so one secret is all an operator manages; the lookup hash
is keyed so a leaked table cannot be reversed by hashing all ID numbers. The suite (store/crypto.py)
decides the algorithms: AES-256-GCM and HMAC-SHA-256 by default, SM4-GCM and HMAC-SM3 under 国密.
A ciphertext's first byte names its cipher, so either suite reads both."""

from __future__ import annotations

import os

from router.store.crypto import GM, STANDARD, Suite, suite

AES_GCM, SM4_GCM = b"\x01", b"\x02"  # the ciphertext's version byte
_VERSION = {STANDARD: AES_GCM, GM: SM4_GCM}


class PiiCipher:
    def __init__(self, key: bytes, suite_: Suite | None = None) -> None:
        self.suite = suite_ or suite(STANDARD)
        self._key = key
        self._version = _VERSION[self.suite.name]
        self._aeads = {AES_GCM: suite(STANDARD).aead(key), SM4_GCM: suite(GM).aead(key)}
        info = b"dispute-router pii lookup v1" if self.suite.name == STANDARD else b"dispute-router pii lookup sm3 v1"
        self._mac_key = self.suite.derive(key, info)

    def encrypt(self, value: str, context: str) -> bytes:
        """`context` (e.g. 'id_number') is bound as associated data: a ciphertext can't be moved columns."""
        nonce = os.urandom(12)
        return self._version + nonce + self._aeads[self._version].encrypt(nonce, value.encode(), context.encode())

    def decrypt(self, blob: bytes, context: str) -> str:
        aead = self._aeads.get(bytes(blob[:1])) if blob else None
        if aead is None:
            raise ValueError("unknown PII ciphertext version")
        return aead.decrypt(bytes(blob[1:13]), bytes(blob[13:]), context.encode()).decode()

    def lookup_hash(self, value: str, context: str) -> str:
        return self.suite.mac(self._mac_key, f"{context}:{value}".encode())

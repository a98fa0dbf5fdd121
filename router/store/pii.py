"""Personal data at rest (个人信息保护法 51): authenticated ciphertext plus a keyed hash for exact lookup.

Both keys are derived from ROUTER_PII_KEY so one secret is all an operator manages; the lookup hash
is keyed so a leaked table cannot be reversed by hashing all ID numbers. The suite (store/crypto.py)
decides the algorithms: AES-256-GCM and HMAC-SHA-256 by default, SM4-GCM and HMAC-SM3 under 国密.

Keys are versioned: a ciphertext starts with a byte naming its cipher and the id of the key that
made it, so after a new ROUTER_PII_KEY the previous ones (ROUTER_PII_OLD_KEYS) still read what
they wrote until `dispute-router keys rotate-pii` has re-encrypted it (services/pii_keys.py).
Ciphertexts from before key ids (cipher byte 1 or 2, no id) are tried with each key."""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from cryptography.exceptions import InvalidTag

from router.store.crypto import GM, STANDARD, Suite, suite

AES_GCM, SM4_GCM = b"\x01", b"\x02"  # without a key id: the first key's, before keys were versioned
KEYED = {b"\x11": AES_GCM, b"\x12": SM4_GCM}  # cipher byte, then the key's 4-byte id
_WRITE = {STANDARD: b"\x11", GM: b"\x12"}
NONCE = 12


def key_id(key: bytes) -> bytes:
    """Which key made a ciphertext: 4 bytes of a digest of it, never the key."""
    return hmac.new(key, b"dispute-router pii key id", hashlib.sha256).digest()[:4]


class _Key:
    def __init__(self, key: bytes, s: Suite) -> None:
        self.id = key_id(key)
        self.aeads: dict[bytes, Any] = {AES_GCM: suite(STANDARD).aead(key), SM4_GCM: suite(GM).aead(key)}
        info = b"dispute-router pii lookup v1" if s.name == STANDARD else b"dispute-router pii lookup sm3 v1"
        self.mac_key = s.derive(key, info)


class PiiCipher:
    def __init__(self, key: bytes, suite_: Suite | None = None, old_keys: tuple[bytes, ...] = ()) -> None:
        self.suite = suite_ or suite(STANDARD)
        self._keys = [_Key(k, self.suite) for k in (key, *old_keys)]
        self._by_id = {k.id: k for k in self._keys}
        self.current_id = self._keys[0].id
        self._version = _WRITE[self.suite.name]

    def encrypt(self, value: str, context: str) -> bytes:
        """`context` (e.g. 'id_number') is bound as associated data: a ciphertext can't be moved columns."""
        nonce, k = os.urandom(NONCE), self._keys[0]
        sealed = k.aeads[KEYED[self._version]].encrypt(nonce, value.encode(), context.encode())
        return self._version + k.id + nonce + sealed

    def decrypt(self, blob: bytes, context: str) -> str:
        blob = bytes(blob or b"")
        head = blob[:1]
        if head in KEYED and len(blob) > 5 + NONCE:
            k = self._by_id.get(blob[1:5])
            if k is None:
                raise ValueError("PII ciphertext made with a key that is neither ROUTER_PII_KEY nor in "
                                 "ROUTER_PII_OLD_KEYS")
            return k.aeads[KEYED[head]].decrypt(blob[5:5 + NONCE], blob[5 + NONCE:], context.encode()).decode()
        if head in (AES_GCM, SM4_GCM) and len(blob) > 1 + NONCE:
            for k in self._keys:
                try:
                    return k.aeads[head].decrypt(blob[1:1 + NONCE], blob[1 + NONCE:], context.encode()).decode()
                except InvalidTag:
                    continue
            raise InvalidTag
        raise ValueError("unknown PII ciphertext version")

    def is_current(self, blob: bytes | None) -> bool:
        """Made with ROUTER_PII_KEY in this suite's cipher (nothing for `keys rotate-pii` to do)?"""
        b = bytes(blob or b"")
        return b[:1] == self._version and b[1:5] == self.current_id

    def lookup_hash(self, value: str, context: str) -> str:
        return self.suite.mac(self._keys[0].mac_key, f"{context}:{value}".encode())

    def lookup_hashes(self, value: str, context: str) -> list[str]:
        """The value's hash under every key: what a lookup matches while a rotation is under way."""
        return [self.suite.mac(k.mac_key, f"{context}:{value}".encode()) for k in self._keys]

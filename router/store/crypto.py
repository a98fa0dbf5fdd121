"""The two cryptographic suites (docs/architecture.md §10): the international default and 国密 for
deployments that a 等保 or 密评 assessment holds to the Chinese commercial algorithms
(ROUTER_CRYPTO=gm):

| use                               | standard      | gm (GB/T 32905, GB/T 32907) |
|-----------------------------------|---------------|-----------------------------|
| personal data at rest             | AES-256-GCM   | SM4-GCM                     |
| keyed lookup hashes, key deriving | HMAC/HKDF-SHA-256 | HMAC/HKDF-SM3           |
| the event chain, audit anchors    | SHA-256       | SM3                         |

A database is set up under one suite and stays under it: its lookup hashes and chain hashes are only
comparable within one (store/store_settings.py refuses the other). Everything goes through
`cryptography`, whose OpenSSL provides SM3 and SM4."""

from __future__ import annotations

import hashlib
import hmac as std_hmac
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as c_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

STANDARD, GM = "standard", "gm"
SUITES = (STANDARD, GM)
TAG_BYTES = 16


def sm3_hex(data: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    m = c_hmac.HMAC(key, hashes.SM3())
    m.update(data)
    return m.finalize()


class Sm4Gcm:
    """SM4 in GCM mode with the interface of `AESGCM` (the tag appended to the ciphertext)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise ValueError("SM4 takes a 128-bit key")
        self._key = key

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        enc = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        if associated_data:
            enc.authenticate_additional_data(associated_data)
        return enc.update(data) + enc.finalize() + enc.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        if len(data) < TAG_BYTES:  # too short to hold its tag: damaged, as AESGCM says it
            raise InvalidTag
        body, tag = data[:-TAG_BYTES], data[-TAG_BYTES:]
        dec = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        if associated_data:
            dec.authenticate_additional_data(associated_data)
        return dec.update(body) + dec.finalize()


@dataclass(frozen=True)
class Suite:
    name: str
    hash_name: str  # "sha256" | "sm3": the event chain's and the anchors' hash

    def mac(self, key: bytes, data: bytes) -> str:
        if self.hash_name == "sha256":
            return std_hmac.new(key, data, hashlib.sha256).hexdigest()
        return hmac_sm3(key, data).hex()

    def derive(self, key: bytes, info: bytes, length: int = 32) -> bytes:
        algorithm = hashes.SHA256() if self.hash_name == "sha256" else hashes.SM3()
        return HKDF(algorithm=algorithm, length=length, salt=None, info=info).derive(key)

    def aead(self, key: bytes) -> Any:
        """The personal data cipher, keyed from the PII key (AES-256-GCM or SM4-GCM)."""
        if self.name == STANDARD:
            return AESGCM(self.derive(key, b"dispute-router pii encrypt v1"))
        return Sm4Gcm(self.derive(key, b"dispute-router pii encrypt sm4 v1", 16))


SUITE = {STANDARD: Suite(STANDARD, "sha256"), GM: Suite(GM, "sm3")}


def suite(name: str) -> Suite:
    return SUITE[name]


def chain_digest(hash_name: str, data: bytes) -> str:
    """The event chain's hash of canonical bytes, by its algorithm's name (store/chain.py)."""
    return hashlib.sha256(data).hexdigest() if hash_name == "sha256" else sm3_hex(data)

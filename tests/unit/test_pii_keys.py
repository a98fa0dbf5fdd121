"""Versioned personal-data keys (router/store/pii.py): a ciphertext names its cipher and its key, a
cipher reads what its older keys wrote, and one from before key ids still reads."""

from __future__ import annotations

import os

import pytest
from cryptography.exceptions import InvalidTag

from router.store.crypto import STANDARD, suite
from router.store.pii import PiiCipher, key_id

A, B, C = b"a" * 32, b"b" * 32, b"c" * 32


def _legacy(key: bytes, value: str, context: str) -> bytes:
    """A ciphertext as written before keys had ids: cipher byte 1, nonce, AES-GCM."""
    nonce = os.urandom(12)
    return b"\x01" + nonce + suite(STANDARD).aead(key).encrypt(nonce, value.encode(), context.encode())


def test_a_ciphertext_names_the_key_that_made_it():
    blob = PiiCipher(A).encrypt("13800138000", "phone")
    assert blob[:1] == b"\x11" and blob[1:5] == key_id(A)
    assert PiiCipher(A).is_current(blob) and not PiiCipher(B, old_keys=(A,)).is_current(blob)


def test_the_old_keys_read_what_they_wrote_and_the_current_one_writes():
    old = PiiCipher(A).encrypt("13800138000", "phone")
    rotated = PiiCipher(B, old_keys=(A,))
    assert rotated.decrypt(old, "phone") == "13800138000"
    assert rotated.encrypt("x", "phone")[1:5] == key_id(B)
    with pytest.raises(ValueError, match="ROUTER_PII_OLD_KEYS"):
        PiiCipher(B).decrypt(old, "phone")


def test_a_ciphertext_from_before_key_ids_is_tried_with_each_key():
    blob = _legacy(A, "110101199003074514", "id_number")
    assert PiiCipher(B, old_keys=(C, A)).decrypt(blob, "id_number") == "110101199003074514"
    with pytest.raises(InvalidTag):
        PiiCipher(B, old_keys=(C,)).decrypt(blob, "id_number")
    assert not PiiCipher(A).is_current(blob)


def test_lookups_match_under_every_key_and_the_current_hash_comes_first():
    c = PiiCipher(B, old_keys=(A,))
    hashes = c.lookup_hashes("13800138000", "phone")
    assert hashes == [c.lookup_hash("13800138000", "phone"), PiiCipher(A).lookup_hash("13800138000", "phone")]


@pytest.mark.parametrize("blob", [b"", b"\x11", b"\x11abcd", b"\x09" + bytes(40), b"\x01short"])
def test_malformed_ciphertexts_are_refused_clearly(blob):
    with pytest.raises((ValueError, InvalidTag)):
        PiiCipher(A).decrypt(blob, "phone")

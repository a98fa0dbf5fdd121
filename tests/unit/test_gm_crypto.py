"""国密 (ROUTER_CRYPTO=gm, router/store/crypto.py): the official test vectors, and the suites side
by side: what each writes, that either reads both, and that the default is unchanged."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from router.adapters import signing
from router.store.chain import hash_of
from router.store.crypto import GM, STANDARD, Sm4Gcm, sm3_hex, suite
from router.store.pii import PiiCipher

KEY = bytes(range(32))


def test_sm3_gb_t_32905_vectors():
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3_hex(b"abcd" * 16) == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_sm4_gb_t_32907_vector():
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (enc.update(key) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm4_gcm_round_trip_binds_its_associated_data():
    box, nonce = Sm4Gcm(bytes(16)), bytes(12)
    sealed = box.encrypt(nonce, "张三 110105199001011232".encode(), b"id_number")
    assert box.decrypt(nonce, sealed, b"id_number").decode() == "张三 110105199001011232"
    with pytest.raises(InvalidTag):
        box.decrypt(nonce, sealed, b"phone")
    with pytest.raises(InvalidTag):
        box.decrypt(nonce, sealed[:-1] + bytes([sealed[-1] ^ 1]), b"id_number")


def test_the_gm_cipher_writes_sm4_and_either_suite_reads_both():
    gm, std = PiiCipher(KEY, suite(GM)), PiiCipher(KEY, suite(STANDARD))
    a, b = gm.encrypt("13800138000", "phone"), std.encrypt("13800138000", "phone")
    assert a[:1] == b"\x12" and b[:1] == b"\x11"  # SM4-GCM, AES-GCM, each with its key id
    assert gm.decrypt(b, "phone") == std.decrypt(a, "phone") == "13800138000"
    with pytest.raises(InvalidTag):
        gm.decrypt(a, "id_number")


def test_lookup_hashes_are_hmac_sm3_under_gm_and_unchanged_by_default():
    gm, std = PiiCipher(KEY, suite(GM)), PiiCipher(KEY)
    legacy_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dispute-router pii lookup v1").derive(KEY)
    assert std.lookup_hash("13800138000", "phone") == hmac.new(legacy_key, b"phone:13800138000",
                                                                hashlib.sha256).hexdigest()
    assert gm.lookup_hash("13800138000", "phone") != std.lookup_hash("13800138000", "phone")
    assert len(gm.lookup_hash("13800138000", "phone")) == 64


def test_the_chain_hash_is_sm3_of_the_same_canonical_json():
    body = {"id": "e1", "stream": "s", "stream_seq": 1, "dispute_id": "s", "handoff_id": None, "type": "t",
            "actor": "system:router", "occurred_at": "2026-12-03T02:00:00.000000Z", "data": {"名": "值"},
            "prev_hash": "0" * 64}
    canonical = ('{"actor":"system:router","data":{"名":"值"},"dispute_id":"s","handoff_id":null,"id":"e1",'
                 '"occurred_at":"2026-12-03T02:00:00.000000Z","prev_hash":"' + "0" * 64 + '","stream":"s",'
                 '"stream_seq":1,"type":"t"}').encode()
    assert hash_of(body) == hashlib.sha256(canonical).hexdigest()
    assert hash_of(body, "sm3") == sm3_hex(canonical)


SECRET = signing.new_secret()


def test_an_hmac_sm3_agency_signs_with_its_own_tag_and_nothing_else_passes():
    sig = signing.sign(SECRET, "msg_1", 1000, b"{}", signing.HMAC_SM3)
    assert sig.startswith("v1sm3,")
    assert signing.verify([SECRET], "msg_1", "1000", b"{}", sig, now=1000, algorithm=signing.HMAC_SM3)
    v1 = signing.sign(SECRET, "msg_1", 1000, b"{}")
    assert not signing.verify([SECRET], "msg_1", "1000", b"{}", v1, now=1000, algorithm=signing.HMAC_SM3)
    assert not signing.verify([SECRET], "msg_1", "1000", b"{}", sig, now=1000)  # no downgrade either way
    assert not signing.verify([SECRET], "msg_1", "1000", b"{!}", sig, now=1000, algorithm=signing.HMAC_SM3)

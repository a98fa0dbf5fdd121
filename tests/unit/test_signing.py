"""Standard Webhooks signatures, checked against the specification's published test vector."""

from __future__ import annotations

import pytest

from router.adapters import signing

# From the Standard Webhooks specification's reference libraries' tests.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TS = 1614265330
BODY = b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_matches_the_specification_vector():
    assert signing.sign(SECRET, MSG_ID, TS, BODY) == EXPECTED


def test_verify_accepts_any_active_secret_and_any_offered_signature():
    other = signing.new_secret()
    header = f"v1,bogus {EXPECTED}"
    assert signing.verify([other, SECRET], MSG_ID, str(TS), BODY, header, now=TS + 10)


@pytest.mark.parametrize("change", ["body", "id", "stale", "future", "secret", "v2"])
def test_verify_rejects(change):
    body, msg, now, secrets_, header = BODY, MSG_ID, TS, [SECRET], EXPECTED
    if change == "body":
        body = b'{"test": 2432232315}'
    elif change == "id":
        msg = "msg_other"
    elif change == "stale":
        now = TS + 301
    elif change == "future":
        now = TS - 301
    elif change == "secret":
        secrets_ = [signing.new_secret()]
    elif change == "v2":
        header = EXPECTED.replace("v1,", "v2,")
    assert not signing.verify(secrets_, msg, str(TS), body, header, now=now)


def test_secret_format():
    s = signing.new_secret()
    assert s.startswith("whsec_") and len(signing.secret_key(s)) == 32
    with pytest.raises(ValueError):
        signing.secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    with pytest.raises(ValueError):
        signing.secret_key("whsec_AAAA")  # 3 bytes

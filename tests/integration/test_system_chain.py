"""The system chain under concurrent writers (PostgreSQL): it has no row of its own to lock, so two
transactions appending to it at once read the same head; one failed on the unique (stream, seq)
until they took turns (store/uow.py `_hold_system_stream`). Found by two `keys rotate-pii` at once."""

from __future__ import annotations

import uuid

from tests.builders import at_once


def test_concurrent_system_events_all_commit_on_one_intact_chain(svc):
    made, errors = at_once(12, lambda: svc.add_user(f"u-{uuid.uuid4().hex[:12]}", "clerk"))
    assert errors == [] and len(made) == 12
    chain = svc.verify_chain(full=True)
    assert chain["ok"], chain

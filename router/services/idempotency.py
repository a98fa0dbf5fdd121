"""Stored first answers: a retried request (Idempotency-Key, an agency's event_id) gets the answer of
the first one and changes nothing; the same key with another body is a conflict."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from router.domain.errors import StateConflict
from router.domain.personal_text import unsealed
from router.services.context import ServiceContext
from router.store.models import IdempotencyKey


def request_hash(body: Any) -> str:
    """What makes two requests "the same" for a key: their canonical JSON, as typed (two numbers that
    mask alike are still two requests: domain/personal_text.py)."""
    return hashlib.sha256(json.dumps(unsealed(body), sort_keys=True, ensure_ascii=False,
                                     default=str).encode()).hexdigest()


class Idempotency:
    """One key in one scope; `field` names the key in a conflict (`Idempotency-Key`, `event_id`)."""

    def __init__(self, scope: str, key: str, digest: str, field: str) -> None:
        self.scope, self.key, self.digest, self.field = scope, key, digest, field

    def stored(self, session: Session, *, fresh: bool = False) -> tuple[int, Any] | None:
        """The first answer, if there is one. `fresh` re-reads it inside a transaction that waited on a lock."""
        row = session.get(IdempotencyKey, (self.scope, self.key), populate_existing=fresh)
        if row is None:
            return None
        if row.request_hash != self.digest:
            raise StateConflict(f"该 {self.field} 已用于另一份不同的请求",
                                f"{self.field} reused with a different body", field=self.field)
        return row.status, row.response

    def lookup(self, ctx: ServiceContext) -> tuple[int, Any] | None:
        with ctx.store.read() as s:
            return self.stored(s)

    def remember(self, session: Session, status: int, answer: Any, at: datetime) -> Any:
        """Store the answer in the same transaction as the change it describes; returns it as stored,
        so the first caller sees exactly what a retry will."""
        stored = json.loads(json.dumps(answer, default=str))
        session.add(IdempotencyKey(scope=self.scope, key=self.key, request_hash=self.digest, status=status,
                                   response=stored, created_at=at))
        return stored

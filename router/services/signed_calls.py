"""A signed agency call's `webhook-id` (docs/agency-guide.md §2): Standard Webhooks senders retry a
call with the same id, signature and body, so the same call again gets the answer it got, not a
401; a pull (GET) again gets nothing; anything else with a used id is refused. A call that failed
validation, or failed on our side, does not use its id up: corrected, it may come again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from router.services.context import ServiceContext
from router.store.models import SeenRequest

VALIDATION_FAILED = frozenset({400, 413, 415, 422})


@dataclass(frozen=True)
class Replay:
    """The answer a call already got: given again as it was."""

    status: int
    answer: Any


def replayed(ctx: ServiceContext, agency_code: str, webhook_id: str, payload_hash: str) -> Replay | str:
    """What a used webhook-id now gets: the first answer to the very same signed payload, else a
    refusal reason for the log."""
    with ctx.store.read() as s:
        row = s.get(SeenRequest, (agency_code, webhook_id))
        if row is None or row.payload_hash != payload_hash:
            return "replayed"
        if row.status is None:  # a GET (its data is not given twice), or still being answered
            return "replayed"
        return Replay(row.status, row.answer)


def settle(ctx: ServiceContext, agency_code: str, webhook_id: str, status: int, answer: Any, *,
           remember: bool) -> None:
    """After the call: keep its answer for a retry (`remember`), leave the id used without one, or,
    for a call that failed validation or on our side, free the id."""
    with ctx.store.unit_of_work() as uow:
        row = uow.session.get(SeenRequest, (agency_code, webhook_id))
        if row is None:
            return
        if status in VALIDATION_FAILED or status >= 500:
            uow.session.delete(row)
        elif remember:
            row.status, row.answer = status, answer

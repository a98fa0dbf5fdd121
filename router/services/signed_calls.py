"""A signed agency call's `webhook-id` (docs/agency-guide.md §2): Standard Webhooks senders retry a
call with the same id, signature and body, so the same call again gets the answer it got, not a
401; a pull (GET) again gets nothing; anything else with a used id is refused. A call that failed
validation, or failed on our side, does not use its id up: corrected, it may come again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from router.services.context import ServiceContext
from router.store.models import SeenRequest

VALIDATION_FAILED = frozenset({400, 413, 415, 422})


ANSWERED_ONCE = 0  # seen_requests.status of a call whose answer is not given again (a GET)
STALE_SECONDS = 30  # an unanswered call older than this was lost on our side, not still running


@dataclass(frozen=True)
class Replay:
    """The answer a call already got: given again as it was; or, `in_progress`, none yet (the first
    call is still being answered: the sender retries shortly)."""

    status: int
    answer: Any
    in_progress: bool = False


IN_PROGRESS = Replay(409, None, in_progress=True)


def replayed(ctx: ServiceContext, agency_code: str, webhook_id: str, payload_hash: str) -> Replay | str | None:
    """What a used webhook-id now gets: the first answer to the very same signed payload; 409 while
    the first is still being answered; None (take it as new) when the first call's answer was never
    kept (`settle` failed) and STALE_SECONDS have passed; else a refusal reason for the log."""
    now = ctx.now()
    with ctx.store.read() as s:
        row = s.get(SeenRequest, (agency_code, webhook_id))
        if row is None or row.payload_hash != payload_hash:
            return "replayed"
        if row.status == ANSWERED_ONCE:  # a GET: its data is not given twice
            return "replayed"
        if row.status is not None:
            return Replay(row.status, row.answer)
    with ctx.store.unit_of_work() as uow:  # an answer never kept: one retry takes the call over
        taken = uow.session.execute(
            update(SeenRequest).where(SeenRequest.agency_code == agency_code, SeenRequest.webhook_id == webhook_id,
                                      SeenRequest.status.is_(None),
                                      SeenRequest.seen_at < now - timedelta(seconds=STALE_SECONDS))
            .values(seen_at=now).execution_options(synchronize_session=False)).rowcount
    return None if taken else IN_PROGRESS


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
        else:
            row.status = ANSWERED_ONCE

"""The feed over HTTP under load (docs/agency-guide.md §4): 1,000 items made by concurrent writers
while an agency reads with random page sizes and pauses and "restarts" (keeping only the cursor of
what it had processed); it misses nothing and gets nothing twice."""

from __future__ import annotations

import random
import threading
import time

from sqlalchemy import select

from router.store.models import Delivery
from tests.builders import SUPERVISOR, designated


def test_a_thousand_items_read_with_pauses_and_restarts_none_missed_or_repeated(live, svc, agencies, offline):
    code, held = designated(svc, offline, 4)  # 4 referrals, then 996 urge notices from two writers
    rng = random.Random(11)
    errors: list[BaseException] = []

    def write(part: int) -> None:
        try:
            for k in range(498):
                svc.act(held[(2 * k + part) % 4][0], {"action": "urge", "reason": f"催办{part}-{k}"}, SUPERVISOR)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    writers = [threading.Thread(target=write, args=(p,)) for p in (0, 1)]
    for w in writers:
        w.start()
    client, since, processed = agencies(code), 0, []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # a feed that never runs dry fails below instead of hanging
        done = not any(w.is_alive() for w in writers)
        r = client.feed(since, limit=rng.randint(1, 60))
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        if rng.random() < 0.2 and len(items) > 1:  # a restart: only a prefix was processed before it
            items = items[:rng.randint(1, len(items) - 1)]
        processed.extend(i["cursor"] for i in items)
        since = items[-1]["cursor"] if items else since
        if done and not items:
            break
        time.sleep(rng.random() * 0.005)
    assert not errors
    with svc.ctx.store.read() as s:
        made = list(s.scalars(select(Delivery.feed_seq).where(Delivery.agency_code == code)
                              .order_by(Delivery.feed_seq)))
    assert len(made) == 1000
    assert processed == made  # every item once, in order


def test_a_cursor_past_what_a_cursor_can_be_is_a_422_not_a_500(svc, agencies):
    """Found by schemathesis once the agency operations ran signed: `since` beyond what the cursor column holds
    reached the database (OverflowError on SQLite, out of range on PostgreSQL) and answered 500."""
    client = agencies(next(iter(svc.ctx.registry().by_code)))
    r = client.feed(1755780108817966668185600, limit=117)
    assert r.status_code == 422 and "since" in r.json()["error"]["fields"], r.text
    assert client.feed(2**31 - 1).status_code == 200 and client.feed(2**31).status_code == 422

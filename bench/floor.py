"""The floor of the intake path: the least a dispute intake can cost on this stack.

A bare Flask app on SQLAlchemy Core that takes the same JSON body as `POST /api/v1/disputes` and
writes, in one transaction, the same rows the project's intake must write at the least: the dispute,
its two parties, one event and one outbox row, into the project's own tables (migrated, so the rows
and indexes are the same width), and answers 201 with the id and reference. No authentication, no
validation, no routing, no engine, no encryption: whatever the project spends above this is ours.

    gunicorn -w 2 'bench.floor:app()'      # ROUTER_DATABASE_URL picks the database, as for the project

bench/intake.py starts it (and the project) under the same server and load and prints the ratio.
"""

from __future__ import annotations

import itertools
import os
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask, jsonify, request  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from router.store.db import make_engine  # noqa: E402
from router.store.models import Dispute, Event, Outbox, Party  # noqa: E402

DISPUTES, PARTIES, EVENTS, OUTBOX = Dispute.__table__, Party.__table__, Event.__table__, Outbox.__table__


def app(database_url: str | None = None) -> Flask:
    """The floor app on ROUTER_DATABASE_URL (a migrated database)."""
    engine = make_engine(database_url or os.environ["ROUTER_DATABASE_URL"])
    flask_app = Flask("floor")
    numbers = itertools.count(1)
    prefix = f"F{os.getpid()}-"

    @flask_app.post("/api/v1/disputes")
    def register() -> Any:
        body = request.get_json()
        at = datetime.now(UTC)
        did, ref = str(uuid.uuid4()), f"{prefix}{next(numbers)}"
        with engine.begin() as conn:
            conn.execute(insert(DISPUTES).values(
                id=did, reference=ref, state="received", category=body["category"], source=body["source"],
                summary=body["summary"], amount=Decimal(body["amount"]) if body.get("amount") else None,
                people_involved=body.get("people_involved", 1), division=body["division"], risk_flags=[],
                features=[], wish=body.get("wish", "mediation"), created_at=at, updated_at=at, event_count=1,
                event_head="0" * 64, version=1))
            conn.execute(insert(PARTIES), [{"dispute_id": did, "idx": i, "role": p["role"], "name": p["name"],
                                            "kind": p.get("kind", "person"), "division": p.get("division"),
                                            "consent": True} for i, p in enumerate(body["parties"])])
            eid = str(uuid.uuid4())
            conn.execute(insert(EVENTS).values(id=eid, stream=did, stream_seq=1, dispute_id=did, actor="floor",
                                               type="dispute.registered", occurred_at=at,
                                               data={"reference": ref}, prev_hash="0" * 64, hash="0" * 64))
            conn.execute(insert(OUTBOX).values(id=str(uuid.uuid4()), kind="event", routing_key="dispute.registered",
                                          payload={"event_id": eid}, dispute_id=did, created_at=at, attempts=0))
        return jsonify({"id": did, "reference": ref, "state": "received"}), 201

    return flask_app

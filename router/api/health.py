"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from flask import Response
from prometheus_client import CONTENT_TYPE_LATEST

from router import metrics as counts
from router.api.auth import services
from router.api.blueprint import Blueprint
from router.schemas.health import HealthOut, ReadyOut

blp = Blueprint("health", __name__, description="健康检查")


@blp.get("/healthz")
@blp.doc(security=[])
@blp.answers(200, HealthOut)
def healthz() -> Any:
    """The process is up."""
    return {"status": "ok"}


@blp.get("/metrics")
@blp.doc(security=[], responses={"200": {"description": "Prometheus text format"}})
def metrics() -> Any:
    """Prometheus metrics of the service: under `serve --processes`, of all its processes together."""
    return Response(counts.exposition(), mimetype=CONTENT_TYPE_LATEST)


@blp.get("/readyz")
@blp.doc(security=[])
@blp.answers(200, ReadyOut)
@blp.alt_response(503, schema=ReadyOut, description="a dependency is down: which one says false")
def readyz() -> Any:
    """The database and the broker are reachable (the embedded in-process broker always is)."""
    parts = services().readiness()
    ok = all(parts.values())
    return {"status": "ok" if ok else "unavailable", **parts}, (200 if ok else 503)

"""Prometheus metrics: delivery attempts, outcomes and latency per body type; intake counts."""

from __future__ import annotations

import os
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess, values

DELIVERY_ATTEMPTS = Counter("router_delivery_attempts_total", "HTTP delivery attempts to agencies",
                            ["body_type", "outcome"])
DELIVERY_LATENCY = Histogram("router_delivery_seconds", "Time an agency took to answer a delivery", ["body_type"],
                             buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DELIVERY_FINAL = Counter("router_delivery_final_total", "Deliveries that ended", ["body_type", "state"])
CIRCUIT_DEFERRED = Counter("router_delivery_deferred_total", "Attempts deferred by an open circuit", ["agency"])
DISPUTES_REGISTERED = Counter("router_disputes_registered_total", "Disputes registered", ["category", "source"])
SHED = Counter("router_requests_shed_total", "Requests answered 503 unread: they waited too long for a thread")


_ALL = (DELIVERY_ATTEMPTS, DELIVERY_LATENCY, DELIVERY_FINAL, CIRCUIT_DEFERRED, DISPUTES_REGISTERED)


def share(directory: str) -> Callable[[], None]:
    """Count into `directory` together with every other process that does (`serve --processes`):
    without it each web process answers /metrics with its own counts only, a different share of the
    traffic on every scrape. Processes started after this inherit the directory by the environment
    and count there from their first metric; this one switches now, and what it counted before
    (say, while seeding the demo) is dropped rather than reported twice. Returns the undo, for when
    the service stops and its directory goes: this process then counts on its own again."""
    before, kind = os.environ.get("PROMETHEUS_MULTIPROC_DIR"), values.ValueClass
    if not getattr(kind, "_multiprocess", False):
        _renew()
        values.ValueClass = values.MultiProcessValue()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory

    def undo() -> None:
        if before is None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        else:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = before
        if values.ValueClass is not kind:
            values.ValueClass = kind
            _renew()
            values.close_all_multiprocess_files()

    return undo


def _renew() -> None:
    for metric in _ALL:
        metric.clear()  # every child value is made anew, of the value class put in force


def exposition() -> bytes:
    """The metrics in Prometheus' text format: this process's, or, when shared, all processes' summed."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)

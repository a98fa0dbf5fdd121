"""Prometheus metrics: delivery attempts, outcomes and latency per body type; intake counts."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DELIVERY_ATTEMPTS = Counter("router_delivery_attempts_total", "HTTP delivery attempts to agencies",
                            ["body_type", "outcome"])
DELIVERY_LATENCY = Histogram("router_delivery_seconds", "Time an agency took to answer a delivery", ["body_type"],
                             buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DELIVERY_FINAL = Counter("router_delivery_final_total", "Deliveries that ended", ["body_type", "state"])
CIRCUIT_DEFERRED = Counter("router_delivery_deferred_total", "Attempts deferred by an open circuit", ["agency"])
DISPUTES_REGISTERED = Counter("router_disputes_registered_total", "Disputes registered", ["category", "source"])

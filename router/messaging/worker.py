"""Delivery workers, the sweeper, and the threads `serve` runs on the embedded default."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from kombu import Connection, Consumer, Message, Producer

from router import metrics
from router.adapters.base import SendResult, SignedSender
from router.messaging.circuit import CircuitBreakers
from router.messaging.relay import publisher
from router.messaging.topology import Topology, connect
from router.services import Services

log = logging.getLogger(__name__)


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class DeliveryWorker:
    """Consumes handoff messages; leases, sends through the adapter, records; acks only after commit."""

    def __init__(self, svc: Services, sender: SignedSender | None = None, prefetch: int = 8,
                 breakers: CircuitBreakers | None = None) -> None:
        self.svc = svc
        self.sender = sender or SignedSender()
        self.prefetch = prefetch
        self.owner = owner_id()
        self.breakers = breakers or CircuitBreakers(cooldown=svc.settings.circuit_cooldown)
        self.opened: dict[str, datetime] = {}  # when this worker's circuit to an agency opened (service clock)
        self.stop = threading.Event()

    def handle(self, delivery_id: str, publish_dead: Callable[[dict[str, Any]], None] | None = None) -> str | None:
        job = self.svc.claim_delivery(delivery_id, self.owner)
        if job is None:
            return None
        breaker = self.breakers.get(job.agency_code)
        if not breaker.allow():
            opened = self.opened.get(job.agency_code)
            if opened is not None and self.svc.agency_recovered_since(job.agency_code, opened):
                breaker.record(True)  # another worker found it back: this one's circuit closes too
            else:
                metrics.CIRCUIT_DEFERRED.labels(job.agency_code).inc()
                return self.svc.defer_delivery(job, breaker.remaining())
        if breaker.draining() and self.svc.older_waiting(job):  # the backlog goes oldest first
            return self.svc.defer_delivery(job, 0.0)
        if not job.url:
            result = SendResult("final", None, "agency has no endpoint configured", None, 0.0)
        else:
            result = self.sender.send(job.url, job.payload, job.secrets, idempotency_key=job.idempotency_key,
                                      algorithm=job.signing)
        was_open = not breaker.closed()
        if breaker.record(result.outcome == "delivered" or result.outcome == "final" and result.status is not None):
            self.svc.resume_agency(job.agency_code)  # back after an outage: its backlog goes now, in order
        elif not was_open and not breaker.closed():
            self.opened[job.agency_code] = self.svc.ctx.now()
        log.info("delivery attempt", extra={"delivery_id": job.delivery_id, "reference": job.reference,
                                            "handoff_id": job.idempotency_key, "agency": job.agency_code,
                                            "attempt": job.attempt, "outcome": result.outcome,
                                            "status": result.status, "ms": round(result.elapsed * 1000)})
        metrics.DELIVERY_ATTEMPTS.labels(job.body_type, result.outcome).inc()
        if result.status is not None:
            metrics.DELIVERY_LATENCY.labels(job.body_type).observe(result.elapsed)
        state = self.svc.record_attempt(job, result)
        if state in ("succeeded", "failed"):
            metrics.DELIVERY_FINAL.labels(job.body_type, state).inc()
        if state == "failed" and publish_dead is not None:
            publish_dead({"delivery_id": job.delivery_id, "handoff_id": job.idempotency_key,
                          "agency": job.agency_code, "error": result.error})
        return state

    def consume(self, conn: Connection, producer: Producer) -> None:
        topology = Topology.for_settings(self.svc.settings)

        def dead(body: dict[str, Any]) -> None:
            producer.publish(body, exchange=topology.dlx, routing_key="dead", serializer="json", delivery_mode=2)

        def on_message(body: dict[str, Any], message: Message) -> None:
            try:
                self.handle(body["delivery_id"], dead)
            except Exception:  # noqa: BLE001 - the lease runs out and the sweeper retries
                log.exception("delivery %s failed in the worker", body.get("delivery_id"))
                message.requeue()
                return
            message.ack()

        with Consumer(conn.channel(), queues=topology.handoff_queues(),
                      callbacks=[on_message], accept=["json"], prefetch_count=self.prefetch):
            while not self.stop.is_set():
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    continue

    def run(self) -> None:
        with_broker(self.svc, self.stop, self.consume, "delivery worker")


def with_broker(svc: Services, stop: threading.Event, body: Callable[[Connection, Producer], None],
                name: str) -> None:
    """Connect, declare the topology, run `body`; reconnect after a broker restart until stopped."""
    url = svc.settings.broker_url
    while not stop.is_set():
        try:
            with connect(url) as conn:
                Topology.for_settings(svc.settings).declare(conn)
                body(conn, Producer(conn.channel()))
        except Exception:  # noqa: BLE001 - broker down or restarting: wait and reconnect
            if stop.is_set():
                return
            log.exception("%s lost the broker; reconnecting", name)
            stop.wait(1)


def loop(stop: threading.Event, every: float, step: Callable[[], int], name: str) -> None:
    """Run `step` until stopped; sleeps only when it found nothing to do."""
    while not stop.is_set():
        try:
            if step() == 0:
                stop.wait(every)
        except Exception:  # noqa: BLE001 - keep the loop alive; the next round retries
            log.exception("%s failed; retrying", name)
            stop.wait(every)


class Relay:
    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.stop = threading.Event()

    def run(self, every: float = 0.05) -> None:
        """Polls every `every` seconds while idle (a read that takes no lock): the wait it adds to a
        delivery is at most that long (bench/delivery.py)."""

        def relaying(_conn: Connection, producer: Producer) -> None:
            publish = publisher(producer, Topology.for_settings(self.svc.settings))
            loop(self.stop, every, partial(self.svc.relay_outbox, publish), "relay")

        with_broker(self.svc, self.stop, relaying, "relay")


class Sweeper:
    """Puts due deliveries back on the broker: retries that came due, leases that ran out, lost messages."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.stop = threading.Event()

    def sweep(self, producer: Producer) -> int:
        due = self.svc.deliveries_due()
        exchange = Topology.for_settings(self.svc.settings).handoffs
        for delivery_id, body_type in due:
            producer.publish({"delivery_id": delivery_id, "kind": "retry"}, exchange=exchange,
                             routing_key=body_type, serializer="json", delivery_mode=2, retry=True)
        return len(due)

    def run(self, every: float = 1.0) -> None:
        with_broker(self.svc, self.stop,
                    lambda _conn, producer: loop(self.stop, every, partial(self.sweep, producer), "sweeper"),
                    "sweeper")


class Scheduler:
    """Due timers -> workflow triggers; needs no broker (the outbox carries what it produces)."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.stop = threading.Event()

    def run(self, every: float = 1.0, housekeeping_every: float = 60.0) -> None:
        last = [0.0]

        def step() -> int:
            if time.monotonic() - last[0] >= housekeeping_every:
                last[0] = time.monotonic()
                self.svc.housekeeping()
            return self.svc.run_due_timers()

        # The daily full check of the audit chains takes minutes on a big store: on a thread of its
        # own, so no timer waits for it.
        auditor = threading.Thread(target=loop, args=(self.stop, 3600.0, lambda: int(bool(self.svc.daily_audit())),
                                                      "auditor"), name="auditor", daemon=True)
        auditor.start()
        loop(self.stop, every, step, "scheduler")


class Background:
    """The relay, sweeper, scheduler and delivery workers as daemon threads (the embedded `serve`)."""

    def __init__(self, svc: Services, workers: int = 2, sender: SignedSender | None = None) -> None:
        self.parts: list[Any] = ([Relay(svc), Sweeper(svc), Scheduler(svc)]
                                 + [DeliveryWorker(svc, sender) for _ in range(workers)])
        self.threads: list[threading.Thread] = []

    def start(self) -> Background:
        for p in self.parts:
            t = threading.Thread(target=p.run, name=type(p).__name__, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def close(self, timeout: float = 5.0) -> None:
        for p in self.parts:
            p.stop.set()
        for t in self.threads:
            t.join(timeout)

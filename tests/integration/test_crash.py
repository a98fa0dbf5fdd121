"""Crash tests with real processes (`dispute-router worker` / `relay` against RabbitMQ and the test
database): whatever dies, every handoff ends delivered, none is lost, and the only duplicates an
agency sees are repeats of the same Idempotency-Key."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from kombu import Connection
from sqlalchemy import func, select

from router.store.models import Delivery, Handoff, Outbox
from tests.builders import AMQP, PII_KEY, ROOT, register, wait_for


class Fleet:
    """Worker and relay processes, each killable with SIGKILL."""

    def __init__(self, settings, **env):
        self.env = {**os.environ, "ROUTER_DATABASE_URL": settings.database_url, "ROUTER_BROKER_URL": AMQP,
                    "ROUTER_CONFIG_DIR": str(settings.config_dir), "ROUTER_VAR_DIR": str(settings.var_dir),
                    "ROUTER_PII_KEY": PII_KEY, "ROUTER_SECRET_KEY": "s", "ROUTER_LOG_LEVEL": "WARNING",
                    "ROUTER_BROKER_PREFIX": settings.broker_prefix,
                    "ROUTER_DELIVERY_LEASE_SECONDS": "3", "ROUTER_DELIVERY_SCHEDULE": "0,1,2,3,4,4,4,4,4,4",
                    "ROUTER_CIRCUIT_COOLDOWN_SECONDS": "1", **env}
        self.procs: list[subprocess.Popen] = []

    def start(self, command: str, **env) -> subprocess.Popen:
        p = subprocess.Popen([sys.executable, "-m", "router.cli", command], cwd=ROOT, env={**self.env, **env},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    @staticmethod
    def kill9(p: subprocess.Popen) -> None:
        p.send_signal(signal.SIGKILL)
        p.wait(10)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture
def fleet(settings, empty_queues):
    f = Fleet(settings)
    yield f
    f.stop()


def register_many(svc, n: int) -> None:
    """n disputes registered through the service layer, for the fleet to deliver."""
    for _ in range(n):
        register(svc)


def handoff_ids(svc) -> set[str]:
    with svc.ctx.store.read() as s:
        return set(s.scalars(select(Handoff.id)))


def wait_all_delivered(svc, stub, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with svc.ctx.store.read() as s:
            pending = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.state != "succeeded"))
            offered = s.scalar(select(func.count()).select_from(Handoff).where(Handoff.state != "delivered"))
        if pending == 0 and offered == 0:
            return
        time.sleep(0.25)
    raise AssertionError(f"not delivered in time: {pending} deliveries pending, {offered} handoffs not delivered")


def assert_exactly_the_handoffs(svc, stub) -> collections.Counter:
    """Every handoff reached the agency; anything seen twice is the same Idempotency-Key again."""
    keys = collections.Counter(stub.keys())
    assert set(keys) == handoff_ids(svc)
    return keys


def test_worker_killed_mid_delivery(svc, stub, fleet):
    register_many(svc, 10)
    stub.behave(delay=3.0)
    fleet.start("relay")
    worker = fleet.start("worker")
    wait_for(lambda: stub.in_flight, timeout=30, what="a delivery in flight")
    fleet.kill9(worker)  # the agency is still answering it: it will have received it, we never recorded it
    stub.behave(delay=0.0)
    fleet.start("worker")
    wait_all_delivered(svc, stub)
    keys = assert_exactly_the_handoffs(svc, stub)
    assert max(keys.values()) <= 2


def test_relay_killed_between_publish_and_mark(svc, stub, fleet, topology):
    register_many(svc, 30)
    relay = fleet.start("relay", ROUTER_FAULT_RELAY_PAUSE_BEFORE_MARK="30")

    def queued() -> int:
        with Connection(AMQP) as conn:
            ch = conn.channel()
            return topology.handoff_queue("people_mediation")(ch).queue_declare(passive=True).message_count

    wait_for(lambda: queued() > 0, timeout=30, what="messages published")
    with svc.ctx.store.read() as s:  # published to the broker, not yet marked in the outbox
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.published_at.is_(None))) >= 30
    fleet.kill9(relay)
    fleet.start("relay")  # publishes the same rows again
    fleet.start("worker")
    wait_all_delivered(svc, stub)
    keys = assert_exactly_the_handoffs(svc, stub)
    assert max(keys.values()) == 1  # the duplicate messages were absorbed by the delivery lease

    def drained() -> bool:  # the new relay also publishes the audit events of the deliveries
        with svc.ctx.store.read() as s:
            return s.scalar(select(func.count()).select_from(Outbox).where(Outbox.published_at.is_(None))) == 0

    wait_for(drained, timeout=30, what="outbox drained")


def test_rabbitmq_restart_during_500_disputes(svc, stub, fleet):
    fleet.start("relay")
    fleet.start("worker")
    fleet.start("worker")
    done = threading.Event()

    def produce() -> None:
        register_many(svc, 500)
        done.set()

    t = threading.Thread(target=produce)
    t.start()
    wait_for(lambda: len(stub.keys()) >= 50, timeout=60, what="first deliveries")
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
    time.sleep(2)
    subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
    t.join(120)
    assert done.is_set()
    wait_all_delivered(svc, stub, timeout=180)
    keys = assert_exactly_the_handoffs(svc, stub)
    assert len(keys) == 500


def test_agency_down_for_a_while_then_back(svc, stub, fleet):
    port = int(stub.base.rsplit(":", 1)[1])
    stub.stop()  # connection refused
    register_many(svc, 10)
    fleet.start("relay")
    fleet.start("worker")

    def retried() -> bool:
        # Every delivery tried and some retried; the circuit breaker then holds the rest back, so
        # "all retried" is not something to wait for.
        with svc.ctx.store.read() as s:
            least, most = s.execute(select(func.min(Delivery.attempts), func.max(Delivery.attempts))).one()
            return least >= 1 and most >= 2

    wait_for(retried, timeout=30, what="deliveries failing while the agency is down")
    stub.start(port=port)
    wait_all_delivered(svc, stub)
    assert_exactly_the_handoffs(svc, stub)
    with svc.ctx.store.read() as s:
        assert s.scalar(select(func.count()).select_from(Handoff).where(Handoff.state == "undeliverable")) == 0

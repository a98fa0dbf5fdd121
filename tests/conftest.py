"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when ROUTER_TEST_DATABASE_URL
points at one), services with a movable clock, a Flask test client and staff tokens."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import delete, update
from waitress import create_server

from router.services import Services, build_services
from router.settings import Settings, load_settings
from router.store.db import make_engine
from router.store.migrate import upgrade
from router.store.models import (
    Agency,
    AuditAnchor,
    AuditCheckpoint,
    Counter,
    Delivery,
    Dispute,
    Event,
    Handoff,
    IdempotencyKey,
    LinkRequest,
    Outbox,
    Party,
    SealedText,
    SeenRequest,
    Timer,
    User,
)
from router.store.report_models import CaseFile, DisputeFigures, FollowUp, HandoffFigures, Signal
from tests.builders import AMQP, PII_KEY, START, config_dir


class Clock:
    """The one clock tests move instead of sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: Any) -> None:
        self.now += timedelta(**kw)


def test_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return os.environ.get("ROUTER_TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    var = tmp_path_factory.mktemp("var")
    env = {"ROUTER_DATABASE_URL": test_database_url(tmp_path_factory), "ROUTER_CONFIG_DIR": config_dir(),
           "ROUTER_VAR_DIR": str(var), "ROUTER_PII_KEY": PII_KEY, "ROUTER_SECRET_KEY": "test-secret",
           # Our own exchanges and queues: a concurrent run on the same broker never takes our messages.
           "ROUTER_BROKER_PREFIX": f"routertest-{os.getpid()}-{uuid.uuid4().hex[:6]}"}
    return load_settings(env)


@pytest.fixture(scope="session")
def topology(settings: Settings) -> Iterator[Any]:
    """This run's RabbitMQ topology, deleted at the end so runs leave no queues behind."""
    from kombu import Connection

    from router.messaging.topology import Topology

    topo = Topology(settings.broker_prefix, amqp=True, delivery_limit=settings.delivery_limit)
    yield topo
    try:
        with Connection(AMQP, connect_timeout=5) as conn:
            ch = conn.channel()
            for q in [*topo.handoff_queues(), topo.dead]:
                q(ch).delete()
            for ex in (topo.handoffs, topo.events, topo.dlx):
                ex(ch).delete()
    except Exception:  # noqa: BLE001 - best effort; the broker may be down after a failed test
        pass


@pytest.fixture
def empty_queues(topology: Any) -> Any:
    from kombu import Connection

    with Connection(AMQP, connect_timeout=5) as conn:
        topology.declare(conn)
        ch = conn.channel()
        for q in topology.handoff_queues():
            q(ch).purge()
    return topology


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Any:
    eng = make_engine(settings.database_url)
    if not settings.is_sqlite:  # a fresh schema for this run
        with eng.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def _synced(settings: Settings, engine: Any) -> None:
    build_services(settings, engine=engine).sync_agencies()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)  # a Monday, 10:00 in Beijing


@pytest.fixture
def svc(settings: Settings, engine: Any, _synced: None, clock: Clock) -> Iterator[Services]:
    services = build_services(settings, engine=engine, clock=clock)
    yield services
    wipe(engine)


def wipe(engine: Any) -> None:
    """Every row a test made, gone: the next test starts on the migrated schema and the agencies."""
    with engine.begin() as conn:
        for table in (SealedText, AuditAnchor, AuditCheckpoint, FollowUp, HandoffFigures, DisputeFigures, Signal,
                      CaseFile, SeenRequest, IdempotencyKey, Timer,
                      Delivery, Outbox, Event, LinkRequest, Handoff, Party, Dispute, User,
                      Counter):
            conn.execute(delete(table))
        conn.execute(update(Agency).values(recovered_at=None))  # each test's clock starts again at START


@pytest.fixture
def app(svc: Services) -> Any:
    from router.api.app import create_app

    return create_app(svc)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def tokens(svc: Services) -> dict[str, str]:
    return {role: svc.add_user(f"{role}-1", role) for role in ("clerk", "supervisor", "admin", "follow_up")}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- real HTTP
class Dispatcher:
    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


class Live:
    def __init__(self, base: str, tokens: dict[str, str]) -> None:
        self.base = base
        self.tokens = tokens
        self.http = requests.Session()

    def post(self, path: str, body: Any = None, role: str | None = "clerk", **kw: Any) -> requests.Response:
        headers = kw.pop("headers", {})
        if role:
            headers.setdefault("Authorization", f"Bearer {self.tokens[role]}")
        return self.http.post(self.base + path, json=body, headers=headers, timeout=30, **kw)

    def get(self, path: str, role: str | None = "supervisor", **kw: Any) -> requests.Response:
        headers = kw.pop("headers", {})
        if role:
            headers.setdefault("Authorization", f"Bearer {self.tokens[role]}")
        return self.http.get(self.base + path, headers=headers, timeout=30, **kw)


@pytest.fixture(scope="session")
def live_server() -> Iterator[tuple[str, Dispatcher]]:
    dispatcher = Dispatcher()
    server = create_server(dispatcher, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}", dispatcher
    server.close()


@pytest.fixture
def live(app: Any, tokens: dict[str, str], live_server: tuple[str, Dispatcher]) -> Iterator[Live]:
    base, dispatcher = live_server
    dispatcher.app = app
    client = Live(base, tokens)
    yield client
    client.http.close()
    dispatcher.app = None


@pytest.fixture
def agencies(svc: Services, live: Live, clock: Clock) -> Callable[[str], Any]:
    """A signed client for any agency: a fresh key is issued for it (the old one stays valid)."""
    from router.testing.agency_client import AgencyClient

    made: dict[str, Any] = {}

    def client(code: str) -> Any:
        if code not in made:
            key_id, secret = svc.rotate_agency_key(code)
            made[code] = AgencyClient(live.base, key_id, secret, now=lambda: clock().timestamp())
        return made[code]

    return client


@pytest.fixture
def stub(svc: Services) -> Iterator[Any]:
    """The stub agency on loopback, standing in for every agency of the registry (its URL in `.base`)."""
    from router.testing.stub_agency import StubAgency

    stub = StubAgency()
    stub.base = stub.serve_all_agencies(svc)
    yield stub
    stub.stop()


@pytest.fixture
def background(svc: Services) -> Iterator[Any]:
    """Relay, sweeper, scheduler and delivery workers in threads, as the embedded `serve` runs them."""
    from router.messaging.worker import Background

    bg = Background(svc, workers=2).start()
    yield bg
    bg.close()


@pytest.fixture
def offline(svc: Services) -> Iterator[Callable[..., str]]:
    """Make an agency of the given mode on the dispute's body type (a high `priority` makes it the next
    lead there); deactivated afterwards (the agencies outlive one test, and an active one would take
    part in other tests' routing)."""
    made: list[str] = []

    def make(mode: str, d: dict[str, Any], *, tier: str = "town", priority: int = -100) -> str:
        lead = d["handoffs"][0]
        code = f"T-{mode.upper()}-{uuid.uuid4().hex[:8]}"
        endpoint = "http://127.0.0.1:9/h" if mode == "push" else None  # push: nothing listens there
        svc.add_agency(code, f"测试{mode}单位", lead["body_type"], tier, d["division"], endpoint, priority, mode)
        made.append(code)
        return code

    yield make
    with svc.ctx.store.unit_of_work() as uow:
        uow.session.execute(update(Agency).where(Agency.code.in_(made)).values(active=False))
    svc.ctx.invalidate_registry()

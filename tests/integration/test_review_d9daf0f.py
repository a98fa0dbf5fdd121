"""Review probes of f1178a8 (versioned personal-data keys, `keys rotate-pii`) and d6c24b1 (past
capacity the IO thread answers). A probe that fails names a bug; the passing ones are kept as
regression tests of what held."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import resource
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, select, text, update

from router.limits import waitress_server
from router.metrics import SHED
from router.store.models import AgencyKey, Event, Party, SealedText
from router.store.pii import PiiCipher
from tests.builders import CLERK, at_once, body, command, config_dir
from tests.serving import cli, services_on

KEY_A = base64.urlsafe_b64encode(b"a" * 32).decode()
KEY_B = base64.urlsafe_b64encode(b"b" * 32).decode()
KEY_C = base64.urlsafe_b64encode(b"c" * 32).decode()


# ================================================================ f1178a8: rotation
def _env(tmp_path, key: str, old: str = "", **extra: str) -> dict[str, str]:
    return {"ROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'keys.db'}", "ROUTER_CONFIG_DIR": config_dir(),
            "ROUTER_VAR_DIR": str(tmp_path / "var"), "ROUTER_PII_KEY": key, "ROUTER_PII_OLD_KEYS": old,
            "ROUTER_SECRET_KEY": "s", **extra}


def _services(tmp_path, key: str, old: str = "", *, init: bool = False, **extra: str) -> Any:
    return services_on(_env(tmp_path, key, old, **extra), init=init)


def _village(svc) -> str:
    return next(d.code for d in svc.ctx.config.divisions.by_code.values() if d.level == "village")


MATTERS = (("CONTRACT", "甲公司"), ("DAMAGES", "乙公司"))


def _same_applicant_again(svc, first: dict[str, Any], matters: Any) -> list[dict[str, Any]]:
    """More registrations of `first`'s applicant, each of another matter (no 并单 hold)."""
    out = []
    for category, respondent in matters:
        other = {"role": "respondent", "kind": "organization", "name": respondent}
        _, d = svc.register_dispute(command({**first, "category": category,
                                             "parties": [first["parties"][0], other]}), CLERK)
        assert d["duplicate_of"] is None
        out.append(d)
    return out


def _repeat_party_keys(svc) -> set[str]:
    return {s["key"] for s in svc.warnings_report("repeat_party")["signals"]}


def _rotated_events(svc) -> list[dict[str, Any]]:
    with svc.ctx.store.read() as s:
        return [e.data for e in s.scalars(select(Event).where(Event.type == "pii.keys_rotated"))]


def test_rotation_does_not_clear_and_raise_again_a_repeat_party_warning(tmp_path):
    """预警 同一当事人反复 is keyed by the lookup hash (warnings.py `repeat_party:<what>:<hash>`): the
    rotation re-hashes the party, so the warning an operator has been looking at is cleared and a new
    one raised for the very same person (two events each on the system chain and the events
    exchange)."""
    a = _services(tmp_path, KEY_A, init=True)
    first = body(_village(a), category="NEIGHBOUR")
    a.register_dispute(command(first), CLERK)
    _same_applicant_again(a, first, MATTERS)
    a.refresh_warnings()
    before = _repeat_party_keys(a)
    assert len(before) == 2  # the same ID number and the same phone in three disputes
    b = _services(tmp_path, KEY_B, KEY_A)
    assert b.rotate_pii_keys()["left"] == 0
    out = b.refresh_warnings()
    # the same warnings go on (their keys follow the new hashes): nothing cleared, nothing raised
    assert (out["raised"], out["cleared"]) == (0, 0) and len(_repeat_party_keys(b)) == len(before)


@pytest.mark.xfail(strict=True, reason="known, left open: while a rotation is under way (minutes) the repeat-party "
                   "warning groups by the stored hash, so parties under the old and the new key count apart")
def test_during_a_rotation_a_repeat_party_is_still_counted(tmp_path):
    """Look-ups and 并单 match the old key's hashes while a rotation is under way; the repeat-party
    warning groups by the stored hash only: two registrations under the old key and one under the
    new are 'different people' until the rotation has run."""
    a = _services(tmp_path, KEY_A, init=True)
    first = body(_village(a), category="NEIGHBOUR")
    a.register_dispute(command(first), CLERK)
    _same_applicant_again(a, first, MATTERS[:1])
    b = _services(tmp_path, KEY_B, KEY_A)  # the new key in force, not yet rotated
    _same_applicant_again(b, first, MATTERS[1:])
    b.refresh_warnings()
    assert len(_repeat_party_keys(b)) == 2


def _written_with_a(tmp_path) -> tuple[Any, dict[str, Any]]:
    a = _services(tmp_path, KEY_A, init=True)
    sent = body(_village(a), summary="对方电话13912345678")
    _, d = a.register_dispute(command(sent), CLERK)
    a.register_dispute(command(body(_village(a))), CLERK)
    return a, d


def _one_agency_key_unreadable(svc) -> str:
    """One agency secret as a process with another key (C, in no one's ROUTER_PII_OLD_KEYS) wrote it."""
    with svc.ctx.store.unit_of_work() as uow:
        key_id = uow.session.scalars(select(AgencyKey.key_id).order_by(AgencyKey.key_id)).first()
        blob = PiiCipher(base64.urlsafe_b64decode(KEY_C)).encrypt("whsec_x", f"agency_key:{key_id}")
        uow.session.execute(update(AgencyKey).where(AgencyKey.key_id == key_id).values(secret_enc=blob))
    return key_id


def test_a_rotation_stopped_by_an_unreadable_row_still_records_what_it_re_encrypted(tmp_path):
    """Each batch commits on its own, the audit event only at the very end: one ciphertext it cannot
    read (a key missing from ROUTER_PII_OLD_KEYS, a damaged blob) stops the run with the earlier
    batches re-encrypted and no pii.keys_rotated on the chain, and every run after stops there too."""
    _written_with_a(tmp_path)
    b = _services(tmp_path, KEY_B, KEY_A)
    _one_agency_key_unreadable(b)
    with contextlib.suppress(Exception):  # how it stops is not the point; what it leaves is
        b.rotate_pii_keys(batch=2)
    with b.ctx.store.read() as s:
        moved = sum(b.ctx.cipher.is_current(x) for x in s.scalars(select(Party.id_number_enc)) if x)
    assert moved > 0  # the parties' batches were committed
    assert _rotated_events(b), "ciphertexts re-encrypted with no pii.keys_rotated event"


def test_a_rotation_with_an_unreadable_row_goes_on_with_the_rest_and_says_which(tmp_path):
    """The operator's view of the same: the command line ends in a traceback (exit 1 from Python,
    not its own), and the sealed originals after the unreadable secret are never reached."""
    _written_with_a(tmp_path)
    env = _env(tmp_path, KEY_B, KEY_A)
    _one_agency_key_unreadable(services_on(env))
    r = cli(env, "keys", "rotate-pii", "--quiet")
    assert "Traceback" not in r.stderr, r.stderr[-600:]
    b = _services(tmp_path, KEY_B, KEY_A)
    with b.ctx.store.read() as s:
        assert all(b.ctx.cipher.is_current(x) for x in s.scalars(select(SealedText.original_enc)))


def test_a_batch_of_zero_is_refused_as_an_argument(tmp_path):
    _written_with_a(tmp_path)
    r = cli(_env(tmp_path, KEY_B, KEY_A), "keys", "rotate-pii", "--quiet", "--batch", "0")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-400:]


# ---------------------------------------------------------------- what held (regression tests)
def test_rows_written_while_the_rotation_runs_are_current_and_repeats_are_found_mid_rotation(tmp_path):
    a, d = _written_with_a(tmp_path)
    with a.ctx.store.read() as s:
        first_party = s.scalars(select(Party).where(Party.dispute_id == d["id"], Party.idx == 0)).one()
        id_number = a.ctx.cipher.decrypt(first_party.id_number_enc, "id_number")
        phone = a.ctx.cipher.decrypt(first_party.phone_enc, "phone")
    b = _services(tmp_path, KEY_B, KEY_A)
    seen: list[Any] = []

    def meanwhile(done: int, total: int) -> None:
        if seen:
            return
        # half-rotated: the first batch (the first party's ID number) is under B, its phone under A
        again = body(_village(b), summary="又来登记")
        again["parties"][0].update(id_number=id_number, phone=phone)
        seen.append(b.register_dispute(command(again), CLERK)[1])
        seen.append([x["id"] for x in b.lookup(phone)])

    r = b.rotate_pii_keys(batch=1, progress=meanwhile)
    assert (seen[0].get("duplicate_of") or {}).get("id") == d["id"]
    assert d["id"] in seen[1]
    assert r["left"] == 0 and b.pii_key_status()["old"] == 0


def test_two_rotations_at_once_rotate_each_row_once(tmp_path):
    _written_with_a(tmp_path)
    before = _services(tmp_path, KEY_B, KEY_A).pii_key_status()["old"]
    results, errors = at_once(2, lambda: _services(tmp_path, KEY_B, KEY_A).rotate_pii_keys(batch=3), 120)
    assert not errors, errors
    assert sum(r["rotated"] for r in results) == before and all(r["left"] == 0 for r in results)
    b = _services(tmp_path, KEY_B)
    assert b.pii_key_status() == {"current": before, "old": 0} and b.agency_secrets()


def test_a_key_listed_twice_or_the_new_key_among_the_old_ones_rotates_cleanly(tmp_path):
    _, d = _written_with_a(tmp_path)
    b = _services(tmp_path, KEY_B, f"{KEY_A}, {KEY_B},{KEY_A}")
    assert b.rotate_pii_keys()["left"] == 0
    with b.ctx.store.read() as s:
        p = s.scalars(select(Party).where(Party.dispute_id == d["id"], Party.idx == 0)).one()
        id_number = b.ctx.cipher.decrypt(p.id_number_enc, "id_number")
    assert [x["id"] for x in _services(tmp_path, KEY_B).lookup(id_number)] == [d["id"]]


def test_the_gm_suite_rotates_to_sm4_under_the_new_key(tmp_path):
    a = _services(tmp_path, KEY_A, init=True, ROUTER_CRYPTO="gm")
    sent = body(_village(a), summary="对方电话13912345678")
    _, d = a.register_dispute(command(sent), CLERK)
    b = _services(tmp_path, KEY_B, KEY_A, ROUTER_CRYPTO="gm")
    r = b.rotate_pii_keys()
    assert r["rotated"] >= 3 and r["left"] == 0
    only_b = _services(tmp_path, KEY_B, ROUTER_CRYPTO="gm")
    with only_b.ctx.store.read() as s:
        assert all(x[:1] == b"\x12" for x in s.scalars(select(SealedText.original_enc)))
    assert [x["id"] for x in only_b.lookup(sent["parties"][0]["id_number"])] == [d["id"]]
    assert only_b.reveal_originals(d["id"], operator="张主任", to="法院", basis="调取")
    assert only_b.verify_chain(full=True)["ok"]


PG = os.environ.get("ROUTER_TEST_DATABASE_URL", "")


@pytest.fixture
def own_pg_database() -> Iterator[str]:
    """A PostgreSQL database of its own beside the suite's (whose agencies' secrets, under the suite's
    PII key, the other tests need): made empty, dropped afterwards."""
    base = PG.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"{base.rsplit('/', 1)[1].split('?')[0]}_rotation"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.skipif(not PG.startswith("postgresql"), reason="PostgreSQL only (ROUTER_TEST_DATABASE_URL)")
def test_rotation_on_postgresql_while_registrations_go_on(tmp_path, own_pg_database):
    env = lambda key, old="": {**_env(tmp_path, key, old), "ROUTER_DATABASE_URL": own_pg_database}  # noqa: E731
    a = services_on(env(KEY_A), init=True)
    sent = body(_village(a), summary="对方电话13912345678")
    _, d = a.register_dispute(command(sent), CLERK)
    for _ in range(5):
        a.register_dispute(command(body(_village(a))), CLERK)
    b = services_on(env(KEY_B, KEY_A))
    stop, made = threading.Event(), []

    def register_meanwhile() -> None:
        writer = services_on(env(KEY_B, KEY_A))
        while not stop.is_set():
            made.append(writer.register_dispute(command(body(_village(writer))), CLERK)[1]["id"])

    old = b.pii_key_status()["old"]
    results: list[dict[str, int]] = []

    def rotate() -> None:  # two operators at once, each its own process's services
        results.append(services_on(env(KEY_B, KEY_A)).rotate_pii_keys(batch=1))

    t = threading.Thread(target=register_meanwhile)
    t.start()
    rotators = [threading.Thread(target=rotate) for _ in range(2)]
    try:
        for x in rotators:
            x.start()
        for x in rotators:
            x.join(120)
    finally:
        stop.set()
        t.join(60)
    assert len(results) == 2 and sum(r["rotated"] for r in results) == old and made
    assert b.pii_key_status()["old"] == 0
    only_b = services_on(env(KEY_B))
    assert [x["id"] for x in only_b.lookup(sent["parties"][0]["phone"])] == [d["id"]]
    assert only_b.agency_secrets() and only_b.verify_chain(full=True)["ok"]
    assert _rotated_events(only_b)


# ================================================================ d6c24b1: the IO thread answers
def _app(release: threading.Event, served: list[str], boom: bool = False) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        served.append(f"{path}@{threading.current_thread().name}")
        if path == "/healthz" and boom:
            raise RuntimeError("boom")
        if path not in ("/healthz", "/readyz"):
            release.wait(30)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    return app


_OPEN: list[socket.socket] = []  # the clients' sockets, closed when their server stops


@contextmanager
def _server(release: threading.Event, served: list[str], boom: bool = False) -> Iterator[tuple[int, Any]]:
    server = waitress_server(_app(release, served, boom), host="127.0.0.1", port=0, threads=1, max_body=1024,
                             max_queued=2)
    io = threading.Thread(target=server.run, daemon=True, name="io")
    io.start()
    try:
        yield server.effective_port, server
    finally:
        # Stopped whole before the next test: an IO thread left polling would log (and format
        # tracebacks) while pytest formats a failure, which Python 3.11's ast module does not survive.
        release.set()
        for ch in list(server.active_channels.values()):
            ch.cool_until = 0.0
        while _OPEN:
            _OPEN.pop().close()
        end = time.monotonic() + 5
        while server.active_channels and time.monotonic() < end:
            time.sleep(0.01)
        server.close()
        io.join(5)
        server.task_dispatcher.shutdown()


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    _OPEN.append(s)
    return s


def _send(port: int, path: str, version: str = "1.1") -> socket.socket:
    s = _connect(port)
    s.sendall(f"GET {path} HTTP/{version}\r\nHost: x\r\n\r\n".encode())
    return s


class _Reader:
    """Answers read off one connection in order (pipelined answers may come in one packet)."""

    def __init__(self, s: socket.socket) -> None:
        self.s, self.buf = s, b""

    def _more(self) -> None:
        chunk = self.s.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        self.buf += chunk

    def answer(self) -> tuple[str, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
        n = int(headers.get("content-length", 0))
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return lines[0], headers, out

    def closed(self) -> bool:
        try:
            return self.s.recv(1) == b""
        except (ConnectionResetError, TimeoutError):
            return False


def _until(done: Any, what: str, seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if done():
            return
        time.sleep(0.01)
    raise AssertionError(what)


@contextmanager
def _at_capacity() -> Iterator[tuple[int, Any, threading.Event, list[str], list[socket.socket]]]:
    """The one thread held, the queue (two) full: the next request read is past capacity."""
    release, served = threading.Event(), []
    with _server(release, served) as (port, server):
        held = _send(port, "/api/held")
        _until(lambda: served, "the held request is served")
        waiting = [_send(port, f"/api/queued-{i}") for i in range(2)]
        _until(lambda: len(server.task_dispatcher.queue) == 2, "two requests queued")
        try:
            yield port, server, release, served, [held, *waiting]
        finally:
            release.set()
            for s in (held, *waiting):
                s.close()


def _drain(port: int, earlier: list[socket.socket]) -> None:
    """Everything queued before now has been served: the one thread is FIFO."""
    for s in earlier:
        _Reader(s).answer()
    last = _send(port, "/api/last")
    assert _Reader(last).answer()[0].startswith("HTTP/1.1 200")
    last.close()


@pytest.mark.parametrize("head", [
    b"POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n",  # 413 from the headers
    b"POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4x\r\n\r\n",  # 400, malformed
    b"POST /api/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 38\r\n\r\n",  # 501
], ids=["over-the-limit", "bad-content-length", "unknown-transfer-encoding"])
def test_a_request_refused_unread_past_capacity_does_not_let_its_body_through_as_a_request(head):
    """waitress refuses these from their headers, leaves the body unread and closes the connection.
    Past capacity the dispatcher overwrites the refusal with the 503 of shedding, which keeps the
    connection: the unread body is then parsed as the next request on it and served (request
    smuggling behind any proxy that forwarded the body as the first request's)."""
    with _at_capacity() as (port, server, release, served, earlier):
        s = _connect(port)
        s.sendall(head + b"GET /api/smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
        r = _Reader(s)
        status, headers, _ = r.answer()
        release.set()
        _drain(port, earlier)
        assert not any("smuggled" in x for x in served), f"served from a refused body: {served}"
        assert headers.get("connection", "").lower() == "close" or status.split()[1] != "503"
        s.close()


def test_within_capacity_waitress_refuses_the_same_requests_and_closes():
    """The baseline of the probe above: below capacity, waitress's refusal closes the connection
    and nothing after the refused headers is served."""
    release, served = threading.Event(), []
    release.set()
    with _server(release, served) as (port, server):
        s = _connect(port)
        s.sendall(b"POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
                  b"GET /api/smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
        r = _Reader(s)
        status, headers, _ = r.answer()
        assert status.split()[1] == "413" and headers["connection"].lower() == "close" and r.closed()
        assert served == []


def test_a_request_pipelined_behind_a_shed_one_is_shed_too():
    """The bound holds for a connection's first request only: the one pipelined behind a shed request
    is queued by service() (not 'reading') past max_queued, and served, so a client pipelining N
    requests gets one 503 and N-1 requests of work queued beyond the bound."""
    with _at_capacity() as (port, server, release, served, earlier):
        s = _connect(port)
        s.sendall(b"GET /api/p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /api/p2 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = _Reader(s)
        assert r.answer()[0].startswith("HTTP/1.1 503")
        time.sleep(0.3)
        depth = len(server.task_dispatcher.queue)
        release.set()
        second = r.answer()[0]
        assert depth <= 2 and second.startswith("HTTP/1.1 503"), (depth, second, served)
        s.close()


def test_a_healthz_pipelined_behind_another_answers_without_a_thread():
    """Only a /healthz the IO thread reads first is answered there; one pipelined behind another
    request (a /healthz too) is queued by service() and waits for a thread like any request."""
    release, served = threading.Event(), []
    with _server(release, served) as (port, server):
        held = _send(port, "/api/held")
        _until(lambda: served, "the held request is served")
        s = _connect(port)
        s.settimeout(2)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        r = _Reader(s)
        assert r.answer()[0].startswith("HTTP/1.1 200")
        try:
            second = r.answer()[0]
        except TimeoutError:
            second = "no answer within 2 s"
        assert second.startswith("HTTP/1.1 200"), second
        s.close()
        held.close()


def test_readyz_answers_within_a_second_with_every_thread_busy():
    """The issue: 'keep /healthz and /readyz answering within a second under any load'. /readyz goes
    to the front of the queue, but still waits for a thread: with every thread in a slow request it
    is not answered at all until one ends."""
    release, served = threading.Event(), []
    with _server(release, served) as (port, server):
        held = _send(port, "/api/held")
        _until(lambda: served, "the held request is served")
        try:
            ok = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code in (200, 503)
        except requests.RequestException:
            ok = False
        assert ok, "/readyz unanswered after 1 s"
        held.close()


def test_past_capacity_a_body_is_not_invited_with_100_continue():
    """A client that asks first (Expect: 100-continue) is invited to send its body, up to the body
    limit, only to be told 503 once it has: shedding is decided when the body is in, not from the
    headers."""
    with _at_capacity() as (port, server, release, served, earlier):
        s = _connect(port)
        s.sendall(b"POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
        first = s.recv(4096).split(b"\r\n", 1)[0]
        assert first.startswith(b"HTTP/1.1 503"), first
        s.close()


def test_the_connection_limit_fits_the_descriptors_the_process_may_open():
    """connection_limit=4000 whatever RLIMIT_NOFILE is. Under the usual soft limit of 1024 the server
    never reaches its limit: accept() fails with EMFILE, waitress logs a traceback and returns, the
    listening socket stays readable and the IO loop spins (measured with a soft limit of 64 and 80
    clients: 15,877 logged accept() tracebacks and 0.98 s of CPU per second); the database, the
    journal and the spool files of the requests it did take fail to open meanwhile."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
    try:
        server = waitress_server(_app(threading.Event(), []), host="127.0.0.1", port=0, threads=1, max_body=1024)
        try:
            may_open = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            assert server.adj.connection_limit + 64 <= may_open, (server.adj.connection_limit, may_open)
        finally:
            server.close()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _after_head(s: socket.socket) -> bytes:
    """What a HEAD answer sent after its head: nothing, or the connection is out of step."""
    s.settimeout(0.5)
    raw = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    except TimeoutError:
        pass
    assert b"\r\n\r\n" in raw, raw
    return raw.partition(b"\r\n\r\n")[2]


def test_a_head_request_shed_in_the_io_thread_gets_no_body():
    """The 503 of shedding keeps the connection, and _JsonErrorTask writes its JSON body whatever the
    method: after a HEAD the client reads those bytes as the start of the next answer."""
    with _at_capacity() as (port, server, release, served, earlier):
        s = _connect(port)
        s.sendall(b"HEAD /api/x HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _after_head(s) == b""


def test_a_head_request_shed_by_admission_gets_no_body():
    """The same for the Admission middleware's 503 (older than d6c24b1, on the same keep-alive
    connection): its raw WSGI answer goes out with the body, and waitress does not drop a body for HEAD."""
    from router.limits import Admission

    release, served = threading.Event(), []
    server = waitress_server(Admission(_app(release, served), max_wait=0.05), host="127.0.0.1", port=0,
                             threads=1, max_body=1024, max_queued=8)
    io = threading.Thread(target=server.run, daemon=True, name="io")
    io.start()
    port = server.effective_port
    try:
        held = _send(port, "/api/held")
        _until(lambda: served, "the held request is served")
        s = _connect(port)
        s.sendall(b"HEAD /api/x HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)  # it waits longer than max_wait for the one thread
        release.set()
        assert _Reader(held).answer()[0].startswith("HTTP/1.1 200")
        rest = _after_head(s)
        assert rest == b"", rest
    finally:
        release.set()
        while _OPEN:
            _OPEN.pop().close()
        time.sleep(0.1)
        server.close()
        io.join(5)
        server.task_dispatcher.shutdown()


# ---------------------------------------------------------------- what held (regression tests)
def test_pipelined_answers_keep_the_request_order():
    release, served = threading.Event(), []
    with _server(release, served) as (port, server):
        s = _connect(port)
        s.sendall(b"GET /api/first HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /api/third HTTP/1.1\r\nHost: x\r\n\r\n")
        _until(lambda: served, "the first is served")
        release.set()
        r = _Reader(s)
        for _ in range(3):
            assert r.answer()[0].startswith("HTTP/1.1 200")
        assert [x.split("@")[0] for x in served] == ["/api/first", "/healthz", "/api/third"]
        s.close()


def test_a_healthz_first_in_a_packet_is_answered_before_what_follows_it():
    release, served = threading.Event(), []
    with _server(release, served) as (port, server):
        held = _send(port, "/api/held")
        _until(lambda: served, "the held request is served")
        s = _connect(port)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/after HTTP/1.1\r\nHost: x\r\n\r\n")
        r = _Reader(s)
        status, _, b = r.answer()
        assert status.startswith("HTTP/1.1 200") and b == b"ok"
        release.set()
        assert r.answer()[0].startswith("HTTP/1.1 200")
        s.close()
        held.close()


def test_an_http_1_0_client_shed_is_answered_and_closed():
    with _at_capacity() as (port, server, release, served, earlier):
        s = _send(port, "/api/old-client", version="1.0")
        r = _Reader(s)
        status, headers, _ = r.answer()
        assert status.split()[1] == "503" and headers["retry-after"] == "2"
        assert r.closed()
        s.close()


def test_after_the_retry_after_a_shed_connection_is_served_again_and_counted():
    before = SHED._value.get()
    with _at_capacity() as (port, server, release, served, earlier):
        s = _send(port, "/api/shed")
        r = _Reader(s)
        assert r.answer()[0].startswith("HTTP/1.1 503")
        assert SHED._value.get() == before + 1
        shed_at = time.monotonic()
        s.sendall(b"GET /api/again HTTP/1.1\r\nHost: x\r\n\r\n")  # at once, on the same connection
        release.set()
        status = r.answer()[0]
        assert status.startswith("HTTP/1.1 200") and time.monotonic() - shed_at >= 1.9
        assert not any("/api/shed" in x for x in served)
        s.close()


def test_a_shed_post_whose_body_came_in_pieces_leaves_the_connection_in_step():
    with _at_capacity() as (port, server, release, served, earlier):
        s = _connect(port)
        s.sendall(b"POST /api/piecewise HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n0123456789")
        time.sleep(0.1)
        s.sendall(b"GET /not/a")  # the rest of the body, looking like a request line
        r = _Reader(s)
        assert r.answer()[0].startswith("HTTP/1.1 503")
        s.sendall(b"GET /api/next HTTP/1.1\r\nHost: x\r\n\r\n")
        release.set()
        assert r.answer()[0].startswith("HTTP/1.1 200")
        assert [x for x in served if "not/a/request" in x or "piecewise" in x] == []
        s.close()


def test_healthz_in_the_io_thread_survives_the_application_raising():
    release, served = threading.Event(), []
    with _server(release, served, boom=True) as (port, server):
        for _ in range(2):
            s = _send(port, "/healthz")
            assert _Reader(s).answer()[0].startswith("HTTP/1.1 500")
            s.close()
        assert all(x.endswith("@io") for x in served)
        release.set()
        s = _send(port, "/api/after")
        assert _Reader(s).answer()[0].startswith("HTTP/1.1 200")
        s.close()


def test_a_cooling_connection_the_client_closed_is_let_go():
    with _at_capacity() as (port, server, release, served, earlier):
        s = _send(port, "/api/shed")
        assert _Reader(s).answer()[0].startswith("HTTP/1.1 503")
        channels = len(server.active_channels)
        s.close()
        _until(lambda: len(server.active_channels) == channels - 1, "the closed connection let go", 6)


def test_the_shed_answer_is_json_in_the_language_asked():
    with _at_capacity() as (port, server, release, served, earlier):
        s = _connect(port)
        s.sendall(b"GET /api/x HTTP/1.1\r\nHost: x\r\nAccept-Language: en\r\n\r\n")
        status, headers, b = _Reader(s).answer()
        assert status.startswith("HTTP/1.1 503") and headers["content-type"] == "application/json"
        assert json.loads(b)["error"]["message"] == "the service is busy; retry shortly"
        s.close()

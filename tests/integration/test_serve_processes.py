"""`dispute-router serve --processes N`: N gunicorn web processes on one port, the background work
(relay, sweeper, scheduler, delivery workers) once, in the parent; SIGINT stops all of them."""

from __future__ import annotations

import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.builders import body
from tests.serving import prepared, serve, wait_healthy

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the process tree")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _total(exposition: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines() if line.startswith(name + "{"))


def test_processes_share_one_port_and_deliver_once(tmp_path):
    db = tmp_path / "serve.db"
    env, token = prepared(tmp_path)
    proc, port = serve(env, "--processes", "2", "--threads", "1")
    url = f"http://127.0.0.1:{port}"
    try:
        assert "gunicorn: 2 processes" in proc.stdout.readline()
        wait_healthy(port)
        (master,) = _children(proc.pid)
        assert len(_children(master)) == 2  # two web processes under one gunicorn master

        from router.settings import load_settings
        village = next(d.code for d in load_settings(env).domain.divisions.by_code.values() if d.level == "village")
        auth = {"Authorization": f"Bearer {token}"}
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda _: requests.post(f"{url}/api/v1/disputes", json=body(village),
                                                            headers=auth, timeout=30), range(12)))
        assert [a.status_code for a in answers] == [201] * 12
        assert len({a.json()["reference"] for a in answers}) == 12

        # The relay and the workers run in the parent: every offered handoff is relayed and tried (the
        # shipped endpoints are not listening, so the circuit breaker soon holds the rest back).
        engine = create_engine(f"sqlite:///{db}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with engine.connect() as c:
                waiting = c.execute(text("SELECT count(*) FROM deliveries WHERE enqueued_at IS NULL "
                                         "AND state = 'pending'")).scalar()
                tried = c.execute(text("SELECT count(*) FROM deliveries WHERE attempts > 0")).scalar()
            if waiting == 0 and tried:
                break
            time.sleep(0.3)
        assert waiting == 0 and tried >= 1

        # /metrics counts every process: whichever web process answers, the 12 registrations (made in
        # both) and the parent's delivery attempts are all there.
        for _ in range(6):
            text_ = requests.get(f"{url}/metrics", timeout=10).text
            assert _total(text_, "router_disputes_registered_total") == 12, text_
            assert _total(text_, "router_delivery_attempts_total") >= 1
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    assert not list((tmp_path / "var").glob("metrics-*"))  # the shared counts go with the service
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/healthz", timeout=2)

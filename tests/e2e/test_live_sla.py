"""A live run on a seconds-scale config (the real clock, no moving it): a dispute whose agency never
answers walks warned -> expired -> re-routed -> acknowledged by the next agency, over real HTTP."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
import yaml
from waitress import create_server

from router.api.app import create_app
from router.messaging.worker import Background
from router.services import build_services
from router.settings import load_settings
from router.store.db import make_engine
from router.store.migrate import upgrade
from router.testing.agency_client import AgencyClient
from router.testing.stub_agency import StubAgency
from tests.builders import PII_KEY, config_dir, lead_of, register, wait_for


def seconds_config(tmp: Path) -> Path:
    """The shipped config with people's mediation on a seconds clock and a seconds ladder."""
    src = Path(config_dir())
    dst = tmp / "config"
    shutil.copytree(src, dst)
    bodies = yaml.safe_load((dst / "bodies.yaml").read_text(encoding="utf-8"))
    bodies["defaults"]["escalation"] = {"warn_before": "2s", "urge_after": "2s", "escalate_after": "4s"}
    bodies["body_types"]["people_mediation"].update({"acknowledge": "4s", "return_within": "4s", "handle": "60s"})
    (dst / "bodies.yaml").write_text(yaml.safe_dump(bodies, allow_unicode=True), encoding="utf-8")
    return dst


@pytest.fixture
def fast(tmp_path):
    env = {"ROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}",
           "ROUTER_CONFIG_DIR": str(seconds_config(tmp_path)),
           "ROUTER_VAR_DIR": str(tmp_path / "var"), "ROUTER_PII_KEY": PII_KEY, "ROUTER_SECRET_KEY": "s",
           "ROUTER_ALLOW_SHORT_DEADLINES": "1", "ROUTER_BROKER_PREFIX": f"live-{tmp_path.name}"}
    settings = load_settings(env)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    svc = build_services(settings, engine=engine)  # the real clock
    svc.sync_agencies()
    stub = StubAgency()
    stub.serve_all_agencies(svc)
    server = create_server(create_app(svc), host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    bg = Background(svc, workers=2).start()
    yield svc, f"http://127.0.0.1:{server.effective_port}"
    bg.close()
    server.close()
    stub.stop()
    engine.dispose()


def test_an_agency_that_never_answers_is_warned_expired_and_replaced(fast):
    svc, base = fast
    d = register(svc)
    first = d["handoffs"][0]
    t0 = time.monotonic()

    def timeline():
        return svc.timeline(d["id"])

    def types():
        return [e["type"] for e in timeline()["events"]]

    wait_for(lambda: "handoff.warned" in types(), timeout=10)
    wait_for(lambda: "handoff.expire" in types(), timeout=10)
    view = svc.get_dispute(d["id"])
    second = lead_of(view)
    assert second["agency"] != first["agency"] and second["state"] in ("offered", "delivered")
    key_id, secret = svc.rotate_agency_key(second["agency"])
    r = AgencyClient(base, key_id, secret).event(second["id"], "acknowledged")
    assert r.status_code == 200, r.text
    elapsed = time.monotonic() - t0
    steps = types()
    order = [steps.index(x) for x in ("handoff.offer", "handoff.warned", "handoff.expire", "dispute.reroute",
                                      "handoff.acknowledge", "dispute.start_handling")]
    assert order == sorted(order), steps
    spans = {s["handoff_id"]: s for s in timeline()["spans"]}
    assert spans[first["id"]]["state"] == "expired" and spans[first["id"]]["sla"] == "breached"
    assert spans[second["id"]]["acknowledged"] and spans[second["id"]]["sla"] in ("on_time", "warned")
    assert elapsed < 30

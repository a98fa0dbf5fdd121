"""The demo's agencies (`dispute-router stub-agency`): the stub agency for every agency of the
registry, printing a line per delivery and, with `acknowledge`, answering each new referral with a
signed 签收 callback the way an agency's own system would.

Only referrals are acknowledged. A notice (催办, 督办, 撤回, a 12345 status) names a handoff too,
but its Idempotency-Key is its own message id: acknowledging a recalled handoff would be refused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from router.services import Services
from router.testing.agency_client import AgencyClient
from router.testing.stub_agency import Received, StubAgency


def is_referral(r: Received) -> bool:
    """A handoff referral, not a notice about one: the router keys a referral by its handoff id."""
    handoff_id = r.payload.get("handoff_id")
    return bool(handoff_id) and r.headers.get("Idempotency-Key") == handoff_id


class DemoAgencies:
    def __init__(self, svc: Services, router_url: str, *, acknowledge: bool,
                 say: Callable[[str], None] = print) -> None:
        self.svc, self.router_url, self.acknowledge, self.say = svc, router_url.rstrip("/"), acknowledge, say
        self.stub = StubAgency()
        self.stub.on_received = self.received
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.acknowledged: list[str] = []

    def start(self, port: int) -> str:
        self.stub.learn_secrets(self.svc)
        return self.stub.start(port)

    def received(self, r: Received) -> None:
        if self.acknowledge and is_referral(r):
            self.pool.submit(self._acknowledge, r.agency, str(r.payload["handoff_id"]))

    def _acknowledge(self, agency: str, handoff_id: str) -> None:
        key_id, secret = self.svc.agency_key(agency)
        algorithm = self.stub.algorithms.get(agency) or self.svc.agency_signing().get(agency, "hmac-sha256")
        r = AgencyClient(self.router_url, key_id, secret, algorithm=algorithm).event(
            handoff_id, "acknowledged", note="演示：自动签收")
        self.acknowledged.append(handoff_id)
        self.say(f"{agency} acknowledged {handoff_id}: HTTP {r.status_code}")

    def report(self, stop: threading.Event, every: float = 0.5) -> None:
        """Print one line per delivery until `stop` is set."""
        shown = 0
        while not stop.wait(every):
            for r in self.stub.received[shown:]:
                self.say(f"received {r.payload.get('kind', '?')} {r.payload.get('reference', '?')} for {r.agency}: "
                         f"{'signature ok' if r.verified else 'BAD SIGNATURE'}, answered {r.status}")
            shown = len(self.stub.received)

    def stop(self) -> None:
        self.stub.stop()
        self.pool.shutdown(wait=False)

"""The outside witness of the audit anchors (ROUTER_ANCHOR_URL): a timestamping or notary service,
a supervising body's inbox, another organisation's log. It gets each anchor as one JSON POST and
answers 2xx once it has kept it (docs/audit-chain.md §7)."""

from __future__ import annotations

from typing import Any

import requests

TIMEOUT_SECONDS = 10.0


class WitnessError(Exception):
    """The witness did not take the anchor; the message says why, without the response's body."""


def send_anchor(url: str, anchor: dict[str, Any]) -> None:
    try:
        r = requests.post(url, json=anchor, timeout=TIMEOUT_SECONDS,
                          headers={"User-Agent": "dispute-router audit anchor"})
    except requests.RequestException as e:
        raise WitnessError(f"{type(e).__name__}: could not reach the witness") from None
    if not 200 <= r.status_code < 300:
        raise WitnessError(f"the witness answered HTTP {r.status_code}")

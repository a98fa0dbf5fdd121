"""Agencies.yaml validation of `delivery` and `endpoint`. Found by the issue-11 review; it failed before its fix."""

from __future__ import annotations

import pytest

from router.domain.errors import ConfigError
from router.settings import load_agencies


def test_a_push_agency_needs_an_http_endpoint_in_agencies_yaml(svc):
    """`agency add` refuses an endpoint that is not http(s) (agency_keys.register_agency), and the guide
    says a push agency needs an `http(s)://` endpoint, "refused at start". load_agencies only checks
    that one is present: `endpoint: 127.0.0.1:8900/h` loads as a push agency, and every handoff to it
    fails at the first attempt and becomes undeliverable."""
    tree = svc.ctx.config.divisions
    data = {"agencies": [{"code": "Y-1", "name": "甲", "body_type": "people_mediation", "tier": "town",
                          "jurisdiction": [tree.centre.code], "endpoint": "127.0.0.1:8900/h", "delivery": "push"}]}
    with pytest.raises(ConfigError, match="endpoint"):
        load_agencies(data, tree)

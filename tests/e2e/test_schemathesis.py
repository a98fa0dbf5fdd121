"""The contract checked by schemathesis (issue 14 item 5), in process, every staff operation of
contracts' OpenAPI document, every check but one: a server error, an undocumented status, content
type or header, an answer off its schema, bad input accepted, or a missing token ignored fails here.

Left out, and why:
- `positive_data_acceptance`: data the schema allows may still break a domain rule the contract
  cannot say (a division outside the centre's area, a category of another ruleset, an ID number
  whose check digit is wrong); the service answers those 422 naming the field, as it should.
- the agency operations (`/api/v1/agency/...`): every call must be signed over its exact bytes
  (docs/agency-guide.md §2), which needs a signing hook; the signed calls have their own tests.
- the stateful phase: the document has no links between operations yet.

Its own SQLite database: the generated data must not meet the suite's fixtures."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from router.server import application
from router.services import build_services
from router.settings import load_settings
from tests.builders import PII_KEY, config_dir

_TMP = Path(tempfile.mkdtemp(prefix="schemathesis-"))
_SVC = build_services(load_settings({
    "ROUTER_DATABASE_URL": f"sqlite:///{_TMP / 'contract.db'}", "ROUTER_CONFIG_DIR": config_dir(),
    "ROUTER_VAR_DIR": str(_TMP), "ROUTER_PII_KEY": PII_KEY, "ROUTER_SECRET_KEY": "contract"}), check_schema=False)
_SVC.migrate()
_SVC.sync_agencies()
TOKEN = _SVC.add_user("contract-supervisor", "supervisor")
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application(_SVC))
EXAMPLES = int(os.environ.get("ROUTER_SCHEMATHESIS_EXAMPLES", "50"))
# Under CI the same cases every run (a failure there is reproducible, never luck); elsewhere new ones.
DERANDOMIZE = os.environ.get("CI", "") == "true"


@schema.exclude(path_regex=r"^/api/v1/agency/").parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=DERANDOMIZE)
def test_the_api_keeps_its_contract(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, excluded_checks=[positive_data_acceptance])

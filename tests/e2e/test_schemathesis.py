"""The contract checked by schemathesis (issue 14 item 5), in process, every staff operation of
contracts' OpenAPI document, every check but one: a server error, an undocumented status, content
type or header, an answer off its schema, bad input accepted, or a missing token ignored fails here.

Left out, and why:
- `positive_data_acceptance`: data the schema allows may still break a domain rule the contract
  cannot say (a division outside the centre's area, a category of another ruleset, an ID number
  whose check digit is wrong); the service answers those 422 naming the field, as it should.
- nothing else: the agency operations (`/api/v1/agency/...`, `/api/v1/intake/...`) run too, signed
  by `SignAsAgency` below, as a 12345 hotline agency (the one body that may call all of them).
- nothing of the stateful phase: `Workflow` below runs sequences of calls whose ids come from
  earlier answers (links schemathesis infers from the response schemas and path parameters).

Its own SQLite database: the generated data must not meet the suite's fixtures."""

from __future__ import annotations

import io
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation
from werkzeug.wrappers import Request

from router.adapters import signing
from router.api.agency import _PATH_SAFE
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
    case.call_and_validate(headers=credentials(case, "Authorization", f"Bearer {TOKEN}"),
                           excluded_checks=[positive_data_acceptance])


def credentials(case: Any, name: str, value: str) -> dict[str, str]:
    """The caller's credentials, unless the case is one whose headers schemathesis made invalid by
    leaving this very header out: supplied anyway, the request would be valid and accepted, and the
    check that invalid requests are refused would fail on a request it did not send."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER) and name.lower() not in {
            k.lower() for k in (case.headers or {})}:
        return {}
    return {name: value}


class SignAsAgency:
    """The agency's side of each generated call that names its key: the Standard Webhooks headers over
    the exact bytes sent (docs/agency-guide.md §2), a fresh webhook-id each time. A call without
    `X-Router-Key` (schemathesis' check that auth is not ignored) goes unsigned, and must get 401."""

    def __init__(self, app: Any, key_id: str, secret: str) -> None:
        self.app, self.key_id, self.secret = app, key_id, secret

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_X_ROUTER_KEY") == self.key_id:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(raw)
            query = environ.get("QUERY_STRING", "")
            target = quote(Request(environ).path, safe=_PATH_SAFE) + (f"?{query}" if query else "")
            payload = signing.signed_payload(environ["REQUEST_METHOD"], target, raw)
            for name, value in signing.headers([self.secret], f"msg_{uuid.uuid4().hex}", int(time.time()),
                                               payload).items():
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        return self.app(environ, start_response)


HOTLINE = next(code for code, a in _SVC.ctx.registry().by_code.items() if a.body_type == "hotline_12345")
KEY_ID, SECRET = _SVC.rotate_agency_key(HOTLINE)
signed_schema = schemathesis.openapi.from_wsgi("/api/openapi.json",
                                               SignAsAgency(application(_SVC), KEY_ID, SECRET))


@signed_schema.include(path_regex=r"^/api/v1/(agency|intake)/").parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=DERANDOMIZE)
def test_the_agency_api_keeps_its_contract(case):
    case.call_and_validate(headers=credentials(case, "X-Router-Key", KEY_ID),
                           excluded_checks=[positive_data_acceptance])


ADMIN = _SVC.add_user("contract-admin", "admin")
AGENCY_PATHS = ("/api/v1/agency/", "/api/v1/intake/")


@signed_schema.auth()
class Credentials:
    """What the stateful phase signs in with, through schemathesis' auth hook so that its ignored-auth
    check knows it and can take it off again: an admin's token, or the agency's key (then signed)."""

    def get(self, case: Any, ctx: Any) -> str:
        return ADMIN

    def set(self, case: Any, data: str, ctx: Any) -> None:
        auth = {"X-Router-Key": KEY_ID} if case.path.startswith(AGENCY_PATHS) else {"Authorization": f"Bearer {data}"}
        case.headers = {**(case.headers or {}), **auth}


class Workflow(signed_schema.as_state_machine()):  # type: ignore[misc]
    """The stateful phase: register, then read, act on, time-line and archive what was registered;
    an agency's calls are signed (SignAsAgency), staff calls carry an admin's token."""

    def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
        case.validate_response(response, additional_checks=additional_checks,
                               excluded_checks=[positive_data_acceptance], transport_kwargs=kwargs)


TestWorkflow = Workflow.TestCase
TestWorkflow.settings = settings(max_examples=max(10, EXAMPLES // 4), stateful_step_count=8, deadline=None,
                                 suppress_health_check=list(HealthCheck), derandomize=DERANDOMIZE)

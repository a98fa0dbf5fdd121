"""Review of d18b4c9 (the body limit, before reading) and 2399271 (input that answered 500).

Probes that failed on 2399271 (fixed since; each docstring names the root cause) and a few passing
guards worth keeping (marked "Guard"). The NUL probes count what reaches the database's statement
parameters, so they failed on SQLite too; on PostgreSQL (ROUTER_TEST_DATABASE_URL) the same
requests answered 500."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from router.limits import waitress_server
from router.server import application
from router.testing.agency_client import AgencyClient
from tests.builders import ROOT, body, county, events_of, register
from tests.e2e.web_client import PASSWORD, csrf_of
from tests.nul_probes import has_nul, signed_in
from tests.serving import prepared, serve, wait_healthy

ERROR_KEYS = {"code", "message", "fields"}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- text_problems: quadratic memory
def test_the_text_walk_stays_linear_in_the_body_it_checks(client):
    """FAILS: a 32 KiB body, sent with no credentials, makes the server allocate some 135 MB (a 256 KiB
    body at the default limit: some 8 GB, the worker dies).

    Root cause: router/schemas/text.py builds the dotted path of every node eagerly
    (`f"{path}.{i}"` for each list element, all pushed at once with `stack.extend`), so one long key
    above a wide list copies that key once per element: memory and time are (key length x elements),
    quadratic in the body size. check_body (a before_request) calls it before any authentication.
    Fix: carry the parent path as a tuple (or a parent link) and join it only for a string that has a
    problem; cap the number of reported fields."""
    raw = json.dumps({"k" * 16384: [0] * 8192}, separators=(",", ":"))
    assert len(raw) < 40_000
    tracemalloc.start()
    try:
        r = client.post("/api/v1/disputes", data=raw, content_type="application/json")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code in (401, 422), r.get_data(as_text=True)[:200]
    assert peak < 16 << 20, f"{peak / 1e6:.0f} MB allocated to check a {len(raw)} byte body"


# ---------------------------------------------------------------- NUL outside the JSON body
def test_a_nul_in_an_api_path_parameter_never_reaches_the_database(client, tokens, nul_to_database):
    """FAILS: GET /api/v1/disputes/a%00b (and its timeline, an action on it) hand 'a\\x00b' to the
    database; on PostgreSQL each answers 500 (psycopg: text fields cannot contain NUL).

    Root cause: the NUL check (text_problems) runs only over a parsed JSON body (json_body.refused);
    path parameters (and query strings) reach the store unchecked, though docs/api.md says "for every
    endpoint". Fix: one before_request that refuses a NUL in request.view_args / request.args (404 for
    an id, 422 naming the parameter), or a converter for ids that matches only what an id can be."""
    answers = [client.get("/api/v1/disputes/a%00b", headers=_auth(tokens["supervisor"])),
               client.get("/api/v1/disputes/a%00b/timeline", headers=_auth(tokens["supervisor"])),
               client.post("/api/v1/disputes/a%00b/actions", json={"action": "urge", "reason": "催办"},
                           headers=_auth(tokens["supervisor"]))]
    assert [r.status_code for r in answers] == [404, 404, 404], [r.get_data(as_text=True)[:120] for r in answers]
    assert nul_to_database == [], nul_to_database


def test_a_nul_in_the_sign_in_name_never_reaches_the_database(web, svc, nul_to_database):
    """FAILS: a sign-in with 'clerk\\x00' as the user name looks it up as is; on PostgreSQL the
    sign-in page answers 500 (a 'system error' page) instead of 'wrong name or password'.

    Root cause: the NUL check covers the JSON API and the intake form (web/forms.py) only; the other
    web forms (signin.py here) pass form fields straight to the store. Fix: refuse a NUL in any form
    field or query value once, in the web blueprint's before_request (or an app-wide one)."""
    svc.add_user("clerk-r14a", "clerk", PASSWORD)
    c = web.test_client()
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"csrf_token": token, "username": "clerk-r14a\x00", "password": PASSWORD})
    assert r.status_code in (200, 401, 422), r.status_code
    assert nul_to_database == [], nul_to_database


def test_a_nul_in_the_window_lookup_never_reaches_the_database(web, svc, nul_to_database):
    """FAILS: 查询 (POST /window/lookup) with a NUL in `q` sends it to the database; on PostgreSQL
    the page answers 500. Same root cause and fix as the sign-in probe."""
    c = signed_in(web, svc, "clerk", "r14a")
    token = csrf_of(c.get("/window").text)
    r = c.post("/window/lookup", data={"csrf_token": token, "q": "张三\x00"})
    assert r.status_code in (200, 422), r.status_code
    assert nul_to_database == [], nul_to_database


def test_a_nul_in_a_web_action_reason_is_refused_as_the_api_refuses_it(web, svc, tokens):
    """FAILS: the API refuses 催办 with a NUL in its reason (422, nothing changes), but the same action
    posted from the dispute page's dialog is done: the NUL is in the audit event (and whatever reads
    it: the timeline, the case file, the agency's notice).

    Root cause: web/acting.py (like the other web forms but the intake form) loads ActionIn directly;
    text_problems runs only in json_body.refused and IntakeForm. Fix: the same check for every form
    (see the sign-in probe), or inside the schemas' string fields."""
    d = register(svc)
    api = web.test_client().post(f"/api/v1/disputes/{d['id']}/actions", json={"action": "urge", "reason": "催办\x00"},
                                 headers=_auth(tokens["supervisor"]))
    assert api.status_code == 422, api.get_data(as_text=True)[:200]
    c = signed_in(web, svc, "supervisor", "r14a")
    token = csrf_of(c.get(f"/disputes/{d['id']}").text)
    c.post(f"/disputes/{d['id']}/actions", data={"csrf_token": token, "action": "urge", "reason": "催办\x00",
                                                 "next": f"/disputes/{d['id']}"})
    urged = events_of(svc, d["id"], "handoff.urged", data_only=True)
    assert not any(has_nul(e) for e in urged), urged


# ---------------------------------------------------------------- JSON: what the parse accepts
@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_body_that_is_not_utf8_is_still_a_400(client, tokens, svc, encoding):
    """FAILS: a UTF-16 or UTF-32 body is now registered (201); before 2399271 it was 400, and
    docs/api.md says "All bodies are UTF-8 JSON". (A UTF-8 BOM, 400 before, is now accepted too, and
    CESU-8 surrogate bytes, invalid UTF-8, are read as a lone surrogate.)

    Root cause: json_body.refused parses with Flask's get_json, i.e. json.loads(bytes), which detects
    UTF-16/32, strips a BOM and decodes with 'surrogatepass'; webargs decoded strict UTF-8. Fix: in
    JsonProvider.loads, decode bytes with s.decode("utf-8") (strict) before parsing."""
    raw = json.dumps(body(county(svc)["v"]), ensure_ascii=False).encode(encoding)
    r = client.post("/api/v1/disputes", data=raw, content_type="application/json", headers=_auth(tokens["clerk"]))
    assert r.status_code == 400, r.get_data(as_text=True)[:200]


@pytest.mark.parametrize(("raw", "status", "field"), [
    (b"null", 422, "_schema"), (b"[]", 422, "_schema"), (b'"x"', 422, "_schema"), (b"1", 422, "_schema"),
    (b'{"summary": "\xff"}', 400, "_body"),
    (b'{"people_involved": NaN}', 422, "people_involved"), (b'{"people_involved": 1e999}', 422, "people_involved"),
    (b'{"people_involved": ' + b"9" * 5000 + b"}", 400, "_body"),  # 500 before 2399271 (int digit limit)
], ids=["null", "array", "string", "number", "bad-utf8", "nan", "1e999", "5000-digits"])
def test_guard_odd_json_answers_in_the_one_error_body(client, tokens, raw, status, field):
    """Guard (passes): odd JSON still answers as before, in {"error": {"code", "message", "fields"}};
    a 5000-digit number (ValueError from int(), not a JSONDecodeError) is a 400 now, no longer a 500."""
    r = client.post("/api/v1/disputes", data=raw, content_type="application/json", headers=_auth(tokens["clerk"]))
    assert r.status_code == status, r.get_data(as_text=True)[:200]
    assert set(r.json["error"]) == ERROR_KEYS and field in r.json["error"]["fields"], r.json


# ---------------------------------------------------------------- waitress
@pytest.fixture
def waitress_port(svc: Any) -> Iterator[int]:
    server = waitress_server(application(svc), host="127.0.0.1", port=0, threads=2,
                             max_body=svc.settings.max_body_bytes)
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    yield server.effective_port
    server.close()


def _first_answer(s: socket.socket, wait: float = 5) -> bytes:
    s.settimeout(wait)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        pass
    return data


def _chunked_just_under(limit: int, size: int = 256) -> tuple[bytes, int]:
    payload = b" " * (limit - 2048) + b"{}"
    frames = b"".join(b"%x\r\n" % len(payload[i:i + size]) + payload[i:i + size] + b"\r\n"
                      for i in range(0, len(payload), size))
    return frames + b"0\r\n\r\n", len(payload)


def test_a_chunked_body_under_the_limit_is_the_applications_to_judge_on_waitress(svc, tokens, waitress_port):
    """FAILS: a chunked body 2 KiB under ROUTER_MAX_BODY_BYTES, sent in 256-byte chunks, is refused 413
    by waitress (gunicorn and the app take it: 422 here, a body without fields); the limit a client
    meets depends on how it chunks.

    Root cause: waitress counts every byte of the chunked framing (size lines, CRLFs, trailers) in
    body_bytes_received against max_request_body_size, which limits.waitress_server sets to limit + 1.
    Fix: give waitress headroom for framing on chunked bodies (its limit a bound on the wire, e.g.
    2 x limit + 64 KiB) and let the app refuse the dechunked size (waitress sets CONTENT_LENGTH after
    dechunking, so over_the_limit already judges it exactly)."""
    frames, size = _chunked_just_under(svc.settings.max_body_bytes)
    assert size < svc.settings.max_body_bytes
    s = socket.create_connection(("127.0.0.1", waitress_port), timeout=10)
    s.sendall(b"POST /api/v1/routing/preview HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer " + tokens["clerk"].encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + frames)
    head = _first_answer(s)
    s.close()
    assert head.startswith(b"HTTP/1.1 422"), head[:200]


def _expect_continue_head(port: int) -> bytes:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST /api/v1/disputes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 10737418240\r\nExpect: 100-continue\r\n\r\n")
    time.sleep(1)
    head = _first_answer(s, wait=2)
    s.close()
    return head


def test_expect_100_continue_over_the_limit_is_refused_from_the_headers_on_waitress(waitress_port):
    """FAILS: with `Expect: 100-continue` and a 10 GiB Content-Length, waitress answers
    "100 Continue" (inviting the 10 GiB), then reads the body up to the limit before its 413 (some
    2.6 MB went out from a client here before the answer); docs/api.md: "refused from the headers alone".
    (gunicorn, below, also sends 100 Continue first, then the app's 413 at once.)

    Root cause: waitress's HTTPChannel.received calls send_continue() for a request whose parse already
    failed (request.error = RequestEntityTooLarge), and send_continue sets request.completed = False,
    so the error task waits for max_request_body_size bytes. Fix: in limits._Channel, override
    send_continue to do nothing when self.request.error is set (the request stays completed and the
    JSON 413 goes out at once)."""
    head = _expect_continue_head(waitress_port)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]


def test_guard_waitress_refuses_odd_content_lengths_in_the_api_body(waitress_port):
    """Guard (passes): a Content-Length with a plus sign or a latin-1 superscript digit ('\\xb2'.isdigit()
    is True but int() fails: over_the_limit would raise) never reaches the app: waitress's JSON 400."""
    for value in (b"+5", b"\xb2", b"5, 5"):
        s = socket.create_connection(("127.0.0.1", waitress_port), timeout=10)
        s.sendall(b"POST /api/v1/disputes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + value + b"\r\n\r\n{}")
        head = _first_answer(s)
        rest = head.partition(b"\r\n\r\n")[2] or s.recv(65536)
        s.close()
        assert head.startswith(b"HTTP/1.1 400"), (value, head[:200])
        assert json.loads(rest)["error"]["code"] == "bad_request", rest


# ---------------------------------------------------------------- gunicorn (serve --processes)
@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    """`serve --processes 2 --threads 4` (gunicorn gthread, keep-alive) with a key for the 诸暨 12345
    hotline: port, a clerk's token, the key, a 诸暨 village."""
    env, token = prepared(tmp_path_factory.mktemp("r14a"))
    hotline = "ZJ-HL-330681000000"
    r = subprocess.run([sys.executable, "-m", "router.cli", "agency", "rotate-key", "--code", hotline], env=env,
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    key_id, secret = r.stdout.strip().splitlines()[-1].split()
    proc, port = serve(env, "--processes", "2", "--threads", "4")
    try:
        wait_healthy(port)
        from router.settings import load_settings
        villages = sorted(d.code for d in load_settings(env).domain.divisions.by_code.values()
                          if d.level == "village" and d.code.startswith("330681"))
        yield {"port": port, "token": token, "key": (key_id, secret), "village": villages[-1]}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="gunicorn serves on Linux and macOS")


@linux_only
def test_guard_a_chunked_signed_agency_call_on_gunicorn_verifies_over_the_exact_bytes(gunicorn):
    """Guard (passes): under gunicorn a chunked body is read by over_the_limit and put back as a BytesIO;
    the agency's signature (over request.get_data(cache=True)) still verifies: a chunked, signed
    12345 work order is registered."""
    order = body(gunicorn["village"], summary="楼道堆物引发邻里纠纷")
    order.pop("source"), order.pop("source_ref")
    order["work_order_no"] = "GD-R14A-CHUNKED"
    raw = json.dumps(order, ensure_ascii=False).encode()
    base = f"http://127.0.0.1:{gunicorn['port']}"
    headers = AgencyClient(base, *gunicorn["key"]).signed_headers(raw)
    r = requests.post(base + "/api/v1/intake/hotline", data=(raw[i:i + 100] for i in range(0, len(raw), 100)),
                      headers=headers, timeout=30)
    assert r.status_code == 201, r.text
    assert r.json()["source_ref"] == "GD-R14A-CHUNKED"


@linux_only
def test_guard_a_chunked_body_under_the_limit_is_the_applications_to_judge_on_gunicorn(gunicorn):
    """Guard (passes): what the waitress probe above expects, gunicorn already does."""
    frames, _ = _chunked_just_under(256 * 1024)
    s = socket.create_connection(("127.0.0.1", gunicorn["port"]), timeout=10)
    s.sendall(b"POST /api/v1/routing/preview HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer " + gunicorn["token"].encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
              + frames)
    head = _first_answer(s)
    s.close()
    assert head.startswith(b"HTTP/1.1 422"), head[:200]


@linux_only
def test_expect_100_continue_over_the_limit_is_refused_from_the_headers_on_gunicorn(gunicorn):
    """FAILS: gunicorn writes "HTTP/1.1 100 Continue" before the application runs (wsgi.create), so a
    request the app refuses from its headers (413) first invites the client to send its 10 GiB.

    Root cause: limits.gunicorn_pre_request marks the request must_close but leaves its
    _expected_100_continue set. Fix: in the hook, for a declared length over the limit, also set
    req._expected_100_continue = False (a private attribute: pin the gunicorn version it is tested on)."""
    head = _expect_continue_head(gunicorn["port"])
    assert re.match(rb"HTTP/1\.1 413", head), head[:200]

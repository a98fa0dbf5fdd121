"""Review of e95dac9 (agency signatures bound to their target), f146c62 (strict input fields, 405
with Allow) and effa8cc (NUL/surrogate checks on paths, query strings and web forms).

Probes that FAILED on effa8cc (fixed since; each docstring says what it shows and the root cause) and a few
passing guards worth keeping (marked "Guard"). All fail and pass alike on SQLite and PostgreSQL
(ROUTER_TEST_DATABASE_URL)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from tests.builders import body, county, events_of, lead_of, post_dispute, register
from tests.e2e.web_client import csrf_of
from tests.nul_probes import has_nul, signed_in


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _signed(a: Any, payload: str | bytes, *, msg_id: str | None = None) -> dict[str, str]:
    """The headers an agency sends for `payload`, signed with the Standard Webhooks reference library."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = datetime.fromtimestamp(int(a.now()), UTC)
    text = payload.decode() if isinstance(payload, bytes) else payload
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(a.secret).sign(msg_id, at, text), "X-Router-Key": a.key_id}


# ---------------------------------------------------------------- signature binding (e95dac9)
def test_a_get_signature_opens_any_handoff_when_its_payload_is_sent_as_the_body(live, svc, agencies):
    """PROBE: the reproduction e95dac9 fixed, with one change: the captured signature over
    `GET /api/v1/agency/handoffs/{X}` is sent on GET /api/v1/agency/handoffs/{Z} with that text as
    the request body, and Z's parties come back unmasked.

    Root cause: signing.signed_payload takes the raw body whenever there is one, whatever the method;
    a GET (or HEAD) may carry a body and nothing refuses it (check_body looks at POST/PUT/PATCH only),
    so the target is bound only when the caller chooses to leave the body empty. Fix: a GET/HEAD
    signs `METHOD target` always (a body on it is a 400, or ignored), or better, sign
    `METHOD target\\n` + body for every call so neither form can stand for the other."""
    x, z = lead_of(post_dispute(live, svc)), lead_of(post_dispute(live, svc))
    a = agencies(x["agency"])
    assert z["agency"] == x["agency"]
    payload = f"GET /api/v1/agency/handoffs/{x['id']}"
    r = live.http.get(f"{live.base}/api/v1/agency/handoffs/{z['id']}", data=payload.encode(),
                      headers=_signed(a, payload))
    assert r.status_code == 401 and "parties" not in r.text, (r.status_code, r.text[:200])


def test_a_signed_event_body_opens_any_handoff_as_a_get(live, svc, agencies):
    """PROBE: an event the agency signed (POST .../handoffs/{X}/events, body naming X) sent instead as
    GET /api/v1/agency/handoffs/{Z} with the same body answers 200 with Z's unmasked parties (and the
    feed and list the same way): a body's signature is bound only to the body, not to the method or
    path it was signed for. Same root cause and fix as the previous probe."""
    x, z = lead_of(post_dispute(live, svc)), lead_of(post_dispute(live, svc))
    a = agencies(x["agency"])
    raw = json.dumps({"handoff_id": x["id"], "event_id": str(uuid.uuid4()), "type": "acknowledged"})
    r = live.http.get(f"{live.base}/api/v1/agency/handoffs/{z['id']}", data=raw.encode(),
                      headers={**_signed(a, raw), "Content-Type": "application/json"})
    assert r.status_code == 401 and "parties" not in r.text, (r.status_code, r.text[:200])


# ---------------------------------------------------------------- NUL checks (effa8cc)
def test_a_nul_in_the_first_of_a_repeated_query_parameter_slips_past_the_query_check(client, tokens):
    """PROBE: GET /api/v1/disputes?category=%00&category=NEIGHBOUR is not refused by the query check:
    the service gets '\\x00' as the category and its 422 echoes the NUL back in the message
    (`未知的纠纷类型：\\u0000`); any query value the service hands to the store unchecked would take
    it to the database (PostgreSQL: 500). The web pages have the same hole (next probe: stored).

    Root cause: app.check_text walks `dict(request.args.items(multi=True))`, which keeps only the
    LAST value of a repeated key, while webargs (like request.args.get) reads the FIRST. Fix: walk
    every value (`request.args.lists()`, or the (key, value) pairs themselves)."""
    r = client.get("/api/v1/disputes?category=%00&category=NEIGHBOUR", headers=_auth(tokens["supervisor"]))
    assert r.status_code == 422
    assert not has_nul(r.get_json()), r.get_json()


def test_a_nul_in_the_first_of_a_repeated_web_form_field_is_stored(web, svc):
    """PROBE: the dispute page's 催办 dialog posted with `reason` twice, '催办\\x00' then '催办': the
    web check passes and the action is done with the NUL in its audit event (on PostgreSQL, a 500).

    Root cause: web/hooks.protect builds `dict(request.form.items(multi=True))` (and the same for
    request.args): a repeated field keeps its last value only, but the views read the first
    (acting._data's form.items(), request.form.get). Fix: check every value of every key."""
    d = register(svc)
    c = signed_in(web, svc, "supervisor", "r14b")
    token = csrf_of(c.get(f"/disputes/{d['id']}").text)
    c.post(f"/disputes/{d['id']}/actions", data={"csrf_token": token, "action": "urge", "reason": ["催办\x00", "催办"],
                                                 "next": f"/disputes/{d['id']}"})
    urged = events_of(svc, d["id"], "handoff.urged", data_only=True)
    assert not any(has_nul(e) for e in urged), urged


def test_a_nul_in_the_query_of_an_unknown_api_route_turns_its_404_into_a_422(client, tokens):
    """PROBE: GET /api/v1/no-such-thing?x=%00 answers 422 naming `x`, and PUT on a POST-only route
    with the same query 422 too, where without the NUL they are 404 and 405 (with Allow): the query
    check runs before routing's answer. (It also answers before authentication: an anonymous caller
    learns the query is checked before it is told it is not signed in.)

    Root cause: app.check_text looks at request.args without first checking
    request.routing_exception, as check_body now does. Fix: return None when routing_exception is set."""
    h = _auth(tokens["supervisor"])
    plain = [client.get("/api/v1/no-such-thing?x=1", headers=h).status_code,
             client.put("/api/v1/disputes?x=1", headers=h).status_code]
    nul = [client.get("/api/v1/no-such-thing?x=%00", headers=h).status_code,
           client.put("/api/v1/disputes?x=%00", headers=h).status_code]
    assert plain == [404, 405]
    assert nul == plain


# ---------------------------------------------------------------- strict fields (f146c62)
@pytest.mark.parametrize("name", ["\u3164", "\u2800", "\u034f\u034f", "\ufe0f"],
                         ids=["hangul-filler", "braille-blank", "grapheme-joiners", "variation-selector"])
def test_a_party_name_of_only_invisible_characters_is_taken(client, svc, tokens, name):
    """PROBE: a party named U+3164 (HANGUL FILLER), U+2800 (BRAILLE PATTERN BLANK), U+034F
    (COMBINING GRAPHEME JOINER) or U+FE0F (a variation selector) alone is registered (201): a name
    that prints as nothing on the 告知书, which is what Name was written to refuse ("blank,
    zero-width ... refused").

    Root cause: strict_fields._one_line decides "visible" by general category only: str.strip()
    removes none of these, and they are Lo, So and Mn, not in _INVISIBLE. Fix: require at least one
    character that is a letter, number, mark-bearing base, symbol or punctuation and not one of the
    known fillers/default-ignorables (U+115F, U+1160, U+3164, U+FFA0, U+2800, U+034F, U+FE00-FE0F,
    U+E0100-E01EF), e.g. a `_VISIBLE_BASE` check after removing them."""
    b = body(county(svc)["v"])
    b["parties"][1]["name"] = name
    r = client.post("/api/v1/disputes", json=b, headers=_auth(tokens["clerk"]))
    assert r.status_code == 422 and "parties.1.name" in r.get_json()["error"]["fields"], (r.status_code,
                                                                                           r.get_data(as_text=True)[:200])


@pytest.mark.parametrize("reason", ["\u200b", "\u3164", "\u2060\u200b"], ids=["zwsp", "hangul-filler", "wj-zwsp"])
def test_a_reason_of_only_zero_width_characters_is_taken_as_not_blank(client, svc, tokens, reason):
    """PROBE: 催办 with `reason` a zero-width space (U+200B), a word joiner, or a HANGUL FILLER is done
    (200): Text is meant to refuse a blank required reason, and these print as nothing in the
    timeline, the notice to the agency and the case file.

    Root cause: strict_fields._not_blank tests `value.strip()`, and str.strip() removes Unicode
    whitespace only, not format characters (Cf: U+200B, U+2060, U+FEFF) or fillers. Fix: strip the
    default-ignorable and filler characters too before the blank test (the same set as Name's)."""
    d = register(svc)
    r = client.post(f"/api/v1/disputes/{d['id']}/actions", json={"action": "urge", "reason": reason},
                    headers=_auth(tokens["supervisor"]))
    assert r.status_code == 422, (r.status_code, r.get_data(as_text=True)[:200])


def test_a_party_name_in_a_recently_encoded_ideograph_is_refused(client, svc, tokens):
    """PROBE: a party named 王\\U00031350 (CJK Unified Ideographs Extension H, Unicode 15.0, 2022: the
    extensions are where 生僻字 of personal names get encoded) is refused, 422 "须为一行可见文字".

    Root cause: strict_fields._INVISIBLE includes "Cn" (unassigned), judged by the running Python's
    unicodedata (3.11: Unicode 14.0), which knows nothing after it; Extension H and I (and every
    later addition) are "unassigned" to it. (The same set refuses "Co", the private-use 造字 codes
    that Chinese registration systems still use for characters Unicode lacks.) Fix: do not refuse Cn
    (refuse only the noncharacters U+FDD0-FDEF and U+xFFFE/F), or at least take the CJK ideograph
    planes (U+20000-U+3FFFF) as letters."""
    b = body(county(svc)["v"])
    b["parties"][0]["name"] = "王\U00031350"
    r = client.post("/api/v1/disputes", json=b, headers=_auth(tokens["clerk"]))
    assert r.status_code == 201, (r.status_code, r.get_data(as_text=True)[:200])


# ---------------------------------------------------------------- guards
def test_guard_an_event_for_another_agencys_handoff_answers_as_for_no_handoff(live, svc, agencies):
    """Guard: the handoff_id check (422 on a mismatch) says nothing about another agency's handoff:
    a mismatched body is 422 whether the path's handoff is a stranger's or does not exist, and a
    matching body is 404 for both."""
    theirs = lead_of(post_dispute(live, svc))
    other = next(c for c in svc.ctx.registry().by_code if c != theirs["agency"])
    a = agencies(other)
    answers = []
    for target in (theirs["id"], str(uuid.uuid4())):
        for named in (target, "h-elsewhere"):
            raw = json.dumps({"handoff_id": named, "event_id": str(uuid.uuid4()), "type": "acknowledged"})
            r = live.http.post(f"{live.base}/api/v1/agency/handoffs/{target}/events", data=raw.encode(),
                               headers={**_signed(a, raw), "Content-Type": "application/json"})
            answers.append((r.status_code, r.json()))
    assert [s for s, _ in answers] == [404, 422, 404, 422]
    assert answers[0][1] == answers[2][1] and answers[1][1] == answers[3][1]


def test_guard_an_event_id_reused_on_another_handoff_is_a_conflict(live, svc, agencies):
    """Guard: the idempotency digest covers the path's handoff even though report() pops handoff_id
    from the body: the same event_id on another handoff is 409, not the first handoff's answer."""
    x, y = lead_of(post_dispute(live, svc)), lead_of(post_dispute(live, svc))
    a = agencies(x["agency"])
    assert a.event(x["id"], "acknowledged", event_id="ev-r14b").status_code == 200
    r = a.event(y["id"], "acknowledged", event_id="ev-r14b")
    assert r.status_code == 409, r.text
    assert a.handoff(y["id"]).json()["state"] == y["state"]


def test_guard_a_get_signature_is_bound_to_method_and_exact_query(live, svc, agencies):
    """Guard: a body-less signature names its method and the query exactly as sent: the same GET
    signature on HEAD, or on the same parameters in another order, is 401."""
    lead = lead_of(post_dispute(live, svc))
    a = agencies(lead["agency"])
    head = _signed(a, f"GET /api/v1/agency/handoffs/{lead['id']}")
    assert live.http.head(f"{live.base}/api/v1/agency/handoffs/{lead['id']}", headers=head).status_code == 401
    swapped = _signed(a, "GET /api/v1/agency/feed?limit=10&since=0")
    assert live.http.get(f"{live.base}/api/v1/agency/feed?since=0&limit=10", headers=swapped).status_code == 401
    ok = _signed(a, "GET /api/v1/agency/feed?limit=10&since=0")
    assert live.http.get(f"{live.base}/api/v1/agency/feed?limit=10&since=0", headers=ok).status_code == 200


def test_guard_a_work_order_signed_for_the_hotline_intake_registers_nothing_on_the_referral_intake(live, svc,
                                                                                                   agencies):
    """Guard: a body binds itself by what it says: a 12345 work order (work_order_no) signed for
    POST /intake/hotline and sent to POST /intake/referral (the hotline may refer too) is 422 there,
    nothing registered."""
    hotline = next(c for c, ag in svc.ctx.registry().by_code.items() if ag.body_type == "hotline_12345")
    a = agencies(hotline)
    order = {k: v for k, v in body(county(svc)["v"]).items() if k not in ("source", "source_ref")}
    raw = json.dumps({**order, "work_order_no": "GD-r14b-1"}, ensure_ascii=False)
    r = live.http.post(f"{live.base}/api/v1/intake/referral", data=raw.encode(),
                       headers={**_signed(a, raw), "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert live.get("/api/v1/disputes?per_page=100").json()["items"] == []


def test_guard_strict_fields_take_what_people_and_browsers_send(client, svc, tokens):
    """Guard: Name takes a minority name with its middle dot and Tibetan/Uyghur/Mongolian script,
    a non-BMP ideograph Unicode 14 knows (Extension B); the dispute list's `overdue=true` query flag
    is still taken (a query string has no JSON booleans)."""
    b = body(county(svc)["v"])
    b["parties"][0]["name"] = "买买提·吐尔逊"
    b["parties"][1]["name"] = "བཀྲ་ཤིས་ ئەخمەت ᠪᠠᠲᠤ 𠮷"
    r = client.post("/api/v1/disputes", json=b, headers=_auth(tokens["clerk"]))
    assert r.status_code == 201, r.get_data(as_text=True)[:200]
    r = client.get("/api/v1/disputes?overdue=true&from=2026-11-01", headers=_auth(tokens["supervisor"]))
    assert r.status_code == 200, r.get_data(as_text=True)[:200]

"""Review probes for 29b27cb (free-text PII masking, daily audit anchors).

Each probe marked BUG fails on 29b27cb; the others are regression checks of what held."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, update

from router.domain.personal_text import mask, seal
from router.schemas.agency import AgencyEventIn
from router.schemas.disputes import ActionIn
from router.server import application
from router.services import anchors, audit
from router.store.models import AuditAnchor, AuditCheckpoint, Event, Party, SealedText
from tests.builders import SUPERVISOR, at_once, body, county, events_of, lead_of, register
from tests.e2e.web_client import PASSWORD, csrf_of, intake_form, place, sign_in, window_token
from tests.integration.test_audit_incremental import _rewrite
from tests.probes import witness

PHONE = "13912345678"
PHONE_SAME_MASK = "13900005678"  # masks to 139****5678 as PHONE does
PHONE_MASK = "139****5678"


# ---------------------------------------------------------------- helpers
def in_clear(sent: list[str], number: str) -> list[str]:
    return [p for p in sent if number in p]


def originals(svc: Any, dispute_id: str) -> list[str]:
    return [r["original"] for r in svc.reveal_originals(dispute_id, operator="张主任", to="某区人民法院",
                                                        basis="调取证据通知书")]


def report(svc: Any, h: dict[str, Any], type_: str, **fields: Any) -> dict[str, Any]:
    """An agency report loaded by the API's schema (so free text is sealed), then applied."""
    data = AgencyEventIn().load({"handoff_id": h["id"], "event_id": uuid.uuid4().hex, "type": type_, **fields})
    data.pop("handoff_id")
    return svc.agency_event(h["agency"], h["id"], data)


def _agency_of(svc: Any, body_type: str) -> str:
    centre = svc.ctx.config.divisions.centre.code[:6]
    codes = sorted(c for c, a in svc.ctx.registry().by_code.items() if str(a.body_type) == body_type and a.active)
    return next((c for c in codes if centre in c), codes[0])


@pytest.fixture
def clerk(svc: Any) -> Any:
    svc.add_user("clerk-review", "clerk", PASSWORD)
    c = application(svc).test_client()
    assert sign_in(c, "clerk-review").status_code == 303
    return c


# ================================================================ free text: originals kept
@pytest.mark.parametrize("action", ["close", "withdraw"])
def test_bug_a_supervisors_close_or_withdraw_reason_keeps_its_original(svc, action):
    """BUG: supervision.act composes `("申请人撤回：" if withdraw else "") + reason` and close_dispute
    f-strings it again: the Sealed reason becomes a plain str of the mask before any event sees it,
    so no sealed_texts row is written and the number typed is lost for a lawful request."""
    d = register(svc)
    svc.act(d["id"], ActionIn().load({"action": action, "reason": f"申请人来电{PHONE}要求撤回"}), SUPERVISOR)
    assert all(PHONE not in json.dumps(e.data, ensure_ascii=False) for e in events_of(svc, d["id"]))
    assert any(PHONE in o for o in originals(svc, d["id"])), "the original of the reason was not kept"


@pytest.mark.parametrize("action", ["urge", "escalate", "reroute"])
def test_held_other_supervisor_reasons_keep_their_original(svc, action):
    d = register(svc)
    svc.act(d["id"], ActionIn().load({"action": action, "reason": f"请联系{PHONE}"}), SUPERVISOR)
    assert any(PHONE in o for o in originals(svc, d["id"]))


@pytest.mark.parametrize(("type_", "fields"), [
    ("progress", {"note": f"新电话{PHONE}"}),
    ("progress", {"suspension": {"action": "start", "reason": f"鉴定，联系{PHONE}"}}),
    ("progress", {"extension": {"reason": f"双方同意延期，联系{PHONE}", "period": "5c"}}),
    ("link_request", {"link": {"kind": "assist", "body_type": "police", "reason": f"请民警联系{PHONE}"}}),
    ("outcome", {"outcome": {"result": "agreement", "agreement": {"terms": f"向{PHONE}账户付款", "amount": "10.00"}}}),
    ("outcome", {"outcome": {"result": "failed"}, "note": f"当事人{PHONE}拒绝"}),
])
def test_held_agency_free_text_is_masked_and_its_original_kept(svc, sent, type_, fields):
    d = register(svc)
    h = lead_of(d)
    report(svc, h, "acknowledged")
    report(svc, h, type_, **fields)
    assert not in_clear(sent, PHONE)
    assert any(PHONE in o for o in originals(svc, d["id"]))


# ================================================================ free text: reaching the database in clear
def test_bug_a_referrals_cause_reaches_the_database_in_clear(live, svc, agencies, sent):
    """BUG: ReferralIn's details (CourtDetailsIn.cause 案由, a free-text String) are not Prose: a number
    typed there is stored in disputes.referral and returned in DisputeOut in clear."""
    court = agencies(_agency_of(svc, "court"))
    b = body(county(svc)["v"], "CONTRACT")
    b.pop("source"), b.pop("source_ref")
    b |= {"referral_no": f"R-{uuid.uuid4().hex[:8]}",
          "details": {"case_no": "(2026)浙0681民诉前调1号", "cause": f"买卖合同纠纷（原告电话{PHONE}）"}}
    r = court.request("POST", "/api/v1/intake/referral", b)
    assert r.status_code == 201, r.text
    assert PHONE not in r.text
    assert not in_clear(sent, PHONE), "a number in the referral's 案由 reached the database in clear"


def test_bug_the_reveal_record_stores_numbers_in_its_to_and_basis_in_clear(svc, sent):
    """BUG (minor): `pii originals --to/--basis` are free text written into the pii.revealed event
    unmasked; an operator naming the requester ("当事人本人，电话…") puts a number on the chain in clear."""
    d = register(svc, summary=f"对方电话{PHONE}")
    svc.reveal_originals(d["id"], operator="张主任", to=f"当事人本人（{PHONE_SAME_MASK}）", basis="第45条")
    assert not in_clear(sent, PHONE_SAME_MASK)


# ================================================================ free text: idempotency on the mask
def test_bug_an_agency_report_with_another_number_under_the_same_event_id_is_a_conflict(live, svc, agencies):
    """BUG: record_event hashes the *loaded* body for idempotency, i.e. the mask: two reports under one
    event_id whose numbers differ but mask alike (13912345678 / 13900005678) count as the same request;
    the second is answered 200 with the first answer and its number silently dropped (should be 409).
    The same holds for /intake/referral (`loaded = _plain(...)`)."""
    d = live.post("/api/v1/disputes", body(county(svc)["v"])).json()
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "acknowledged").status_code == 200
    first = a.event(lead["id"], "progress", event_id="ev-review-1", note=f"当事人新电话{PHONE}")
    assert first.status_code == 200, first.text
    other = a.event(lead["id"], "progress", event_id="ev-review-1", note=f"当事人新电话{PHONE_SAME_MASK}")
    assert other.status_code == 409, "another body under the same event_id was taken as a retry"


# ================================================================ free text: detection
@pytest.mark.parametrize("text", [
    "手机号：１３８\u3000００１３\u3000８０００",   # an IME in full-width mode: full-width digits AND spaces
    "电话138\u00a00013\u00a08000",               # pasted from a web page or Word: no-break spaces
])
def test_bug_grouped_numbers_with_full_width_or_no_break_spaces_are_masked(text):
    """BUG: _FOLD maps full-width digits but not the full-width space U+3000 the same IME types between
    groups, and _SEP is only ' ' or '-': the number stays in clear."""
    masked, found = mask(text)
    assert [f.value for f in found] == ["13800138000"], masked


@pytest.mark.parametrize(("text", "masked"), [
    ("电话+86 138 0013 8000。", "电话138****8000。"),
    ("电话13800138000、13900139000", "电话138****8000、139****9000"),
    ("订单号A110105199001011232", "订单号A110***********1232"),
])
def test_held_detection_and_masking_keep_the_text_around(text, masked):
    assert mask(text)[0] == masked


# ================================================================ free text: the store's sealing
def test_bug_flushed_objects_without_an_id_yet_keep_each_original(svc):
    """BUG (latent): before_flush_hook names the place from `obj.id or primary_key_from_instance(obj)`,
    which for an autoincrement row not yet inserted is "None": two such rows in one flush share
    `parties:None:name`, the second original replaces the first (and neither names its row)."""
    d = register(svc)
    with svc.ctx.store.unit_of_work() as uow:
        for i, phone in enumerate((PHONE, PHONE_SAME_MASK)):
            uow.session.add(Party(dispute_id=d["id"], idx=10 + i, role="third_party", kind="person",
                                  name=seal(f"李四{phone}"), consent=True))
        uow.session.flush()
    with svc.ctx.store.read() as s:
        places = s.scalars(select(SealedText.place).where(SealedText.dispute_id == d["id"])).all()
    assert not any(":None:" in p for p in places), places
    kept = originals(svc, d["id"])
    assert any(PHONE in o for o in kept) and any(PHONE_SAME_MASK in o for o in kept), kept


def test_bug_sealed_at_of_a_flushed_value_follows_the_service_clock(svc):
    """BUG (minor): the before_flush path stamps sealed_at with datetime.now(UTC), the unit of work's
    path with the service clock; `pii originals` orders and prints by sealed_at, so a handoff's
    return reason and its own event disagree on when the text was sealed."""
    d = register(svc)
    h = lead_of(d)
    report(svc, h, "acknowledged")
    report(svc, h, "returned", reason=f"当事人已搬走，新电话{PHONE}", reason_code="other", basis="人民调解法第17条")
    found = svc.reveal_originals(d["id"], operator="张主任", to="当事人本人", basis="第45条")
    by_table = {r["place"].split(":")[0]: r["sealed_at"] for r in found}
    assert set(by_table) == {"events", "handoffs"}
    assert by_table["handoffs"] == by_table["events"] == svc.ctx.now()


# ================================================================ free text: telling the clerk
def test_bug_the_window_says_so_when_only_the_refer_to_held_a_number(clerk, svc):
    """BUG (minor): window_post's notice checks summary, disposition.reason and terms, not refer_to
    (告知去向), though refer_to is masked too: the clerk is not told."""
    data = intake_form(svc, window_token(clerk), **{"disposition-type": "not_accepted",
                                                     "disposition-reason_code": "other",
                                                     "disposition-reason": "不属于调解范围",
                                                     "disposition-refer_to": f"请联系某所，电话{PHONE}"})
    r = clerk.post("/window", data=data)
    assert r.status_code == 303, r.text
    assert "已按掩码保存" in clerk.get(r.headers["Location"]).text


def test_bug_the_grid_worker_is_told_numbers_were_masked(svc):
    """BUG (minor): the grid page (网格员上报) stores its summary masked but neither warns on its form
    nor says so after saving, unlike the window."""
    svc.add_user("grid-review", "grid", PASSWORD)
    c = application(svc).test_client()
    assert sign_in(c, "grid-review").status_code == 303
    page = c.get("/grid")
    data = {"csrf_token": csrf_of(page.text), "category": "NEIGHBOUR", "summary": f"对方电话{PHONE}，排水沟堵塞",
            **place(svc), "parties-0-role": "applicant", "parties-0-name": "赵六", "parties-0-phone": "13712345678",
            "parties-0-consent": "1", "parties-1-role": "respondent", "parties-1-name": "钱七",
            "parties-1-consent": "1"}
    r = c.post("/grid", data=data)
    assert r.status_code == 303, r.text
    dispute_id = re.search(r"/grid/done/([^/]+)$", r.headers["Location"]).group(1)
    assert svc.get_dispute(dispute_id)["summary"].startswith(f"对方电话{PHONE_MASK}")
    assert "已按掩码保存" in c.get(r.headers["Location"]).text


# ================================================================ anchors
def test_bug_a_rewrite_re_anchored_at_the_same_seq_fails_the_later_digest(svc):
    """Was a bug: a later anchor could hold another hash for a seq an earlier one holds (a chain
    rewritten before anchor 1, its checkpoint re-signed), and check-anchor of the later digest said
    OK. Now the rewritten head contradicts anchor 1, so it is left out of anchor 2, and the later
    digest still commits to anchor 1's head."""
    d = register(svc)
    assert svc.verify_chain()["ok"]
    first, _ = svc.make_anchor(send=False)
    _rewrite(svc, d["id"], 1)
    with svc.ctx.store.engine.begin() as conn:
        conn.execute(delete(AuditCheckpoint).where(AuditCheckpoint.stream == d["id"]))
    assert svc.verify_chain(full=True)["ok"]
    second, _ = svc.make_anchor(send=False)
    assert d["id"] not in {s for s, _, _ in second["heads"]}  # it contradicts anchor 1: left out
    assert not svc.check_anchor(first["digest"])["ok"]  # caught against the old digest ...
    r = svc.check_anchor(second["digest"])
    assert not r["ok"], "the newest digest vouches for a history that contradicts anchor 1"  # ... not the new


def test_bug_anchored_seq_is_not_authenticated_so_a_moved_chain_can_be_kept_out_of_the_anchor(svc):
    """Was a bug: make() picked what to anchor by a column of the checkpoints no MAC or digest
    covered, so a chain's new head could be kept out of the next anchor. Now what moved is decided
    against the anchors themselves: nothing in the database keeps a moved chain out."""
    d = register(svc)
    assert svc.verify_chain()["ok"]
    svc.make_anchor(send=False)
    svc.act(d["id"], {"action": "urge", "reason": "催办"}, SUPERVISOR)
    assert svc.verify_chain()["ok"]
    second, _ = svc.make_anchor(send=False)
    assert d["id"] in {s for s, _, _ in second["heads"]}
    with svc.ctx.store.read() as s:
        last = s.get(AuditCheckpoint, d["id"]).seq
    _rewrite(svc, d["id"], last)  # the event verified before anchor 2
    key = audit._key(svc.ctx)
    with svc.ctx.store.read() as s:
        head = s.scalar(select(Event.hash).where(Event.stream == d["id"], Event.stream_seq == last))
    with svc.ctx.store.engine.begin() as conn:  # re-signed with the secret
        conn.execute(update(AuditCheckpoint).where(AuditCheckpoint.stream == d["id"])
                     .values(hash=head, mac=audit._mac(key, d["id"], last, head)))
    assert svc.verify_chain(full=True)["ok"]
    assert not svc.check_anchor(second["digest"])["ok"], "a rewrite before anchor 2 passes its digest"


def test_bug_an_anchor_the_witness_refused_is_offered_again_within_the_hour(svc, clock):
    """BUG: docs/audit-chain.md §7 says a refused anchor is offered again every hour, but
    Services.daily_audit returns before anchors.resend unless the day's full check ran: the
    scheduler's hourly call resends nothing for 24 hours."""
    server, got = witness()
    try:
        svc.ctx.settings = replace(svc.ctx.settings, anchor_url="http://127.0.0.1:9/anchors")  # down
        register(svc)
        assert svc.daily_audit()["anchor"]["seq"] == 1
        svc.ctx.settings = replace(svc.ctx.settings, anchor_url=f"http://127.0.0.1:{server.server_port}/anchors")
        for _ in range(2):  # the witness is back; the scheduler asks hourly
            clock.advance(hours=1)
            svc.daily_audit()
        assert [g["seq"] for g in got] == [1]
    finally:
        server.shutdown()


def test_held_schedulers_making_the_daily_anchor_at_once_make_one(svc):
    for _ in range(3):
        register(svc)
    assert svc.verify_chain()["ok"]
    made, errors = at_once(4, lambda: anchors.make(svc.ctx))
    assert not errors and len([a for a in made if a is not None]) == 1
    with svc.ctx.store.read() as s:
        (a,) = s.scalars(select(AuditAnchor)).all()
        assert len(a.heads) == len(s.scalars(select(AuditCheckpoint)).all())
    assert svc.check_anchor(a.digest)["ok"]


def test_held_an_anchor_made_on_a_beijing_clock_rehashes_after_the_round_trip(svc, clock):
    clock.now = clock.now.astimezone(ZoneInfo("Asia/Shanghai")).replace(microsecond=654321)
    register(svc)
    assert svc.verify_chain()["ok"]
    a, _ = svc.make_anchor(send=False)
    assert a["made_at"].endswith(".654321Z")
    assert svc.check_anchor(a["digest"])["ok"]
    assert anchors.digest_of(a["seq"], a["made_at"], a["prev_digest"], a["heads"]) == a["digest"]

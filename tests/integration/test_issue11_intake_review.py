"""Found by the review of 不予受理 / 当场化解 / 并单 (issue 11): each test failed before its fix; the
docstring says what was wrong and why it matters."""

from __future__ import annotations

from typing import Any

import pytest

from router.domain.errors import ValidationError
from router.services.agency import agency_actor
from router.store.models import Outbox
from tests.builders import CLERK, SUPERVISOR, body, command, county, register, unique_person


def _reg(svc, b: dict[str, Any], actor: Any = CLERK) -> dict[str, Any]:
    return svc.register_dispute(command(b), actor)[1]


# ---------------------------------------------------------------- 并单: early warnings
def test_merged_registrations_still_make_a_cluster_warning(svc):
    """router/services/warnings.py:_clusters counts every DisputeFigures row registered in the village
    and category, merged registrations included, while _repeat_parties (same file, l. 93) excludes them
    because "a registration merged into another (并单) is that dispute, not one more" (docs/domain.md
    §8). One dispute registered three times and merged twice raises 同类纠纷聚集 ("7天内登记3件") for
    a single matter: a false early warning to the supervisors, created by the very feature that is
    supposed to remove double counting."""
    b = body(county(svc)["v"])
    first = _reg(svc, b)
    for _ in range(2):
        again = _reg(svc, {**b, "summary": "又来登记：同一漏水"})
        assert again["state"] == "held_duplicate"
        svc.decide_duplicate(again["id"], "merge", "同一纠纷", CLERK)
    svc.refresh_warnings()
    clusters = [sig for sig in svc.warnings_report()["signals"] if sig["kind"] == "cluster"]
    assert clusters == [], f"one dispute ({first['reference']}) counted as a cluster: {clusters}"


# ---------------------------------------------------------------- 并单 and 12345
def _hotline(svc) -> str:
    centre = svc.ctx.config.divisions.centre.code[:6]
    codes = [c for c, a in svc.ctx.registry().by_code.items() if str(a.body_type) == "hotline_12345"]
    return next((c for c in codes if c.startswith(centre)), codes[0])


def test_a_held_12345_work_order_gets_an_untranslated_status(svc):
    """A 12345 work order that repeats an open dispute is held: the transition to `held_duplicate`
    is not a QUIET_STATE (router/services/notices.py:13), so a 工单进度反馈 goes to the hotline, but
    router/adapters/hotline_12345.py:STATUS_ZH (l. 49) has no entry for the new states, and the
    notice's `status_text` (what the hotline operator reads out to the caller) is the raw English
    code "held_duplicate" instead of Chinese."""
    code = _hotline(svc)
    b = body(county(svc)["v"], source="hotline")
    _reg(svc, {**b, "source_ref": "GD-PROBE-1"}, agency_actor(code))
    held = _reg(svc, {**b, "source_ref": "GD-PROBE-2", "summary": "再次来电"}, agency_actor(code))
    assert held["state"] == "held_duplicate"
    with svc.ctx.store.read() as s:
        notes = [o.payload for o in s.query(Outbox).filter(Outbox.dispute_id == held["id"],
                                                          Outbox.kind == "hotline.status").order_by(Outbox.seq)]
    assert notes, "no status notice for the held work order"
    texts = [n["status_text"] for n in notes]
    assert all(t != n["status"] and not t.isascii() for t, n in zip(texts, notes, strict=True)), texts


# ---------------------------------------------------------------- 并单 and personal data
def test_merging_a_family_case_into_another_category_unmasks_its_persons(svc):
    """婚姻家庭 disputes show persons as 张某 to staff (routing.yaml mask_names, docs/domain.md §9,
    router/schemas/disputes.py:81 masks by the *dispute's* category). router/services/merge.py:98
    copies the family case's parties onto the target as they are, and the target (here 邻里纠纷, same
    applicant and respondent) shows them by its own category: the family case's third party (a child,
    say) is now shown by full name on the target's page, list and API, although it was registered
    under a category whose names must be masked."""
    v = county(svc)["v"]
    applicant_id, applicant_phone = unique_person()
    respondent_id, _ = unique_person()
    applicant = {"role": "applicant", "kind": "person", "name": "张三", "id_number": applicant_id,
                 "phone": applicant_phone, "division": v}
    respondent = {"role": "respondent", "kind": "person", "name": "李四", "id_number": respondent_id,
                  "division": v}
    first = _reg(svc, body(v, "NEIGHBOUR", parties=[applicant, respondent]))
    child = {"role": "third_party", "kind": "person", "name": "王小明", "division": v}
    family = _reg(svc, body(v, "MARRIAGE_FAMILY", parties=[applicant, respondent, child]))
    assert family["state"] == "held_duplicate" and "王小明" not in [p["name"] for p in family["parties"]]
    svc.decide_duplicate(family["id"], "merge", "同一家庭矛盾", CLERK)
    names = [p["name"] for p in svc.get_dispute(first["id"])["parties"] if p["merged_from"] == family["id"]]
    assert "王小明" not in names, f"the family case's persons unmasked on {first['reference']}: {names}"


# ---------------------------------------------------------------- dispositions: validation
def test_not_accepted_with_fulfilled_true_is_refused_like_the_other_agreement_fields(svc):
    """router/domain/disposition.py:check_disposition (l. 90) refuses terms, amount and fulfil_by on a
    不予受理 ("belongs to resolved_on_spot") but not `fulfilled`, the fourth 当场化解 field: a body
    saying both "not accepted" and "performed at the window" is stored as not_accepted with no
    complaint, the clerk's contradictory input silently dropped."""
    with pytest.raises(ValidationError) as e:
        register(svc, disposition={"type": "not_accepted", "reason_code": "criminal", "fulfilled": True})
    assert "disposition.fulfilled" in e.value.fields


def test_resolved_on_spot_with_a_not_accepted_reason_is_refused(svc):
    """check_disposition (l. 96) refuses reason_code and refer_to on a 当场化解 but lets `reason`, the
    third 不予受理 field, through: the text is accepted and thrown away (router/services/disposition.py
    never reads it for resolve_on_spot), so a clerk who typed "属诉讼事项" and picked the wrong
    radio button gets an agreement recorded without any warning."""
    with pytest.raises(ValidationError) as e:
        register(svc, disposition={"type": "resolved_on_spot", "terms": "当场和解", "reason": "已起诉至法院"})
    assert e.value.fields


def test_a_split_12345_work_order_gets_a_second_final_reply(svc):
    """router/services/notices.py:14 now sends the 回单 (hotline.reply, "the final reply the hotline
    owes the caller") when a work order's registration becomes `merged`. 拆单 then undoes the merge
    (router/services/merge.py:split) and the same work order routes and is handled on its own; when it
    is closed it gets a second 回单. The hotline thus receives two final replies for one work order (the
    first one, 已并单, false), and nothing in between tells it the first was withdrawn."""
    code = _hotline(svc)
    b = body(county(svc)["v"], source="hotline")
    _reg(svc, {**b, "source_ref": "GD-PROBE-3"}, agency_actor(code))
    held = _reg(svc, {**b, "source_ref": "GD-PROBE-4", "summary": "再次来电"}, agency_actor(code))
    svc.decide_duplicate(held["id"], "merge", "同一纠纷", CLERK)
    svc.decide_duplicate(held["id"], "split", "核实为另一件事", SUPERVISOR)
    svc.act(held["id"], {"action": "close", "reason": "已化解"}, SUPERVISOR)
    with svc.ctx.store.read() as s:
        replies = [o.payload["result"] for o in s.query(Outbox).filter(Outbox.dispute_id == held["id"],
                                                                      Outbox.kind == "hotline.reply")]
    assert len(replies) == 1, f"work order GD-PROBE-4 got {len(replies)} final replies: {replies}"

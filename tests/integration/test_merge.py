"""并单 (docs/domain.md §10): a likely repeat of an open dispute is held, not dispatched; merged, its
parties join the open dispute and both timelines say so; 拆单 undoes it and routes it; confirmed as
another matter, it routes. Matching by the applicant's ID or phone hash, and the respondent or the
category, open disputes of the last 30 days only."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest

from router.domain.errors import NotFound, StateConflict, ValidationError
from router.services.agency import agency_actor
from router.store.models import Delivery, Outbox, Party
from tests.builders import CLERK, SUPERVISOR, body, command, county, events_of, unique_person


def _reg(svc, b: dict[str, Any]) -> dict[str, Any]:
    return svc.register_dispute(command(b), CLERK)[1]


def _pair(svc, **second: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """An open dispute and a second registration of the same applicant; (first, second, second's body)."""
    b = body(county(svc)["v"])
    first = _reg(svc, b)
    b2 = {**b, "summary": "又来登记：楼上漏水", **second}
    return first, _reg(svc, b2), b2


def _offers(svc, dispute_id: str) -> int:
    with svc.ctx.store.read() as s:
        return s.query(Delivery).filter(Delivery.dispute_id == dispute_id).count()


def test_a_repeat_is_held_not_dispatched(svc):
    first, second, _ = _pair(svc)
    assert second["state"] == "held_duplicate" and second["handoffs"] == []
    assert second["duplicate_of"] == {"id": first["id"], "reference": first["reference"]}
    held = events_of(svc, second["id"], "dispute.hold_duplicate", data_only=True)
    assert held[0]["duplicate_of"]["reference"] == first["reference"]
    assert _offers(svc, second["id"]) == 0


@pytest.mark.parametrize("change", ["phone_only", "id_only"])
def test_the_phone_or_the_id_number_alone_finds_the_applicant(svc, change):
    b = body(county(svc)["v"])
    first = _reg(svc, b)
    other_id, other_phone = unique_person()
    a = dict(b["parties"][0])
    if change == "phone_only":
        a["id_number"] = other_id  # the same phone, another ID number
    else:
        a["phone"] = other_phone
    second = _reg(svc, {**b, "parties": [a, b["parties"][1]]})
    assert second["state"] == "held_duplicate" and second["duplicate_of"]["id"] == first["id"]


def test_the_same_respondent_in_another_category_or_another_respondent_in_the_same_category(svc):
    b = body(county(svc)["v"], "NEIGHBOUR")
    first = _reg(svc, b)
    same_respondent = _reg(svc, {**b, "category": "DAMAGES"})
    assert same_respondent["state"] == "held_duplicate"
    other = {"role": "respondent", "kind": "person", "name": "李四"}
    same_category = _reg(svc, {**b, "parties": [b["parties"][0], other]})
    assert same_category["duplicate_of"]["id"] == first["id"] and same_category["state"] == "held_duplicate"
    neither = _reg(svc, {**b, "category": "CONTRACT", "parties": [b["parties"][0], other]})
    assert neither["duplicate_of"] is None and neither["state"] == "handed_off"


def test_a_closed_dispute_or_one_older_than_30_days_is_not_matched(svc, clock):
    b = body(county(svc)["v"])
    first = _reg(svc, b)
    svc.act(first["id"], {"action": "close", "reason": "已化解"}, SUPERVISOR)
    assert _reg(svc, b)["state"] == "handed_off"  # the first is closed: the second routes
    clock.advance(days=31)
    assert _reg(svc, b)["state"] == "handed_off"  # the second is open but 31 days old


def test_merge_appends_the_parties_both_timelines_say_so_and_split_undoes_it(svc):
    b = body(county(svc)["v"])
    first = _reg(svc, b)
    third = {"role": "third_party", "kind": "person", "name": "王五"}
    second = _reg(svc, {**b, "summary": "又来登记", "parties": [*b["parties"], third]})
    merged = svc.decide_duplicate(second["id"], "merge", "同一漏水纠纷", CLERK)
    assert merged["state"] == "merged" and merged["merged_into"] == {"id": first["id"],
                                                                     "reference": first["reference"]}
    assert merged["closure"]["code"] == "merged"
    target = svc.get_dispute(first["id"])
    assert [p["name"] for p in target["parties"]] == ["张三", "某建筑公司", "张三", "某建筑公司", "王五"]
    assert [p["merged_from"] for p in target["parties"]] == [None, None, second["id"], second["id"], second["id"]]
    assert target["state"] == first["state"] and len(target["handoffs"]) == len(first["handoffs"])
    into = events_of(svc, first["id"], "dispute.merged_in", data_only=True)
    assert into[0]["registration"] == {"id": second["id"], "reference": second["reference"]} and into[0]["parties"] == 3
    assert events_of(svc, second["id"], "dispute.merge", data_only=True)[0]["into"]["id"] == first["id"]
    # the same merge again (a retry) answers as the first did and changes nothing
    assert svc.decide_duplicate(second["id"], "merge", "再并一次", CLERK)["state"] == "merged"
    assert len(svc.get_dispute(first["id"])["parties"]) == 5
    assert len(events_of(svc, first["id"], "dispute.merged_in")) == 1
    # 拆单: the copies go, the registration routes as its own dispute
    split = svc.decide_duplicate(second["id"], "split", "核实为另一次漏水", SUPERVISOR)
    assert split["state"] == "handed_off" and split["merged_into"] is None and split["closure"] is None
    assert [p["name"] for p in svc.get_dispute(first["id"])["parties"]] == ["张三", "某建筑公司"]
    assert events_of(svc, first["id"], "dispute.split_out", data_only=True)[0]["parties"] == 3
    assert _offers(svc, second["id"]) >= 1
    assert svc.verify_chain()["ok"]


def test_distinct_routes_it_at_once(svc):
    _, second, _ = _pair(svc)
    d = svc.decide_duplicate(second["id"], "distinct", "另一处房屋的漏水", CLERK)
    assert d["state"] == "handed_off" and d["routing"]["lead"]["agency"] and d["duplicate_of"] is not None
    assert [e.type for e in events_of(svc, second["id"])][:4] == [
        "dispute.registered", "dispute.hold_duplicate", "dispute.confirm_distinct", "dispute.route"]
    with pytest.raises(StateConflict):
        svc.decide_duplicate(second["id"], "distinct", "再确认", CLERK)


def test_merge_checks_the_target_and_the_reason(svc):
    first, second, _ = _pair(svc)
    with pytest.raises(ValidationError):
        svc.decide_duplicate(second["id"], "merge", "  ", CLERK)
    with pytest.raises(NotFound):
        svc.decide_duplicate(second["id"], "merge", "并单", CLERK, into="no-such-dispute")
    with pytest.raises(ValidationError):
        svc.decide_duplicate(second["id"], "merge", "并单", CLERK, into=second["id"])
    with pytest.raises(StateConflict):  # a split of what was never merged
        svc.decide_duplicate(second["id"], "split", "拆单", CLERK)
    svc.act(first["id"], {"action": "close", "reason": "已化解"}, SUPERVISOR)
    with pytest.raises(StateConflict):  # the open dispute closed meanwhile: nothing to merge into
        svc.decide_duplicate(second["id"], "merge", "并单", CLERK)
    assert svc.get_dispute(second["id"])["state"] == "held_duplicate"
    with svc.ctx.store.read() as s:
        assert s.query(Party).filter(Party.merged_from.is_not(None)).count() == 0


def test_two_people_merging_the_same_registration_at_once_merge_it_once(svc):
    """Both get the merged registration (the second finds the first's merge); it is merged once."""
    first, second, _ = _pair(svc)
    results: list[Any] = []

    def go() -> None:
        try:
            results.append(svc.decide_duplicate(second["id"], "merge", "同一纠纷", CLERK)["state"])
        except StateConflict as e:
            results.append(type(e).__name__)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["merged", "merged"]
    assert len(svc.get_dispute(first["id"])["parties"]) == 4
    assert len(events_of(svc, first["id"], "dispute.merged_in")) == 1


def test_the_window_preview_lists_the_open_repeat(svc, clock):
    b = body(county(svc)["v"])
    first = _reg(svc, b)
    assert [x["id"] for x in svc.preview(command(b))["likely_duplicates"]] == [first["id"]]
    clock.advance(days=31)
    assert svc.preview(command(b))["likely_duplicates"] == []


def test_a_merged_12345_work_order_gets_its_reply_when_the_dispute_it_joined_closes(svc):
    codes = [c for c, a in svc.ctx.registry().by_code.items() if str(a.body_type) == "hotline_12345"]
    hotline = agency_actor(codes[0])
    b = body(county(svc)["v"], source="hotline")
    first = svc.register_dispute(command({**b, "source_ref": "GD-1"}), hotline)[1]
    held = svc.register_dispute(command({**b, "source_ref": "GD-2", "summary": "再次来电"}), hotline)[1]
    svc.decide_duplicate(held["id"], "merge", "同一纠纷", CLERK)

    def outbox(kind: str) -> list[dict[str, Any]]:
        with svc.ctx.store.read() as s:
            return [o.payload for o in s.query(Outbox).filter(Outbox.dispute_id == held["id"], Outbox.kind == kind)
                    .order_by(Outbox.seq)]  # in the order they were written (PostgreSQL has no other)

    assert outbox("hotline.reply") == [] and outbox("hotline.status")[-1]["status_text"] == "已并入同一纠纷一并办理"
    svc.act(first["id"], {"action": "close", "reason": "已化解"}, SUPERVISOR)
    replies = outbox("hotline.reply")
    assert len(replies) == 1 and replies[0]["work_order_no"] == "GD-2"
    with pytest.raises(StateConflict):  # the result stands for both: no 拆单 after the close
        svc.decide_duplicate(held["id"], "split", "另一件事", SUPERVISOR)


def test_a_held_repeat_closed_instead_of_merged_is_no_failed_mediation(svc):
    _, second, _ = _pair(svc)
    svc.act(second["id"], {"action": "close", "reason": "重复登记，不再办理"}, SUPERVISOR)
    day = date(2026, 11, 23)
    k = {x["code"]: x for x in svc.kpi_report({"from_": day, "to": day})["kpis"]}
    assert k["concluded"]["value"] == 0

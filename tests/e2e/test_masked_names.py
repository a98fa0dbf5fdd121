"""routing.yaml `mask_names`: a family case shows its persons as 张某 to staff, in the dispute and in
lists; the body that receives the referral sees the real names, as it must contact the parties."""

from __future__ import annotations


def _family_case(svc):
    village = sorted(d.code for d in svc.ctx.config.divisions.by_code.values() if d.level == "village")[0]
    return {"source": "walk_in", "category": "MARRIAGE_FAMILY", "summary": "离婚后子女抚养费纠纷", "division": village,
            "parties": [{"role": "applicant", "name": "张三", "phone": "13800138000"},
                        {"role": "respondent", "name": "欧阳娜娜"},
                        {"role": "third_party", "kind": "organization", "name": "某街道妇联"}]}


def test_family_case_names_are_masked_for_staff_and_shown_to_the_receiving_body(live, svc, agencies):
    r = live.post("/api/v1/disputes", _family_case(svc))
    assert r.status_code == 201, r.text
    d = r.json()
    assert [p["name"] for p in d["parties"]] == ["张某", "欧阳某", "某街道妇联"]
    assert [p["name"] for p in live.get(f"/api/v1/disputes/{d['id']}").json()["parties"]] == ["张某", "欧阳某",
                                                                                             "某街道妇联"]
    listed = live.get("/api/v1/disputes?category=MARRIAGE_FAMILY").json()["items"]
    assert [p["name"] for p in listed[0]["parties"]] == ["张某", "欧阳某", "某街道妇联"]
    lead = next(h for h in d["handoffs"] if h["role"] == "lead")
    referral = agencies(lead["agency"]).handoff(lead["id"]).json()["referral"]
    assert [p["name"] for p in referral["parties"]] == ["张三", "欧阳娜娜", "某街道妇联"]


def test_other_categories_show_names(live, svc):
    r = live.post("/api/v1/disputes", {**_family_case(svc), "category": "NEIGHBOUR"})
    assert [p["name"] for p in r.json()["parties"]][:2] == ["张三", "欧阳娜娜"]

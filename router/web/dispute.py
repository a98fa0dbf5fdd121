"""The dispute page (any staff): facts, masked parties, the routing reasons, the handoffs against their
deadlines (a Gantt, and the same spans as a table), every event, and this dispute's chain status;
supervisors also get their actions. And the printable 受理回执."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Response, g

from router.domain.linkage import LINK_KIND_ZH
from router.domain.model import EVENT_ZH, ROLE_ZH
from router.web.actions import available_actions
from router.web.blueprint import web
from router.web.pages import page
from router.web.session import requires, svc
from router.workflows.link import LINK

# How an inbound referral's family fields read on the page.
REFERRAL_FIELD_ZH = {"case_no": "案号", "cause": "案由", "mediation_days": "委托调解期限（日）",
                     "incident_no": "警情编号", "violence": "涉及暴力", "petition_no": "信访件编号",
                     "notify_by": "受理告知期限"}


def _gantt(timeline: dict[str, Any], names: dict[str, str], now: datetime) -> list[dict[str, Any]]:
    """One bar per placement: from its offer to its end (or now), with its two deadlines."""
    return [{"label": f"{i + 1}. {names.get(s['agency'], s['agency'])}（{ROLE_ZH.get(s['role'], s['role'])}）",
             "start": s["offered"],
             "end": s["ended"] or s["closed"] or now.isoformat(), "ack_due": s["ack_due"],
             "handle_due": s["handle_due"], "sla": s["sla"], "state": s["state"]}
            for i, s in enumerate(timeline["spans"])]


def dispute_context(dispute_id: str) -> dict[str, Any]:
    """Everything the dispute page shows; supervisors also see the timeline, the chain and actions."""
    s = svc()
    d = s.get_dispute(dispute_id, g.user)
    supervisor = g.user.role in ("supervisor", "admin")
    timeline = s.timeline(dispute_id, g.user) if supervisor else None
    names = s.agency_names()
    cat = s.ctx.config.ruleset.categories.get(d["category"])
    tree = s.ctx.config.divisions
    paper = s.paper_agencies()  # one query, not one per handoff
    return {"d": d, "timeline": timeline, "names": names, "event_zh": EVENT_ZH, "link_kind_zh": LINK_KIND_ZH,
            "referral_field_zh": REFERRAL_FIELD_ZH,
            "link_state_zh": LINK.state_names_zh,
            "nav": "supervise" if supervisor else "window", "category_name": cat.name if cat else d["category"],
            "place": " / ".join(x.name for x in tree.path(d["division"])[1:]),
            "gantt": json.dumps(_gantt(timeline, names, s.ctx.now()), ensure_ascii=False) if timeline else "[]",
            "chain": s.verify_dispute_chain(dispute_id, g.user) if supervisor else None,
            "actions": available_actions(d) if supervisor else [],
            "paper": [h for h in d["handoffs"] if h["state"] in ("offered", "delivered")
                      and h["agency"] in paper],
            "paper_notices": (s.paper_notices(dispute_id, g.user) if paper & {h["agency"] for h in d["handoffs"]}
                              else []),
            "agencies": sorted(names.items(), key=lambda kv: kv[0]) if supervisor else []}


@web.get("/disputes/<dispute_id>")
@requires("clerk", "supervisor", "admin", "follow_up")
def dispute(dispute_id: str) -> Response:
    return page("dispute/page.html", **dispute_context(dispute_id))


@web.get("/disputes/<dispute_id>/receipt")
@requires("clerk", "supervisor", "admin")
def receipt(dispute_id: str) -> Response:
    s = svc()
    d = s.get_dispute(dispute_id, g.user)
    leads = [h for h in d["handoffs"] if h["role"] == "lead"]
    lead = leads[-1] if leads else None  # the current lead: after a re-route, not the first one
    names = s.agency_names()
    cat = s.ctx.config.ruleset.categories.get(d["category"])
    return page("dispute/receipt.html", d=d, lead=lead, lead_name=names.get(lead["agency"], lead["agency"]) if lead
                else None, category_name=cat.name if cat else d["category"], nav="window")


@web.get("/disputes/<dispute_id>/notice")
@requires("clerk", "supervisor", "admin")
def notice(dispute_id: str) -> Response:
    """不予受理告知书: the reason, its basis and where the party should go instead, to print and hand over."""
    s = svc()
    d = s.get_dispute(dispute_id, g.user)
    if d["state"] != "not_accepted" or not d.get("closure"):
        return page("error.html", 409, title="没有不予受理告知书", message="本纠纷已受理，没有不予受理告知书。")
    cat = s.ctx.config.ruleset.categories.get(d["category"])
    return page("dispute/notice.html", d=d, c=d["closure"], category_name=cat.name if cat else d["category"],
                nav="window")


@web.get("/disputes/<dispute_id>/archive")
@requires("supervisor", "admin")
def case_file(dispute_id: str) -> Response:
    """一案一卷: the same zip as the API's, for a signed-in supervisor."""
    bundle, name = svc().case_file(dispute_id, g.user)
    return Response(bundle, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

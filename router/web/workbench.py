"""The supervisors' workbench (督办台): the queues first, with counts on each tab, filters and sorting in
the URL, refreshed every 60 seconds ("数据更新于 hh:mm"), and each line's actions in a dialog."""

from __future__ import annotations

from typing import Any

from flask import Response, g, request, url_for

from router.domain.errors import ValidationError
from router.domain.model import TIER_NAMES_ZH, Tier
from router.services.queues import QUEUES, QueueFilter
from router.services.scope import scope_of
from router.web.actions import available_actions
from router.web.blueprint import web
from router.web.pages import page, page_or_fragment
from router.web.session import requires, svc

TABS = {"needs_supervisor": "待督办指定", "overdue": "超期", "due_today": "临期·今天", "due_tomorrow": "临期·明天",
        "due_week": "临期·本周", "undeliverable": "无法送达", "follow_up": "待回访", "duplicates": "疑似重复",
        "links": "联动申请", "unfulfilled": "逾期未履行",
        "warnings": "预警"}
COLUMNS = (("reference", "受理编号"), ("category", "类别"), ("agency", "承办单位"), ("due", "期限"),
           ("updated", "更新时间"))
FILTERS = ("queue", "agency", "tier", "category", "division", "sort", "page")


def _page(text: str | None) -> int:
    if not text:
        return 1
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 100000:
        raise ValidationError("页码应为1到100000之间的整数", "page must be 1 to 100000", field="page")
    return int(text)


def queue_context(args: Any) -> dict[str, Any]:
    """A queue's page; 预警 lists the early-warning signals (docs/reports.md §5) beside the queues."""
    s = svc()
    wanted = args.get("queue") or "overdue"
    f = QueueFilter(queue="overdue" if wanted == "warnings" else wanted, agency=args.get("agency") or None,
                    tier=args.get("tier") or None, category=args.get("category") or None,
                    division=args.get("division") or None, sort=args.get("sort") or "due",
                    page=_page(args.get("page")))
    q = s.queue(f, g.user)
    signals = s.warnings_report(viewer=g.user)
    q["counts"]["warnings"] = signals["total"]
    if wanted == "warnings":
        q.update(queue="warnings", items=[], total=signals["total"], page=1)
    config = s.ctx.config
    towns = [d for d in sorted(config.divisions.by_code.values(), key=lambda d: d.code)
             if d.level in ("district", "town") and scope_of(g.user).allows(d.code)]
    here = {k: args.get(k) for k in FILTERS if args.get(k)}
    for item in q["items"]:  # the line's actions: a handoff's own, the dispute's only on its lead's line
        item["actions"] = available_actions({"state": item["dispute_state"], "handoffs": [
            {"state": item["handoff_state"] or ""}]}, in_queue=True, lead_line=item["role"] in (None, "lead"))
    return {"q": q, "f": f, "tabs": TABS, "columns": COLUMNS, "here": here, "nav": "supervise",
            "back": url_for("web.supervise", **here),
            "categories": [(c.code, c.name) for c in config.ruleset.categories.values()],
            "tiers": [(str(t), TIER_NAMES_ZH[t]) for t in Tier], "divisions": [(d.code, d.name) for d in towns],
            "agencies": sorted(s.agency_names().items()), "names": s.agency_names(),
            "signals": signals["signals"] if wanted == "warnings" else []}


@web.get("/supervise")
@requires("supervisor", "admin")
def supervise() -> Response:
    if request.args.get("queue") and request.args["queue"] not in (*QUEUES, "warnings"):
        return page("error.html", 404, title="没有这个队列", message="请从督办台的标签进入。")
    try:
        return page_or_fragment("supervise/queues.html", "queue", **queue_context(request.args))
    except ValidationError as e:
        return page("error.html", 422, title="筛选条件有误", message=e.message_zh)

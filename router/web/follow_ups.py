"""回访 for follow-up staff and clerks (docs/domain.md §8): the 待回访 list by due date, and the visit
recorded on the dispute page (supervisors record it in their action dialog)."""

from __future__ import annotations

from flask import Response, flash, g, redirect, request

from router.domain.errors import DomainError, StateConflict, ValidationError
from router.domain.model import SATISFACTION_ZH
from router.domain.personal_text import masked_zh, seal
from router.web.blueprint import web
from router.web.dispute import dispute_context
from router.web.pages import page
from router.web.session import requires, svc

VISITORS = ("follow_up", "clerk", "supervisor", "admin")
DONE = {"satisfied": "已登记回访（满意），纠纷办结", "basically_satisfied": "已登记回访（基本满意），纠纷办结",
        "dissatisfied": "已登记回访（不满意），已重办：原承办单位重新办理"}


@web.get("/follow-ups")
@requires(*VISITORS)
def follow_ups() -> Response:
    q = svc().follow_up_queue(viewer=g.user, page=max(1, request.args.get("page", 1, type=int) or 1))
    return page("follow_ups.html", q=q, nav="follow_ups")


@web.post("/disputes/<dispute_id>/follow-up")
@requires(*VISITORS)
def record_follow_up(dispute_id: str) -> Response:
    f = request.form
    satisfaction, reason = f.get("satisfaction", ""), seal(f.get("reason", "").strip())
    errors: dict[str, list[str]] = {}
    if satisfaction not in SATISFACTION_ZH:
        errors["satisfaction"] = ["请选择满意度"]
    if not reason:
        errors["reason"] = ["请填写回访情况"]
    if not errors:
        try:
            note = seal(f.get("note", "").strip()) or None
            svc().record_follow_up(dispute_id, {"satisfaction": satisfaction, "reason": reason,
                                                "relapse": f.get("relapse") in ("1", "on"), "note": note}, g.user)
        except ValidationError as e:
            errors[e.field if e.field in ("reason", "satisfaction") else "visit"] = [e.message_zh]
        except (StateConflict, DomainError) as e:
            errors["visit"] = [e.message_zh]
    if errors:
        return page("dispute/page.html", 409 if "visit" in errors else 422, visit_errors=errors,
                    **dispute_context(dispute_id))
    flash("已登记回访，发现复发，已转督办人员" if f.get("relapse") in ("1", "on") else DONE[satisfaction])
    if masked := masked_zh(reason, note):
        flash(masked)
    return redirect(f"/disputes/{dispute_id}", code=303)

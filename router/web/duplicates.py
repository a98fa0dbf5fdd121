"""并单 on the dispute page (docs/domain.md §8): a clerk or a supervisor merges a held registration
into the open dispute, confirms it is another matter (it routes at once), or undoes a merge (拆单).
A plain form post that redirects back; the errors come back beside the reason field, in Chinese."""

from __future__ import annotations

from flask import Response, flash, g, redirect, request

from router.domain.errors import DomainError, StateConflict, ValidationError
from router.web.blueprint import web
from router.web.dispute import dispute_context
from router.web.pages import page
from router.web.session import requires, svc

DONE_ZH = {"merge": "已并单", "distinct": "已确认不是同一纠纷，已分流办理", "split": "已拆单，已作为新纠纷分流办理"}


@web.post("/disputes/<dispute_id>/duplicate")
@requires("clerk", "supervisor", "admin")
def duplicate_decision(dispute_id: str) -> Response:
    decision = request.form.get("decision", "")
    reason = request.form.get("reason", "").strip()
    errors: dict[str, list[str]] = {}
    if decision not in DONE_ZH:
        errors["decision"] = ["请选择并单、确认非重复或拆单"]
    elif not reason:
        errors["reason"] = ["请填写理由"]
    else:
        try:
            svc().decide_duplicate(dispute_id, decision, reason, g.user, request.form.get("into") or None)
        except ValidationError as e:
            errors[e.field if e.field in ("reason", "into") else "decision"] = [e.message_zh]
        except (StateConflict, DomainError) as e:
            errors["decision"] = [e.message_zh]
    if errors:
        return page("dispute/page.html", 409 if "decision" in errors else 422, duplicate_errors=errors,
                    **dispute_context(dispute_id))
    flash(DONE_ZH[decision])
    return redirect(f"/disputes/{dispute_id}", code=303)

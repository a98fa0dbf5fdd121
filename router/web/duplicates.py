"""The window's decisions on the dispute page (docs/domain.md §7-8): 并单 (a clerk or a supervisor
merges a held registration into the open dispute, confirms it is another matter so it routes, or
undoes a merge: 拆单) and 补正 (completing what a lead returned as incomplete). Plain form posts that
redirect back; errors come back beside their field, in Chinese."""

from __future__ import annotations

from flask import Response, flash, g, redirect, request

from router.domain.errors import DomainError, StateConflict, ValidationError
from router.domain.personal_text import masked_zh, seal
from router.web.blueprint import web
from router.web.dispute import dispute_context
from router.web.pages import page
from router.web.session import requires, svc

DONE_ZH = {"merge": "已并单", "distinct": "已确认不是同一纠纷，已分流办理", "split": "已拆单，已作为新纠纷分流办理"}


@web.post("/disputes/<dispute_id>/duplicate")
@requires("clerk", "supervisor", "admin")
def duplicate_decision(dispute_id: str) -> Response:
    decision = request.form.get("decision", "")
    reason = seal(request.form.get("reason", "").strip())
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
    if masked := masked_zh(reason):
        flash(masked)
    return redirect(f"/disputes/{dispute_id}", code=303)


@web.post("/disputes/<dispute_id>/completion")
@requires("clerk", "supervisor", "admin")
def completion(dispute_id: str) -> Response:
    """补正完毕 from the dispute page: the note, then the same body is offered the dispute again."""
    note = seal(request.form.get("note", "").strip())
    errors: dict[str, list[str]] = {}
    if not note:
        errors["note"] = ["请写明补正了哪些材料或情况"]
    else:
        try:
            svc().complete_registration(dispute_id, note, g.user)
        except ValidationError as e:
            errors["note"] = [e.message_zh]
        except (StateConflict, DomainError) as e:
            errors["completion"] = [e.message_zh]
    if errors:
        return page("dispute/page.html", 409 if "completion" in errors else 422, completion_errors=errors,
                    **dispute_context(dispute_id))
    flash("已补正，已重新推送承办单位")
    if masked := masked_zh(note):
        flash(masked)
    return redirect(f"/disputes/{dispute_id}", code=303)

"""Paper agencies on the dispute page (docs/agency-guide.md §1): print the 委托函 a clerk hands over,
and record who at the agency took it and when, which is the handoff's delivery."""

from __future__ import annotations

from datetime import datetime

from flask import Response, flash, g, redirect, request
from marshmallow import ValidationError as SchemaError

from router.domain.errors import DomainError, NotFound, StateConflict, ValidationError
from router.schemas.disputes import PaperHandoverIn
from router.schemas.messages import flatten
from router.web.blueprint import web
from router.web.dispute import dispute_context
from router.web.pages import page
from router.web.session import requires, svc

_HANDOVER = PaperHandoverIn()


@web.get("/disputes/<dispute_id>/handoffs/<handoff_id>/letter")
@requires("clerk", "supervisor", "admin")
def paper_letter(dispute_id: str, handoff_id: str) -> Response:
    """委托函 to print; it shows the parties unmasked (the agency needs them), so opening it is audited."""
    try:
        letter = svc().paper_letter(dispute_id, handoff_id, g.user)
    except NotFound:
        return page("error.html", 404, title="移交不存在", message="没有这个移交，或您无权查看。")
    except StateConflict as e:
        return page("error.html", 409, title="不能打印委托函", message=e.message_zh)
    return page("dispute/letter.html", title="委托函", letter=letter, r=letter["referral"], nav="window")


@web.post("/disputes/<dispute_id>/handoffs/<handoff_id>/paper-handover")
@requires("clerk", "supervisor", "admin")
def paper_handover(dispute_id: str, handoff_id: str) -> Response:
    form: dict[str, object] = {k: v.strip() for k, v in request.form.items() if k in _HANDOVER.fields and v.strip()}
    form["acknowledged"] = form.get("acknowledged") in ("1", "on", "true")
    errors: dict[str, list[str]] = {}
    try:
        if form.get("received_at"):  # the browser's datetime-local has no offset: it is Beijing time
            tz = svc().ctx.config.calendar.tz
            form["received_at"] = datetime.fromisoformat(str(form["received_at"])).replace(tzinfo=tz).isoformat()
        data = _HANDOVER.load(form)
        svc().record_paper_handover(dispute_id, handoff_id, data["received_by"], data.get("received_at"), g.user,
                                    data["acknowledged"])
    except SchemaError as e:
        errors = flatten(e.messages, zh=True)
    except ValueError:
        errors = {"received_at": ["不是有效的时间。"]}
    except NotFound:
        return page("error.html", 404, title="移交不存在", message="没有这个移交，或您无权查看。")
    except ValidationError as e:
        errors = {e.field or "received_by": [e.message_zh]}
    except (StateConflict, DomainError) as e:
        errors = {"handover": [e.message_zh]}
    if errors:
        return page("dispute/page.html", 422, handover_errors=errors, handover_id=handoff_id,
                    **dispute_context(dispute_id))
    flash("已登记纸质移交，视为送达" + ("，并已代为登记签收" if form["acknowledged"] else ""))
    return redirect(f"/disputes/{dispute_id}", code=303)


@web.post("/disputes/<dispute_id>/notices/<delivery_id>/handover")
@requires("clerk", "supervisor", "admin")
def notice_handover(dispute_id: str, delivery_id: str) -> Response:
    """A held notice (催办, 撤回 ...) passed on to a paper agency: who took it."""
    try:
        svc().record_notice_handover(dispute_id, delivery_id, request.form.get("received_by", ""), g.user)
    except NotFound:
        return page("error.html", 404, title="通知不存在", message="没有这个通知，或您无权查看。")
    except ValidationError as e:
        return page("dispute/page.html", 422, notice_errors={delivery_id: [e.message_zh]},
                    **dispute_context(dispute_id))
    except (StateConflict, DomainError) as e:
        return page("dispute/page.html", 409, notice_errors={delivery_id: [e.message_zh]},
                    **dispute_context(dispute_id))
    flash("已登记通知转交")
    return redirect(f"/disputes/{dispute_id}", code=303)

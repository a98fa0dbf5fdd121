"""网格员上报 (docs/domain.md §10): a phone-sized page for grid workers: what happened, where, who, the
risks, and 当场化解 when it was settled on the spot. The same intake as the window (the same form
fields, schema and errors beside each field), registered as source `grid`."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, flash, g, redirect, request, url_for

from router.domain.errors import DomainError, NotFound, StateConflict, ValidationError
from router.domain.model import RISK_ZH, RiskFlag
from router.domain.personal_text import masked_zh, warning_zh
from router.services.idempotency import request_hash
from router.web.blueprint import web
from router.web.forms import IntakeForm
from router.web.pages import page
from router.web.session import requires, svc
from router.web.window import places

GRID_ROLES = ("grid", "admin")


def _context(form: IntakeForm, **extra: Any) -> dict[str, Any]:
    config = svc().ctx.config
    v = form.values
    return {"form": form, "nav": "grid", "categories": [(c.code, c.name) for c in config.ruleset.categories.values()],
            "risks": [(str(r), RISK_ZH.get(str(r), str(r))) for r in RiskFlag],
            "places": places(v.get("district", ""), v.get("town", ""), v.get("village", "")),
            "submission": request.form.get("submission") or uuid.uuid4().hex,
            "summary_warning": warning_zh(v.get("summary")), **extra}


@web.get("/grid")
@requires(*GRID_ROLES)
def grid() -> Response:
    return page("grid/form.html", **_context(IntakeForm.blank()))


@web.post("/grid")
@requires(*GRID_ROLES)
def grid_post() -> Response:
    form = IntakeForm.read(request.form)
    form.values["source"] = "grid"
    on_spot = request.form.get("on_spot") == "1"  # the only decision a grid worker makes (never 不予受理)
    form.values["disposition"] = {**form.values.get("disposition", {}), "type": "resolved_on_spot",
                                  "fulfilled": True} if on_spot else {"type": "route"}
    cmd = form.command()
    if cmd is None or form.errors:
        return page("grid/form.html", 422, **_context(form))
    try:
        _, view = svc().register_dispute(cmd, g.user, idempotency_key=f"grid:{request.form.get('submission')}",
                                         body_hash=request_hash(form.body))
    except ValidationError as e:
        form.place_domain_error(e)
        return page("grid/form.html", 422, **_context(form))
    except (StateConflict, DomainError) as e:
        form.errors.setdefault("_form", []).append(e.message_zh)
        return page("grid/form.html", 409, **_context(form))
    if masked := masked_zh(cmd.summary, cmd.disposition and cmd.disposition.terms):
        flash(masked)
    return redirect(url_for("web.grid_done", dispute_id=view["id"]), code=303)


@web.get("/grid/done/<dispute_id>")
@requires(*GRID_ROLES)
def grid_done(dispute_id: str) -> Response:
    d = svc().get_dispute(dispute_id, g.user)
    if d.get("created_by") != g.user.id and g.user.role != "admin":  # only what this worker reported
        raise NotFound("纠纷不存在", "no such dispute")
    return page("grid/done.html", d=d, nav="grid")

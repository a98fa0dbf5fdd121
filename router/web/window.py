"""The intake window (受理窗口): register a dispute on one page, preview its routing, print the receipt
(受理回执), see today's registrations and look a case up. Every flow works without JavaScript (the
form posts and redirects); htmx only saves round trips."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import Response, flash, g, redirect, request, url_for

from router.domain.clocks import URGENCY_ZH
from router.domain.disposition import NOT_ACCEPTED_REASONS
from router.domain.errors import DomainError, StateConflict, ValidationError
from router.domain.model import (
    PARTY_KIND_ZH,
    PARTY_ROLE_ZH,
    RISK_ZH,
    SOURCE_ZH,
    WISH_ZH,
    Feature,
    PartyKind,
    PartyRole,
    RiskFlag,
    Source,
    Wish,
)
from router.domain.personal_text import masked_zh, warning_zh
from router.domain.sharing import SHARING_BASIS_ZH
from router.services.idempotency import request_hash
from router.services.scope import Scope, scope_of
from router.web.blueprint import web
from router.web.forms import IntakeForm
from router.web.pages import FEATURE_ZH, fragment, is_htmx, page, page_or_fragment
from router.web.session import requires, svc

WINDOW_ROLES = ("clerk", "admin")


@dataclass(frozen=True)
class Places:
    """The 区县 / 乡镇（街道） / 村（社区） lists, narrowed by what is chosen."""

    district: str
    town: str
    village: str
    districts: list[Any]
    towns: list[tuple[str, list[Any]]]
    villages: list[tuple[str, list[Any]]]


def places(district: str = "", town: str = "", village: str = "") -> Places:
    tree = svc().ctx.config.divisions
    if town and not district:
        district = (tree.get(town).parent or "") if tree.get(town) else ""
    scope = scope_of(g.get("user"))

    def mine(d: Any) -> bool:  # in the user's scope, or on the way down to it
        return scope.allows(d.code) or Scope(d.code).allows(scope.division)
    districts = [d for d in tree.by_code.values() if d.level == "district" and mine(d)]
    districts.sort(key=lambda d: (not d.code.startswith(tree.centre.code[:6]), d.code))
    shown = [d for d in districts if not district or d.code == district]
    towns = [(d.name, [t for t in tree.children(d.code) if mine(t)]) for d in shown]
    town_list = [t for _, ts in towns for t in ts if not town or t.code == town]
    villages = [(t.name, vs) for t in town_list if (vs := [v for v in tree.children(t.code) if mine(v)])]
    return Places(district, town, village, districts, towns, villages)


def _options(ctx_names: dict[str, str], enum: Any) -> list[tuple[str, str]]:
    return [(str(e), ctx_names.get(str(e), str(e))) for e in enum]


def _context(form: IntakeForm, *, preview: dict[str, Any] | None = None, already: dict[str, Any] | None = None,
             fresh: bool = False) -> dict[str, Any]:
    config = svc().ctx.config
    tree = config.divisions
    categories = [(c.code, c.name) for c in config.ruleset.categories.values()]
    residences = [(d.code, " / ".join(x.name for x in tree.path(d.code)[1:])) for d in
                  sorted(tree.by_code.values(), key=lambda d: d.code) if d.level in ("town", "village")]
    v = form.values
    submission = None if fresh else request.form.get("submission")
    return {"form": form, "preview": preview, "already": already, "nav": "window", "submission": submission
            or uuid.uuid4().hex, "sources": _options(SOURCE_ZH, Source), "categories": categories,
            "category_names": dict(categories), "wishes": _options(WISH_ZH, Wish), "risks": _options(RISK_ZH, RiskFlag),
            "features": _options(FEATURE_ZH, Feature),
            "not_accepted_reasons": [(str(code), t.text) for code, t in NOT_ACCEPTED_REASONS.items()],
            "urgencies": [(str(u), zh) for u, zh in URGENCY_ZH.items()],
            "sharing_bases": [(str(b), zh) for b, zh in SHARING_BASIS_ZH.items()],
            "party_roles": _options(PARTY_ROLE_ZH, PartyRole), "party_kinds": _options(PARTY_KIND_ZH, PartyKind),
            "residences": residences, "places": places(v.get("district", ""), v.get("town", ""), v.get("village", "")),
            "today": svc().registered_by(g.user), "to_complete": svc().completion_queue(g.user),
            "summary_warning": warning_zh(v.get("summary"))}


def _check_place(form: IntakeForm) -> None:
    """The chosen village must lie in the chosen town, the town in the chosen district."""
    tree = svc().ctx.config.divisions
    v = form.values
    chain = [c for c in (v["district"], v["town"], v["village"]) if c]
    for outer, inner in zip(chain, chain[1:], strict=False):
        d = tree.get(inner)
        if d is None or d.parent != outer:
            form.errors.setdefault("place", []).append("所选村（社区）或乡镇（街道）不在所选上级区划内")
            return
    if not chain:
        form.errors.setdefault("place", []).append("请选择纠纷发生地")


@web.get("/window")
@requires(*WINDOW_ROLES)
def window() -> Response:
    return page("window/form.html", **_context(IntakeForm.blank()))


@web.post("/window")
@requires(*WINDOW_ROLES)
def window_post() -> Response:
    form = IntakeForm.read(request.form)
    action = request.form.get("action", "submit")
    if action == "add_party":
        form.add_party()
        return page_or_fragment("window/form.html", "intake", **_context(form))
    cmd = form.command()
    _check_place(form)
    if cmd is None or form.errors:
        return page_or_fragment("window/form.html", "intake", 422, **_context(form))
    key = f"web:{request.form.get('submission')}"
    try:
        if action == "preview":
            return page_or_fragment("window/form.html", "intake", **_context(form, preview=svc().preview(cmd, g.user)))
        # The form's own submission id makes a double click or a resend register it once.
        _, view = svc().register_dispute(cmd, g.user, idempotency_key=key, body_hash=request_hash(form.body))
    except StateConflict as e:
        if e.field == "Idempotency-Key" and (first := svc().first_registration(g.user, key)) is not None:
            return page_or_fragment("window/form.html", "intake", 409, **_context(form, already=first, fresh=True))
        form.errors.setdefault("_form", []).append(e.message_zh)
        return page_or_fragment("window/form.html", "intake", 409, **_context(form))
    except ValidationError as e:
        form.place_domain_error(e)
        return page_or_fragment("window/form.html", "intake", 422, **_context(form))
    except DomainError as e:
        form.errors.setdefault("_form", []).append(e.message_zh)
        return page_or_fragment("window/form.html", "intake", 409, **_context(form))
    if masked := masked_zh(cmd.summary, cmd.disposition and (cmd.disposition.reason, cmd.disposition.terms,
                                                             cmd.disposition.refer_to)):
        flash(masked)
    target = url_for("web.receipt", dispute_id=view["id"])
    if is_htmx():
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target, code=303)


@web.post("/window/text-check", endpoint="text_check")
@requires(*WINDOW_ROLES, "grid")
def text_check() -> Response:
    """htmx, as the clerk types the summary: the warning beside it when it holds an ID or mobile number."""
    return fragment("window/form.html", "summary_warning", summary_warning=warning_zh(request.form.get("summary")))


@web.get("/window/places", endpoint="places")
@requires(*WINDOW_ROLES, "grid")
def places_view() -> Response:
    a = request.args
    return fragment("window/places.html", "places", form=IntakeForm.blank(),
                    places=places(a.get("district", ""), a.get("town", ""), a.get("village", "")))


@web.route("/window/lookup", methods=["GET", "POST"])
@requires("clerk", "supervisor", "admin")
def lookup() -> Response:
    """A POST, so an ID number or a phone never lands in a URL (history, proxy logs, `next=`)."""
    q = request.form.get("q", "").strip() if request.method == "POST" else ""
    return page("window/lookup.html", q=q, results=svc().lookup(q, viewer=g.user) if q else [], nav="window",
                category_names={c.code: c.name for c in svc().ctx.config.ruleset.categories.values()})

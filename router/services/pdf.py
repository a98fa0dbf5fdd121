"""The PDFs: the 一案一卷 case file (docs/reports.md §8) and the 研判 digest (§6), in Chinese, laid out by
WeasyPrint from Jinja templates (router/services/templates/), with Debian's Noto CJK fonts embedded
(subset) so they print the same anywhere; 第 N 页 共 M 页 on every page.

The case file: cover (卷名, 卷号), 卷内目录 with page numbers, 受理登记表, routing reasons, every handoff,
agreement, judicial confirmation, fulfilment, follow-up visits, closure and every event.
"""

from __future__ import annotations

import importlib
import logging
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from router.domain.model import CLOSURE_ZH, EVENT_ZH
from router.services.context import ServiceContext
from router.services.zh import NAMES, local_time, name_filters

log = logging.getLogger(__name__)
# What an event's data says in a sentence, for the event list (the rest is in events.json).
NOTE_KEYS = ("reason", "note", "returned_reason", "basis", "why")

_env = Environment(loader=PackageLoader("router.services", "templates"), autoescape=select_autoescape(["html"]))


def _local(ctx: ServiceContext) -> Any:
    def fmt(value: str | datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        return local_time(value, ctx.config.calendar.tz, pattern)

    return fmt


_env.filters.update(name_filters({**NAMES, "event": EVENT_ZH, "closure": CLOSURE_ZH}))


def note_of(data: dict[str, Any]) -> str:
    return "；".join(str(data[k]) for k in NOTE_KEYS if data.get(k))


def case_file_html(ctx: ServiceContext, view: dict[str, Any], spans: list[dict[str, Any]],
                   events: list[dict[str, Any]], follow_ups: list[dict[str, Any]], generated_at: datetime) -> str:
    tree, names = ctx.config.divisions, {c: a.name for c, a in ctx.registry().by_code.items()}
    cat = ctx.config.ruleset.categories.get(view["category"])
    return _env.get_template("case-file.html").render(
        d=view, spans=spans, events=events, follow_ups=follow_ups, names=names, note_of=note_of,
        centre=tree.centre.name, category_name=cat.name if cat else view["category"],
        place=" / ".join(x.name for x in tree.path(view["division"])[1:]), generated_at=generated_at,
        local=_local(ctx))


def case_file(ctx: ServiceContext, view: dict[str, Any], spans: list[dict[str, Any]], events: list[dict[str, Any]],
              follow_ups: list[dict[str, Any]], generated_at: datetime) -> bytes:
    return to_pdf(case_file_html(ctx, view, spans, events, follow_ups, generated_at), view["id"])


def digest_html(ctx: ServiceContext, digest: dict[str, Any]) -> str:
    return _env.get_template("digest.html").render(g=digest, local=_local(ctx), centre=ctx.config.divisions.centre.name)


def to_pdf(html: str, identifier: str) -> bytes:
    """WeasyPrint is loaded on first use (about a second, and Pango with it): every command and process
    would pay for it otherwise, and only a PDF needs it."""
    weasyprint = importlib.import_module("weasyprint")
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return weasyprint.HTML(string=html).write_pdf(pdf_identifier=identifier.encode())

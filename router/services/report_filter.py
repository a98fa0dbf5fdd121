"""A report's query, checked against the configured area, categories and agencies (docs/reports.md §1):
a filter naming something that does not exist is a 422 naming the field, never an empty report."""

from __future__ import annotations

from typing import Any

from router.domain.errors import ValidationError
from router.services.context import ServiceContext
from router.services.measures import Filter
from router.services.scope import WHOLE, Scope


def report_filter(ctx: ServiceContext, q: dict[str, Any], scope: Scope = WHOLE) -> Filter:
    """The filter of one report; a scoped viewer's is held to their subtree (services/scope.py)."""
    level = None
    division = q.get("division")
    if division and ctx.config.divisions.get(division) is None:
        raise ValidationError(f"辖区代码不存在：{division}", f"unknown division {division!r}", field="division")
    asked = division or None
    division = scope.narrow(asked)  # the one asked (known, checked above) or the user's own (checked when added)
    if division:
        level = ctx.config.divisions.by_code[division].level
    category = q.get("category")
    if category and category not in ctx.config.ruleset.categories:
        raise ValidationError(f"纠纷类别不存在：{category}", f"unknown category {category!r}", field="category")
    agency = q.get("agency")
    if agency and agency not in ctx.registry().by_code:
        raise ValidationError(f"承办单位不存在：{agency}", f"unknown agency {agency!r}", field="agency")
    group_level = q.get("level")
    if q.get("group_by") == "division" and group_level is None:
        group_level = {"city": "district", "district": "town", "town": "village"}.get(level or "district", "village")
    if group_level and level == "village" and division != asked:
        group_level = "village"  # a village-scoped viewer's own village: nothing below it to break down by
    if group_level and level == "village" and group_level != "village":
        raise ValidationError("村（社区）以下不再细分", "a village has no level below it", field="level")
    return Filter(start=q["from_"], end=q["to"], division=division, division_level=level, category=category,
                  tier=q.get("tier"), source=q.get("source"), agency=agency, group_by=q.get("group_by"),
                  level=group_level)

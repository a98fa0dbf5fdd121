"""Each report's answer flattened to one table for its CSV and XLSX (docs/reports.md §7): the same
figures as the JSON, one row per figure (KPIs), per agency, per division, per signal or per dispute."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from router.services.exports import Table

KPI_COLUMNS = [("code", "指标代码"), ("name", "指标"), ("numerator", "分子"), ("denominator", "分母"),
               ("value", "值"), ("target", "目标"), ("meets_target", "达标")]


def _kpi_row(k: dict[str, Any]) -> dict[str, Any]:
    return {**k, "numerator": k.get("numerator", k.get("value") if k["kind"] != "rate" else None)}


def kpis(report: dict[str, Any]) -> Table:
    if report.get("groups") is None:
        return Table("指标", KPI_COLUMNS, [_kpi_row(k) for k in report["kpis"]])

    def rows() -> Iterator[dict[str, Any]]:
        for g in report["groups"]:
            for k in g["kpis"]:
                yield {"group": g["key"], "group_name": g["name"], **_kpi_row(k)}
        for k in report["kpis"]:
            yield {"group": None, "group_name": "合计", **_kpi_row(k)}

    return Table("指标", [("group", "分组代码"), ("group_name", "分组"), *KPI_COLUMNS], rows())


def _rate(prefix: str, k: dict[str, Any] | None) -> dict[str, Any]:
    k = k or {}
    return {f"{prefix}_n": k.get("numerator"), f"{prefix}_d": k.get("denominator"), prefix: k.get("value")}


def agencies(report: dict[str, Any]) -> Table:
    cols = [("agency", "单位代码"), ("name", "单位"), ("tier", "层级"), ("offered", "推送"), ("acknowledged", "签收"),
            ("returned", "退回"), ("expired", "超时未签收"), ("undeliverable", "无法送达"), ("overdue", "超期"),
            ("ack_median_h", "签收用时中位数（小时）"), ("ack_p90_h", "签收用时P90（小时）"),
            ("outcome_median_h", "办结用时中位数（小时）"), ("outcome_p90_h", "办结用时P90（小时）"),
            ("success_rate", "调解成功率"), ("timely_ack_rate", "及时签收率"),
            ("on_time_completion_rate", "按时办结率"), ("satisfaction_rate", "回访满意率")]

    def hours(d: dict[str, Any] | None, key: str) -> float | None:
        v = (d or {}).get(key)
        return round(v / 3600, 1) if v is not None else None

    rows = [{**a, "ack_median_h": hours(a["to_acknowledge"], "median_s"),
             "ack_p90_h": hours(a["to_acknowledge"], "p90_s"), "outcome_median_h": hours(a["to_outcome"], "median_s"),
             "outcome_p90_h": hours(a["to_outcome"], "p90_s"),
             **{code: (a.get(code) or {}).get("value") for code in
                ("success_rate", "timely_ack_rate", "on_time_completion_rate", "satisfaction_rate")}}
            for a in report["agencies"]]
    return Table("承办单位", cols, rows)


def divisions(report: dict[str, Any]) -> Table:
    cols = [("division", "区划代码"), ("name", "辖区"), ("received", "受理数"), ("previous_received", "上期受理数"),
            ("flagged", "涉风险"), ("overdue_rate", "超期率"), ("local_resolution_rate", "就地化解率"),
            ("success_rate", "调解成功率"), ("rising", "上升类别")]

    def row(d: dict[str, Any]) -> dict[str, Any]:
        names = {c["category"]: c["name"] for c in d["by_category"]}
        return {**d, **{code: (d.get(code) or {}).get("value")
                        for code in ("overdue_rate", "local_resolution_rate", "success_rate")},
                "rising": "、".join(names.get(c, c) for c in d["rising"])}

    return Table("辖区", cols, [*(row(d) for d in report["divisions"]), {**row(report["total"]), "name": "合计"}])


def warnings(report: dict[str, Any]) -> Table:
    cols = [("kind", "类型"), ("kind_name", "预警"), ("why", "原因"), ("reference", "纠纷编号"), ("agency", "单位代码"),
            ("division", "区划代码"), ("raised_at", "发出时间"), ("disputes", "涉及纠纷数")]
    return Table("预警", cols, [{**w, "disputes": len(w.get("dispute_ids") or [])} for w in report["signals"]])


def behind(page: dict[str, Any]) -> Table:
    cols = [("reference", "纠纷编号"), ("category", "类别"), ("state", "状态"), ("created_at", "受理时间"),
            ("lead_agency", "承办单位"), ("division", "区划代码"), ("id", "纠纷ID")]
    return Table("纠纷清单", cols, page["items"])


def digest(g: dict[str, Any]) -> Table:
    """The digest as one table: a section column, then what and how many, now and in the previous period."""
    cols = [("section", "部分"), ("item", "项目"), ("count", "本期"), ("previous", "上期"), ("note", "说明")]

    def rows() -> Iterator[dict[str, Any]]:
        t = g["total"]
        yield {"section": "总体", "item": "受理数", "count": t["received"], "previous": t["previous_received"]}
        yield {"section": "总体", "item": "涉风险", "count": t["flagged"]}
        for c in t["by_category"]:
            yield {"section": "按类别", "item": c["name"], "count": c["count"], "previous": c["previous"],
                   "note": "上升" if c["rising"] else None}
        for d in g["divisions"]:
            yield {"section": "按辖区", "item": d["name"], "count": d["received"], "previous": d["previous_received"],
                   "note": "、".join(x["name"] for x in d["by_category"] if x["rising"]) or None}
        for f in g["flagged"]:
            yield {"section": "高风险在办", "item": f["reference"], "note": f["category_name"]}
        for o in g["overdue"]:
            yield {"section": "超期", "item": o["reference"], "note": o.get("agency_name")}
        for r in g["repeat_parties"]:
            yield {"section": "重复当事人", "item": r["why"], "count": r["disputes"]}
        for a in g["top_returns"]:
            yield {"section": "退回较多的单位", "item": a["name"], "count": a["returned"],
                   "note": f"共接收{a['offered']}件"}

    return Table("研判", cols, rows())

"""The report endpoints and pages on edge input, and the exports' instants (docs/api.md §10,
docs/reports.md §7), found by the issue-10 review; each failed before its fix."""

from __future__ import annotations

import csv
import io

from tests.builders import county, register
from tests.conftest import auth


def _csv_rows(r) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    return list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))


def test_a_period_at_the_start_of_the_calendar_is_a_422_naming_from(client, tokens):
    """ReportQuery accepts any date; division_report.previous() (division_report.py:22-24) subtracts the
    period's length from `from`, which overflows for year 1: OverflowError, a 500, where the contract
    says a bad query is a 422 naming the field."""
    r = client.get("/api/v1/reports/divisions", query_string={"from": "0001-01-01", "to": "0001-01-31"},
                   headers=auth(tokens["supervisor"]))
    assert r.status_code == 422, f"{r.status_code}: {r.data[:200]!r}"
    assert "from" in r.get_json()["error"]["fields"]


def test_the_digest_page_with_an_end_in_year_one_is_refused_not_a_500(supervisor):
    """/reports/digest?end=0001-01-01 parses (date.fromisoformat) and reaches the same previous()
    overflow through digest() -> division_report.report (web/reports.py:185-195): a 500 page."""
    r = supervisor.get("/reports/digest", query_string={"end": "0001-01-01"})
    assert r.status_code in (200, 422), r.status_code


def test_the_csv_of_the_disputes_behind_a_figure_gives_instants_in_beijing_time(client, tokens, svc, clock):
    """docs/reports.md §7: CSV instants are ISO 8601 with +08:00. The API dumps the answer first
    (Instant -> a UTC string, schemas/common.py Instant), so exports._text() never sees a datetime and
    `created_at` goes out as +00:00."""
    register(svc)
    today = clock().astimezone(svc.ctx.config.calendar.tz).date().isoformat()
    r = client.get("/api/v1/reports/kpis/received/disputes",
                   query_string={"from": today, "to": today, "format": "csv"}, headers=auth(tokens["supervisor"]))
    rows = _csv_rows(r)
    assert rows and rows[0]["受理时间"].endswith("+08:00"), rows[0]["受理时间"]


def test_the_csv_of_the_warnings_gives_instants_in_beijing_time(client, tokens, svc, clock):
    """Same for /reports/warnings?format=csv: `raised_at` (发出时间) is exported in UTC, not +08:00."""
    register(svc, risk_flags=["violence_threat"])
    svc.refresh_warnings()
    r = client.get("/api/v1/reports/warnings", query_string={"format": "csv"}, headers=auth(tokens["supervisor"]))
    rows = _csv_rows(r)
    assert rows and rows[0]["发出时间"].endswith("+08:00"), rows[0]["发出时间"]


def test_the_dashboard_filtered_to_a_village_shows_it(supervisor, svc):
    """/reports?division=<village>: the KPI report accepts it, but the page then asks for the heat table
    at level "town" for anything that is not a town (web/reports.py:107-109), which report_filter refuses
    for a village ("a village has no level below it"): the whole dashboard is a 422 with an error on a
    `level` field the user never set."""
    village = county(svc)["v"]
    r = supervisor.get("/reports", query_string={"from": "2026-11-01", "to": "2026-11-30", "division": village})
    assert r.status_code == 200, f"{r.status_code}: the dashboard refuses a valid village filter"

"""The reports' query and answers (docs/api.md §10, docs/reports.md): the one description of each,
used by the API, the web pages, the exports and the OpenAPI document."""

from __future__ import annotations

from marshmallow import ValidationError as SchemaError
from marshmallow import fields, validate, validates_schema

from router.domain.kpis import FIRST_DAY, GROUPS, LAST_DAY
from router.domain.model import Source, Tier
from router.schemas.common import DIVISION, Instant, Out, Strict, page_number, page_size, values
from router.schemas.strict_fields import Day

FORMATS = ("json", "csv", "xlsx")
MAX_DAYS = 3 * 366 + 1  # three years: the longest period a report covers in one request


class ReportQuery(Strict):
    from_ = Day(data_key="from", required=True, validate=validate.Range(FIRST_DAY, LAST_DAY))
    to = Day(required=True, validate=validate.Range(FIRST_DAY, LAST_DAY))
    division = fields.String(validate=DIVISION)
    category = fields.String(validate=validate.Length(max=48))
    tier = fields.String(validate=validate.OneOf(values(Tier)))
    source = fields.String(validate=validate.OneOf(values(Source)))
    agency = fields.String(validate=validate.Length(max=64))
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))

    @validates_schema
    def _period(self, data: dict, **_: object) -> None:
        start, end = data.get("from_"), data.get("to")
        if start and end and start > end:
            raise SchemaError("Must not be before `from`.", "to")
        if start and end and (end - start).days >= MAX_DAYS:
            raise SchemaError(f"A report covers at most {MAX_DAYS} days.", "to")


class KpiQuery(ReportQuery):
    group_by = fields.String(validate=validate.OneOf(GROUPS))
    level = fields.String(validate=validate.OneOf(["town", "village"]))


class BehindQuery(ReportQuery):
    part = fields.String(load_default="numerator", validate=validate.OneOf(["numerator", "denominator"]))
    page = page_number()
    per_page = page_size(50)


class WarningsQuery(Strict):
    kind = fields.String(validate=validate.OneOf(["flagged_open", "flagged_overdue", "cluster", "repeat_party",
                                                  "agency_returns", "agency_deliveries", "agency_down"]))
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))


class DivisionsQuery(ReportQuery):
    level = fields.String(load_default="town", validate=validate.OneOf(["town", "village"]))


class FiltersOut(Out):
    division = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    tier = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    agency = fields.String(allow_none=True)


class PeriodOut(Out):
    """What every report answer starts with: its period and filters."""

    from_ = Day(data_key="from", attribute="from")
    to = Day()
    filters = fields.Nested(FiltersOut)


class KpiOut(Out):
    code = fields.String()
    name = fields.String(metadata={"description": "in Chinese, as the centres report it"})
    name_en = fields.String()
    kind = fields.String(metadata={"description": "count | rate | sum"})
    numerator = fields.Integer()
    denominator = fields.Integer()
    n = fields.Integer(allow_none=True)
    value = fields.Raw(allow_none=True, metadata={"description": "a share for a rate (null on a zero "
                                                                "denominator), an integer for a count, a "
                                                                "decimal string for a sum"})
    target = fields.Float(allow_none=True)
    meets_target = fields.Boolean(allow_none=True)


class KpiGroupOut(Out):
    key = fields.String(allow_none=True)
    name = fields.String()
    kpis = fields.List(fields.Nested(KpiOut))


class KpiReportOut(PeriodOut):
    kpis = fields.List(fields.Nested(KpiOut))
    group_by = fields.String()
    groups = fields.List(fields.Nested(KpiGroupOut))


class BehindItemOut(Out):
    id = fields.String()
    reference = fields.String()
    category = fields.String()
    state = fields.String()
    created_at = Instant()
    lead_agency = fields.String(allow_none=True)
    division = fields.String()


class BehindOut(PeriodOut):
    kpi = fields.String()
    part = fields.String()
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    items = fields.List(fields.Nested(BehindItemOut))


class Duration(Out):
    median_s = fields.Float(allow_none=True)
    p90_s = fields.Float(allow_none=True)


class AgencyRowOut(Out):
    agency = fields.String()
    name = fields.String()
    body_type = fields.String(allow_none=True)
    tier = fields.String(allow_none=True)
    offered = fields.Integer()
    acknowledged = fields.Integer()
    returned = fields.Integer()
    expired = fields.Integer()
    undeliverable = fields.Integer()
    overdue = fields.Integer()
    to_acknowledge = fields.Nested(Duration)
    to_outcome = fields.Nested(Duration)
    success_rate = fields.Nested(KpiOut)
    timely_ack_rate = fields.Nested(KpiOut)
    on_time_completion_rate = fields.Nested(KpiOut)
    satisfaction_rate = fields.Nested(KpiOut)
    ranks = fields.Dict(keys=fields.String(), values=fields.Integer(),
                        metadata={"description": "rank per rate among agencies with n >= ranking_min_n"})


class AgenciesOut(PeriodOut):
    ranking_min_n = fields.Integer()
    agencies = fields.List(fields.Nested(AgencyRowOut))


class CategoryCountOut(Out):
    category = fields.String()
    name = fields.String()
    count = fields.Integer()
    previous = fields.Integer()
    rising = fields.Boolean()


class DivisionRowOut(Out):
    division = fields.String()
    name = fields.String()
    received = fields.Integer()
    previous_received = fields.Integer()
    flagged = fields.Integer()
    by_category = fields.List(fields.Nested(CategoryCountOut))
    rising = fields.List(fields.String())
    overdue_rate = fields.Nested(KpiOut)
    local_resolution_rate = fields.Nested(KpiOut)
    success_rate = fields.Nested(KpiOut)
    heat = fields.Dict(keys=fields.String(), values=fields.String(),
                       metadata={"description": "per figure: hot | warm | cool | none, for the heat table"})


class DivisionsOut(PeriodOut):
    previous_from = Day()
    previous_to = Day()
    level = fields.String()
    divisions = fields.List(fields.Nested(DivisionRowOut))
    total = fields.Nested(DivisionRowOut)



class SignalOut(Out):
    key = fields.String()
    kind = fields.String(metadata={"description": "flagged_open | flagged_overdue | cluster | repeat_party | "
                                                  "agency_returns | agency_deliveries | agency_down"})
    kind_name = fields.String()
    why = fields.String()
    dispute_ids = fields.List(fields.String())
    reference = fields.String(allow_none=True)
    agency = fields.String(allow_none=True)
    division = fields.String(allow_none=True)
    raised_at = Instant()


class WarningsOut(Out):
    refreshed_at = Instant()
    total = fields.Integer()
    signals = fields.List(fields.Nested(SignalOut))

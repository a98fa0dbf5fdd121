"""The intake form (受理登记) as the browser posts it, turned into the API's intake body, validated by
the same schema, with every error placed beside its field in Chinese.

Field names follow the body's paths with dashes (`parties-0-id_number` for `parties.0.id_number`), so
one rule maps the schema's messages back onto the form. Party blocks left wholly empty are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError as SchemaError
from werkzeug.datastructures import MultiDict

from router.domain.errors import ValidationError
from router.domain.intake import IntakeCommand
from router.schemas.intake import DisputeIn, intake_command
from router.schemas.messages import flatten
from router.schemas.text import text_problems

PARTY_FIELDS = ("role", "kind", "name", "id_number", "phone", "credit_code", "division", "consent", "sharing_basis")
TEXT_FIELDS = ("source", "source_ref", "category", "summary", "occurred_on", "amount", "people_involved", "wish",
               "urgency")
PLACE = ("district", "town", "village")
# 受理结果: dispatch (the default), 不予受理 or 当场化解 (docs/domain.md §8), posted as `disposition-<field>`.
DISPOSITION_FIELDS = ("type", "reason_code", "reason", "refer_to", "terms", "amount", "fulfil_by")
_SCHEMA = DisputeIn()


def _index(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes ² and ①, which int() refuses."""
    return text.isascii() and text.isdigit() and len(text) <= 6


@dataclass
class IntakeForm:
    """What the clerk typed (to show again), the body built from it, and the errors by form field."""

    values: dict[str, Any]
    parties: list[dict[str, str]]
    errors: dict[str, list[str]] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    _party_index: list[int] = field(default_factory=list)

    @classmethod
    def blank(cls) -> IntakeForm:
        return cls({"source": "walk_in", "wish": "unspecified", "people_involved": "1", "risk_flags": [],
                    "features": [], "disposition": {"type": "route"}},
                   [{"role": "applicant", "kind": "person", "consent": "1"},
                    {"role": "respondent", "kind": "person", "consent": "1"}])

    @classmethod
    def read(cls, form: MultiDict[str, str]) -> IntakeForm:
        values: dict[str, Any] = {k: form.get(k, "").strip() for k in (*TEXT_FIELDS, *PLACE)}
        values["risk_flags"] = form.getlist("risk_flags")
        values["features"] = form.getlist("features")
        values["disposition"] = {f: form.get(f"disposition-{f}", "").strip() for f in DISPOSITION_FIELDS}
        values["disposition"]["fulfilled"] = form.get("disposition-fulfilled") in ("1", "on")
        indices = sorted({int(k.split("-")[1]) for k in form if k.startswith("parties-") and _index(k.split("-")[1])})
        parties = [{f: form.get(f"parties-{i}-{f}", "").strip() for f in PARTY_FIELDS} for i in indices]
        return cls(values, parties)

    def add_party(self) -> None:
        self.parties.append({"role": "third_party", "kind": "person", "consent": "1"})

    def command(self) -> IntakeCommand | None:
        """The validated command, or None with `errors` filled in (nothing is stored either way)."""
        v = self.values
        body: dict[str, Any] = {
            "source": v["source"] or None, "source_ref": v["source_ref"] or None, "category": v["category"],
            "summary": v["summary"], "amount": v["amount"] or None, "occurred_on": v["occurred_on"] or None,
            "division": v["village"] or v["town"] or v["district"], "wish": v["wish"] or "unspecified",
            "risk_flags": v["risk_flags"], "features": v["features"], "parties": [], "urgency": v["urgency"] or None}
        if v["people_involved"]:  # a number the schema checks; anything else it names as wrong
            body["people_involved"] = int(v["people_involved"]) if _index(v["people_involved"]) \
                else v["people_involved"]
        self._party_index = []
        for i, p in enumerate(self.parties):
            if not any(p.get(f) for f in ("name", "id_number", "phone", "credit_code")):
                continue  # an empty block the clerk added and did not use
            body["parties"].append({f: (p.get(f) or None) for f in PARTY_FIELDS}
                                   | {"kind": p.get("kind") or "person", "consent": p.get("consent") == "1"})
            self._party_index.append(i)
        disp = v.get("disposition") or {}
        if disp.get("type") == "not_accepted":
            body["disposition"] = {"type": "not_accepted", "reason_code": disp.get("reason_code") or None,
                                   "reason": disp.get("reason") or None, "refer_to": disp.get("refer_to") or None}
        elif disp.get("type") == "resolved_on_spot":
            body["disposition"] = {"type": "resolved_on_spot", "terms": disp.get("terms") or None,
                                   "amount": disp.get("amount") or None, "fulfil_by": disp.get("fulfil_by") or None,
                                   "fulfilled": bool(disp.get("fulfilled"))}
        self.body = body
        if problems := text_problems(body):  # a NUL typed or pasted into a field: said beside it
            self._place(flatten(problems, zh=True))
            return None
        try:
            return intake_command(_SCHEMA.load(body))
        except SchemaError as e:
            messages = flatten(e.messages, zh=True)
            if not v["category"]:
                messages["category"] = ["请选择纠纷类别"]
            if not body["division"]:
                messages.pop("division", None)  # the page says 请选择纠纷发生地
            self._place(messages)
            return None

    def place_domain_error(self, e: ValidationError) -> None:
        self._place({k: [m[0] for m in v] for k, v in e.fields.items()} or {"_form": [e.message_zh]})

    def _place(self, by_path: dict[str, list[str]]) -> None:
        for path, messages in by_path.items():
            parts = path.split(".")
            if parts[0] == "parties" and len(parts) >= 2 and parts[1].isdigit():
                i = int(parts[1])
                form_i = self._party_index[i] if i < len(self._party_index) else i
                name = f"parties-{form_i}-{parts[2]}" if len(parts) > 2 else "parties"
            elif parts[0] == "disposition":
                name = f"disposition-{parts[1]}" if len(parts) > 1 else "disposition-type"
            elif parts[0] == "division":
                name = "place"
            elif parts[0] in ("risk_flags", "features"):
                name = parts[0]
            else:
                name = parts[0] if parts[0] != "_schema" else "_form"
            self.errors.setdefault(name, []).extend(messages)

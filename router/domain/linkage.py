"""联动 mid-case (docs/domain.md §7): the body handling a dispute asks for an assisting body (police,
legal aid, an industry committee), an expert opinion from the centre's 专家库 (a 调解意见书), or
suggests a transfer (建议转派) of the lead. What each kind may name; pure data and its checks."""

from __future__ import annotations

from enum import StrEnum

from router.domain.errors import ValidationError
from router.domain.model import MEDIATION_BODIES, BodyType, body_zh


class LinkKind(StrEnum):
    ASSIST = "assist"
    EXPERT = "expert"
    TRANSFER = "transfer"


LINK_KIND_ZH = {LinkKind.ASSIST: "请求协办", LinkKind.EXPERT: "请求专家意见", LinkKind.TRANSFER: "建议转派"}
# An assisting body: the police, legal aid or an industry committee; a lead: any body that handles cases.
ASSISTING = frozenset({BodyType.POLICE, BodyType.LEGAL_AID, *MEDIATION_BODIES})
NEVER_LEAD = frozenset({BodyType.EXPERT_PANEL, BodyType.HOTLINE_12345, BodyType.JUSTICE_BUREAU})


def link_body_type(kind: LinkKind, body_type: str | None) -> BodyType:
    """The body type a request of `kind` names (an expert request may leave it out), or 422."""
    if kind == LinkKind.EXPERT:
        if body_type not in (None, BodyType.EXPERT_PANEL):
            raise ValidationError("专家意见只能向调解专家库申请", "an expert opinion comes from expert_panel",
                                  field="link.body_type")
        return BodyType.EXPERT_PANEL
    try:
        bt = BodyType(body_type or "")
    except ValueError:
        raise ValidationError("请选择要联动的单位类型", "link.body_type is required", field="link.body_type") from None
    if kind == LinkKind.ASSIST and bt not in ASSISTING:
        raise ValidationError(f"{body_zh(bt)}不能作为协办单位", f"{bt} cannot assist", field="link.body_type")
    if kind == LinkKind.TRANSFER and bt in NEVER_LEAD:
        raise ValidationError(f"不能转派给{body_zh(bt)}", f"{bt} cannot take the lead", field="link.body_type")
    return bt

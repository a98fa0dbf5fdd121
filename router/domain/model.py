"""Value types and vocabulary of the mediation domain (docs/domain.md §1-4). Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class Tier(StrEnum):
    GRID = "grid"
    VILLAGE = "village"
    TOWN = "town"
    DISTRICT = "district"
    CITY = "city"

    @property
    def rank(self) -> int:
        return TIER_ORDER.index(self)

    def up(self) -> Tier | None:
        """The next tier up, or None above the city."""
        i = self.rank + 1
        return TIER_ORDER[i] if i < len(TIER_ORDER) else None


TIER_ORDER: tuple[Tier, ...] = (Tier.GRID, Tier.VILLAGE, Tier.TOWN, Tier.DISTRICT, Tier.CITY)
TIER_NAMES_ZH = {Tier.GRID: "网格", Tier.VILLAGE: "村(居)", Tier.TOWN: "乡镇(街道)",
                 Tier.DISTRICT: "区(县)", Tier.CITY: "市"}


def max_tier(*tiers: Tier) -> Tier:
    return max(tiers, key=lambda t: t.rank)


class BodyType(StrEnum):
    PEOPLE_MEDIATION = "people_mediation"
    MEDICAL_MEDIATION = "medical_mediation"
    TRAFFIC_MEDIATION = "traffic_mediation"
    PROPERTY_MEDIATION = "property_mediation"
    FAMILY_MEDIATION = "family_mediation"
    CONSUMER_MEDIATION = "consumer_mediation"
    LABOUR_MEDIATION = "labour_mediation"
    LABOUR_ARBITRATION = "labour_arbitration"
    LAND_ARBITRATION = "land_arbitration"
    COURT = "court"
    POLICE = "police"
    PETITION = "petition"
    PROCURATORATE = "procuratorate"
    HOTLINE_12345 = "hotline_12345"
    LEGAL_AID = "legal_aid"
    MARKET_REGULATOR_12315 = "market_regulator_12315"
    GOVERNMENT = "government"
    EXPERT_PANEL = "expert_panel"  # 专家库: asked mid-case for an opinion (调解意见书), never a lead
    JUSTICE_BUREAU = "justice_bureau"  # 司法所 / 司法局: supervises mediation committees, told of 督办


MEDIATION_BODIES = frozenset({
    BodyType.PEOPLE_MEDIATION, BodyType.MEDICAL_MEDIATION, BodyType.TRAFFIC_MEDIATION,
    BodyType.PROPERTY_MEDIATION, BodyType.FAMILY_MEDIATION, BodyType.CONSUMER_MEDIATION,
    BodyType.LABOUR_MEDIATION,
})


class Source(StrEnum):
    WALK_IN = "walk_in"
    HOTLINE = "hotline"
    POLICE = "police"
    COURT = "court"
    PETITION = "petition"
    PROCURATORATE = "procuratorate"
    GRID = "grid"
    ONLINE = "online"
    REFERRAL = "referral"


# The intake source a referral from each referring body type is registered under (bodies.yaml
# `may_refer` is only valid for these).
REFERRAL_SOURCE = {"court": "court", "police": "police", "petition": "petition", "procuratorate": "procuratorate",
                   "labour_arbitration": "referral", "hotline_12345": "hotline"}

# How a closure reads everywhere: the pages, the case file, the 12345 回单, a referral's result.
CLOSURE_ZH = {"followed_up": "已化解并回访", "withdrawn": "申请人撤回", "guided_to_litigation": "调解不成，引导诉讼",
              "closed_by_centre": "中心办结", "failed": "调解不成", "not_accepted": "不予受理", "merged": "已并单",
              "returned_to_court": "调解不成，退回法院依法处理"}

# How intake sources and risk flags read on the pages, the reports and the case file.
SOURCE_ZH: dict[str, str] = {
    "walk_in": "当事人申请", "hotline": "12345工单", "police": "110转办", "court": "法院委派/委托",
    "petition": "信访/政府交办", "procuratorate": "检察院", "grid": "排查发现", "online": "网上申请",
    "referral": "其他移送"}
RISK_ZH: dict[str, str] = {
    "violence_threat": "有民转刑风险", "domestic_violence": "涉家庭暴力",
    "death_or_serious_injury": "涉死亡或重伤", "group": "群体性",
    "self_harm": "有自伤风险", "vulnerable_party": "涉弱势群体",
    "media_attention": "舆情关注", "already_in_proceedings": "已进入诉讼/仲裁/行政程序",
    "government_party": "政府机关为一方",
}

class RiskFlag(StrEnum):
    VIOLENCE_THREAT = "violence_threat"
    DOMESTIC_VIOLENCE = "domestic_violence"
    DEATH_OR_SERIOUS_INJURY = "death_or_serious_injury"
    GROUP = "group"
    SELF_HARM = "self_harm"
    VULNERABLE_PARTY = "vulnerable_party"
    MEDIA_ATTENTION = "media_attention"
    ALREADY_IN_PROCEEDINGS = "already_in_proceedings"
    GOVERNMENT_PARTY = "government_party"


class Feature(StrEnum):
    """Facts of a dispute that routing rules look at beyond the category (docs/domain.md §4)."""

    TITLE_DISPUTE = "title_dispute"      # 确权: house/homestead ownership -> town government
    FIGHT_INJURY = "fight_injury"        # injury from a fight -> police first


class Wish(StrEnum):
    MEDIATION = "mediation"
    LITIGATION = "litigation"
    ARBITRATION = "arbitration"
    UNSPECIFIED = "unspecified"


class PartyRole(StrEnum):
    APPLICANT = "applicant"
    RESPONDENT = "respondent"
    THIRD_PARTY = "third_party"


class PartyKind(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"
    GOVERNMENT = "government"


class StaffRole(StrEnum):
    CLERK = "clerk"            # 受理窗口: registers disputes
    SUPERVISOR = "supervisor"  # 督办: audits and acts on handoffs
    ADMIN = "admin"
    FOLLOW_UP = "follow_up"    # 回访员: records follow-up visits
    GRID = "grid"              # 网格员: reports disputes found in the grid (网格员上报), settles some on the spot


class Satisfaction(StrEnum):
    """回访满意度."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


SATISFACTION_ZH = {Satisfaction.SATISFIED: "满意", Satisfaction.BASICALLY_SATISFIED: "基本满意",
                   Satisfaction.DISSATISFIED: "不满意"}


class SupervisorAction(StrEnum):
    """What a supervisor may do to a dispute (docs/api.md §5); every action needs a reason."""

    REROUTE = "reroute"
    DESIGNATE = "designate"
    URGE = "urge"
    ESCALATE = "escalate"
    WITHDRAW = "withdraw"
    CLOSE = "close"
    REOPEN = "reopen"
    RECORD_FOLLOW_UP = "record_follow_up"
    RECORD_FULFILMENT = "record_fulfilment"
    REQUEST_CONFIRMATION = "request_confirmation"
    EXTEND = "extend"
    ARCHIVE = "archive"
    ADD_ASSIST = "add_assist"        # 联动: a supervisor adds an assisting body (agency or body_type)
    APPROVE_LINK = "approve_link"    # an agency's link request (`link`), approved
    REFUSE_LINK = "refuse_link"
    APPLY_ENFORCEMENT = "apply_enforcement"    # 强制执行: a confirmed agreement left unperformed, to the court
    REMEDIATE = "remediate"                    # 再次调解 of an unperformed agreement (same body, or `agency`)
    GUIDE_TO_LITIGATION = "guide_to_litigation"  # 引导诉讼: closes it
    DECLINE_ARBITRATION = "decline_arbitration"  # a party declines labour arbitration after the 15 days

class ReportType(StrEnum):
    """What an agency reports on a handoff it holds (docs/agency-guide.md §5)."""

    ACKNOWLEDGED = "acknowledged"
    RETURNED = "returned"
    PROGRESS = "progress"
    OUTCOME = "outcome"
    CLOSED = "closed"
    LINK_REQUEST = "link_request"  # 联动: an assisting body, an expert opinion or a transfer asked for mid-case


# How handoffs reach an agency (docs/agency-guide.md §1): pushed to its endpoint, waiting for its pull,
# or handed over on paper (委托函) by a clerk, who records it.
DELIVERY_MODES = ("push", "pull", "paper")


class ReturnReason(StrEnum):
    """Why a body returns a handoff (退回); the code decides where the dispute goes next (docs/domain.md §7)."""

    NOT_OUR_AREA = "not_our_area"
    NOT_OUR_SCOPE = "not_our_scope"
    INCOMPLETE = "incomplete"
    PARTY_REFUSES = "party_refuses"
    IN_PROCEEDINGS = "in_proceedings"
    OTHER = "other"


RETURN_REASON_ZH = {ReturnReason.NOT_OUR_AREA: "不属本辖区", ReturnReason.NOT_OUR_SCOPE: "不属本单位职责",
                    ReturnReason.INCOMPLETE: "材料不全", ReturnReason.PARTY_REFUSES: "当事人不同意调解",
                    ReturnReason.IN_PROCEEDINGS: "已进入诉讼/仲裁/行政程序", ReturnReason.OTHER: "其他"}
# Returns a body cannot solve by offering the dispute to another one: a supervisor decides. An
# incomplete one (材料不全) goes back to the window instead, to be completed and offered again.
RETURNS_FOR_SUPERVISORS = frozenset({ReturnReason.PARTY_REFUSES, ReturnReason.IN_PROCEEDINGS})


class OutcomeResult(StrEnum):
    AGREEMENT = "agreement"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"
    OPINION = "opinion"  # an expert panel's 调解意见书 (its handoff's outcome; it decides nothing)


@dataclass(frozen=True)
class Party:
    role: PartyRole
    kind: PartyKind
    name: str
    division: str | None = None
    id_number: str | None = None
    phone: str | None = None
    credit_code: str | None = None
    consent: bool = True             # agreed that bodies handling the case get their ID number and phone
    sharing_basis: str | None = None  # without consent: the legal basis that stands in (docs/domain.md §9)


@dataclass(frozen=True)
class DisputeFacts:
    """What routing looks at. Built from an intake request; carries no storage identity."""

    category: str
    division: str
    source: Source = Source.WALK_IN
    people_involved: int = 1
    amount: Decimal | None = None
    risk_flags: frozenset[RiskFlag] = field(default_factory=frozenset)
    features: frozenset[Feature] = field(default_factory=frozenset)
    wish: Wish = Wish.UNSPECIFIED
    parties: tuple[Party, ...] = ()
    occurred_on: date | None = None
    summary: str = ""
    # What shares the load between equally placed agencies: the dispute id ("" before there is one).
    key: str = ""


BODY_NAMES_ZH: dict[BodyType, str] = {
    BodyType.PEOPLE_MEDIATION: "人民调解委员会", BodyType.MEDICAL_MEDIATION: "医疗纠纷人民调解委员会",
    BodyType.TRAFFIC_MEDIATION: "道路交通事故人民调解委员会", BodyType.PROPERTY_MEDIATION: "物业纠纷人民调解委员会",
    BodyType.FAMILY_MEDIATION: "婚姻家事调解组织", BodyType.CONSUMER_MEDIATION: "消费纠纷调解组织",
    BodyType.LABOUR_MEDIATION: "劳动争议调解组织", BodyType.LABOUR_ARBITRATION: "劳动人事争议仲裁委员会",
    BodyType.LAND_ARBITRATION: "农村土地承包仲裁委员会", BodyType.COURT: "人民法院", BodyType.POLICE: "公安机关",
    BodyType.PETITION: "信访部门", BodyType.PROCURATORATE: "人民检察院", BodyType.HOTLINE_12345: "12345热线",
    BodyType.LEGAL_AID: "法律援助机构", BodyType.MARKET_REGULATOR_12315: "市场监督管理部门（12315）",
    BodyType.GOVERNMENT: "乡镇人民政府（街道办事处）", BodyType.EXPERT_PANEL: "调解专家库",
    BodyType.JUSTICE_BUREAU: "司法行政机关（司法所、司法局）",
}


def body_zh(b: BodyType | str) -> str:
    """A body type's Chinese name, for reasons and messages."""
    return BODY_NAMES_ZH.get(b, str(b))  # type: ignore[call-overload]


@dataclass(frozen=True)
class Reason:
    """One rule that fired in a routing decision, with its Chinese text."""

    rule: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "text": self.text}


# How handoff roles, wishes, parties and audit events read on the pages and in the case file.
ROLE_ZH = {"lead": "主办", "assist": "协办", "confirm": "司法确认", "enforce": "强制执行"}
WISH_ZH = {"mediation": "调解", "litigation": "诉讼", "arbitration": "仲裁", "unspecified": "未表示"}
PARTY_ROLE_ZH = {"applicant": "申请人", "respondent": "被申请人", "third_party": "第三人"}
PARTY_KIND_ZH = {"person": "自然人", "organization": "法人或其他组织", "government": "政府机关"}
EVENT_ZH: dict[str, str] = {
    "dispute.registered": "受理登记", "dispute.route": "分流",
    "dispute.route_to_supervisor": "转督办人员", "dispute.hand_off": "移交",
    "dispute.reroute": "改派", "dispute.start_handling": "开始办理",
    "dispute.agree": "达成调解协议", "dispute.request_confirmation": "申请司法确认",
    "dispute.start_fulfilment": "开始履行", "dispute.fulfil": "履行完毕",
    "dispute.follow_up_recorded": "登记回访", "dispute.close": "办结",
    "dispute.reopen": "重新办理", "dispute.relapse": "回访发现复发",
    "dispute.fulfilment_overdue": "履行期限已到", "dispute.follow_up_due": "回访到期",
    "dispute.confirmation_window_closed": "司法确认申请期限届满", "handoff.offer": "推送",
    "handoff.deliver": "送达", "handoff.acknowledge": "签收",
    "handoff.return_": "退回", "handoff.progress": "报告进展",
    "handoff.complete": "报告办理结果", "handoff.close": "承办单位结案",
    "handoff.expire": "逾期未签收", "handoff.fail_delivery": "无法送达",
    "handoff.recall": "撤回", "handoff.warned": "临期预警",
    "handoff.overdue": "办理超期", "handoff.urged": "催办",
    "handoff.escalated": "督办", "handoff.deadline_moved": "办理期限调整",
    "handoff.clock_stopped": "中止计时", "delivery.attempt_failed": "投递失败",
    "delivery.succeeded": "送达（补记）", "notice.delivered": "通知已送达",
    "notice.attempt_failed": "通知投递失败", "pii.revealed": "个人信息查阅", "pii.keys_rotated": "个人信息密钥轮换",
    "dispute.archive": "归档", "dispute.not_accept": "不予受理", "warning.raised": "发出预警",
    "warning.cleared": "预警解除", "dispute.resolve_on_spot": "当场化解",
    "dispute.hold_duplicate": "疑似重复，暂缓分流", "dispute.confirm_distinct": "确认非重复",
    "dispute.merge": "并单", "dispute.split": "拆单", "dispute.merged_in": "并入重复登记",
    "dispute.split_out": "拆出重复登记", "dispute.request_completion": "退回窗口补正",
    "dispute.complete_intake": "补正完毕", "agency.recovered": "机构恢复，补送积压",
    "dispute.apply_enforcement": "申请强制执行", "dispute.enforcement_not_taken": "强制执行未受理",
    "dispute.remediate": "再次调解", "dispute.redo": "重办", "dispute.arbitration_declined": "当事人不申请仲裁",
    "dispute.labour_time_out": "劳动争议调解逾期未达成协议", "link.request": "申请联动", "link.approve": "同意联动",
    "link.refuse": "不同意联动", "link.withdraw": "撤销联动申请",
}

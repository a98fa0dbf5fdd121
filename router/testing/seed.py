"""Disputes played from registration to where they would be by now, written straight into the
database: the demo's history (`dispute-router demo-data`, so the reports are not empty on a laptop)
and the benchmarks' million (bench/seed.py).

Each dispute is routed by the real rules to the real agencies of config/, acknowledged (a tenth
late), sometimes returned and re-routed, then agreed, failed, withdrawn or still open; agreements
fulfilled, followed up and closed. Its events form a valid hash chain (docs/audit-chain.md), and its
report figures are folded from them by the service's own fold (router/services/figures.py), so the
reports count what they would have counted live. Everything is a function of the dispute's number,
so a run that stops can start again where it stopped.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from router.domain.model import BodyType, DisputeFacts, RiskFlag, Source, Wish
from router.domain.rules import decide
from router.services import Services
from router.services.figures import fold
from router.store.chain import GENESIS, hash_of
from router.store.models import Dispute, Event, Handoff, Party
from router.store.report_models import DisputeFigures, FollowUp, HandoffFigures

NS = uuid.UUID("6f1c6a52-2d7e-4f51-9b1e-0c5a3d9e7b11")
CATEGORIES = {"NEIGHBOUR": 24, "MARRIAGE_FAMILY": 14, "CONTRACT": 11, "LABOUR": 10, "DAMAGES": 8,
              "PROPERTY_MGMT": 7, "HOUSING_HOMESTEAD": 6, "CONSUMER": 5, "TRAFFIC_ACCIDENT": 5, "MEDICAL": 2,
              "PRODUCTION_BUSINESS": 3, "FOREST_LAND": 1, "LAND_EXPROPRIATION_DEMOLITION": 1, "ENVIRONMENT": 1,
              "OTHER": 2}
SOURCES = {"walk_in": 55, "hotline": 15, "grid": 12, "online": 8, "police": 5, "court": 3, "petition": 2}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建华文辉玉兰海燕志强红梅国庆小红"


class Ev:
    """An event as the fold reads it (the columns of router.store.models.Event)."""

    __slots__ = ("id", "stream", "stream_seq", "dispute_id", "handoff_id", "type", "actor", "occurred_at", "data",
                 "prev_hash", "hash")

    def __init__(self, **kw: Any) -> None:
        for k, v in kw.items():
            setattr(self, k, v)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


class Seeder:
    def __init__(self, svc: Services, until: datetime, days: int) -> None:
        self.svc, self.ctx, self.until = svc, svc.ctx, until
        cfg = self.ctx.config
        self.cfg, self.cal, self.bodies = cfg, cfg.calendar, cfg.bodies
        self.registry = self.ctx.registry()
        self.villages = sorted(d.code for d in cfg.divisions.by_code.values() if d.level == "village")
        self.towns = sorted(d.code for d in cfg.divisions.by_code.values() if d.level == "town")
        self.start = until - timedelta(days=days)
        self.span = (until - self.start).total_seconds()
        self.cats, self.cat_w = list(CATEGORIES), list(CATEGORIES.values())
        self.srcs, self.src_w = list(SOURCES), list(SOURCES.values())
        self.prefix = cfg.divisions.centre.reference_prefix
        self.cipher = self.ctx.cipher
        self._deadlines: dict[tuple[Any, ...], datetime] = {}
        self._decisions: dict[tuple[Any, ...], Any] = {}

    def deadline(self, start: datetime, period: Any) -> datetime:
        """Day periods end at the end of a day, so they depend only on the start's date: cached."""
        if period.unit == "h":
            return self.cal.deadline(start, period)
        key = (start.astimezone(self.cal.tz).date(), str(period))
        if key not in self._deadlines:
            self._deadlines[key] = self.cal.deadline(start, period)
        return self._deadlines[key]

    def decide(self, facts: DisputeFacts, exclude: frozenset[str] = frozenset()) -> Any:
        key = (facts.category, facts.division, facts.source, facts.risk_flags, facts.wish, facts.amount, exclude)
        if key not in self._decisions:
            self._decisions[key] = decide(facts, self.cfg.ruleset, self.registry, exclude)
        return self._decisions[key]

    # ---------------------------------------------------------------- one dispute
    def dispute(self, i: int) -> dict[str, list[dict[str, Any]]]:
        rng = random.Random(i * 7919 + 17)
        did = str(uuid.uuid5(NS, f"dispute-{i}"))
        # later years busier: registrations grow about 20 % a year
        at = self.start + timedelta(seconds=self.span * (rng.random() ** 0.85))
        at = at.replace(microsecond=0)
        category = rng.choices(self.cats, self.cat_w)[0]
        source = rng.choices(self.srcs, self.src_w)[0]
        division = rng.choice(self.villages) if rng.random() < 0.9 else rng.choice(self.towns)
        flags = [str(RiskFlag.VIOLENCE_THREAT)] if rng.random() < 0.015 else \
            [str(RiskFlag.GROUP)] if rng.random() < 0.01 else []
        amount = Decimal(rng.choice([0, 500, 2000, 5000, 12000, 30000, 80000])) if rng.random() < 0.7 else None
        wish = "arbitration" if category == "LABOUR" and rng.random() < 0.1 else "mediation"
        facts = DisputeFacts(category=category, division=division, source=Source(source),
                             amount=amount, risk_flags=frozenset(RiskFlag(f) for f in flags), wish=Wish(wish),
                             key=did)
        decision = self.decide(facts)
        reference = f"{self.prefix}〔{at.astimezone(self.cal.tz).year}〕S{i:07d}号"
        events: list[Ev] = []
        hrows: list[dict[str, Any]] = []

        def ev(type_: str, t: datetime, data: dict[str, Any], handoff: str | None = None,
               actor: str = "system:router") -> None:
            events.append(Ev(id=str(uuid.uuid5(NS, f"{did}-{len(events)}")), stream=did,
                             stream_seq=len(events) + 1, dispute_id=did, handoff_id=handoff, type=type_,
                             actor=actor, occurred_at=t, data=data, prev_hash=None, hash=None))

        ev("dispute.registered", at, {"reference": reference, "category": category, "source": source,
                                      "source_ref": None, "division": division,
                                      "amount": str(amount) if amount is not None else None, "people_involved": 1,
                                      "risk_flags": flags, "wish": wish,
                                      "parties": [{"role": "applicant", "kind": "person"},
                                                  {"role": "respondent", "kind": "person"}]},
           actor="user:bench-clerk")
        routing = {"tier": str(decision.tier), "reasons": [{"rule": r.rule, "text": r.text}
                                                           for r in decision.reasons][:3],
                   "ruleset_version": decision.ruleset_version,
                   "lead": {"agency": decision.lead.agency, "body_type": str(decision.lead.body_type)}}
        ev("dispute.route", at, {"from": "received", "to": "routed", "routing": routing})
        state, outcome, closure = "routed", None, None
        lead = decision.lead
        t = at
        if lead.agency is not None:
            placement = 0
            agency, body = lead.agency, BodyType(lead.body_type)
            while True:
                placement += 1
                h, t, result = self._handoff(rng, ev, hrows, did, agency, body, t, placement)
                state = "handed_off" if result == "waiting" else "in_handling"
                if result != "returned":
                    break
                nxt = self.decide(facts, frozenset(r["agency_code"] for r in hrows)).lead
                if nxt.agency is None or placement >= 2:
                    state = "needs_supervisor"
                    break
                ev("dispute.reroute", t, {"from": state, "to": "routed", "reason": "退回后改派", "agency": nxt.agency})
                agency, body = nxt.agency, BodyType(nxt.body_type)
            if result in ("agreement", "failed", "withdrawn"):
                state, outcome, closure = self._after(rng, ev, did, hrows, result, amount, t)
        d = {"id": did, "reference": reference, "state": state, "category": category, "tier": str(decision.tier),
             "source": source, "source_ref": None, "summary": f"{category} 纠纷（基准数据）", "amount": amount,
             "people_involved": 1, "division": division, "occurred_on": (at - timedelta(days=3)).date(),
             "risk_flags": flags, "features": [], "wish": wish, "routing": routing,
             "lead_agency": hrows[-1]["agency_code"] if hrows else None, "duplicate_of": None,
             "created_by": "user:bench-clerk", "created_at": at, "updated_at": events[-1].occurred_at,
             "outcome": outcome, "closure": closure, "version": 1}
        prev = GENESIS
        for e in events:
            e.prev_hash = prev
            body = {"id": e.id, "stream": e.stream, "stream_seq": e.stream_seq, "dispute_id": e.dispute_id,
                    "handoff_id": e.handoff_id, "type": e.type, "actor": e.actor,
                    "occurred_at": e.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "data": e.data, "prev_hash": prev}
            e.hash = prev = hash_of(body, self.svc.ctx.store.chain_hash)
        d["event_count"], d["event_head"] = len(events), prev
        row, hfig, fus = fold(self.ctx, events)
        return {"disputes": [d], "parties": self._parties(rng, did, division), "handoffs": hrows,
                "events": [{k: getattr(e, k) for k in Ev.__slots__} for e in events],
                "dispute_figures": [row], "handoff_figures": hfig, "follow_ups": fus}

    def _handoff(self, rng: random.Random, ev: Any, rows: list[dict[str, Any]], did: str, agency: str,
                 body: BodyType, t: datetime, placement: int) -> tuple[str, datetime, str]:
        rules = self.bodies[body]
        hid = str(uuid.uuid5(NS, f"{did}-h{placement}"))
        ack_due = self.deadline(t, rules.acknowledge)
        ev("handoff.offer", t, {"from": "new", "to": "offered", "agency": agency, "role": "lead",
                                "ack_due": _iso(ack_due), "return_due": _iso(ack_due), "designated": False}, hid)
        if placement == 1:
            ev("dispute.hand_off", t, {"from": "routed", "to": "handed_off"})
        row = {"id": hid, "dispute_id": did, "agency_code": agency, "body_type": str(body), "role": "lead",
               "state": "offered", "designated": False, "placement": placement, "ack_due": ack_due,
               "return_due": ack_due, "handle_due": None, "deadline_rules": {}, "acknowledged_at": None,
               "completed_at": None, "outcome": None, "returned_reason": None, "urged": 0, "ack_warn_at": None,
               "handle_warn_at": None, "escalated_at": None, "created_at": t, "updated_at": t}
        rows.append(row)
        delivered = t + timedelta(seconds=rng.randint(2, 120))
        if delivered > self.until:
            return hid, t, "waiting"
        ev("handoff.deliver", delivered, {"from": "offered", "to": "delivered", "agency": agency, "role": "lead"}, hid)
        row["state"] = "delivered"
        late = rng.random() < 0.1
        wait = (ack_due - t) * (1.2 + rng.random() * 1.5) if late else (ack_due - t) * rng.random() * 0.8
        acked = delivered + wait
        if acked > self.until:
            return hid, delivered, "waiting"
        if rng.random() < 0.05 and placement == 1:  # 退回
            ev("handoff.return_", acked, {"from": "delivered", "to": "returned", "agency": agency, "role": "lead",
                                          "reason": "不属本辖区"}, hid)
            row.update(state="returned", returned_reason="不属本辖区", updated_at=acked)
            return hid, acked, "returned"
        handle_due = self.deadline(acked, rules.handle)
        ev("handoff.acknowledge", acked, {"from": "delivered", "to": "acknowledged", "agency": agency,
                                          "role": "lead", "handle_due": _iso(handle_due)}, hid)
        if placement == 1:
            ev("dispute.start_handling", acked, {"from": "handed_off", "to": "in_handling", "agency": agency})
        row.update(state="acknowledged", acknowledged_at=acked, handle_due=handle_due, updated_at=acked)
        overdue = rng.random() < 0.06
        took = (handle_due - acked) * ((1.1 + rng.random()) if overdue else rng.random() * 0.9)
        done = acked + took
        if done > self.until:
            return hid, acked, "handling"
        result = rng.choices(["agreement", "failed", "withdrawn"], [92, 5, 3])[0]
        ev("handoff.complete", done, {"from": "acknowledged", "to": "completed", "agency": agency, "role": "lead",
                                      "outcome": {"result": result}}, hid)
        row.update(state="completed", completed_at=done, outcome={"result": result}, updated_at=done)
        return hid, done, result

    def _after(self, rng: random.Random, ev: Any, did: str, rows: list[dict[str, Any]], result: str,
               amount: Decimal | None, t: datetime) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        h = rows[-1]
        agency = h["agency_code"]
        if result == "withdrawn":
            ev("dispute.close", t, {"from": "in_handling", "to": "closed", "reason": "申请人撤回",
                                    "closure": "withdrawn"})
            return "closed", {"result": result, "withdrawn_at": _iso(t)}, {"code": "withdrawn", "at": _iso(t)}
        if result == "failed":
            ev("dispute.close", t, {"from": "in_handling", "to": "closed", "reason": "调解不成，已引导诉讼",
                                    "closure": "guided_to_litigation"})
            return "closed", {"result": result, "failed_at": _iso(t)}, {"code": "guided_to_litigation",
                                                                        "at": _iso(t)}
        agreed = str(amount) if amount is not None and rng.random() < 0.8 else None
        agreement = {"terms": "双方达成协议", "amount": agreed}
        outcome = {"result": "agreement", "agreed_at": _iso(t), "agency": agency, "agreement": agreement}
        ev("dispute.agree", t, {"from": "in_handling", "to": "agreed", "agency": agency, "handoff_id": h["id"],
                                "agreement": agreement})
        ev("dispute.start_fulfilment", t, {"from": "agreed", "to": "fulfilling", "fulfil_by": None})
        paid = t + timedelta(days=rng.randint(0, 30))
        if rng.random() > 0.75 or paid > self.until:
            return "fulfilling", outcome, None
        day = paid.astimezone(self.cal.tz).date()
        ev("dispute.fulfil", paid, {"from": "fulfilling", "to": "follow_up", "fulfilled_on": day.isoformat()})
        outcome["fulfilment"] = {"fulfilled_on": day.isoformat()}
        visit = paid + timedelta(days=rng.randint(20, 40))
        if rng.random() > 0.85 or visit > self.until:
            return "follow_up", outcome, None
        satisfaction = rng.choices(["satisfied", "basically_satisfied", "dissatisfied"], [86, 11, 3])[0]
        ev("dispute.follow_up_recorded", visit, {"reason": "电话回访", "satisfaction": satisfaction,
                                                 "relapse": False, "note": None}, actor="user:bench-visitor")
        if satisfaction == "dissatisfied":  # 重办: the same body again, on a new clock
            ev("dispute.redo", visit, {"from": "follow_up", "to": "routed", "reason": "回访不满意，重办"})
            self._offer_again(ev, rows, did, agency, BodyType(h["body_type"]), visit)
            ev("dispute.hand_off", visit, {"from": "routed", "to": "handed_off"})
            return "handed_off", outcome, None
        ev("dispute.close", visit, {"from": "follow_up", "to": "closed", "reason": "已回访", "closure": "followed_up"})
        return "closed", outcome, {"code": "followed_up", "at": _iso(visit)}

    def _offer_again(self, ev: Any, rows: list[dict[str, Any]], did: str, agency: str, body: BodyType,
                     t: datetime) -> None:
        placement = len(rows) + 1
        hid = str(uuid.uuid5(NS, f"{did}-h{placement}"))
        ack_due = self.deadline(t, self.bodies[body].acknowledge)
        ev("handoff.offer", t, {"from": "new", "to": "offered", "agency": agency, "role": "lead",
                                "ack_due": _iso(ack_due), "return_due": _iso(ack_due), "designated": True}, hid)
        rows.append({**rows[-1], "id": hid, "state": "offered", "designated": True, "placement": placement,
                     "ack_due": ack_due, "return_due": ack_due, "handle_due": None, "acknowledged_at": None,
                     "completed_at": None, "outcome": None, "created_at": t, "updated_at": t})

    def _parties(self, rng: random.Random, did: str, division: str) -> list[dict[str, Any]]:
        out = []
        for idx, role in enumerate(("applicant", "respondent")):
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
            phone = f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
            out.append({"dispute_id": did, "idx": idx, "role": role, "kind": "person", "name": name,
                        "division": division, "credit_code": None, "id_number_enc": None, "id_number_hash": None,
                        "id_number_masked": None, "phone_enc": self.cipher.encrypt(phone, "phone"),
                        "phone_hash": self.cipher.lookup_hash(phone, "phone"),
                        "phone_masked": f"{phone[:3]}****{phone[-4:]}"})
        return out


TABLES = (("disputes", Dispute), ("parties", Party), ("handoffs", Handoff), ("events", Event),
          ("dispute_figures", DisputeFigures), ("handoff_figures", HandoffFigures), ("follow_ups", FollowUp))


def generate(seeder: Seeder, first: int, stop: int) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in TABLES}
    for i in range(first, stop):
        for name, items in seeder.dispute(i).items():
            rows[name].extend(items)
    return rows


def write(svc: Services, rows: dict[str, list[dict[str, Any]]]) -> None:
    """One batch, one transaction: the count of seeded disputes is always a whole number of batches."""
    with svc.ctx.store.unit_of_work() as uow:
        for name, model in TABLES:
            if rows[name]:
                uow.session.execute(insert(model.__table__), rows[name])


def seeded(svc: Services) -> int:
    with svc.ctx.store.read() as s:
        return s.scalar(select(func.count()).select_from(Dispute).where(Dispute.reference.like("%〕S%"))) or 0


def seed(svc: Services, disputes: int, days: int, until: datetime | None = None, batch: int = 500) -> int:
    """Seed up to `disputes` in one process (the demo's few thousand); returns how many were added."""
    seeder = Seeder(svc, (until or svc.ctx.now()).replace(microsecond=0), days)
    done = seeded(svc)
    for first in range(done, disputes, batch):
        write(svc, generate(seeder, first, min(first + batch, disputes)))
    return max(0, disputes - done)

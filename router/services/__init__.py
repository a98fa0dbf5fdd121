"""The service layer: the one API every entry point calls (the JSON API, the web pages, the command
line, the workers and the scheduler), so a rule is enforced once whoever asks.

Each use case is one transaction: state, audit events, outbox messages and timers together. The
answers are plain JSON-ready data dumped with the schemas of router/schemas.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from router.adapters.base import SendResult
from router.domain.errors import StateConflict
from router.domain.intake import IntakeCommand, validate_intake
from router.domain.model import REFERRAL_SOURCE
from router.domain.rules import RoutingDecision, decide
from router.schemas.common import dump
from router.schemas.reports import AgenciesOut, BehindOut, DivisionsOut, KpiReportOut, WarningsOut
from router.services import (
    accounts,
    admin,
    aftercare,
    agency,
    agency_keys,
    agency_report,
    anchors,
    audit,
    backup,
    case_file,
    completion,
    delivery,
    digest,
    division_report,
    figures,
    handover,
    health,
    intake,
    kpis,
    merge,
    outbox,
    paper_notices,
    pdf,
    pii_keys,
    queues,
    sealed_texts,
    signed_calls,
    supervision,
    timeline,
    timers,
    views,
    warnings,
    web_sessions,
)
from router.services.context import SYSTEM, Actor, ServiceContext, utcnow
from router.services.report_filter import report_filter
from router.services.scope import scope_of
from router.settings import Settings
from router.store.db import make_engine
from router.store.migrate import ensure_migrated
from router.store.store import Store
from router.store.store_settings import settle_suite

__all__ = ["Actor", "SYSTEM", "Services", "build_services"]

log = logging.getLogger("router.services")


def _report_breaks(result: dict[str, Any]) -> None:
    if not result["ok"]:
        log.error("audit chain broken", extra={"broken_count": result["broken_count"],
                                               "first_broken": result["first_broken"]})


class Services:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._last_full_audit: datetime | None = None  # this process's last full check (daily_audit)
        self._readiness: health.Watcher | None = None

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    # ------------------------------------------------------------------ intake and supervision
    def register_dispute(self, cmd: IntakeCommand, actor: Actor, *, idempotency_key: str | None = None,
                         body_hash: str | None = None) -> tuple[int, dict[str, Any]]:
        """受理登记: (201, the dispute), or the first answer again for a repeated Idempotency-Key."""
        status, view = intake.register_dispute(self.ctx, cmd, actor, idempotency_key=idempotency_key,
                                               body_hash=body_hash)
        return status, views.hide_outside(self.ctx, view, scope_of(actor))

    def first_registration(self, actor: Actor, idempotency_key: str) -> dict[str, Any] | None:
        """The dispute an earlier registration with this Idempotency-Key made, if any."""
        return intake.first_answer(self.ctx, actor, idempotency_key)

    def preview(self, cmd: IntakeCommand, viewer: Actor | None = None) -> dict[str, Any]:
        """预览分流: the routing decision and likely duplicates (those the viewer may see); stores nothing."""
        return intake.preview(self.ctx, cmd, scope_of(viewer))

    def act(self, dispute_id: str, data: dict[str, Any], actor: Actor) -> dict[str, Any]:
        """A supervisor action (docs/api.md §5); returns the dispute after it."""
        supervision.act(self.ctx, dispute_id, data, actor)
        if data["action"] == "archive":  # its case file is made now and kept, outside the transaction
            case_file.keep(self.ctx, dispute_id)
        return views.get_dispute(self.ctx, dispute_id, scope_of(actor))

    def decide_duplicate(self, dispute_id: str, decision: str, reason: str, actor: Actor,
                         into: str | None = None) -> dict[str, Any]:
        """并单 / 确认非重复 / 拆单 on a held registration; returns it after the decision."""
        merge.decide_duplicate(self.ctx, dispute_id, decision, reason, actor, into)
        return views.get_dispute(self.ctx, dispute_id, scope_of(actor))

    def complete_registration(self, dispute_id: str, note: str, actor: Actor) -> dict[str, Any]:
        """补正完毕: the window completed what the lead returned as incomplete; it is offered again."""
        completion.complete_registration(self.ctx, dispute_id, note, actor)
        return views.get_dispute(self.ctx, dispute_id, scope_of(actor))

    def record_follow_up(self, dispute_id: str, data: dict[str, Any], actor: Actor) -> dict[str, Any]:
        """回访 by follow-up staff or a clerk: satisfied closes, dissatisfied starts 重办, a relapse reopens."""
        aftercare.record_visit(self.ctx, dispute_id, data["reason"], data["satisfaction"], bool(data.get("relapse")),
                               data.get("note"), actor)
        return views.get_dispute(self.ctx, dispute_id, scope_of(actor))

    def follow_up_queue(self, page: int = 1, viewer: Actor | None = None) -> dict[str, Any]:
        """待回访: the disputes whose follow-up visit is due, by their due date."""
        return queues.queue(self.ctx, queues.QueueFilter("follow_up", sort="due", page=page), scope_of(viewer))

    def completion_queue(self, viewer: Actor | None = None) -> list[dict[str, Any]]:
        """待补正: disputes a lead returned as incomplete, oldest first."""
        return completion.completion_queue(self.ctx, scope=scope_of(viewer))

    # ------------------------------------------------------------------ reading
    # `viewer` is the staff user asking: a division-scoped one sees that subtree only (services/scope.py).
    # None is the system and the command line: the whole centre.
    def get_dispute(self, dispute_id: str, viewer: Actor | None = None) -> dict[str, Any]:
        return views.get_dispute(self.ctx, dispute_id, scope_of(viewer))

    def list_disputes(self, f: views.DisputeFilter, viewer: Actor | None = None) -> dict[str, Any]:
        return views.list_disputes(self.ctx, f, scope_of(viewer))

    def timeline(self, dispute_id: str, viewer: Actor | None = None) -> dict[str, Any]:
        return timeline.timeline(self.ctx, dispute_id, scope_of(viewer))

    def case_file(self, dispute_id: str, viewer: Actor | None = None) -> tuple[bytes, str]:
        """一案一卷: the zip and its file name. An archived dispute's is the kept one, made once."""
        view = views.get_dispute(self.ctx, dispute_id, scope_of(viewer))
        bundle = case_file.keep(self.ctx, dispute_id) if view["state"] == "archived" else \
            case_file.build(self.ctx, dispute_id)
        return bundle, f"case-file-{view['id']}.zip"

    def case_file_key(self) -> str:
        """The public key case files are signed with (hex Ed25519): what an auditor checks them against."""
        return case_file.public_key_hex(self.settings)

    def check_case_file(self, data: bytes, public_key: str | None = None) -> case_file.Check:
        return case_file.verify(data, public_key or self.case_file_key())

    def closed_between(self, start: date, end: date) -> list[tuple[str, str]]:
        return case_file.closed_between(self.ctx, start, end)

    def queue(self, f: queues.QueueFilter, viewer: Actor | None = None) -> dict[str, Any]:
        """One page of a supervisors' queue (督办台) with every queue's count."""
        return queues.queue(self.ctx, f, scope_of(viewer))

    def pii_key_status(self) -> dict[str, int]:
        return pii_keys.status(self.ctx)

    def rotate_pii_keys(self, *, batch: int = pii_keys.BATCH,
                        progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
        """`keys rotate-pii`: everything re-encrypted under the current ROUTER_PII_KEY (services/pii_keys.py)."""
        return pii_keys.rotate(self.ctx, batch=batch, progress=progress)

    def reveal_originals(self, dispute: str, *, operator: str, to: str, basis: str) -> list[dict[str, Any]]:
        """原文调阅: free text as typed, before its numbers were masked; audited (services/sealed_texts.py)."""
        return sealed_texts.reveal(self.ctx, dispute, operator=operator, to=to, basis=basis)

    def lookup(self, text: str, limit: int = 50, viewer: Actor | None = None) -> list[dict[str, Any]]:
        """Disputes by reference, ID number, phone (through their keyed hashes) or party name."""
        return views.lookup(self.ctx, text, limit, scope_of(viewer))

    def registered_by(self, actor: Actor, on: date | None = None) -> list[dict[str, Any]]:
        """The disputes this user registered on a day (today in Beijing by default)."""
        return views.registered_by(self.ctx, actor, on)

    def categories(self) -> list[dict[str, Any]]:
        return views.categories(self.ctx)

    def divisions(self, parent: str | None = None) -> list[dict[str, Any]]:
        return views.divisions(self.ctx, parent)

    def may_refer(self, body_type: str) -> bool:
        """Agencies of this body type may refer disputes in (bodies.yaml `may_refer`)."""
        cfg = self.ctx.config.bodies.types.get(body_type)  # type: ignore[call-overload]
        return bool(cfg and cfg.may_refer) and body_type in REFERRAL_SOURCE

    def paper_notices(self, dispute_id: str, viewer: Actor | None = None) -> list[dict[str, Any]]:
        """Held notices of this dispute's paper agencies, for a clerk to pass on."""
        views.require_visible(self.ctx, dispute_id, scope_of(viewer))
        return paper_notices.waiting(self.ctx, dispute_id)

    def record_notice_handover(self, dispute_id: str, delivery_id: str, received_by: str, actor: Actor) -> None:
        """A clerk passed a held notice on to its paper agency: who took it (its delivery, audited)."""
        paper_notices.record_handover(self.ctx, dispute_id, delivery_id, received_by, actor)

    def paper_agencies(self) -> set[str]:
        """Codes of the agencies that take their files on paper (a clerk records the hand-over)."""
        return handover.paper_agencies(self.ctx)

    def agency_names(self) -> dict[str, str]:
        """Every agency's name by code (the registry, cached briefly)."""
        return {code: a.name for code, a in self.ctx.registry().by_code.items()}

    def agencies(self, body_type: str | None = None, tier: str | None = None,
                 division: str | None = None) -> list[dict[str, Any]]:
        return views.agencies(self.ctx, body_type, tier, division)

    # ------------------------------------------------------------------ partner agencies
    def authenticate_agency(self, req: agency_keys.SignedRequest) -> Any:
        return agency_keys.authenticate_agency(self.ctx, req)

    def settle_agency_call(self, agency_code: str, webhook_id: str, status: int, answer: Any, *,
                           remember: bool) -> None:
        """After a signed call: its answer kept for a retry, or its webhook-id freed (signed_calls)."""
        signed_calls.settle(self.ctx, agency_code, webhook_id, status, answer, remember=remember)

    def agency_handoffs(self, agency_code: str, state: str | None, page: int, per_page: int) -> dict[str, Any]:
        return agency.list_handoffs(self.ctx, agency_code, state, page, per_page)

    def paper_letter(self, dispute_id: str, handoff_id: str, actor: Actor) -> dict[str, Any]:
        """委托函 for a paper agency; printing it reveals the parties, audited."""
        return handover.paper_letter(self.ctx, dispute_id, handoff_id, actor)

    def record_paper_handover(self, dispute_id: str, handoff_id: str, received_by: str,
                              received_at: datetime | None, actor: Actor, acknowledged: bool = False) -> dict[str, Any]:
        handover.record_paper_handover(self.ctx, dispute_id, handoff_id, received_by, received_at, actor,
                                       acknowledged)
        return views.get_dispute(self.ctx, dispute_id, scope_of(actor))

    def agency_feed(self, agency_code: str, since: int, limit: int) -> dict[str, Any]:
        return agency.feed(self.ctx, agency_code, since, limit)

    def agency_handoff(self, agency_code: str, handoff_id: str) -> dict[str, Any]:
        return agency.get_handoff(self.ctx, agency_code, handoff_id)

    def agency_event(self, agency_code: str, handoff_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return agency.record_event(self.ctx, agency_code, handoff_id, body)

    def add_agency(self, code: str, name: str, body_type: str, tier: str, division: str,
                   endpoint: str | None, priority: int = 0, delivery: str | None = None,
                   signing: str = "hmac-sha256") -> tuple[str, str]:
        return agency_keys.register_agency(self.ctx, code, name, body_type, tier, division, endpoint, priority,
                                           delivery, signing)

    def rotate_agency_key(self, code: str) -> tuple[str, str]:
        return agency_keys.rotate_key(self.ctx, code)

    def agency_key(self, code: str) -> tuple[str, str]:
        """The newest active (key id, secret) of an agency: what the demo agencies sign with."""
        return agency_keys.newest_key(self.ctx, code)

    def agency_secrets(self) -> dict[str, list[str]]:
        """Every agency's active secrets: what the stub agency verifies deliveries with."""
        return agency_keys.all_secrets(self.ctx)

    def agency_signing(self) -> dict[str, str]:
        """Every agency's signing algorithm (hmac-sha256, or hmac-sm3 under 国密)."""
        return agency_keys.all_algorithms(self.ctx)

    # ------------------------------------------------------------------ delivery, relay, timers (workers)
    def claim_delivery(self, delivery_id: str, owner: str) -> delivery.Job | None:
        return delivery.claim(self.ctx, delivery_id, owner)

    def record_attempt(self, job: delivery.Job, result: SendResult) -> str:
        return delivery.complete(self.ctx, job, result)

    def defer_delivery(self, job: delivery.Job, seconds: float) -> str:
        return delivery.defer(self.ctx, job, seconds)

    def agency_recovered_since(self, code: str, since: datetime) -> bool:
        """Another worker found the agency reachable again after `since`."""
        return delivery.recovered_since(self.ctx, code, since)

    def older_waiting(self, job: delivery.Job) -> bool:
        """An older delivery to the same agency still waits: this one should step back while it drains."""
        return delivery.older_waiting(self.ctx, job)

    def resume_agency(self, code: str) -> int:
        """The agency is reachable again: its waiting deliveries are due now, oldest first."""
        return delivery.resume(self.ctx, code)

    def deliveries_due(self) -> list[tuple[str, str]]:
        return delivery.due_for_enqueue(self.ctx)

    def relay_outbox(self, publish: Callable[[outbox.Message], None]) -> int:
        return outbox.relay(self.ctx, publish)

    def run_due_timers(self, limit: int = 200) -> int:
        return timers.run_due_timers(self.ctx, limit)

    def housekeeping(self) -> int:
        """Forget webhook-ids past their window (kept off the request path) and refresh the early
        warnings, so a new signal reaches supervisors within a minute without anyone asking."""
        purged = agency_keys.purge_seen_requests(self.ctx)
        warnings.refresh(self.ctx)
        _report_breaks(audit.verify_store(self.ctx))  # the chains that moved this minute
        return purged

    def daily_audit(self) -> dict[str, Any] | None:
        """The full check of every chain, once a day by the service clock (the scheduler's auditor
        asks every hour, on its own thread: a full check of a city's store takes minutes)."""
        anchors.resend(self.ctx)  # what the witness did not take yet, offered every hour
        ran = audit.daily(self.ctx, self._last_full_audit)
        if ran is None:
            return None
        self._last_full_audit, result = ran
        _report_breaks(result)
        # Then the day's anchor of what that check verified, offered to the witness with any it
        # has not taken yet (services/anchors.py).
        if (anchor := anchors.make(self.ctx)) is not None:
            result["anchor"] = {"seq": anchor.seq, "digest": anchor.digest}
            log.info("audit anchor made", extra={"anchor": anchor.seq, "digest": anchor.digest})
            anchors.send(self.ctx, anchor)
        return result

    # ------------------------------------------------------------------ reports (docs/reports.md)
    # A scoped viewer's report is of their subtree: no division asked means theirs (services/scope.py).
    def kpi_report(self, q: dict[str, Any], viewer: Actor | None = None) -> dict[str, Any]:
        f = report_filter(self.ctx, q, scope_of(viewer))
        return dump(KpiReportOut(), kpis.report(self.ctx, f), self.ctx.now(), self.ctx.config)

    def kpi_behind(self, code: str, q: dict[str, Any], viewer: Actor | None = None) -> dict[str, Any]:
        f = report_filter(self.ctx, q, scope_of(viewer))
        page = kpis.behind(self.ctx, f, code, q.get("part", "numerator"), q.get("page", 1), q.get("per_page", 50))
        return dump(BehindOut(), page, self.ctx.now(), self.ctx.config)

    def agency_report(self, q: dict[str, Any], viewer: Actor | None = None) -> dict[str, Any]:
        f = report_filter(self.ctx, q, scope_of(viewer))
        return dump(AgenciesOut(), agency_report.report(self.ctx, f), self.ctx.now(), self.ctx.config)

    def division_report(self, q: dict[str, Any], viewer: Actor | None = None) -> dict[str, Any]:
        f = report_filter(self.ctx, q, scope_of(viewer))
        answer = division_report.report(self.ctx, f, f.level or q.get("level", "town"))
        return dump(DivisionsOut(), answer, self.ctx.now(), self.ctx.config)

    def warnings_report(self, kind: str | None = None, viewer: Actor | None = None) -> dict[str, Any]:
        signals = warnings.open_signals(self.ctx, kind, scope_of(viewer))
        return dump(WarningsOut(), signals, self.ctx.now(), self.ctx.config)

    def digest(self, division: str | None, period: str | None, end: date | None,
               viewer: Actor | None = None) -> dict[str, Any]:
        """研判: the digest of one division and period (docs/reports.md §6)."""
        return digest.digest(self.ctx, division, period, end, scope_of(viewer))

    def digest_pdf(self, g: dict[str, Any]) -> bytes:
        return pdf.to_pdf(pdf.digest_html(self.ctx, g), f"digest-{g['division']}-{g['from']}")

    def refresh_warnings(self) -> dict[str, int]:
        return warnings.refresh(self.ctx)

    def rebuild_figures(self, progress: Callable[[int], None] | None = None) -> int:
        return figures.rebuild(self.ctx, progress=progress)

    def figures_missing(self) -> bool:
        return figures.missing(self.ctx)

    # ------------------------------------------------------------------ administration
    def add_user(self, name: str, role: str, password: str | None = None, *, division: str | None = None) -> str:
        """A staff user; returns the bearer token (shown once). With a password they may sign in on the web;
        with a division they see and act on that division's subtree only."""
        return accounts.add_user(self.ctx, name, role, password, division=division)

    def set_password(self, name: str, password: str) -> None:
        accounts.set_password(self.ctx, name, password)

    def authenticate(self, token: str) -> Actor | None:
        return accounts.authenticate(self.ctx, token)

    def sign_in(self, name: str, password: str) -> Actor:
        return accounts.sign_in(self.ctx, name, password)

    def open_web_session(self, actor: Actor, wall: datetime) -> str:
        """A new signed-in browser; returns the session id its cookie carries."""
        return web_sessions.open_session(self.ctx, actor, wall)

    def check_web_session(self, sid: str, wall: datetime, *, active: bool) -> web_sessions.SessionCheck:
        return web_sessions.check(self.ctx, sid, wall, active=active)

    def close_web_session(self, sid: str, wall: datetime) -> None:
        web_sessions.close_session(self.ctx, sid, wall)

    def sync_agencies(self) -> dict[str, int]:
        return admin.sync_agencies(self.ctx)

    def point_agencies_at(self, endpoint_template: str) -> None:
        """Every agency's endpoint set from a template with `{code}` (the stub agency of tests and benches)."""
        admin.point_agencies_at(self.ctx, endpoint_template)

    def migrate(self) -> None:
        admin.migrate(self.ctx)

    def verify_chain(self, *, full: bool = False, rekey: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """Every hash chain: those that moved since their checkpoint, or all of them (services/audit.py)."""
        return audit.verify_store(self.ctx, full=full, rekey=rekey, progress=progress)

    def make_anchor(self, *, send: bool = True) -> tuple[dict[str, Any], str | None]:
        """An audit anchor now (the CLI's): (what is printed and sent, the witness's refusal if any)."""
        anchor = anchors.make(self.ctx, force=True)
        if anchor is None:
            raise StateConflict("另一个进程正在生成审计锚点，请稍后重试", "another process made an anchor just now; "
                                "run it again", field="anchor")
        published = anchors.published(anchor, self.ctx.store.chain_hash)
        return published, anchors.send(self.ctx, anchor) if send else None

    def recent_anchors(self, limit: int = 10) -> list[dict[str, Any]]:
        return anchors.recent(self.ctx, limit)

    def check_anchor(self, digest: str) -> dict[str, Any]:
        """The store against an anchor's digest kept outside it (services/anchors.py)."""
        return anchors.check(self.ctx, digest)

    def backup(self, target: Path, progress: Callable[[int, int], None] | None = None) -> backup.Checked:
        """The embedded database copied while serving, its chains checked."""
        return backup.backup(self.ctx, target, progress)

    def restore(self, source: Path, *, force: bool = False,
                progress: Callable[[int, int], None] | None = None) -> backup.Checked:
        """A copy put in the database's place, migrated, its chains checked (the service stopped)."""
        return backup.restore(self.ctx, source, force=force, progress=progress)

    def verify_dispute_chain(self, dispute_id: str, viewer: Actor | None = None) -> dict[str, Any]:
        views.require_visible(self.ctx, dispute_id, scope_of(viewer))
        return admin.verify_dispute_chain(self.ctx, dispute_id)

    def readiness(self) -> dict[str, bool]:
        """{database, broker}: each True when this process can reach it (as last watched, when a
        watcher runs: `watch_readiness`)."""
        return self._readiness.current() if self._readiness is not None else health.readiness(self.ctx)

    def watch_readiness(self) -> health.Watcher:
        """Keep readiness fresh on a thread of its own from now on; `stop` the returned watcher to end it."""
        self._readiness = health.Watcher(self.ctx).start()
        return self._readiness


def explain(settings: Settings, cmd: IntakeCommand, today: date) -> RoutingDecision:
    """Routing decision over the configured agencies, storing nothing and needing no database.

    Operators use it to try a changed routing.yaml or agencies.yaml before deploying it.
    """
    cfg = settings.domain
    cmd = validate_intake(cmd, cfg.ruleset, cfg.divisions, today)
    return decide(cmd.facts(), cfg.ruleset, cfg.registry)


def build_services(settings: Settings, *, clock: Callable[[], datetime] = utcnow, check_schema: bool = True,
                   engine: Any = None) -> Services:
    """Wire the store and config; refuses an unmigrated database unless told not to check (init-db)."""
    settings.domain  # noqa: B018 - load and validate every config file now, not on the first request
    engine = engine or make_engine(settings.database_url)
    if check_schema:
        ensure_migrated(engine)
        settle_suite(engine, settings.crypto)  # a database keeps the suite it was set up with
    ctx = ServiceContext(settings, Store(engine), clock)
    ctx.store.observe(figures.observer(ctx))  # the report figures, kept with every event
    return Services(ctx)

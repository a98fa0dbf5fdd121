"""Agency identity: Standard Webhooks secrets (encrypted at rest) and who signed a request.

An agency has at most two active keys: `rotate-key` issues a new one and keeps the newest old one
working, so the agency can switch over without a gap; the key before that is retired.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from router.adapters import signing
from router.domain.errors import NotFound, StateConflict, ValidationError
from router.domain.model import DELIVERY_MODES, BodyType, Tier
from router.services import signed_calls
from router.services.context import SYSTEM, ServiceContext
from router.settings import SIGNING
from router.store.models import Agency, AgencyKey, SeenRequest
from router.store.uow import UnitOfWork

log = logging.getLogger(__name__)

TOLERANCE_SECONDS = 300
ACTIVE_KEYS = 2


def add_key(ctx: ServiceContext, uow: UnitOfWork, agency_code: str, at: datetime) -> tuple[str, str]:
    # Time-ordered ids (wall clock, not the service clock): "newest key" must be decidable even when
    # two keys are issued within one clock tick, and created_at alone ties then.
    key_id, secret = f"k_{time.time_ns():016x}{uuid.uuid4().hex[:6]}", signing.new_secret()
    uow.session.add(AgencyKey(key_id=key_id, agency_code=agency_code,
                              secret_enc=ctx.cipher.encrypt(secret, f"agency_key:{key_id}"), created_at=at))
    return key_id, secret


def ensure_agency_keys(ctx: ServiceContext, uow: UnitOfWork, at: datetime) -> int:
    """Give every agency without an active key one (the demo registry; real agencies rotate theirs)."""
    have = set(uow.session.scalars(select(AgencyKey.agency_code).where(AgencyKey.retired_at.is_(None))))
    made = 0
    for code in uow.session.scalars(select(Agency.code)):
        if code not in have:
            add_key(ctx, uow, code, at)
            made += 1
    return made


def agency_secrets(ctx: ServiceContext, session: Any, agency_code: str) -> list[str]:
    return [secret for _, secret in active_keys(ctx, session, agency_code)]


def all_algorithms(ctx: ServiceContext) -> dict[str, str]:
    with ctx.store.read() as s:
        return {code: algorithm for code, algorithm in s.execute(select(Agency.code, Agency.signing))}


def active_keys(ctx: ServiceContext, session: Any, agency_code: str) -> list[tuple[str, str]]:
    """(key id, secret) of an agency's active keys, newest first."""
    keys = session.scalars(select(AgencyKey).where(AgencyKey.agency_code == agency_code,
                                                   AgencyKey.retired_at.is_(None))
                           .order_by(AgencyKey.key_id.desc())).all()
    return [(k.key_id, ctx.cipher.decrypt(k.secret_enc, f"agency_key:{k.key_id}")) for k in keys]


def newest_key(ctx: ServiceContext, agency_code: str) -> tuple[str, str]:
    with ctx.store.read() as s:
        keys = active_keys(ctx, s, agency_code)
    if not keys:
        raise NotFound(f"机构没有有效密钥：{agency_code}", f"no active key for agency {agency_code!r}")
    return keys[0]


def all_secrets(ctx: ServiceContext) -> dict[str, list[str]]:
    with ctx.store.read() as s:
        return {code: agency_secrets(ctx, s, code) for code in s.scalars(select(Agency.code))}


def register_agency(ctx: ServiceContext, code: str, name: str, body_type: str, tier: str, division: str,
                    endpoint: str | None, priority: int = 0, delivery: str | None = None,
                    signing_: str = "hmac-sha256") -> tuple[str, str]:
    """`agency add`: a new agency with its first key; returns (key id, secret), shown once. Without an
    endpoint it is a pull agency (or paper: a clerk hands its files over)."""
    delivery = delivery or ("push" if endpoint else "pull")
    if delivery not in DELIVERY_MODES:
        raise ValidationError(f"送达方式只能是 {'、'.join(DELIVERY_MODES)}",
                              f"delivery must be one of {DELIVERY_MODES}", field="delivery")
    if signing_ not in SIGNING:
        raise ValidationError(f"签名算法只能是 {'、'.join(SIGNING)}", f"signing must be one of {SIGNING}",
                              field="signing")
    if delivery == "push" and not endpoint:
        raise ValidationError("推送方式必须填写接口地址", "a push agency needs an endpoint", field="endpoint")
    try:
        bt, tr = BodyType(body_type), Tier(tier)
    except ValueError as e:
        raise ValidationError(f"机构类型或层级无效：{e}", str(e), field="body_type" if "BodyType" in str(e)
                              else "tier") from None
    if ctx.config.divisions.get(division) is None:
        raise ValidationError(f"区划代码不在本中心辖区：{division}", f"unknown division {division!r}",
                              field="division")
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise ValidationError("接口地址必须以 http:// 或 https:// 开头", "endpoint must be an http(s) URL",
                              field="endpoint")
    at = ctx.now()
    with ctx.store.unit_of_work() as uow:
        if uow.session.get(Agency, code) is not None:
            raise StateConflict(f"机构已存在：{code}", f"agency {code!r} already exists", field="code")
        uow.session.add(Agency(code=code, name=name, body_type=str(bt), tier=str(tr), jurisdiction=[division],
                               endpoint=endpoint, delivery=delivery, active=True, priority=priority, created_at=at,
                               updated_at=at, signing=signing_))
        uow.session.flush()
        key = add_key(ctx, uow, code, at)
        uow.append_event(type="agency.added", actor=SYSTEM.id, at=at,
                         data={"code": code, "name": name, "body_type": str(bt), "tier": str(tr),
                               "division": division, "endpoint": endpoint, "delivery": delivery, "priority": priority,
                               "key_id": key[0], "signing": signing_})
    ctx.invalidate_registry()
    return key


def rotate_key(ctx: ServiceContext, code: str) -> tuple[str, str]:
    """A new key; the newest old key stays valid during the switch, older ones are retired."""
    at = ctx.now()
    with ctx.store.unit_of_work() as uow:
        if uow.session.get(Agency, code, with_for_update=True) is None:
            raise NotFound(f"机构不存在：{code}", f"no agency {code!r}")
        active = uow.session.scalars(select(AgencyKey).where(AgencyKey.agency_code == code,
                                                             AgencyKey.retired_at.is_(None))
                                     .order_by(AgencyKey.key_id.desc())).all()
        retired = [k.key_id for k in active[ACTIVE_KEYS - 1:]]
        for k in active[ACTIVE_KEYS - 1:]:
            k.retired_at = at
        key = add_key(ctx, uow, code, at)
        uow.append_event(type="agency.key_rotated", actor=SYSTEM.id, at=at,
                         data={"code": code, "key_id": key[0], "retired": retired})
    return key


# --------------------------------------------------------------------------- verifying requests
@dataclass(frozen=True)
class SignedRequest:
    key_id: str
    webhook_id: str
    timestamp: str
    signature: str
    body: bytes


def authenticate_agency(ctx: ServiceContext, req: SignedRequest) -> Agency | signed_calls.Replay | None:
    """The agency that signed `req`; the first answer when `req` is a retry of a call already
    answered (services/signed_calls.py); or None. The caller answers 401 without saying why; the log
    says."""
    now = ctx.now()
    reason = _check(ctx, req, now)
    if isinstance(reason, str):
        log.warning("agency request refused", extra={"reason": reason, "key_id": req.key_id[:64],
                                                     "webhook_id": req.webhook_id[:128]})
        return None
    return reason


def _check(ctx: ServiceContext, req: SignedRequest, now: datetime) -> Agency | signed_calls.Replay | str:
    if not (req.key_id and req.webhook_id and req.timestamp and req.signature) or len(req.webhook_id) > 128:
        return "missing_headers"
    with ctx.store.read() as s:
        key = s.get(AgencyKey, req.key_id)
        if key is None or key.retired_at is not None:
            return "unknown_key"
        agency = s.get(Agency, key.agency_code)
        if agency is None or not agency.active:
            return "inactive_agency"
        secrets_ = agency_secrets(ctx, s, agency.code)
        s.expunge(agency)
    if not signing.verify(secrets_, req.webhook_id, req.timestamp, req.body, req.signature,
                          now=int(now.timestamp()), tolerance=TOLERANCE_SECONDS, algorithm=agency.signing):
        return "bad_signature_or_timestamp"
    digest = hashlib.sha256(req.body).hexdigest()
    try:  # the replay check: a webhook-id is used once per agency within the window
        with ctx.store.unit_of_work() as uow:
            uow.session.add(SeenRequest(agency_code=agency.code, webhook_id=req.webhook_id, seen_at=now,
                                        payload_hash=digest))
    except IntegrityError:
        again = signed_calls.replayed(ctx, agency.code, req.webhook_id, digest)
        if again is not None:
            return again
    return agency


def purge_seen_requests(ctx: ServiceContext) -> int:
    """Forget webhook-ids older than twice the window: their timestamps fail the window check anyway.
    Housekeeping for the scheduler, kept off the request path."""
    with ctx.store.unit_of_work() as uow:
        return uow.session.execute(delete(SeenRequest).where(
            SeenRequest.seen_at < ctx.now() - timedelta(seconds=2 * TOLERANCE_SECONDS))).rowcount or 0

"""Staff users, the agency registry and audit checks."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import select, update

from router.domain.errors import StateConflict, ValidationError
from router.domain.model import StaffRole
from router.services.agency_keys import ensure_agency_keys
from router.services.context import SYSTEM, Actor, ServiceContext
from router.store.chain import verify_all
from router.store.migrate import upgrade
from router.store.models import Agency, User

ROLES = tuple(str(r) for r in StaffRole)
TOKEN_PREFIX = "drt_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(ctx: ServiceContext, name: str, role: str) -> str:
    """Create a staff user and return their bearer token (shown once, stored only as a hash)."""
    if role not in ROLES:
        raise ValidationError(f"角色必须是 {'、'.join(ROLES)} 之一", f"role must be one of {', '.join(ROLES)}",
                              field="role")
    if not name or not name.strip():
        raise ValidationError("用户名不能为空", "name is required", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    at = ctx.now()
    with ctx.store.unit_of_work() as uow:
        if uow.session.scalar(select(User).where(User.name == name)) is not None:
            raise StateConflict(f"用户已存在：{name}", f"user {name!r} already exists", field="name")
        uow.session.add(User(name=name, role=role, token_hash=token_hash(token), active=True, created_at=at))
        uow.append_event(type="user.added", actor=SYSTEM.id, at=at, data={"name": name, "role": role})
    return token


def authenticate(ctx: ServiceContext, token: str) -> Actor | None:
    with ctx.store.read() as s:
        u = s.scalar(select(User).where(User.token_hash == token_hash(token), User.active.is_(True)))
        return Actor("user", u.name, u.role) if u else None


def sync_agencies(ctx: ServiceContext) -> dict[str, int]:
    """Load the configured agencies: insert new ones, update changed ones; never delete (handoffs refer)."""
    at = ctx.now()
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    with ctx.store.unit_of_work() as uow:
        existing = {a.code: a for a in uow.session.scalars(select(Agency))}
        for ac in ctx.config.agencies:
            i = ac.info
            values = {"name": i.name, "body_type": str(i.body_type), "tier": str(i.tier),
                      "jurisdiction": list(i.jurisdiction), "endpoint": ac.endpoint, "active": i.active,
                      "priority": i.priority}
            row = existing.get(i.code)
            if row is None:
                uow.session.add(Agency(code=i.code, created_at=at, updated_at=at, **values))
                counts["added"] += 1
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                row.updated_at = at
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        uow.session.flush()
        counts["keys_issued"] = ensure_agency_keys(ctx, uow, at)
        if counts["added"] or counts["updated"] or counts["keys_issued"]:
            uow.append_event(type="agencies.synced", actor=SYSTEM.id, at=at, data=dict(counts))
    ctx.invalidate_registry()
    return counts


def migrate(ctx: ServiceContext) -> None:
    """Bring the database schema to the code's revision (`init-db`)."""
    upgrade(ctx.store.engine)


def point_agencies_at(ctx: ServiceContext, endpoint_template: str) -> None:
    prefix, _, suffix = endpoint_template.partition("{code}")
    with ctx.store.unit_of_work() as uow:
        uow.session.execute(update(Agency).values(endpoint=prefix + Agency.code + suffix))
    ctx.invalidate_registry()


def verify_chain(ctx: ServiceContext) -> dict[str, Any]:
    with ctx.store.read() as s:
        checked, broken = verify_all(s)
    return {"ok": broken is None, "events_checked": checked, "first_broken": broken.as_dict() if broken else None}

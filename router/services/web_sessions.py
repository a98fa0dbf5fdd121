"""Web sessions kept on the server: the cookie carries only a random session id, so signing out, a
password change or the idle timeout ends the session itself, not just the browser's copy of it.

`signed_in_at` is service time (compared with the user's last password change); `last_seen_at` is
the wall clock, as idleness is about people, and is written at most once a minute.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from router.services.context import Actor, ServiceContext
from router.store.models import User, WebSession
from router.store.uow import UnitOfWork

TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionCheck:
    actor: Actor | None
    idle: bool = False  # ended now for want of activity: the sign-in page says so


def open_session(ctx: ServiceContext, actor: Actor, wall: datetime) -> str:
    sid = secrets.token_urlsafe(32)
    with ctx.store.unit_of_work() as uow:
        uow.session.add(WebSession(id=sid, user_name=actor.name, signed_in_at=ctx.now(), last_seen_at=wall))
    return sid


def check(ctx: ServiceContext, sid: str, wall: datetime, *, active: bool) -> SessionCheck:
    """The session's user while it is valid. `active`: this request is the user's own doing (a page,
    a form), which keeps the session alive; a background refresh does not."""
    with ctx.store.read() as s:
        row = s.get(WebSession, sid)
        u = s.scalar(select(User).where(User.name == row.user_name, User.active.is_(True))) if row else None
    if row is None or row.ended_at is not None or u is None:
        return SessionCheck(None)
    if wall - row.last_seen_at > timedelta(minutes=ctx.settings.session_idle_minutes):
        close_session(ctx, sid, wall)
        return SessionCheck(None, idle=True)
    if u.password_changed_at is not None and u.password_changed_at > row.signed_in_at:
        return SessionCheck(None)
    if active and wall - row.last_seen_at >= TOUCH_EVERY:
        with ctx.store.unit_of_work() as uow:
            uow.session.execute(update(WebSession).where(WebSession.id == sid).values(last_seen_at=wall))
    return SessionCheck(Actor("user", u.name, u.role, u.division))


def close_session(ctx: ServiceContext, sid: str, wall: datetime) -> None:
    with ctx.store.unit_of_work() as uow:
        uow.session.execute(update(WebSession).where(WebSession.id == sid, WebSession.ended_at.is_(None))
                            .values(ended_at=wall))


def end_all_sessions(uow: UnitOfWork, user_name: str, at: datetime) -> None:
    """Inside the transaction that changes the password: every session of the user ends with it."""
    uow.session.execute(update(WebSession).where(WebSession.user_name == user_name, WebSession.ended_at.is_(None))
                        .values(ended_at=at))

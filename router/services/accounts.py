"""Staff users: a bearer token for the JSON API, a password for the web pages (argon2id), and the
web sign-in with its lock-out (docs/api.md §2).

A token or password is shown once and stored only as a hash. After `login_lock_after` failed
passwords in a row a user is locked for `login_lock_minutes`, whoever tries; a password change ends
every web session (services/web_sessions.py).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select

from router.domain.errors import DomainError, StateConflict, ValidationError
from router.domain.model import StaffRole
from router.services.context import SYSTEM, Actor, ServiceContext
from router.services.web_sessions import end_all_sessions
from router.store.models import User
from router.store.uow import UnitOfWork

log = logging.getLogger(__name__)
ROLES = tuple(str(r) for r in StaffRole)
TOKEN_PREFIX = "drt_"
MIN_PASSWORD = 8
_HASHER = PasswordHasher()  # argon2id with the library's current parameters


class SignInRefused(DomainError):
    """Wrong name or password, or a locked account: the page says which only as far as is safe."""

    code = "sign_in_refused"

    def __init__(self, message_zh: str, message_en: str, *, locked_until: datetime | None = None) -> None:
        super().__init__(message_zh, message_en)
        self.locked_until = locked_until


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"密码至少{MIN_PASSWORD}个字符", f"a password needs at least {MIN_PASSWORD} characters",
                              field="password")


def add_user(ctx: ServiceContext, name: str, role: str, password: str | None = None, *,
             division: str | None = None) -> str:
    """Create a staff user and return their bearer token (shown once, stored only as a hash)."""
    if role not in ROLES:
        raise ValidationError(f"角色必须是 {'、'.join(ROLES)} 之一", f"role must be one of {', '.join(ROLES)}",
                              field="role")
    if not name or not name.strip():
        raise ValidationError("用户名不能为空", "name is required", field="name")
    if division is not None and ctx.config.divisions.get(division) is None:
        raise ValidationError(f"不在本中心辖区的区划代码：{division}", f"unknown division {division!r}",
                              field="division")
    if password is not None:
        _check_password(password)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    at = ctx.now()
    with ctx.store.unit_of_work() as uow:
        if uow.session.scalar(select(User).where(User.name == name)) is not None:
            raise StateConflict(f"用户已存在：{name}", f"user {name!r} already exists", field="name")
        uow.session.add(User(name=name, role=role, division=division, token_hash=token_hash(token), active=True,
                             created_at=at,
                             password_hash=_HASHER.hash(password) if password is not None else None,
                             password_changed_at=at if password is not None else None, failed_logins=0))
        uow.append_event(type="user.added", actor=SYSTEM.id, at=at,
                         data={"name": name, "role": role, **({"division": division} if division else {}),
                               **({"password": True} if password is not None else {})})
    return token


def set_password(ctx: ServiceContext, name: str, password: str) -> None:
    """`user passwd`: a new password; sessions signed in before it end, a lock is lifted."""
    _check_password(password)
    at = ctx.now()
    with ctx.store.unit_of_work() as uow:
        u = uow.session.scalar(select(User).where(User.name == name).with_for_update())
        if u is None:
            raise ValidationError(f"用户不存在：{name}", f"no user {name!r}", field="name")
        u.password_hash, u.password_changed_at = _HASHER.hash(password), at
        u.failed_logins, u.locked_until = 0, None
        end_all_sessions(uow, name, at)
        uow.append_event(type="user.password_changed", actor=SYSTEM.id, at=at, data={"name": name})


_BY_TOKEN = select(User.name, User.role, User.division).where(User.token_hash == bindparam("token_hash"),
                                                             User.active.is_(True))


def authenticate(ctx: ServiceContext, token: str) -> Actor | None:
    """Every API call asks this: one prepared statement on a pooled connection, no session."""
    row = ctx.store.fetch_one(_BY_TOKEN, {"token_hash": token_hash(token)})
    return Actor("user", row.name, row.role, row.division) if row else None


def sign_in(ctx: ServiceContext, name: str, password: str) -> Actor:
    """Check a web sign-in; SignInRefused for a wrong pair or a locked account.

    The password is checked outside any transaction: argon2 takes a large part of a second, and
    inside a unit of work it would hold SQLite's one write lock against every registration. Only
    the count of failures (or its reset) is written, in a short transaction of its own, committed
    before the refusal is raised so the count survives it.
    """
    at = ctx.now()
    with ctx.store.read() as s:
        u = s.scalar(select(User).where(User.name == name, User.active.is_(True)))
    if u is None or u.password_hash is None:
        _HASHER.hash(password)  # the same work as a real check: timing does not tell who exists
        raise SignInRefused("用户名或密码错误", "wrong user name or password")
    if u.locked_until is not None and u.locked_until > at:
        _HASHER.hash(password)
        raise _locked(ctx, u.locked_until)
    try:
        ok = _HASHER.verify(u.password_hash, password)
    except (VerificationError, InvalidHashError):
        ok = False
    rehashed = _HASHER.hash(password) if ok and _HASHER.check_needs_rehash(u.password_hash) else None
    with ctx.store.unit_of_work() as uow:
        row = uow.session.get(User, u.id, with_for_update=True)
        outcome = _count(ctx, uow, row, ok, rehashed, at)
    if isinstance(outcome, SignInRefused):
        raise outcome
    return outcome


def _locked(ctx: ServiceContext, until: datetime) -> SignInRefused:
    local = until.astimezone(ctx.config.calendar.tz)
    return SignInRefused(f"连续{ctx.settings.login_lock_after}次密码错误，账户已锁定至{local:%H:%M}，请稍后再试",
                         "the account is locked after repeated wrong passwords", locked_until=until)


def _count(ctx: ServiceContext, uow: UnitOfWork, u: User, ok: bool, rehashed: str | None,
           at: datetime) -> Actor | SignInRefused:
    s = ctx.settings
    if u.locked_until is not None and u.locked_until > at:  # locked by a parallel attempt meanwhile
        return _locked(ctx, u.locked_until)
    if ok:
        u.failed_logins, u.locked_until = 0, None
        if rehashed:
            u.password_hash = rehashed
        return Actor("user", u.name, u.role, u.division)
    u.failed_logins = (u.failed_logins or 0) + 1
    if u.failed_logins < s.login_lock_after:
        return SignInRefused("用户名或密码错误", "wrong user name or password")
    u.locked_until, u.failed_logins = at + timedelta(minutes=s.login_lock_minutes), 0
    uow.append_event(type="user.locked", actor=SYSTEM.id, at=at,
                     data={"name": u.name, "until": u.locked_until, "after": s.login_lock_after})
    log.warning("user locked after repeated wrong passwords", extra={"user": u.name})
    return SignInRefused(f"连续{s.login_lock_after}次密码错误，账户已锁定{s.login_lock_minutes}分钟",
                         "the account is locked after repeated wrong passwords", locked_until=u.locked_until)

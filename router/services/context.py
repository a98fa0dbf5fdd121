"""What every use case needs: settings, store, clock, PII cipher and the loaded config."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from router.domain.model import BodyType, Tier
from router.domain.registry import AgencyInfo, Registry
from router.settings import DomainConfig, Settings
from router.store.crypto import suite
from router.store.models import Agency
from router.store.pii import PiiCipher
from router.store.store import Store

REGISTRY_TTL_SECONDS = 30.0


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServiceContext:
    settings: Settings
    store: Store
    clock: Callable[[], datetime] = utcnow
    cipher: PiiCipher = field(init=False)
    _registry: tuple[float, Registry] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.cipher = PiiCipher(self.settings.pii_key, suite(self.settings.crypto), self.settings.pii_old_keys)
        self.store.use_suite(self.settings.crypto)
        self.store.clock = self.store.clock or self.now
        if self.store.cipher is None:  # the store keeps masked free text's originals with it (store/sealing.py)
            self.store.cipher = self.cipher

    @property
    def config(self) -> DomainConfig:
        return self.settings.domain

    def now(self) -> datetime:
        return self.clock()

    def registry(self) -> Registry:
        """Routing's view of the agencies table, cached briefly: agencies change rarely."""
        stamp = time.monotonic()
        cached = self._registry
        if cached is None or stamp - cached[0] > REGISTRY_TTL_SECONDS:
            with self.store.read() as s:
                infos = [AgencyInfo(a.code, a.name, BodyType(a.body_type), Tier(a.tier), tuple(a.jurisdiction),
                                    a.active, a.priority) for a in s.scalars(select(Agency))]
            cached = self._registry = (stamp, Registry(infos))
        return cached[1]

    def invalidate_registry(self) -> None:
        self._registry = None
        self.store.forget_delivery_modes()


@dataclass(frozen=True)
class Actor:
    """Who asked: staff user, agency or the system itself. `id` goes on every audit event."""

    kind: str  # user | agency | system
    name: str
    role: str | None = None
    division: str | None = None  # a staff user's scope: that division's subtree; None is the whole centre

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"


SYSTEM = Actor("system", "router")

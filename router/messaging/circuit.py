"""Per-agency circuit breaker: stop hammering an agency that is down, try again on its own.

After `threshold` consecutive failures the circuit opens for `cooldown` seconds (doubling up to
`max_cooldown` while failures go on); then one trial goes through (half-open). A success closes it.
Deferred deliveries are not counted as attempts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Breaker:
    def __init__(self, threshold: int = 5, cooldown: float = 30.0, max_cooldown: float = 600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold, self.base, self.max = threshold, cooldown, max_cooldown
        self.clock = clock
        self.failures = 0
        self.cooldown = cooldown
        self.open_until = 0.0
        self.trial = False
        self.lock = threading.Lock()

    def allow(self) -> bool:
        with self.lock:
            if self.failures < self.threshold:
                return True
            if self.clock() >= self.open_until and not self.trial:
                self.trial = True  # half-open: let one attempt through
                return True
            return False

    def remaining(self) -> float:
        return max(1.0, self.open_until - self.clock())

    def record(self, ok: bool) -> None:
        with self.lock:
            self.trial = False
            if ok:
                self.failures, self.cooldown = 0, self.base
                return
            self.failures += 1
            if self.failures >= self.threshold:
                if self.open_until:
                    self.cooldown = min(self.cooldown * 2, self.max)
                self.open_until = self.clock() + self.cooldown


class CircuitBreakers:
    def __init__(self, **kw: float) -> None:
        self.kw = kw
        self.by_agency: dict[str, Breaker] = {}
        self.lock = threading.Lock()

    def get(self, agency: str) -> Breaker:
        with self.lock:
            if agency not in self.by_agency:
                self.by_agency[agency] = Breaker(**self.kw)  # type: ignore[arg-type]
            return self.by_agency[agency]

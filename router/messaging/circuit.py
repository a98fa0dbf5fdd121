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
        self.recovered_at: float | None = None
        self.lock = threading.Lock()

    def allow(self) -> bool:
        with self.lock:
            if self.failures < self.threshold:
                return True
            if self.clock() >= self.open_until and not self.trial:
                self.trial = True  # half-open: let one attempt through
                return True
            return False

    def closed(self) -> bool:
        """Fewer failures in a row than the threshold: deliveries go through."""
        return self.failures < self.threshold

    def draining(self) -> bool:
        """Shortly after an outage ended: the backlog is going out and must keep its order."""
        return self.recovered_at is not None and self.clock() - self.recovered_at < self.max

    def remaining(self) -> float:
        return max(1.0, self.open_until - self.clock())

    def record(self, ok: bool) -> bool:
        """True when this success closed an open circuit: the agency is back, its backlog may go."""
        with self.lock:
            self.trial = False
            if ok:
                recovered = self.failures >= self.threshold
                self.failures, self.cooldown, self.open_until = 0, self.base, 0.0
                if recovered:
                    self.recovered_at = self.clock()
                return recovered
            self.failures += 1
            if self.failures >= self.threshold:
                if self.open_until:
                    self.cooldown = min(self.cooldown * 2, self.max)
                self.open_until = self.clock() + self.cooldown
            return False


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

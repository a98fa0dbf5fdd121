"""Retry backoff and the per-agency circuit breaker."""

from __future__ import annotations

import random

from router.messaging.circuit import Breaker
from router.services.delivery import backoff
from router.settings import Settings

SCHEDULE = Settings.__dataclass_fields__["delivery_schedule"].default


def test_schedule_is_standard_webhooks_and_about_a_day():
    assert SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert 24 * 3600 <= sum(SCHEDULE) <= 30 * 3600


def test_backoff_follows_the_schedule_with_jitter_and_retry_after():
    rng = random.Random(1)
    waits = [backoff(SCHEDULE, n, None, rng) for n in range(1, 8)]
    for got, base in zip(waits, SCHEDULE[1:], strict=True):
        assert 0.9 * base <= got <= 1.1 * base
    assert backoff(SCHEDULE, 8, None, rng) is None           # eight attempts, then undeliverable
    assert backoff(SCHEDULE, 1, 120.0, rng) == 120.0          # Retry-After longer than the schedule wins


def test_breaker_opens_after_failures_and_tries_again_on_its_own():
    now = [0.0]
    b = Breaker(threshold=3, cooldown=10, max_cooldown=40, clock=lambda: now[0])
    for _ in range(3):
        assert b.allow()
        b.record(False)
    assert not b.allow()                 # open
    now[0] = 10.0
    assert b.allow()                     # half-open: one trial
    assert not b.allow()                 # only one
    b.record(False)                      # trial failed: cooldown doubles
    now[0] = 29.0
    assert not b.allow()
    now[0] = 30.0
    assert b.allow()
    b.record(True)                       # success closes it
    assert b.allow() and b.allow()

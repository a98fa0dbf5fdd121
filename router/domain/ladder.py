"""The escalation ladder of one deadline (docs/domain.md §6), as timers to set. Pure: no I/O.

acknowledgement: yellow warning before it; silence past it counts as a refusal (expire, re-route).
handling: yellow warning before it; overdue when it passes; urge (催办) `urge_after` later; escalate
(督办) `escalate_after` later. Each rung carries the rule that placed it, for the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from router.domain.calendar import Period, WorkCalendar


@dataclass(frozen=True)
class Rung:
    kind: str
    due: datetime
    rule: str


def ladder(cal: WorkCalendar, steps: Mapping[str, Period], deadline: str, start: datetime, due: datetime,
           rule: str) -> list[Rung]:
    """Timers for `deadline` ("ack" or "handle") that runs from `start` to `due`."""
    rungs = []
    warn = cal.before(due, steps["warn_before"])
    if start < warn < due:  # a deadline shorter than the warning band is not warned
        band = steps["warn_before"].describe_zh()
        rungs.append(Rung(f"{deadline}_warn", warn, f"{deadline}_due前{band}预警；{rule}"))
    rungs.append(Rung(f"{deadline}_due", due, rule))
    if deadline == "handle":
        rungs.append(Rung("handle_urge", cal.deadline(due, steps["urge_after"]),
                          f"超期后{steps['urge_after'].describe_zh()}催办；{rule}"))
        rungs.append(Rung("handle_escalate", cal.deadline(due, steps["escalate_after"]),
                          f"超期后{steps['escalate_after'].describe_zh()}督办；{rule}"))
    return rungs

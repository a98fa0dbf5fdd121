"""The agency registry routing looks at: which concrete agency of a body type, at a tier, covers a
division, and why it was chosen when two could be (docs/domain.md §2, §4)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from router.domain.model import BodyType, Reason, Tier, body_zh


def division_prefix(code: str) -> str:
    """The significant prefix of a 12-digit division code: trailing all-zero segments dropped.

    ``330681000000`` -> ``330681`` (a county covers every code starting so).
    """
    bounds = (2, 4, 6, 9, 12)
    prefix = code
    for start, end in zip(bounds[-2::-1], bounds[::-1], strict=False):
        if set(prefix[start:end]) <= {"0"} and len(prefix) >= end:
            prefix = prefix[:start]
        else:
            break
    return prefix


def covers(jurisdiction_code: str, division: str) -> bool:
    return division.startswith(division_prefix(jurisdiction_code))


@dataclass(frozen=True)
class AgencyInfo:
    """What routing needs to know of one concrete agency."""

    code: str
    name: str
    body_type: BodyType
    tier: Tier
    jurisdiction: tuple[str, ...]
    active: bool = True
    # Between agencies of one body type and tier that cover a division equally well, the higher
    # priority takes the dispute; equal priorities share the load (agencies.yaml `priority`).
    priority: int = 0

    def covers(self, division: str) -> int:
        """Specificity of the best jurisdiction code covering `division`; 0 when none does."""
        best = 0
        for j in self.jurisdiction:
            if covers(j, division):
                best = max(best, len(division_prefix(j)) + 1)
        return best


class Registry:
    """Agencies indexed by (body type, tier) for jurisdiction look-ups."""

    def __init__(self, agencies: Iterable[AgencyInfo]) -> None:
        self._by_key: dict[tuple[BodyType, Tier], list[AgencyInfo]] = {}
        self.by_code: dict[str, AgencyInfo] = {}
        for a in agencies:
            self.by_code[a.code] = a
            if a.active:
                self._by_key.setdefault((a.body_type, a.tier), []).append(a)

    def tied(self, body_type: BodyType, tier: Tier, division: str,
             exclude: frozenset[str] = frozenset()) -> list[AgencyInfo]:
        """The active agencies of that type at that tier that cover the division most specifically,
        highest priority first (more than one only when two jurisdictions are equally specific)."""
        best, out = 0, []
        for a in self._by_key.get((body_type, tier), ()):
            spec = 0 if a.code in exclude else a.covers(division)
            if spec > best:
                best, out = spec, [a]
            elif spec and spec == best:
                out.append(a)
        return sorted(out, key=lambda a: (-a.priority, a.code))

    def find(self, body_type: BodyType, tier: Tier, division: str, exclude: frozenset[str] = frozenset(),
             key: str = "") -> AgencyInfo | None:
        """The most specific active agency of that type at that tier covering the division.

        Among equally specific ones the highest priority wins; equal priorities share the load by
        rendezvous hashing on `key` (the dispute id): each dispute keeps its agency, and an agency
        added beside them takes only its share.
        """
        tied = self.tied(body_type, tier, division, exclude)
        if not tied:
            return None
        top = [a for a in tied if a.priority == tied[0].priority]
        return top[0] if len(top) == 1 else max(top, key=lambda a: _weight(key, a.code))

    def find_upwards(self, body_type: BodyType, tier: Tier, division: str, exclude: frozenset[str] = frozenset(),
                     key: str = "") -> AgencyInfo | None:
        """Try `tier`, then each tier above it (docs/domain.md §4: "try the next tier up")."""
        t: Tier | None = tier
        while t is not None:
            a = self.find(body_type, t, division, exclude, key)
            if a is not None:
                return a
            t = t.up()
        return None

    def tie_reason(self, chosen: AgencyInfo, division: str, exclude: frozenset[str] = frozenset(),
                   key: str = "") -> Reason | None:
        """Why `chosen` and not an equally placed agency; None when it had no rival. Without a
        dispute id (a preview) a shared choice is only provisional, and the reason says so."""
        tied = self.tied(chosen.body_type, chosen.tier, division, exclude)
        if len(tied) < 2:
            return None
        body = body_zh(chosen.body_type)
        rivals = "、".join(a.name for a in tied if a.code != chosen.code)
        if chosen.priority > max(a.priority for a in tied if a.code != chosen.code):
            return Reason(f"tie.priority.{chosen.body_type}",
                          f"同一辖区有{len(tied)}家{body}（另有{rivals}），按优先级选定{chosen.name}"
                          f"（{chosen.code}，优先级{chosen.priority}）")
        peers = [a for a in tied if a.priority == chosen.priority]
        who = f"本件由{chosen.name}（{chosen.code}）承办" if key else f"登记时确定承办单位（预览暂列{chosen.name}）"
        return Reason(f"tie.shared.{chosen.body_type}",
                      f"同一辖区有{len(peers)}家优先级相同的{body}，按纠纷编号轮流分担，{who}")


def _weight(key: str, code: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{key}\x1f{code}".encode()).digest()[:8], "big")

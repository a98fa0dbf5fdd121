"""The centre's area as a tree of 12-digit statistical division codes (docs/domain.md §2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from router.domain.errors import ConfigError, reject_unknown_keys
from router.domain.registry import division_prefix

LEVELS = ("city", "district", "town", "village")
FILE = "divisions.yaml"


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str
    parent: str | None = None


@dataclass(frozen=True)
class Centre:
    code: str
    name: str
    reference_prefix: str
    # The tier a dispute settled at this centre's window (当场化解) counts as resolved at (docs/domain.md §8).
    on_spot_tier: str = "village"


class DivisionTree:
    def __init__(self, centre: Centre, divisions: Iterable[Division]) -> None:
        self.centre = centre
        self.by_code: dict[str, Division] = {d.code: d for d in divisions}

    def get(self, code: str) -> Division | None:
        return self.by_code.get(code)

    def children(self, parent: str | None) -> list[Division]:
        return sorted((d for d in self.by_code.values() if d.parent == parent), key=lambda d: d.code)

    def path(self, code: str) -> list[Division]:
        """The division and its ancestors, outermost first."""
        out: list[Division] = []
        d = self.by_code.get(code)
        while d is not None:
            out.append(d)
            d = self.by_code.get(d.parent) if d.parent else None
        return out[::-1]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DivisionTree:
        if not isinstance(data, Mapping):
            raise ConfigError(FILE, "(top)", "must be a mapping")
        reject_unknown_keys(FILE, "", data, ("centre", "divisions"))
        c = data.get("centre")
        if not isinstance(c, Mapping):
            raise ConfigError(FILE, "centre", "is required (code, name, reference_prefix)")
        reject_unknown_keys(FILE, "centre", c, ("code", "name", "reference_prefix", "on_spot_tier"))
        for k in ("code", "name", "reference_prefix"):
            if not c.get(k):
                raise ConfigError(FILE, f"centre.{k}", "is required")
        on_spot = str(c.get("on_spot_tier", "village"))
        if on_spot not in ("grid", "village", "town"):
            raise ConfigError(FILE, "centre.on_spot_tier", "must be grid, village or town")
        centre = Centre(str(c["code"]), str(c["name"]), str(c["reference_prefix"]), on_spot)
        items = data.get("divisions")
        if not isinstance(items, list) or not items:
            raise ConfigError(FILE, "divisions", "must be a non-empty list")
        divs: list[Division] = []
        for i, d in enumerate(items):
            key = f"divisions[{i}]"
            if not isinstance(d, Mapping):
                raise ConfigError(FILE, key, "must be a mapping")
            reject_unknown_keys(FILE, key, d, ("code", "name", "level", "parent"))
            code = str(d.get("code", ""))
            if len(code) != 12 or not code.isdigit():
                raise ConfigError(FILE, f"{key}.code", f"must be a 12-digit division code, got {code!r}")
            if d.get("level") not in LEVELS:
                raise ConfigError(FILE, f"{key}.level", f"must be one of {', '.join(LEVELS)}")
            if not d.get("name"):
                raise ConfigError(FILE, f"{key}.name", "is required")
            divs.append(Division(code, str(d["name"]), str(d["level"]),
                                 str(d["parent"]) if d.get("parent") else None))
        tree = cls(centre, divs)
        if len(tree.by_code) != len(divs):
            raise ConfigError(FILE, "divisions", "duplicate division code")
        for i, d in enumerate(divs):
            if d.parent and d.parent not in tree.by_code:
                raise ConfigError(FILE, f"divisions[{i}].parent", f"unknown parent {d.parent!r}")
            # A subtree is the codes under the parent's prefix (staff scopes, agencies' jurisdictions):
            # a child outside it would be in the tree's subtree and not in the scope's.
            if d.parent and not d.code.startswith(division_prefix(d.parent)):
                raise ConfigError(FILE, f"divisions[{i}].code",
                                  f"{d.code} is not under its parent {d.parent} (it must start with "
                                  f"{division_prefix(d.parent)})")
        if centre.code not in tree.by_code:
            raise ConfigError(FILE, "centre.code", "must be one of the divisions")
        return tree

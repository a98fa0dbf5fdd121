"""Deadline arithmetic on the statutory calendar (docs/domain.md §5).

Counting follows 民事诉讼法 85: the start day is not counted; a period in days whose last day is
a rest day runs to the end of the next working day. Working days follow the State Council calendar
with make-up working days (调休) via chinesecalendar, plus config/holidays.yaml overrides for years
it does not know (or corrections to years it does). A year with neither fails loudly: a guessed
deadline is worse than none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar

from router.domain.errors import ConfigError, DomainError, reject_unknown_keys

HOLIDAYS_FILE = "holidays.yaml"
END_OF_DAY = time(23, 59, 59)


class UnknownYearError(DomainError):
    """No statutory calendar for a year: refuse rather than guess a deadline."""

    code = "unknown_year"

    def __init__(self, year: int) -> None:
        super().__init__(f"缺少 {year} 年的法定节假日安排：请在 config/holidays.yaml 中补充",
                         f"no holiday calendar for year {year}: add it to config/holidays.yaml")
        self.year = year


class Unit(StrEnum):
    CALENDAR = "calendar"   # 日: calendar days, last day extended past rest days
    WORKING = "working"     # 工作日
    HOURS = "hours"
    MINUTES = "minutes"     # demo and test configs only
    SECONDS = "seconds"     # demo and test configs only


_SUFFIX = {"c": Unit.CALENDAR, "w": Unit.WORKING, "h": Unit.HOURS, "min": Unit.MINUTES, "s": Unit.SECONDS}
_SHORT = {v: k for k, v in _SUFFIX.items()}
_ZH = {Unit.CALENDAR: "日", Unit.WORKING: "个工作日", Unit.HOURS: "小时", Unit.MINUTES: "分钟",
       Unit.SECONDS: "秒"}
# The one spelling of a period, for config files and API fields alike: 3w, 30c, 24h, 15min, 10s.
PERIOD_PATTERN = r"^\s*([0-9]+)\s*(c|w|h|min|s)\s*$"
_PATTERN = re.compile(PERIOD_PATTERN)
_CLOCK = {Unit.HOURS: timedelta(hours=1), Unit.MINUTES: timedelta(minutes=1),
          Unit.SECONDS: timedelta(seconds=1)}


@dataclass(frozen=True)
class Period:
    """A statutory period as written in bodies.yaml: '3w', '30c', '24h' (and '15min', '10s' for demos)."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise ValueError(f"a period needs a whole number of at least 1, not {self.amount!r}")
        object.__setattr__(self, "unit", Unit(self.unit))

    @classmethod
    def parse(cls, text: str) -> Period:
        """'3w' working days, '30c' calendar days, '24h', '15min', '10s'."""
        m = _PATTERN.fullmatch(str(text))
        if not m:
            raise ValueError(f"not a period: {text!r} (use e.g. 3w, 30c, 24h, 15min, 10s)")
        return cls(int(m.group(1)), _SUFFIX[m.group(2)])

    def __str__(self) -> str:
        return f"{self.amount}{_SHORT[self.unit]}"

    def describe_zh(self) -> str:
        """The period as a statute writes it: '3个工作日', '30日', '24小时'."""
        return f"{self.amount}{_ZH[self.unit]}"


@dataclass(frozen=True)
class YearOverride:
    """One year's days off (`holidays`) and weekend make-up working days (`workdays`, 调休上班)."""

    holidays: frozenset[date]
    workdays: frozenset[date]
    provisional: bool = False


@cache
def _known_by_package(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class WorkCalendar:
    """Working days and deadlines in one local timezone (the day a period starts is a local day)."""

    def __init__(self, overrides: Mapping[int, YearOverride] | None = None,
                 tz: str = "Asia/Shanghai") -> None:
        self.overrides: dict[int, YearOverride] = dict(overrides or {})
        self.tz = ZoneInfo(tz)
        self._days: dict[date, bool] = {}  # answers so far: every deadline asks about the same few weeks

    def is_working_day(self, d: date) -> bool:
        """Override first, then chinesecalendar; an override-only year follows the week otherwise."""
        if isinstance(d, datetime):  # its date depends on a timezone: the caller must choose it
            raise TypeError("is_working_day takes a date, not a datetime")
        known = self._days.get(d)
        if known is None:
            known = self._days[d] = self._working(d)
        return known

    def _working(self, d: date) -> bool:
        o = self.overrides.get(d.year)
        if o is not None:
            if d in o.holidays:
                return False
            if d in o.workdays:
                return True
        if _known_by_package(d.year):
            return bool(chinese_calendar.is_workday(d))
        if o is None:
            raise UnknownYearError(d.year)
        return d.weekday() < 5

    def next_working_day(self, d: date) -> date:
        """The first working day after `d`."""
        d += timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after `d` (the start day is not counted)."""
        if n < 0:
            raise ValueError(f"cannot add {n} working days")
        for _ in range(n):
            d = self.next_working_day(d)
        return d

    def end_of(self, d: date) -> datetime:
        """The last second of local day `d`: day periods run to the end of their final day."""
        return datetime.combine(d, END_OF_DAY, self.tz)

    def previous_working_day(self, d: date) -> date:
        """The last working day before `d`."""
        d -= timedelta(days=1)
        while not self.is_working_day(d):
            d -= timedelta(days=1)
        return d

    def before(self, due: datetime, period: Period) -> datetime:
        """The instant `period` before a deadline (the yellow-warning point of the escalation ladder).

        Working days step back over rest days: one working day before a deadline at the end of a
        Monday is the end of the Friday before it, so the whole last working day is warned.
        """
        if due.tzinfo is None or due.utcoffset() is None:
            raise ValueError("due must be timezone-aware")
        if period.unit in _CLOCK:
            return (due.astimezone(UTC) - period.amount * _CLOCK[period.unit]).astimezone(self.tz)
        local = due.astimezone(self.tz)
        if period.unit == Unit.WORKING:
            d = local.date()
            for _ in range(period.amount):
                d = self.previous_working_day(d)
            return datetime.combine(d, local.timetz().replace(tzinfo=None), self.tz)
        return (local - timedelta(days=period.amount)).astimezone(self.tz)

    def span(self, start: datetime, end: datetime, unit: Unit) -> int:
        """How much of `unit` lies between two instants (an excluded interval, e.g. appraisal time):
        working or calendar days counted like a period (start day not counted), or whole clock units."""
        if end <= start:
            return 0
        if unit in _CLOCK:
            return int((end - start) / _CLOCK[unit])
        a, b = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        if unit == Unit.WORKING:
            n, d = 0, a
            while d < b:
                d += timedelta(days=1)
                n += self.is_working_day(d)
            return n
        return (b - a).days

    def deadline(self, start: datetime, period: Period) -> datetime:
        """The instant a period starting at `start` ends, in this calendar's timezone."""
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("start must be timezone-aware")
        if period.unit in _CLOCK:  # elapsed time, not wall-clock time; never extended past rest days
            return (start.astimezone(UTC) + period.amount * _CLOCK[period.unit]).astimezone(self.tz)
        day = start.astimezone(self.tz).date()
        if period.unit == Unit.WORKING:
            return self.end_of(self.add_working_days(day, period.amount))
        last = day + timedelta(days=period.amount)
        if not self.is_working_day(last):
            last = self.next_working_day(last)
        return self.end_of(last)


# ---------------------------------------------------------------------------------------------- config

_YEAR_KEYS = frozenset({"holidays", "workdays", "provisional"})


def _as_date(v: Any, key: str) -> date:
    if isinstance(v, datetime):  # YAML turns '2027-01-01 00:00' into a datetime: not a day
        raise ConfigError(HOLIDAYS_FILE, key, f"not a date: {v!r} (use YYYY-MM-DD)")
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v).strip())
    except ValueError:
        raise ConfigError(HOLIDAYS_FILE, key, f"not a date: {v!r} (use YYYY-MM-DD)") from None


def _dates(spec: Mapping[str, Any], field: str, year: int, key: str) -> frozenset[date]:
    items = spec.get(field)
    if items is None:
        return frozenset()
    if not isinstance(items, list):
        raise ConfigError(HOLIDAYS_FILE, f"{key}.{field}", "must be a list of dates")
    days: set[date] = set()
    for i, v in enumerate(items):
        d = _as_date(v, f"{key}.{field}[{i}]")
        if d.year != year:
            raise ConfigError(HOLIDAYS_FILE, f"{key}.{field}[{i}]", f"{d} is not in {year}")
        days.add(d)
    return frozenset(days)


def load_overrides(data: Mapping[str, Any] | None) -> dict[int, YearOverride]:
    """Parsed holidays.yaml -> overrides. Strict, because a typo here silently moves deadlines."""
    if not data:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(HOLIDAYS_FILE, "(file)", "must be a mapping with a 'years' key")
    reject_unknown_keys(HOLIDAYS_FILE, "", data, ("years",))
    years = data.get("years") or {}
    if not isinstance(years, Mapping):
        raise ConfigError(HOLIDAYS_FILE, "years", "must be a mapping of year to holidays/workdays")
    out: dict[int, YearOverride] = {}
    for y, spec in years.items():
        key = f"years.{y}"
        if isinstance(y, bool) or not re.fullmatch(r"[0-9]{4}", str(y)):
            raise ConfigError(HOLIDAYS_FILE, key, "year must be a four-digit number")
        year = int(y)
        if not isinstance(spec, Mapping):
            raise ConfigError(HOLIDAYS_FILE, key, "must be a mapping with holidays and workdays")
        reject_unknown_keys(HOLIDAYS_FILE, key, spec, _YEAR_KEYS)
        provisional = spec.get("provisional", False)
        if not isinstance(provisional, bool):
            raise ConfigError(HOLIDAYS_FILE, f"{key}.provisional", "must be true or false")
        holidays = _dates(spec, "holidays", year, key)
        workdays = _dates(spec, "workdays", year, key)
        both = holidays & workdays
        if both:
            raise ConfigError(HOLIDAYS_FILE, key, f"{min(both)} is both a holiday and a workday")
        if year in out:
            raise ConfigError(HOLIDAYS_FILE, key, "year listed twice")
        out[year] = YearOverride(holidays, workdays, provisional)
    return out

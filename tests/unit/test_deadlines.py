"""Deadline maths on the statutory calendar (docs/domain.md §5). Expected dates computed by hand
from the State Council's 2026 notice: Spring Festival off 2026-02-15..23 with make-up working days
Sat 02-14 and Sat 02-28; National Day off 10-01..07 with make-up working days Sun 09-20 and Sat 10-10."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from router.domain.calendar import Period, Unit, UnknownYearError, WorkCalendar, load_overrides
from router.domain.errors import ConfigError
from tests.builders import CAL, ROOT, at, dl, end_of


# ------------------------------------------------------------------ Spring Festival 2026
def test_spring_festival_days_are_rest_and_make_up_days_work():
    assert not CAL.is_working_day(date(2026, 2, 16))
    assert not CAL.is_working_day(date(2026, 2, 23))      # Monday, still off
    assert CAL.is_working_day(date(2026, 2, 14))          # Saturday make-up working day
    assert CAL.is_working_day(date(2026, 2, 28))          # Saturday make-up working day
    assert not CAL.is_working_day(date(2026, 2, 21))      # Saturday inside the festival


def test_working_days_across_spring_festival():
    # Thu 02-12 +3w: Fri 13 (1), Sat 14 make-up (2), festival, Tue 24 (3)
    assert dl(at(2026, 2, 12), "3w") == end_of(2026, 2, 24)
    # Fri 02-13 +3w: Sat 14 (1), Tue 24 (2), Wed 25 (3)
    assert dl(at(2026, 2, 13), "3w") == end_of(2026, 2, 25)


def test_calendar_period_ending_in_the_festival_runs_to_next_working_day():
    # Thu 02-12 +5c = Tue 02-17 (holiday) -> Tue 02-24
    assert dl(at(2026, 2, 12), "5c") == end_of(2026, 2, 24)


def test_calendar_period_ending_on_a_make_up_working_day_is_not_extended():
    # Mon 02-09 +5c = Sat 02-14, a make-up working day
    assert dl(at(2026, 2, 9), "5c") == end_of(2026, 2, 14)


def test_calendar_period_ending_on_an_ordinary_weekend():
    # Mon 11-23 +5c = Sat 11-28 -> Mon 11-30
    assert dl(at(2026, 11, 23), "5c") == end_of(2026, 11, 30)


# ------------------------------------------------------------------ National Day 2026
def test_working_days_across_national_day():
    # Wed 09-30 +3w: Thu 10-08 (1), Fri 10-09 (2), Sat 10-10 make-up (3)
    assert dl(at(2026, 9, 30), "3w") == end_of(2026, 10, 10)
    # Fri 09-18 +1w = Sun 09-20, a make-up working day
    assert dl(at(2026, 9, 18), "1w") == end_of(2026, 9, 20)


def test_petition_fifteen_days_ending_in_national_day():
    # Sun 09-20 +15c = Mon 10-05 (holiday) -> Thu 10-08
    assert dl(at(2026, 9, 20), "15c") == end_of(2026, 10, 8)


# ------------------------------------------------------------------ counting rules
def test_start_day_is_not_counted():
    assert dl(at(2026, 11, 23, 0, 1), "1c") == end_of(2026, 11, 24)
    assert dl(at(2026, 11, 23, 23, 59), "1w") == end_of(2026, 11, 24)


def test_start_day_is_the_local_day():
    # 17:00 UTC on 11-23 is 01:00 on 11-24 in Beijing
    assert CAL.deadline(datetime(2026, 11, 23, 17, 0, tzinfo=UTC), Period.parse("1c")) == end_of(2026, 11, 25)


def test_hours_run_across_midnight_and_holidays_unextended():
    assert dl(at(2026, 11, 23, 23, 30), "24h") == at(2026, 11, 24, 23, 30)
    assert dl(at(2026, 9, 30, 20, 0), "24h") == at(2026, 10, 1, 20, 0)  # National Day: not extended
    assert dl(at(2026, 2, 14, 12, 0), "1h") == at(2026, 2, 14, 13, 0)


def test_minutes_and_seconds_for_demo_configs():
    assert dl(at(2026, 11, 23), "15min") == at(2026, 11, 23, 10, 15)
    assert dl(at(2026, 11, 23), "10s") == at(2026, 11, 23) + timedelta(seconds=10)


def test_naive_start_is_rejected():
    with pytest.raises(ValueError):
        CAL.deadline(datetime(2026, 11, 23, 10), Period.parse("3w"))


# ------------------------------------------------------------------ unknown years and overrides
def test_unknown_year_is_a_clear_error():
    with pytest.raises(UnknownYearError) as e:
        dl(at(2030, 3, 1), "3w")
    assert "2030" in e.value.message_en and "holidays.yaml" in e.value.message_en
    assert "2030" in e.value.message_zh


def test_a_period_running_into_an_unknown_year_fails_too():
    with pytest.raises(UnknownYearError):
        WorkCalendar().deadline(at(2026, 12, 28), Period.parse("10w"))


def test_override_makes_an_unknown_year_usable():
    cal = WorkCalendar(load_overrides({"years": {2030: {"holidays": ["2030-01-01"], "workdays": ["2030-01-05"]}}}))
    assert not cal.is_working_day(date(2030, 1, 1))      # Tuesday, a listed holiday
    assert cal.is_working_day(date(2030, 1, 5))          # Saturday, a listed make-up day
    assert not cal.is_working_day(date(2030, 1, 6))      # Sunday
    # Mon 2029-12-31 is unknown too: start from 2030-01-01 (Tue): +2w = Wed 02 (1), Thu 03 (2)
    assert dl(at(2030, 1, 1), "2w", cal) == end_of(2030, 1, 3)


def test_override_changes_a_known_year():
    cal = WorkCalendar(load_overrides({"years": {2026: {"holidays": ["2026-11-24"]}}}))
    assert dl(at(2026, 11, 23), "1w", cal) == end_of(2026, 11, 25)
    assert dl(at(2026, 11, 23), "1w") == end_of(2026, 11, 24)


def test_shipped_holidays_file_covers_next_year():

    import yaml

    path = ROOT / "config" / "holidays.yaml"
    cal = WorkCalendar(load_overrides(yaml.safe_load(path.read_text(encoding="utf-8"))))
    assert cal.deadline(at(2026, 12, 28), Period.parse("30c")) > end_of(2027, 1, 26)
    assert not cal.is_working_day(date(2027, 1, 1))


@pytest.mark.parametrize(("data", "key"), [
    ({"years": {2030: {"holidays": ["2030-13-01"]}}}, "years.2030.holidays[0]"),
    ({"years": {2030: {"holidays": ["2031-01-01"]}}}, "years.2030.holidays[0]"),
    ({"years": {2030: {"holidays": ["2030-01-01"], "workdays": ["2030-01-01"]}}}, "years.2030"),
    ({"years": {2030: {"holidays": "2030-01-01"}}}, "years.2030.holidays"),
    ({"years": {"soon": {}}}, "years.soon"),
])
def test_bad_overrides_name_the_key(data, key):
    with pytest.raises(ConfigError) as e:
        load_overrides(data)
    assert e.value.file == "holidays.yaml" and e.value.key == key


# ------------------------------------------------------------------ periods
@pytest.mark.parametrize(("text", "amount", "unit", "zh"), [
    ("3w", 3, Unit.WORKING, "3个工作日"), ("30c", 30, Unit.CALENDAR, "30日"), ("24h", 24, Unit.HOURS, "24小时"),
    ("15min", 15, Unit.MINUTES, "15分钟"), ("10s", 10, Unit.SECONDS, "10秒"),
])
def test_period_parse_round_trip(text, amount, unit, zh):
    p = Period.parse(text)
    assert (p.amount, p.unit, str(p), p.describe_zh()) == (amount, unit, text, zh)


@pytest.mark.parametrize("text", ["", "3", "w3", "3 weeks", "-3w", "3.5c"])
def test_bad_periods_are_rejected(text):
    with pytest.raises(ValueError):
        Period.parse(text)

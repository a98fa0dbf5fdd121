"""Deadline arithmetic on the statutory calendar (router.domain.calendar).

Every expected date below was worked out by hand from the State Council's 2026 notice and checked
against chinese_calendar 1.11.0:
  Spring Festival: off Sun 2026-02-15 .. Mon 02-23; make-up working days Sat 02-14 and Sat 02-28.
  Mid-autumn:      off Fri 2026-09-25 .. Sun 09-27.
  National Day:    off Thu 2026-10-01 .. Wed 10-07; make-up working days Sun 09-20 and Sat 10-10.
Day periods do not count the start day and end at 23:59:59 local time (民事诉讼法 85).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from router.domain.calendar import Period, Unit, UnknownYearError, WorkCalendar, YearOverride, load_overrides
from router.domain.errors import ConfigError, DomainError
from tests.builders import BJ, CAL, ROOT, at, dl, end_of

HOLIDAYS_YAML = ROOT / "config" / "holidays.yaml"


# ------------------------------------------------------------------------------------ Spring Festival 2026
@pytest.mark.parametrize("day", range(15, 24))
def test_every_spring_festival_day_is_rest(day):
    assert not CAL.is_working_day(date(2026, 2, day))


@pytest.mark.parametrize(("d", "working"), [
    (date(2026, 2, 13), True),    # Fri before
    (date(2026, 2, 14), True),    # Sat, make-up working day
    (date(2026, 2, 24), True),    # Tue after
    (date(2026, 2, 28), True),    # Sat, make-up working day
    (date(2026, 3, 1), False),    # ordinary Sunday
    (date(2026, 3, 2), True),     # ordinary Monday
])
def test_around_spring_festival(d, working):
    assert CAL.is_working_day(d) is working


def test_make_up_working_days_count_as_working_days():
    assert CAL.next_working_day(date(2026, 2, 13)) == date(2026, 2, 14)
    assert dl(at(2026, 2, 13), "1w") == end_of(2026, 2, 14)
    # Thu 02-26 +2w: Fri 27 (1), Sat 28 make-up (2)
    assert dl(at(2026, 2, 26), "2w") == end_of(2026, 2, 28)


def test_three_working_days_across_spring_festival():
    # Fri 02-13 +3w: Sat 14 make-up (1), festival 15..23, Tue 24 (2), Wed 25 (3)
    assert dl(at(2026, 2, 13, 18, 0), "3w") == end_of(2026, 2, 25)
    # Sat 02-14 (a working day, but the start day is never counted) +3w: Tue 24, Wed 25, Thu 26
    assert dl(at(2026, 2, 14), "3w") == end_of(2026, 2, 26)
    assert CAL.add_working_days(date(2026, 2, 14), 3) == date(2026, 2, 26)


def test_calendar_period_ending_on_a_holiday_runs_to_the_next_working_day():
    # Tue 02-10 +10c = Fri 02-20, inside the festival -> Tue 02-24
    assert dl(at(2026, 2, 10), "10c") == end_of(2026, 2, 24)
    # Mon 03-02 +5c = Sat 03-07, an ordinary Saturday -> Mon 03-09
    assert dl(at(2026, 3, 2), "5c") == end_of(2026, 3, 9)


def test_calendar_period_ending_on_a_make_up_working_day_is_not_extended():
    # Mon 02-23 (a holiday) +5c = Sat 02-28, a make-up working day
    assert dl(at(2026, 2, 23), "5c") == end_of(2026, 2, 28)
    # Sun 09-13 +7c = Sun 09-20, a make-up working day
    assert dl(at(2026, 9, 13), "7c") == end_of(2026, 9, 20)


def test_calendar_days_inside_the_period_do_not_matter():
    # Fri 02-13 +12c = Wed 02-25: nine rest days inside the period, none added
    assert dl(at(2026, 2, 13), "12c") == end_of(2026, 2, 25)


# ------------------------------------------------------------------------------------ National Day 2026
@pytest.mark.parametrize(("d", "working"), [
    (date(2026, 9, 20), True),    # Sun, make-up working day
    (date(2026, 9, 25), False),   # Fri, Mid-autumn
    (date(2026, 9, 30), True),
    (date(2026, 10, 1), False),
    (date(2026, 10, 5), False),   # Monday inside the holiday
    (date(2026, 10, 7), False),
    (date(2026, 10, 8), True),
    (date(2026, 10, 10), True),   # Sat, make-up working day
    (date(2026, 10, 11), False),  # ordinary Sunday
])
def test_around_national_day(d, working):
    assert CAL.is_working_day(d) is working


def test_working_days_across_national_day():
    # Tue 09-29 +2w: Wed 30 (1), Thu 10-08 (2)
    assert dl(at(2026, 9, 29), "2w") == end_of(2026, 10, 8)
    # Fri 10-09 +1w = Sat 10-10 make-up; Sat 10-10 +1w = Mon 10-12 (Sun 11 is rest)
    assert dl(at(2026, 10, 9), "1w") == end_of(2026, 10, 10)
    assert dl(at(2026, 10, 10), "1w") == end_of(2026, 10, 12)
    # Thu 09-24 +1w: Mid-autumn Fri 25..Sun 27 -> Mon 09-28
    assert dl(at(2026, 9, 24), "1w") == end_of(2026, 9, 28)


def test_calendar_period_ending_in_national_day_or_mid_autumn():
    # Wed 09-16 +15c = Thu 10-01 -> Thu 10-08
    assert dl(at(2026, 9, 16), "15c") == end_of(2026, 10, 8)
    # Wed 09-23 +2c = Fri 09-25 (Mid-autumn) -> Mon 09-28
    assert dl(at(2026, 9, 23), "2c") == end_of(2026, 9, 28)


# ------------------------------------------------------------------------------------ counting rules
def test_start_day_is_not_counted_whatever_the_hour():
    assert dl(at(2026, 3, 10, 0, 0), "1c") == end_of(2026, 3, 11)
    assert dl(at(2026, 3, 10, 23, 59), "1c") == end_of(2026, 3, 11)
    assert dl(at(2026, 3, 10, 23, 59), "1w") == end_of(2026, 3, 11)
    # Fri 03-13 +1c = Sat 03-14 -> Mon 03-16
    assert dl(at(2026, 3, 13), "1c") == end_of(2026, 3, 16)


def test_the_start_day_is_the_local_day_and_the_result_is_local():
    start = datetime(2026, 3, 10, 16, 30, tzinfo=UTC)  # 00:30 on 03-11 in Beijing
    due = CAL.deadline(start, Period.parse("1c"))
    assert due == end_of(2026, 3, 12)
    assert due == datetime(2026, 3, 12, 15, 59, 59, tzinfo=UTC)
    assert due.utcoffset() == timedelta(hours=8) and due.tzinfo == BJ


def test_hours_run_across_midnight():
    assert dl(at(2026, 3, 10, 22, 0), "3h") == at(2026, 3, 11, 1, 0)
    assert dl(at(2026, 3, 10, 22, 0), "24h") == at(2026, 3, 11, 22, 0)


def test_hours_are_not_extended_past_holidays_or_weekends():
    assert dl(at(2026, 2, 14, 18, 0), "48h") == at(2026, 2, 16, 18, 0)    # into Spring Festival
    assert dl(at(2026, 9, 30, 17, 0), "72h") == at(2026, 10, 3, 17, 0)    # into National Day
    assert dl(at(2026, 3, 13, 12, 0), "24h") == at(2026, 3, 14, 12, 0)    # ordinary Saturday


def test_hours_are_elapsed_time_even_across_a_dst_change():
    # New York springs forward on 2026-03-08: 24 real hours after 12:00 EST is 13:00 EDT (17:00 UTC)
    start = datetime(2026, 3, 7, 12, 0, tzinfo=ZoneInfo("America/New_York"))
    assert CAL.deadline(start, Period.parse("24h")) == datetime(2026, 3, 8, 17, 0, tzinfo=UTC)


def test_minutes_and_seconds():
    assert dl(at(2026, 2, 15, 23, 50), "15min") == at(2026, 2, 16, 0, 5)
    assert dl(at(2026, 3, 10), "10s") == datetime(2026, 3, 10, 2, 0, 10, tzinfo=UTC)


def test_naive_start_is_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.deadline(datetime(2026, 3, 10, 10), Period.parse("3w"))
    with pytest.raises(ValueError):
        CAL.deadline(datetime(2026, 3, 10, 10), Period.parse("24h"))


def test_working_day_helpers_edge_cases():
    assert CAL.add_working_days(date(2026, 2, 15), 0) == date(2026, 2, 15)
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2026, 3, 10), -1)
    with pytest.raises(TypeError):
        CAL.is_working_day(datetime(2026, 3, 10, 10, tzinfo=BJ))


# ------------------------------------------------------------------------------------ unknown years
def test_unknown_year_is_a_clear_error():
    with pytest.raises(UnknownYearError) as e:
        dl(at(2030, 3, 1), "3w")
    assert isinstance(e.value, DomainError) and e.value.year == 2030
    assert "2030" in e.value.message_en and "config/holidays.yaml" in e.value.message_en
    assert "2030" in e.value.message_zh and "holidays.yaml" in e.value.message_zh
    assert str(e.value) == "no holiday calendar for year 2030: add it to config/holidays.yaml"


def test_years_before_the_package_are_unknown_too():
    with pytest.raises(UnknownYearError):
        CAL.is_working_day(date(2003, 6, 2))
    assert not CAL.is_working_day(date(2004, 1, 1))


def test_a_period_running_into_an_unknown_year_fails():
    # Mon 2026-12-28 +30c = Wed 2027-01-27: the last day needs the 2027 calendar
    with pytest.raises(UnknownYearError) as e:
        dl(at(2026, 12, 28), "30c")
    assert e.value.year == 2027
    with pytest.raises(UnknownYearError):
        dl(at(2026, 12, 28), "10w")
    assert dl(at(2026, 12, 28), "24h") == at(2026, 12, 29)  # clock periods need no calendar


# ------------------------------------------------------------------------------------ overrides
OCT_2030 = {"years": {2030: {
    "holidays": [f"2030-10-0{d}" for d in range(1, 8)],     # Tue 10-01 .. Mon 10-07
    "workdays": ["2030-09-29", "2030-10-12"],               # Sun, Sat
}}}


def test_an_override_makes_an_unknown_year_usable():
    cal = WorkCalendar(load_overrides(OCT_2030))
    assert not cal.is_working_day(date(2030, 10, 1))     # listed holiday (Tue)
    assert not cal.is_working_day(date(2030, 10, 7))     # listed holiday (Mon)
    assert cal.is_working_day(date(2030, 9, 29))         # listed make-up day (Sun)
    assert cal.is_working_day(date(2030, 10, 12))        # listed make-up day (Sat)
    assert not cal.is_working_day(date(2030, 10, 19))    # unlisted Saturday
    assert cal.is_working_day(date(2030, 10, 21))        # unlisted Monday
    assert dl(at(2030, 9, 30), "1w", cal) == end_of(2030, 10, 8)
    assert dl(at(2030, 9, 27), "1w", cal) == end_of(2030, 9, 29)
    assert dl(at(2030, 10, 11), "1w", cal) == end_of(2030, 10, 12)
    # Tue 09-24 +7c = Tue 10-01 (listed holiday) -> Tue 10-08
    assert dl(at(2030, 9, 24), "7c", cal) == end_of(2030, 10, 8)
    with pytest.raises(UnknownYearError):                 # 2031 is still unknown
        cal.is_working_day(date(2031, 1, 2))


def test_an_override_changes_only_its_dates_in_a_known_year():
    cal = WorkCalendar({2026: YearOverride(holidays=frozenset({date(2026, 3, 11)}),
                                           workdays=frozenset({date(2026, 3, 14)}))})
    assert not cal.is_working_day(date(2026, 3, 11)) and CAL.is_working_day(date(2026, 3, 11))
    assert cal.is_working_day(date(2026, 3, 14)) and not CAL.is_working_day(date(2026, 3, 14))
    assert not cal.is_working_day(date(2026, 2, 16))     # package holiday still applies
    assert cal.is_working_day(date(2026, 2, 14))         # package make-up day still applies
    assert dl(at(2026, 3, 10), "1w", cal) == end_of(2026, 3, 12)
    assert dl(at(2026, 3, 10), "1w") == end_of(2026, 3, 11)
    # Wed 03-04 +10c = Sat 03-14: a working day only under the override
    assert dl(at(2026, 3, 4), "10c", cal) == end_of(2026, 3, 14)
    assert dl(at(2026, 3, 4), "10c") == end_of(2026, 3, 16)


def test_load_overrides_accepts_yaml_dates_and_strings():
    data = yaml.safe_load("""
years:
  2030:
    provisional: true
    holidays: [2030-01-01, "2030-01-02"]
    workdays: [2030-01-05]
""")
    assert load_overrides(data) == {2030: YearOverride(
        frozenset({date(2030, 1, 1), date(2030, 1, 2)}), frozenset({date(2030, 1, 5)}), provisional=True)}
    assert load_overrides({}) == {} and load_overrides({"years": None}) == {}
    assert load_overrides({"years": {"2030": {}}}) == {2030: YearOverride(frozenset(), frozenset())}


def test_the_shipped_holidays_file_loads():
    overrides = load_overrides(yaml.safe_load(HOLIDAYS_YAML.read_text(encoding="utf-8")))
    assert 2027 in overrides
    cal = WorkCalendar(overrides)
    assert not cal.is_working_day(date(2027, 1, 1)) and not cal.is_working_day(date(2027, 10, 1))
    assert dl(at(2026, 12, 28), "30c", cal) >= end_of(2027, 1, 27)


@pytest.mark.parametrize(("data", "key"), [
    ({"years": {2030: {"holidays": ["2030-01-01", "2030-02-30"]}}}, "years.2030.holidays[1]"),
    ({"years": {2030: {"holidays": ["1 Jan 2030"]}}}, "years.2030.holidays[0]"),
    ({"years": {2030: {"workdays": [date(2031, 1, 4)]}}}, "years.2030.workdays[0]"),
    ({"years": {2030: {"holidays": ["2030-01-01"], "workdays": ["2030-01-01"]}}}, "years.2030"),
    ({"years": {2030: {"holidays": "2030-01-01"}}}, "years.2030.holidays"),
    ({"years": {2030: {"holiday": ["2030-01-01"]}}}, "years.2030.holiday"),
    ({"years": {2030: {"provisional": "yes"}}}, "years.2030.provisional"),
    ({"years": {2030: ["2030-01-01"]}}, "years.2030"),
    ({"years": {"soon": {}}}, "years.soon"),
    ({"years": ["2030"]}, "years"),
    ({"year": {2030: {}}}, "year"),
    ({"years": {2030: {"holidays": [datetime(2030, 1, 1, 9)]}}}, "years.2030.holidays[0]"),
])
def test_bad_overrides_name_the_key(data, key):
    with pytest.raises(ConfigError) as e:
        load_overrides(data)
    assert e.value.file == "holidays.yaml" and e.value.key == key


# ------------------------------------------------------------------------------------ periods
@pytest.mark.parametrize(("text", "amount", "unit", "zh"), [
    ("3w", 3, Unit.WORKING, "3个工作日"),
    ("30c", 30, Unit.CALENDAR, "30日"),
    ("24h", 24, Unit.HOURS, "24小时"),
    ("15min", 15, Unit.MINUTES, "15分钟"),
    ("10s", 10, Unit.SECONDS, "10秒"),
])
def test_period_parse_round_trip(text, amount, unit, zh):
    p = Period.parse(text)
    assert (p.amount, p.unit, str(p), p.describe_zh()) == (amount, unit, text, zh)
    assert Period.parse(str(p)) == p


def test_period_tolerates_spaces_and_coerces_the_unit():
    assert Period.parse(" 3w ") == Period(3, Unit.WORKING)
    assert Period(3, "working").unit is Unit.WORKING  # type: ignore[arg-type]
    assert Unit.WORKING == "working"


@pytest.mark.parametrize("text", [
    "", "3", "w", "w3", "3 weeks", "-3w", "3.5c", "0w", "3W", "3d", "3m", "3w3",
    "\uff13w",  # fullwidth digit 3
])
def test_bad_periods_are_rejected(text):
    with pytest.raises(ValueError):
        Period.parse(text)


def test_bad_period_values_are_rejected():
    with pytest.raises(ValueError):
        Period(0, Unit.CALENDAR)
    with pytest.raises(ValueError):
        Period(3, "weeks")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ properties
# Oracle: chinese_calendar itself, counted day by day, independent of the code under test.
_days_2026 = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 11, 30))


@settings(max_examples=150, deadline=None)
@given(start=_days_2026, n=st.integers(min_value=1, max_value=20))
def test_working_day_periods_count_exactly_n_working_days(start, n):
    due = CAL.deadline(datetime(start.year, start.month, start.day, 9, tzinfo=BJ), Period(n, Unit.WORKING))
    last = due.date()
    assert chinese_calendar.is_workday(last)
    between = [start + timedelta(days=i) for i in range(1, (last - start).days + 1)]
    assert sum(chinese_calendar.is_workday(d) for d in between) == n


@settings(max_examples=150, deadline=None)
@given(start=_days_2026, n=st.integers(min_value=1, max_value=30))
def test_calendar_periods_end_on_the_first_working_day_from_the_nominal_last_day(start, n):
    due = CAL.deadline(datetime(start.year, start.month, start.day, 9, tzinfo=BJ), Period(n, Unit.CALENDAR))
    nominal, last = start + timedelta(days=n), due.date()
    assert last >= nominal and chinese_calendar.is_workday(last)
    skipped = [nominal + timedelta(days=i) for i in range((last - nominal).days)]
    assert not any(chinese_calendar.is_workday(d) for d in skipped)

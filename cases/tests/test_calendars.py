"""Business-hours arithmetic (pure functions, no database): time zones, weekends, holidays, DST, properties."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.calendars import (
    Calendar,
    CalendarError,
    business_add,
    business_between,
    is_open,
    next_opening,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_9_17 = [(d, time(9), time(17)) for d in range(5)]


def office(tz="America/New_York", hours=WEEKDAYS_9_17, holidays=()):
    return Calendar.build(time_zone=tz, always_open=False, hours=hours, holidays=holidays)


def ny(*args):
    return datetime(*args, tzinfo=NY)


def test_issue_example_friday_1630_plus_two_hours_is_monday_1030():
    # Given Mon–Fri 9–17 and a 2-hour target raised at 16:30 on a Friday
    cal = office()
    raised = ny(2026, 11, 20, 16, 30)  # Friday
    # When the due time is computed
    due = business_add(cal, raised, timedelta(hours=2))
    # Then it is Monday 10:30 local time, and measuring back gives the 2 hours
    assert due.astimezone(NY) == ny(2026, 11, 23, 10, 30)
    assert business_between(cal, raised, due) == timedelta(hours=2)


def test_raised_while_closed_starts_counting_at_next_opening():
    cal = office()
    saturday = ny(2026, 11, 21, 11, 0)
    assert business_add(cal, saturday, timedelta(minutes=30)).astimezone(NY) == ny(2026, 11, 23, 9, 30)
    assert next_opening(cal, saturday).astimezone(NY) == ny(2026, 11, 23, 9, 0)
    assert not is_open(cal, saturday)
    early_tuesday = ny(2026, 11, 24, 7, 0)
    assert next_opening(cal, early_tuesday).astimezone(NY) == ny(2026, 11, 24, 9, 0)


def test_target_ending_exactly_at_closing_is_due_at_closing_not_next_morning():
    cal = office()
    assert business_add(cal, ny(2026, 11, 24, 15, 0), timedelta(hours=2)).astimezone(NY) == ny(2026, 11, 24, 17, 0)
    assert not is_open(cal, ny(2026, 11, 24, 17, 0))
    assert is_open(cal, ny(2026, 11, 24, 9, 0))


def test_holiday_is_skipped():
    # Given Thanksgiving (Thursday 26 Nov 2026) is a holiday
    cal = office(holidays=[date(2026, 11, 26)])
    # When a 3-hour target is raised Wednesday 16:00
    due = business_add(cal, ny(2026, 11, 25, 16, 0), timedelta(hours=3))
    # Then Thursday does not count: due Friday 11:00
    assert due.astimezone(NY) == ny(2026, 11, 27, 11, 0)
    assert business_between(cal, ny(2026, 11, 25, 0, 0), ny(2026, 11, 28, 0, 0)) == timedelta(hours=16)


def test_time_zone_of_the_department_decides_opening_hours():
    # Given a Berlin office 9–17 and an instant that is 08:30 in Berlin (02:30 in New York)
    cal = office(tz="Europe/Berlin")
    raised = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    # Then the clock starts at 09:00 Berlin = 08:00 UTC
    assert business_add(cal, raised, timedelta(hours=1)) == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert business_add(office(), raised, timedelta(hours=1)).astimezone(NY) == ny(2026, 11, 24, 10, 0)


def test_split_shifts_and_overlapping_rows_are_merged():
    cal = office(hours=[(0, time(9), time(12)), (0, time(11), time(13)), (0, time(14), time(18))])
    monday = ny(2026, 11, 23, 9, 0)
    assert business_add(cal, monday, timedelta(hours=5)).astimezone(NY) == ny(2026, 11, 23, 15, 0)
    assert business_between(cal, monday, ny(2026, 11, 24, 0, 0)) == timedelta(hours=8)


def test_dst_spring_forward_day_24_7_counts_real_hours():
    # Given a 24/7 calendar in New York; on 8 March 2026 the clocks jump from 02:00 to 03:00
    cal = Calendar(time_zone="America/New_York", always_open=True)
    start = ny(2026, 3, 8, 0, 0)
    # When 4 real hours pass
    due = business_add(cal, start, timedelta(hours=4))
    # Then the wall clock shows 05:00 (one hour was skipped)
    assert due.astimezone(NY).hour == 5
    assert business_between(cal, start, due) == timedelta(hours=4)


def test_dst_spring_forward_day_with_night_shift_spanning_the_gap():
    # Given a Sunday shift 01:00–05:00 wall time on the spring-forward day: 3 real hours
    cal = office(hours=[(6, time(1), time(5))])
    sunday = ny(2026, 3, 8, 0, 0)
    assert business_between(cal, sunday, ny(2026, 3, 9, 0, 0)) == timedelta(hours=3)
    # and a 3-hour target raised at midnight is due at 05:00 local, the closing time
    assert business_add(cal, sunday, timedelta(hours=3)).astimezone(NY) == ny(2026, 3, 8, 5, 0)


def test_dst_fall_back_day_with_night_shift_gains_an_hour():
    # Given a Sunday shift 00:30–03:00 on 1 November 2026 (01:00–02:00 happens twice): 3.5 real hours
    cal = office(hours=[(6, time(0, 30), time(3))])
    assert business_between(cal, ny(2026, 11, 1, 0, 0), ny(2026, 11, 2, 0, 0)) == timedelta(hours=3, minutes=30)


def test_dst_change_does_not_move_opening_hours_in_local_time():
    # Given Berlin 9–17; Europe changes on 29 March 2026 (Sunday)
    cal = office(tz="Europe/Berlin")
    friday = datetime(2026, 3, 27, 16, 0, tzinfo=BERLIN)
    due = business_add(cal, friday, timedelta(hours=2))
    # Then Monday 10:00 Berlin summer time (08:00 UTC; it was 09:00 UTC in winter)
    assert due.astimezone(BERLIN) == datetime(2026, 3, 30, 10, 0, tzinfo=BERLIN)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_between_is_zero_when_end_before_start_and_on_closed_stretch():
    cal = office()
    assert business_between(cal, ny(2026, 11, 24, 12), ny(2026, 11, 24, 11)) == timedelta(0)
    assert business_between(cal, ny(2026, 11, 21, 8), ny(2026, 11, 22, 20)) == timedelta(0)  # weekend


def test_errors_are_explicit():
    with pytest.raises(CalendarError):
        business_add(office(), datetime(2026, 11, 24, 9, 0), timedelta(hours=1))  # naive
    with pytest.raises(CalendarError):
        business_add(office(), ny(2026, 11, 24, 9), timedelta(hours=-1))
    with pytest.raises(CalendarError):
        Calendar.build(time_zone="UTC", always_open=False, hours=[(0, time(17), time(9))])
    never_open = Calendar.build(time_zone="UTC", always_open=False, hours=[])
    with pytest.raises(CalendarError):
        business_add(never_open, ny(2026, 11, 24, 9), timedelta(hours=1))


# --- properties ------------------------------------------------------------------------------------------

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "UTC", "America/Los_Angeles"]


@st.composite
def calendars(draw):
    zone = draw(st.sampled_from(ZONES))
    rows = []
    for weekday in draw(st.sets(st.integers(0, 6), min_size=1, max_size=7)):
        opens = draw(st.integers(0, 22 * 60))  # at least an hour open on each chosen weekday
        closes = draw(st.integers(opens + 60, 24 * 60 - 1))
        rows.append((weekday, time(opens // 60, opens % 60), time(closes // 60, closes % 60)))
    holidays = draw(st.sets(st.dates(date(2025, 12, 1), date(2027, 2, 1)), max_size=20))
    return Calendar.build(time_zone=zone, always_open=False, hours=rows, holidays=holidays)


instants = st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC))
durations = st.integers(0, 60 * 60 * 24 * 2).map(lambda s: timedelta(seconds=s))


@settings(max_examples=150, deadline=None)
@given(cal=calendars(), start=instants, duration=durations)
def test_property_add_then_measure_back_gives_the_same_business_time(cal, start, duration):
    due = business_add(cal, start, duration)
    assert due >= start
    assert business_between(cal, start, due) == duration


@settings(max_examples=150, deadline=None)
@given(cal=calendars(), start=instants, duration=durations)
def test_property_due_time_never_falls_outside_opening_hours(cal, start, duration):
    due = business_add(cal, start, duration)
    # due is open, or the closing instant of an interval (open just before it)
    assert is_open(cal, due) or is_open(cal, due - timedelta(microseconds=1))
    local = due.astimezone(cal.tz)
    assert local.date() not in cal.holidays or is_open(cal, due - timedelta(microseconds=1))


@settings(max_examples=100, deadline=None)
@given(cal=calendars(), start=instants, a=durations, b=durations)
def test_property_adding_in_two_steps_equals_adding_once(cal, start, a, b):
    assert business_add(cal, business_add(cal, start, a), b) == business_add(cal, start, a + b)


@settings(max_examples=100, deadline=None)
@given(cal=calendars(), start=instants, duration=durations)
def test_property_24_7_is_plain_elapsed_time(cal, start, duration):
    always = cal.with_always_open()
    assert business_add(always, start, duration) == start + duration
    assert business_between(always, start, start + duration) == duration


def test_adding_nothing_at_a_closing_instant_stays_there():
    """Regression (found by the two-step property): a window Monday 00:00–01:00 New York; 3 h of business time
    from Jan 1 end exactly at a closing instant, and adding 0 more must not jump to next week's opening."""
    cal = Calendar(time_zone="America/New_York", always_open=False, hours={0: ((time(0, 0), time(1, 0)),)})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    closing = business_add(cal, start, timedelta(hours=3))
    assert closing == datetime(2026, 1, 19, 6, 0, tzinfo=UTC)
    assert business_add(cal, closing, timedelta(0)) == closing
    assert business_add(cal, closing, timedelta(minutes=30)) == datetime(2026, 1, 26, 5, 30, tzinfo=UTC)

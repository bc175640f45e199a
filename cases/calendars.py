"""Business-hours arithmetic: pure functions over a department's calendar (time zone, weekly hours, holidays, 24/7).

All instants in and out are timezone-aware. Opening hours are wall-clock times in the department's time zone,
turned into real instants day by day with ``zoneinfo``, so a DST change day is as long as it really is (an
8:00–20:00 day is 12 real hours on either side of the change; a day spanning 02:00 loses or gains an hour).

- ``business_add(cal, start, duration)``: the instant when ``duration`` of open time has passed since ``start``.
  The result always lies inside an opening interval (its closing instant included), never in closed time.
- ``business_between(cal, start, end)``: open time between two instants (0 if ``end <= start``).
- ``next_opening(cal, at)``: ``at`` itself if open, else the next opening instant.

``business_between(cal, s, business_add(cal, s, d)) == d`` for every ``d >= 0`` (property-tested).
A department with no weekly hours at all is treated as 24/7 by ``calendar_for`` (a calendar that never opens
would make every target infinite).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# How far ahead to look for open time before giving up (a calendar open less than once a year is a mistake).
MAX_DAYS = 800
ZERO = timedelta(0)


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class Calendar:
    time_zone: str = "UTC"
    always_open: bool = True
    # weekday (Monday = 0) -> sorted, non-overlapping (opens, closes) wall-clock intervals
    hours: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @classmethod
    def build(
        cls, *, time_zone: str, always_open: bool, hours=(), holidays=()
    ) -> Calendar:  # hours: iterable of (weekday, opens, closes)
        by_day: dict[int, list[tuple[time, time]]] = {}
        for weekday, opens, closes in hours:
            if closes <= opens:
                raise CalendarError(f"Closing time {closes} is not after opening time {opens}.")
            by_day.setdefault(int(weekday), []).append((opens, closes))
        merged: dict[int, tuple[tuple[time, time], ...]] = {}
        for weekday, spans in by_day.items():
            spans.sort()
            out: list[tuple[time, time]] = []
            for opens, closes in spans:
                if out and opens <= out[-1][1]:
                    out[-1] = (out[-1][0], max(out[-1][1], closes))
                else:
                    out.append((opens, closes))
            merged[weekday] = tuple(out)
        ZoneInfo(time_zone)  # raises on an unknown zone
        return cls(time_zone=time_zone, always_open=always_open, hours=merged, holidays=frozenset(holidays))

    def with_always_open(self) -> Calendar:
        return Calendar(time_zone=self.time_zone, always_open=True, hours=self.hours, holidays=self.holidays)


ALWAYS_OPEN_UTC = Calendar()


def calendar_for(department, *, always_open: bool | None = None, hours=None, holidays=None) -> Calendar:
    """The calendar of a ``Department`` (reads its hours and holidays: use ``prefetch_related`` in loops, or pass
    ``hours`` as (weekday, opens, closes) triples and ``holidays`` as dates already fetched with the department).

    ``always_open=True`` forces a 24/7 clock in the department's time zone (a 24/7 SLA policy)."""
    if always_open or department.is_24_7:
        return Calendar(time_zone=department.time_zone, always_open=True)
    if hours is None:
        hours = [(h.weekday, h.opens, h.closes) for h in department.hours.all()]
    if not hours:
        return Calendar(time_zone=department.time_zone, always_open=True)
    if holidays is None:
        holidays = [h.date for h in department.holidays.all()]
    return Calendar.build(time_zone=department.time_zone, always_open=False, hours=hours, holidays=holidays)


def _check_aware(*instants: datetime) -> None:
    for instant in instants:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise CalendarError("Calendar arithmetic needs timezone-aware datetimes.")


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    # A wall time that does not exist (spring forward) resolves with the offset before the change (fold=0),
    # i.e. to the first real instant after the gap; an ambiguous one (fall back) to its first occurrence.
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def open_intervals(cal: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Opening intervals (UTC) that end after ``start``, in order. Infinite for a 24/7 calendar."""
    _check_aware(start)
    start = start.astimezone(UTC)
    if cal.always_open:
        yield start, datetime.max.replace(tzinfo=UTC)
        return
    tz = cal.tz
    day = start.astimezone(tz).date() - timedelta(days=1)
    for _ in range(MAX_DAYS):
        if day not in cal.holidays:
            for opens, closes in cal.hours.get(day.weekday(), ()):
                begin, end = _local(day, opens, tz), _local(day, closes, tz)
                if end > start and end > begin:
                    yield begin, end
        day += timedelta(days=1)
    raise CalendarError(f"No opening hours within {MAX_DAYS} days of {start.isoformat()}.")


def business_add(cal: Calendar, start: datetime, duration: timedelta) -> datetime:
    """The instant when ``duration`` of open time has elapsed from ``start`` (UTC)."""
    _check_aware(start)
    if duration < ZERO:
        raise CalendarError("Durations are not negative.")
    if cal.always_open:
        return start.astimezone(UTC) + duration
    if duration == ZERO and not is_open(cal, start) and is_open(cal, start - timedelta(microseconds=1)):
        # Nothing to add at the closing instant of an interval: stay there (as adding a then 0 must equal adding a).
        return start.astimezone(UTC)
    remaining = duration
    for opens, end in open_intervals(cal, start):
        begin = max(opens, start)
        if remaining <= end - begin:
            return begin + remaining
        remaining -= end - begin
    raise AssertionError("unreachable")  # pragma: no cover


def business_between(cal: Calendar, start: datetime, end: datetime) -> timedelta:
    """Open time between ``start`` and ``end`` (zero if ``end`` is not after ``start``)."""
    _check_aware(start, end)
    if end <= start:
        return ZERO
    if cal.always_open:
        return end - start
    total = ZERO
    for begin, close in open_intervals(cal, start):
        if begin >= end:
            break
        total += min(close, end) - max(begin, start)
    return total


def next_opening(cal: Calendar, at: datetime) -> datetime:
    """``at`` (UTC) if the calendar is open then, else the next instant it opens."""
    for begin, _end in open_intervals(cal, at):
        return max(begin, at.astimezone(UTC))
    raise AssertionError("unreachable")  # pragma: no cover


def is_open(cal: Calendar, at: datetime) -> bool:
    """Open at ``at`` (an interval is open at its opening instant and closed at its closing instant)."""
    if cal.always_open:
        return True
    at = at.astimezone(UTC)
    for begin, end in open_intervals(cal, at):
        return begin <= at < end
    return False  # pragma: no cover

"""Business hours of a widget: a weekly schedule in the widget's time zone, minus holidays.

The schedule maps a weekday ("mon".."sun") to a list of ["HH:MM", "HH:MM"] open intervals.
An interval whose end is not after its start runs overnight into the next day ("22:00"-"02:00");
"24:00" ends at midnight. An interval belongs to the day it starts on, so a holiday closes the
intervals that start that day. An empty schedule means "always open" (no hours configured).
Times are compared in UTC, so a DST change shortens or lengthens a window instead of breaking it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far next_open looks ahead: a year of holidays cannot hide the next opening.
LOOKAHEAD_DAYS = 400


def validate_time_zone(name: str) -> str:
    """The zoneinfo name, or ValueError for anything zoneinfo does not know."""
    if not isinstance(name, str) or name not in available_timezones():
        raise ValueError(f"Unknown time zone: {name!r}.")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"Unknown time zone: {name!r}.") from exc
    return name


def _parse_time(value: Any, *, allow_midnight_end: bool) -> time | None:
    """'HH:MM' → time; '24:00' → None (end of day) where allowed; ValueError otherwise."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise ValueError(f"Times are 'HH:MM', got {value!r}.")
    if value == "24:00" and allow_midnight_end:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"Times are 'HH:MM', got {value!r}.") from exc


def validate_schedule(schedule: Any) -> dict[str, list[list[str]]]:
    """A clean weekly schedule, or ValueError naming what is wrong."""
    if not isinstance(schedule, dict):
        raise ValueError("The schedule maps weekdays (mon..sun) to lists of [start, end] intervals.")
    clean: dict[str, list[list[str]]] = {}
    for day, intervals in schedule.items():
        if day not in WEEKDAYS:
            raise ValueError(f"Unknown weekday {day!r}; use {', '.join(WEEKDAYS)}.")
        if not isinstance(intervals, list):
            raise ValueError(f"{day}: a list of [start, end] intervals.")
        for interval in intervals:
            if not isinstance(interval, list | tuple) or len(interval) != 2:
                raise ValueError(f"{day}: each interval is [start, end].")
            _parse_time(interval[0], allow_midnight_end=False)
            _parse_time(interval[1], allow_midnight_end=True)
            if interval[0] == interval[1]:
                raise ValueError(f"{day}: an interval cannot start and end at {interval[0]}.")
        clean[day] = [[str(a), str(b)] for a, b in intervals]
    return clean


def validate_holidays(holidays: Any) -> list[str]:
    """ISO dates ('2026-12-25'), sorted and unique, or ValueError."""
    if not isinstance(holidays, list):
        raise ValueError("Holidays are a list of dates (YYYY-MM-DD).")
    try:
        return sorted({date.fromisoformat(str(d)).isoformat() for d in holidays})
    except ValueError as exc:
        raise ValueError(f"Holidays are dates (YYYY-MM-DD): {exc}.") from exc


def _windows(widget: Any, *, first: date, days: int) -> Iterator[tuple[datetime, datetime]]:
    """Open windows (UTC start, UTC end) of the intervals starting on each day from `first`."""
    zone = ZoneInfo(widget.time_zone)
    holidays = set(widget.holidays or [])
    for offset in range(days):
        day = first + timedelta(days=offset)
        if day.isoformat() in holidays:
            continue
        for start_text, end_text in (widget.business_hours or {}).get(WEEKDAYS[day.weekday()], []):
            start = _parse_time(start_text, allow_midnight_end=False) or time(0)
            end = _parse_time(end_text, allow_midnight_end=True)
            end_day = day + timedelta(days=1) if end is None or end <= start else day
            start_at = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
            end_at = datetime.combine(end_day, end or time(0), tzinfo=zone).astimezone(UTC)
            yield start_at, end_at


def has_schedule(widget: Any) -> bool:
    return any((widget.business_hours or {}).values())


def is_open(widget: Any, at: datetime) -> bool:
    """Whether `at` (aware) falls in an open window; always open without a schedule."""
    if not has_schedule(widget):
        return True
    at_utc = at.astimezone(UTC)
    local_day = at.astimezone(ZoneInfo(widget.time_zone)).date()
    # Yesterday's overnight interval may still be running.
    return any(start <= at_utc < end for start, end in _windows(widget, first=local_day - timedelta(days=1), days=2))


def next_open(widget: Any, at: datetime) -> datetime | None:
    """When the widget opens next after `at` (aware, UTC); None when open now or never opening."""
    if is_open(widget, at):
        return None
    at_utc = at.astimezone(UTC)
    local_day = at.astimezone(ZoneInfo(widget.time_zone)).date()
    starts = (start for start, _ in _windows(widget, first=local_day, days=LOOKAHEAD_DAYS) if start > at_utc)
    return min(starts, default=None)


def availability(widget: Any, at: datetime) -> dict[str, Any]:
    """What the widget is told: open now, when it opens next (ISO) and the away message."""
    opens = next_open(widget, at)
    return {
        "open": is_open(widget, at),
        "next_open": opens.isoformat() if opens else None,
        "away_message": widget.away_message,
    }

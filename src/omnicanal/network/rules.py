"""Network rules — pure functions, no session, no clock.

Opening hours map the days ``mon`` … ``sun`` to lists of ``["HH:MM", "HH:MM"]`` intervals in the
location's local time; a missing or empty day is closed. ``"24:00"`` may close a day, so a store open
around the clock reads ``[["00:00", "24:00"]]``. Hours past midnight belong to the next day's list.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CAPABILITIES = ("sells", "ships", "pickup", "returns")
MINUTES_PER_DAY = 24 * 60
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)

OpeningHours = Mapping[str, Sequence[Sequence[str]]]


def minutes_of(clock: str) -> int:
    """``"09:30"`` → 570. Accepts ``00:00`` to ``23:59`` and ``24:00``; raises ``ValueError`` otherwise."""
    hours, sep, minutes = clock.partition(":")
    if not (sep and len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"{clock!r} is not a time written HH:MM")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > MINUTES_PER_DAY:
        raise ValueError(f"{clock!r} is not a time of day")
    return value


def normalise_opening_hours(hours: OpeningHours) -> dict[str, list[list[str]]]:
    """Check opening hours and return them with days in week order and each day's intervals sorted.

    Raises ``ValueError`` naming the day for an unknown day key, a malformed time, an interval that does
    not open before it closes, or two intervals of one day that overlap (touching ones are fine).
    """
    unknown = sorted(set(hours) - set(DAYS))
    if unknown:
        raise ValueError(f"unknown day {unknown[0]!r}: use {', '.join(DAYS)}")
    result: dict[str, list[list[str]]] = {}
    for day in DAYS:
        if day in hours:
            result[day] = _checked_day(day, hours[day])
    return result


def _checked_day(day: str, intervals: Sequence[Sequence[str]]) -> list[list[str]]:
    spans: list[tuple[int, int, list[str]]] = []
    for interval in intervals:
        if len(interval) != 2:
            raise ValueError(f"{day}: each interval is [opens, closes]")
        opens, closes = (minutes_of(clock) for clock in interval)
        if opens >= closes:
            raise ValueError(f"{day}: {interval[0]}–{interval[1]} does not open before it closes")
        spans.append((opens, closes, [interval[0], interval[1]]))
    spans.sort()
    for before, after in pairwise(spans):
        if after[0] < before[1]:
            raise ValueError(f"{day}: {'–'.join(before[2])} overlaps {'–'.join(after[2])}")
    return [span[2] for span in spans]


def _spans(hours: OpeningHours, day: str) -> list[tuple[int, int]]:
    return sorted((minutes_of(opens), minutes_of(closes)) for opens, closes in hours.get(day, ()))


def is_open(opening_hours: OpeningHours, local_datetime: datetime) -> bool:
    """Whether a location with these hours is open at ``local_datetime`` (a wall-clock time in its zone).

    An interval includes its opening minute and excludes its closing minute: open at 09:00, closed at 19:00.
    """
    minute = local_datetime.hour * 60 + local_datetime.minute
    day = DAYS[local_datetime.weekday()]
    return any(opens <= minute < closes for opens, closes in _spans(opening_hours, day))


def next_opening(opening_hours: OpeningHours, local_datetime: datetime) -> datetime | None:
    """The earliest moment at or after ``local_datetime`` when the location is open — ``local_datetime``
    itself when it is open then; ``None`` when it never opens. The answer keeps the input's tzinfo."""
    if is_open(opening_hours, local_datetime):
        return local_datetime
    minute = local_datetime.hour * 60 + local_datetime.minute
    for ahead in range(8):
        day = local_datetime.date() + timedelta(days=ahead)
        for opens, _closes in _spans(opening_hours, DAYS[day.weekday()]):
            if ahead > 0 or opens > minute:
                clock = time(opens // 60, opens % 60)
                return datetime.combine(day, clock, tzinfo=local_datetime.tzinfo)
    return None


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone such as ``Europe/Paris``."""
    zones = _known_zones()
    if zones:
        return name in zones
    try:  # no zone list on this system: fall back to loading it
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_time(moment: datetime, timezone: str) -> datetime:
    """``moment`` (timezone-aware) as the wall-clock time of a location in ``timezone``."""
    return moment.astimezone(ZoneInfo(timezone))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points in kilometres (haversine, mean Earth radius)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))

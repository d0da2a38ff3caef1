"""The French retail calendar the demo's trading follows: sales periods (soldes), Black Friday, Christmas,
weekend peaks and the quiet of August — dates computed, never hard-coded to a year."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
# Monday … Sunday: Saturday is the big day in stores; Sunday only for the few stores open then and online.
WEEKDAY_FACTOR = (0.85, 0.85, 0.95, 0.95, 1.1, 1.6, 0.65)
CLOSED_HOLIDAYS = {(1, 1), (5, 1), (12, 25)}


def local_midnight(day: date) -> datetime:
    """Midnight in Paris on ``day``, as a UTC instant."""
    return datetime.combine(day, time(0, 0), tzinfo=PARIS).astimezone(UTC)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def winter_sales(year: int) -> tuple[date, date]:
    """Les soldes d'hiver: from the second Wednesday of January, four weeks."""
    start = _nth_weekday(year, 1, 2, 2)
    return start, start + timedelta(days=28)


def summer_sales(year: int) -> tuple[date, date]:
    """Les soldes d'été: from the last Wednesday of June, four weeks."""
    start = _last_weekday(year, 6, 2)
    return start, start + timedelta(days=28)


def black_friday(year: int) -> tuple[date, date]:
    """The Friday after the fourth Thursday of November, to Cyber Monday."""
    start = _nth_weekday(year, 11, 3, 4) + timedelta(days=1)
    return start, start + timedelta(days=4)


def christmas(year: int) -> tuple[date, date]:
    return date(year, 12, 1), date(year, 12, 25)


def _within(day: date, window: tuple[date, date]) -> bool:
    return window[0] <= day < window[1]


def trading_factor(day: date) -> float:
    """How busy ``day`` is compared with an ordinary one (weekday × season)."""
    factor = WEEKDAY_FACTOR[day.weekday()]
    for sales in (winter_sales(day.year), summer_sales(day.year)):
        if _within(day, sales):
            factor *= 2.2 if (day - sales[0]).days < 7 else 1.5
    if _within(day, black_friday(day.year)):
        factor *= 2.0
    if _within(day, christmas(day.year)):
        factor *= 2.2 if day.day >= 14 else 1.5
    if day.month == 8:
        factor *= 0.75
    return factor


def stores_closed(day: date) -> bool:
    return (day.month, day.day) in CLOSED_HOLIDAYS

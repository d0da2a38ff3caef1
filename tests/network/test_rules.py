from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicanal.network.rules import (
    DAYS,
    distance_km,
    is_open,
    is_timezone,
    local_time,
    minutes_of,
    next_opening,
    normalise_opening_hours,
)

PARIS = ZoneInfo("Europe/Paris")
SPLIT_WEEK = {"mon": [["14:00", "19:00"]], "tue": [["09:00", "12:30"], ["14:00", "19:00"]],
              "sat": [["10:00", "24:00"]], "sun": [["00:00", "02:00"]]}


def at(day: int, clock: str) -> datetime:
    """A wall-clock time on day ``day`` of the week of Monday 2025-03-03."""
    hours, minutes = map(int, clock.split(":"))
    return datetime(2025, 3, 3 + day, hours, minutes, tzinfo=PARIS)


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


# --- validation ---------------------------------------------------------------------------------------------

def test_valid_hours_come_back_in_week_order_with_sorted_intervals():
    given_hours = {"sun": [], "tue": [["14:00", "19:00"], ["09:00", "12:30"]], "mon": [["09:00", "19:00"]]}
    assert normalise_opening_hours(given_hours) == {
        "mon": [["09:00", "19:00"]], "tue": [["09:00", "12:30"], ["14:00", "19:00"]], "sun": []}
    assert list(normalise_opening_hours(given_hours)) == ["mon", "tue", "sun"]


@pytest.mark.parametrize(("hours", "message"), [
    ({"monday": [["09:00", "19:00"]]}, "unknown day 'monday'"),
    ({"mon": [["9:00", "19:00"]]}, "not a time written HH:MM"),
    ({"mon": [["09:00", "25:00"]]}, "not a time of day"),
    ({"mon": [["09:60", "19:00"]]}, "not a time of day"),
    ({"mon": [["24:00", "24:00"]]}, "does not open before it closes"),
    ({"mon": [["19:00", "09:00"]]}, "does not open before it closes"),
    ({"mon": [["09:00", "09:00"]]}, "does not open before it closes"),
    ({"mon": [["09:00", "13:00"], ["12:00", "19:00"]]}, "overlaps"),
    ({"mon": [["09:00", "19:00"], ["10:00", "11:00"]]}, "overlaps"),
    ({"mon": [["09:00"]]}, "[opens, closes]"),
])
def test_invalid_hours_are_refused_with_the_reason(hours, message):
    with pytest.raises(ValueError) as refused:
        normalise_opening_hours(hours)
    assert message in str(refused.value)


def test_touching_intervals_and_a_day_closing_at_midnight_are_allowed():
    hours = {"fri": [["09:00", "12:00"], ["12:00", "24:00"]]}
    assert normalise_opening_hours(hours) == hours
    assert minutes_of("24:00") == 1440


@st.composite
def week_hours(draw: st.DrawFn) -> dict[str, list[list[str]]]:
    """Valid opening hours: per day, sorted non-overlapping intervals made from distinct boundaries."""
    hours: dict[str, list[list[str]]] = {}
    for day in draw(st.lists(st.sampled_from(DAYS), unique=True, max_size=7)):
        bounds = sorted(draw(st.lists(st.integers(0, 1440), unique=True, max_size=6)))
        pairs = [bounds[i:i + 2] for i in range(0, len(bounds) - 1, 2)]
        hours[day] = [[clock(opens), clock(closes)] for opens, closes in pairs]
    return hours


@given(week_hours())
def test_any_valid_week_is_accepted_and_normalising_twice_changes_nothing(hours):
    once = normalise_opening_hours(hours)
    assert normalise_opening_hours(once) == once


@given(st.integers(0, 1439), st.integers(1, 1440), st.integers(0, 1439), st.integers(1, 1440))
def test_two_intervals_of_a_day_are_accepted_exactly_when_they_do_not_overlap(a, b, c, d):
    if not (a < b and c < d):
        return
    hours = {"wed": [[clock(a), clock(b)], [clock(c), clock(d)]]}
    overlapping = a < d and c < b
    if overlapping:
        with pytest.raises(ValueError, match="overlaps"):
            normalise_opening_hours(hours)
    else:
        assert normalise_opening_hours(hours)["wed"] == sorted(hours["wed"])


# --- is_open / next_opening ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("moment", "expected"), [
    (at(0, "13:59"), False), (at(0, "14:00"), True), (at(0, "18:59"), True), (at(0, "19:00"), False),
    (at(1, "12:30"), False), (at(1, "13:00"), False), (at(1, "14:00"), True),
    (at(2, "10:00"), False),  # wednesday is not listed: closed
    (at(5, "23:59"), True), (at(6, "00:00"), True), (at(6, "02:00"), False),
])
def test_is_open_includes_the_opening_minute_and_excludes_the_closing_one(moment, expected):
    assert is_open(SPLIT_WEEK, moment) is expected


def test_seconds_within_the_last_open_minute_are_still_open():
    assert is_open(SPLIT_WEEK, at(0, "18:59").replace(second=59, microsecond=999_999))


@pytest.mark.parametrize(("moment", "expected"), [
    (at(0, "15:00"), at(0, "15:00")),  # open now: now
    (at(0, "08:00"), at(0, "14:00")),  # later today
    (at(1, "12:45"), at(1, "14:00")),  # after the lunch break
    (at(1, "19:00"), at(5, "10:00")),  # closed wednesday to friday
    (at(6, "03:00"), at(7, "14:00")),  # sunday night → next monday
])
def test_next_opening_is_the_earliest_open_moment(moment, expected):
    assert next_opening(SPLIT_WEEK, moment) == expected


def test_a_location_without_hours_never_opens():
    assert next_opening({}, at(0, "10:00")) is None
    assert next_opening({"mon": []}, at(0, "10:00")) is None
    assert not is_open({}, at(0, "10:00"))


def test_a_day_open_only_earlier_than_now_opens_again_a_week_later():
    assert next_opening({"mon": [["09:00", "10:00"]]}, at(0, "11:00")) == at(7, "09:00")


def _boundaries(hours, start: datetime, end: datetime) -> list[datetime]:
    """Every moment in [start, end) where a location's state may change."""
    found = [start] if start < end else []
    for ahead in range(9):
        day = start.date() + timedelta(days=ahead)
        for opens, closes in hours.get(DAYS[day.weekday()], []):
            for edge in (opens, closes):
                minute = minutes_of(edge)
                moment = datetime.combine(day, datetime.min.time(), tzinfo=start.tzinfo) + timedelta(minutes=minute)
                if start <= moment < end:
                    found.append(moment)
    return found


@settings(max_examples=300)
@given(week_hours(), st.integers(0, 6), st.integers(0, 1439))
def test_next_opening_is_open_and_nothing_earlier_is(hours, day, minute):
    start = at(day, clock(minute))
    found = next_opening(hours, start)
    never_opens = all(not intervals for intervals in hours.values())
    assert (found is None) == never_opens
    if found is not None:
        assert found >= start and is_open(hours, found)
        assert not any(is_open(hours, moment) for moment in _boundaries(hours, start, found))


def test_local_time_follows_the_zone_and_its_summer_time():
    winter = local_time(datetime(2025, 1, 15, 8, 0, tzinfo=ZoneInfo("UTC")), "Europe/Paris")
    summer = local_time(datetime(2025, 7, 15, 8, 0, tzinfo=ZoneInfo("UTC")), "Europe/Paris")
    assert (winter.hour, summer.hour) == (9, 10)


@pytest.mark.parametrize(("name", "known"), [
    ("Europe/Paris", True), ("America/Guadeloupe", True), ("UTC", True),
    ("Europe/Lutece", False), ("", False), ("../etc/passwd", False), ("paris", False),
])
def test_only_iana_time_zones_are_known(name, known):
    assert is_timezone(name) is known


# --- distance -----------------------------------------------------------------------------------------------

LAT = st.floats(-90, 90, allow_nan=False)
LON = st.floats(-180, 180, allow_nan=False)


def test_distance_between_known_cities():
    assert distance_km(48.8566, 2.3522, 45.7640, 4.8357) == pytest.approx(392, abs=2)  # Paris – Lyon
    assert distance_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(344, abs=2)  # Paris – London
    assert distance_km(0, 0, 0, 180) == pytest.approx(20_015, abs=1)  # half the equator


@given(LAT, LON, LAT, LON)
def test_distance_is_symmetric_non_negative_and_at_most_half_a_circumference(lat1, lon1, lat2, lon2):
    d = distance_km(lat1, lon1, lat2, lon2)
    assert 0 <= d <= 20_016
    assert d == pytest.approx(distance_km(lat2, lon2, lat1, lon1), abs=1e-6)


@given(LAT, LON)
def test_a_point_is_at_no_distance_from_itself(lat, lon):
    assert distance_km(lat, lon, lat, lon) == pytest.approx(0, abs=1e-6)


@given(LAT, LON, LAT, LON, LAT, LON)
def test_distance_obeys_the_triangle_inequality(lat1, lon1, lat2, lon2, lat3, lon3):
    direct = distance_km(lat1, lon1, lat3, lon3)
    assert direct <= distance_km(lat1, lon1, lat2, lon2) + distance_km(lat2, lon2, lat3, lon3) + 1e-3

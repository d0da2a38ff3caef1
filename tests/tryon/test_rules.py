from datetime import UTC, date, datetime, timedelta

import pytest

from omnicanal.tryon import rules
from omnicanal.tryon.rules import Slot

HOURS = {"mon": [["09:00", "12:30"], ["14:00", "19:00"]], "sat": [["10:00", "18:00"]]}
MONDAY_SUMMER = date(2026, 6, 1)  # Europe/Paris is UTC+2
MONDAY_WINTER = date(2026, 1, 5)  # UTC+1


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_day_is_cut_into_slots_within_each_opening_interval():
    slots = rules.day_slots(HOURS, MONDAY_SUMMER, "Europe/Paris", 30)
    assert len(slots) == 7 + 10  # 09:00–12:30 and 14:00–19:00
    assert slots[0] == Slot(utc(2026, 6, 1, 7, 0), utc(2026, 6, 1, 7, 30))
    assert slots[6].ends_at == utc(2026, 6, 1, 10, 30)  # 12:30 local: the morning's last slot ends at closing
    assert slots[7].starts_at == utc(2026, 6, 1, 12, 0)  # 14:00 local
    assert slots[-1].ends_at == utc(2026, 6, 1, 17, 0)  # 19:00 local


def test_a_slot_must_end_by_closing_time():
    slots = rules.day_slots({"mon": [["09:00", "10:00"]]}, MONDAY_WINTER, "Europe/Paris", 45)
    assert slots == [Slot(utc(2026, 1, 5, 8, 0), utc(2026, 1, 5, 8, 45))]


def test_a_closed_day_has_no_slot_and_a_whole_day_has_48():
    assert rules.day_slots(HOURS, MONDAY_SUMMER + timedelta(days=1), "Europe/Paris", 30) == []
    whole = rules.day_slots({"tue": [["00:00", "24:00"]]}, date(2026, 6, 2), "UTC", 30)
    assert len(whole) == 48 and whole[-1].ends_at == utc(2026, 6, 3, 0, 0)


def test_slots_follow_the_wall_clock_across_a_daylight_saving_change():
    sunday_of_change = date(2026, 3, 29)  # clocks go forward at 02:00 in Paris
    slots = rules.day_slots({"sun": [["10:00", "11:00"]]}, sunday_of_change, "Europe/Paris", 60)
    assert slots == [Slot(utc(2026, 3, 29, 8, 0), utc(2026, 3, 29, 9, 0))]  # 10:00 local is already UTC+2


def test_find_slot_matches_an_exact_start_in_any_zone():
    slots = rules.day_slots(HOURS, MONDAY_SUMMER, "Europe/Paris", 30)
    paris_nine = datetime.fromisoformat("2026-06-01T09:00:00+02:00")
    assert rules.find_slot(slots, paris_nine) == slots[0]
    assert rules.find_slot(slots, paris_nine + timedelta(minutes=10)) is None


def test_a_booking_needs_a_slot_not_started_and_within_the_horizon():
    now = utc(2026, 6, 1, 7, 15)
    today = date(2026, 6, 1)
    assert rules.booking_problem(utc(2026, 6, 1, 7, 0), now=now, today=today, day=today, horizon_days=14)
    assert rules.booking_problem(utc(2026, 6, 1, 7, 30), now=now, today=today, day=today, horizon_days=14) is None
    far = date(2026, 6, 16)
    assert "14 days" in (rules.booking_problem(utc(2026, 6, 16, 7, 0), now=now, today=today, day=far,
                                               horizon_days=14) or "")
    assert rules.booking_problem(utc(2026, 6, 15, 7, 0), now=now, today=today, day=date(2026, 6, 15),
                                 horizon_days=14) is None


def test_the_hold_lasts_until_the_slot_ends_plus_grace():
    slot = Slot(utc(2026, 6, 1, 7, 0), utc(2026, 6, 1, 7, 30))
    assert rules.hold_until(slot, 30) == utc(2026, 6, 1, 8, 0)
    assert rules.hold_until(slot, 0) == slot.ends_at


def test_a_purchase_takes_only_what_was_held():
    held = {"A": 2, "B": 1}
    assert rules.purchase_problems(held, {"A": 2}) == []
    assert rules.purchase_problems(held, {"A": 3, "C": 1}) == [
        {"sku": "A", "requested": 3, "held": 2}, {"sku": "C", "requested": 1, "held": 0}]
    assert rules.purchase_outcome(held, {"A": 2, "B": 1}) == "purchased"
    assert rules.purchase_outcome(held, {"A": 1}) == "partially_purchased"
    assert rules.merge_lines([("A", 1), ("B", 1), ("A", 2)]) == {"A": 3, "B": 1}


@pytest.mark.parametrize(("status", "lapsed"), [("booked", "no_show"), ("checked_in", "expired")])
def test_a_lapsed_booking_is_a_no_show_unless_the_customer_came(status, lapsed):
    assert rules.lapse_status(status) == lapsed
    assert rules.can_move(status, lapsed)


def test_the_state_machine_refuses_what_it_should():
    assert rules.can_move("booked", "checked_in")
    assert not rules.can_move("checked_in", "cancelled")  # once there, the customer declines instead
    assert not rules.can_move("checked_in", "no_show")
    for closed in ("purchased", "partially_purchased", "declined", "cancelled", "no_show", "expired"):
        assert rules.TRY_ON_TRANSITIONS[closed] == frozenset()
    assert rules.remaining(2, 5) == 0 and rules.remaining(3, 1) == 2

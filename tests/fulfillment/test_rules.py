from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnicanal.fulfillment.rules import (
    CODE_ALPHABET,
    Allocation,
    code_digest,
    code_from_scan,
    code_matches,
    left_to_ship,
    normalise_code,
    parcel_problems,
    pickup_code,
    pickup_state,
    plan_sourcing,
    qr_payload,
    ready_time,
)
from omnicanal.network.rules import is_open
from omnicanal.orders.rules import ORDER_TRANSITIONS, may_become

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = {day: [["09:00", "12:30"], ["14:00", "19:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
HOURS = {**WEEKDAYS, "sat": [["10:00", "18:00"]]}  # closed on Sunday


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=PARIS)  # 2026-03-02 is a Monday


@pytest.mark.parametrize(("start", "lead", "expected"), [
    (paris(2, 11), 120, paris(2, 14, 30)),  # 1½ h before lunch, the last half hour after it
    (paris(2, 9), 60, paris(2, 10)),
    (paris(2, 7), 60, paris(2, 10)),  # before opening: counted from 09:00
    (paris(2, 18), 60, paris(3, 9)),  # ends exactly at closing: ready at the next opening
    (paris(2, 18), 90, paris(3, 9, 30)),
    (paris(7, 17), 120, paris(9, 10)),  # Saturday evening → Monday (Sunday closed)
    (paris(8, 12), 0, paris(9, 9)),  # no lead time on a Sunday: the next opening
    (paris(2, 13), 30, paris(2, 14, 30)),  # during lunch
])
def test_the_promise_counts_opening_minutes_only(start, lead, expected):
    assert ready_time(HOURS, start, lead) == expected


def test_a_store_with_no_hours_recorded_counts_clock_time():
    assert ready_time({}, paris(8, 23), 120) == paris(9, 1)
    assert ready_time({"mon": []}, paris(8, 23), 120) == paris(9, 1)


def test_a_long_lead_in_a_store_open_one_minute_a_week_still_ends_on_an_open_minute():
    ready = ready_time({"sun": [["10:00", "10:01"]]}, paris(2, 9), 3)
    assert ready == datetime(2026, 3, 29, 10, tzinfo=PARIS)  # three Sundays of work, ready on the fourth
    assert is_open({"sun": [["10:00", "10:01"]]}, ready)


def test_the_promise_crosses_a_daylight_saving_change_in_local_time():
    # 2026-03-29 (Sunday) clocks go forward; the store's wall-clock hours still hold on Monday
    assert ready_time(HOURS, datetime(2026, 3, 28, 17, tzinfo=PARIS), 120) == datetime(2026, 3, 30, 10,
                                                                                         tzinfo=PARIS)


@given(st.integers(0, 7 * 24 * 60), st.integers(0, 60 * 24 * 10))
def test_a_promise_is_an_open_moment_no_sooner_than_the_lead_time(start_minute, lead):
    start = paris(2, 0) + timedelta(minutes=start_minute)
    ready = ready_time(HOURS, start, lead)
    assert ready is not None and is_open(HOURS, ready)
    assert ready - start >= timedelta(minutes=lead)


def test_sourcing_takes_the_store_first_then_the_nearest_others():
    available = {"A": {"PAR": 1, "WH": 5, "LYO": 9}, "B": {"PAR": 3}}
    plan = plan_sourcing({"A": 3, "B": 2}, store="PAR", available=available,
                         distance_to_store={"PAR": 0, "WH": 110, "LYO": 390}, allow_transfer=True)
    assert plan.complete
    assert plan.allocations == [Allocation("A", "PAR", 1), Allocation("A", "WH", 2), Allocation("B", "PAR", 2)]
    assert plan.transferred("PAR") == [Allocation("A", "WH", 2)]


def test_without_transfer_a_store_short_of_units_is_a_shortage():
    plan = plan_sourcing({"A": 3}, store="PAR", available={"A": {"PAR": 1, "WH": 5}},
                         distance_to_store={}, allow_transfer=False)
    assert not plan.complete and plan.shortages == {"A": 2}
    split = plan_sourcing({"A": 9}, store="PAR", available={"A": {"PAR": 1, "WH": 5, "LYO": -2}},
                          distance_to_store={"WH": 1}, allow_transfer=True)
    assert split.shortages == {"A": 3}


def test_pickup_codes_are_eight_unambiguous_characters_and_only_their_digest_is_kept():
    code = pickup_code(bytes([255, 0, 17, 42, 9]))
    assert len(code) == 8 and set(code) <= set(CODE_ALPHABET)
    assert pickup_code(bytes(5)) == "00000000"
    digest = code_digest("ord_1", code)
    assert code not in digest and len(digest) == 64
    assert code_matches("ord_1", code.lower(), digest)
    assert code_matches("ord_1", f" {code[:4]}-{code[4:]} ", digest)
    assert not code_matches("ord_2", code, digest)  # salted by the order
    assert not code_matches("ord_1", code, None)
    assert normalise_code("o1l-i") == "0111"


def test_the_qr_payload_carries_the_order_and_its_code():
    assert qr_payload("ord_1", "7KQ2M9XD") == "omnicanal:pickup:ord_1:7KQ2M9XD"
    assert code_from_scan("ord_1", "omnicanal:pickup:ord_1:7KQ2M9XD") == "7KQ2M9XD"
    assert code_from_scan("ord_2", "omnicanal:pickup:ord_1:7KQ2M9XD") == "omnicanal:pickup:ord_1:7KQ2M9XD"


def test_the_store_sees_awaiting_goods_until_everything_is_in():
    assert pickup_state("confirmed", goods_in_store=False) == "awaiting_goods"
    assert pickup_state("confirmed", goods_in_store=True) == "to_prepare"
    assert pickup_state("ready", goods_in_store=True) == "ready"


def test_pickup_and_parcel_states_do_not_mix():
    assert may_become("pickup", "confirmed", "preparing") and may_become("pickup", "ready", "expired")
    assert not may_become("pickup", "confirmed", "shipped")
    assert not may_become("ship", "confirmed", "preparing")
    assert not may_become("pickup", "confirmed", "ready")  # preparation comes first
    assert not may_become("pickup", "ready", "ready")
    for final in ("collected", "expired", "delivered", "cancelled"):
        assert ORDER_TRANSITIONS[final] == frozenset()


def test_parcels_cannot_take_more_than_is_left():
    left = left_to_ship({1: 3, 2: 1}, {1: 1, 2: 1})
    assert left == {1: 2}
    assert parcel_problems([(1, 2)], left) == []
    assert parcel_problems([(1, 3), (2, 1), (9, 1)], left) == [
        {"line_no": 1, "requested": 3, "left": 2}, {"line_no": 2, "requested": 1, "left": 0},
        {"line_no": 9, "requested": 1, "left": 0}]

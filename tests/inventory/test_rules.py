from hypothesis import given
from hypothesis import strategies as st

from omnicanal.inventory.rules import (
    Movement,
    MovementKind,
    available_to_promise,
    can_reserve,
    is_discrepancy,
    rebuild_levels,
)

units = st.integers(min_value=-50, max_value=500)
small = st.integers(min_value=0, max_value=100)


@given(on_hand=units, reserved=small, safety=small, buffer=small)
def test_atp_is_never_negative_and_never_above_free_stock(on_hand: int, reserved: int, safety: int, buffer: int):
    atp = available_to_promise(on_hand=on_hand, reserved=reserved, safety=safety, buffer=buffer)
    assert atp >= 0
    assert atp <= max(0, on_hand - reserved)


@given(on_hand=units, reserved=small, safety=small, buffer=small, quantity=st.integers(1, 100))
def test_a_reservation_is_allowed_exactly_when_atp_covers_it(on_hand, reserved, safety, buffer, quantity):
    atp = available_to_promise(on_hand=on_hand, reserved=reserved, safety=safety, buffer=buffer)
    assert can_reserve(on_hand=on_hand, reserved=reserved, safety=safety, buffer=buffer, quantity=quantity) == (
        atp >= quantity)


def test_zero_or_negative_quantities_are_never_reservable():
    assert not can_reserve(on_hand=10, reserved=0, safety=0, buffer=0, quantity=0)
    assert not can_reserve(on_hand=10, reserved=0, safety=0, buffer=0, quantity=-1)


movements = st.lists(st.builds(
    Movement, sku=st.sampled_from(["A", "B"]), location=st.sampled_from(["X", "Y"]),
    kind=st.sampled_from(list(MovementKind)), on_hand_delta=st.integers(-20, 20), reserved_delta=st.integers(-5, 5),
), max_size=60)


@given(movements)
def test_levels_rebuilt_from_the_ledger_are_its_sums(ms: list[Movement]):
    levels = rebuild_levels(ms)
    for (sku, location), level in levels.items():
        mine = [m for m in ms if (m.sku, m.location) == (sku, location)]
        assert level.on_hand == sum(m.on_hand_delta for m in mine)
        assert level.reserved == sum(m.reserved_delta for m in mine)
    assert set(levels) == {(m.sku, m.location) for m in ms}


@given(movements, st.integers(0, 60))
def test_rebuilding_is_the_same_in_two_halves(ms: list[Movement], cut: int):
    whole = rebuild_levels(ms)
    first, second = rebuild_levels(ms[:cut]), rebuild_levels(ms[cut:])
    for key, level in whole.items():
        a, b = first.get(key), second.get(key)
        assert level.on_hand == (a.on_hand if a else 0) + (b.on_hand if b else 0)
        assert level.reserved == (a.reserved if a else 0) + (b.reserved if b else 0)


def test_discrepancy_when_figures_are_impossible():
    assert is_discrepancy(on_hand=-1, reserved=0)
    assert is_discrepancy(on_hand=2, reserved=3)
    assert not is_discrepancy(on_hand=3, reserved=3)

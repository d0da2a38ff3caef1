"""The one consent rule: opt-in, and the latest choice made at or before the moment decides."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from omnicanal.privacy.rules import ConsentChoice, Purpose, latest_choice, may

T0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
EMAIL, SMS = Purpose.MARKETING_EMAIL.value, Purpose.MARKETING_SMS.value


def choice(granted: bool, hours: int, purpose: str = EMAIL, seq: int = 0) -> ConsentChoice:
    return ConsentChoice(purpose=purpose, granted=granted, at=T0 + timedelta(hours=hours), seq=seq)


def test_nothing_is_allowed_before_a_grant():
    assert not may([], EMAIL, T0)
    assert not may([choice(True, 5)], EMAIL, T0 + timedelta(hours=4))
    assert may([choice(True, 5)], EMAIL, T0 + timedelta(hours=5))


def test_a_withdrawal_ends_the_grant_from_its_moment_and_a_new_grant_restores_it():
    history = [choice(True, 0), choice(False, 10), choice(True, 20)]
    assert [may(history, EMAIL, T0 + timedelta(hours=h)) for h in (1, 10, 15, 20, 99)] == [
        True, False, False, True, True]


def test_each_purpose_stands_alone():
    history = [choice(True, 0, EMAIL), choice(False, 1, SMS)]
    assert may(history, EMAIL, T0 + timedelta(hours=2)) and not may(history, SMS, T0 + timedelta(hours=2))
    assert not may(history, Purpose.IN_STORE_TRACKING.value, T0 + timedelta(hours=2))


def test_two_choices_at_the_same_moment_are_decided_by_the_later_record():
    history = [choice(False, 3, seq=2), choice(True, 3, seq=1)]
    assert not may(history, EMAIL, T0 + timedelta(hours=3))
    assert latest_choice(history, EMAIL, T0 + timedelta(hours=3)) == history[0]


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 100)), max_size=30), st.integers(0, 120))
def test_the_answer_is_the_last_choice_at_or_before_the_moment(choices, hour):
    history = [choice(granted, at, seq=n) for n, (granted, at) in enumerate(choices)]
    earlier = sorted((c for c in history if c.at <= T0 + timedelta(hours=hour)), key=lambda c: (c.at, c.seq))
    assert may(history, EMAIL, T0 + timedelta(hours=hour)) == (bool(earlier) and earlier[-1].granted)
    assert may(list(reversed(history)), EMAIL, T0 + timedelta(hours=hour)) == may(history, EMAIL,
                                                                                   T0 + timedelta(hours=hour))

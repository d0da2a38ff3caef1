from hypothesis import given
from hypothesis import strategies as st

from omnicanal.catalog.rules import PriceQuote
from omnicanal.orders.rules import ORDER_TRANSITIONS, can_move, demand_by_sku, order_totals, price_lines


def quote(sku: str, list_price: int, price: int) -> PriceQuote:
    return PriceQuote(sku=sku, channel="web", currency="EUR", list_price=list_price, price=price, source="base",
                      promotion_id="p" if price < list_price else None)


@given(st.lists(st.tuples(st.sampled_from("ABC"), st.integers(1, 20)), min_size=1, max_size=8),
       st.integers(1, 10_000), st.integers(0, 100))
def test_totals_add_up(lines, list_price, percent_off):
    price = list_price - list_price * percent_off // 100
    quotes = {sku: quote(sku, list_price, price) for sku in "ABC"}
    priced = price_lines(lines, quotes)
    totals = order_totals(priced)
    assert totals.total == sum(p.line_total for p in priced)
    assert totals.subtotal - totals.discount_total == totals.total
    assert totals.discount_total >= 0
    assert [p.line_no for p in priced] == list(range(1, len(lines) + 1))


def test_duplicate_skus_add_up_to_one_demand():
    assert demand_by_sku([("A", 1), ("B", 2), ("A", 3)]) == {"A": 4, "B": 2}


def test_terminal_states_lead_nowhere():
    for state in ("delivered", "completed", "cancelled"):
        assert ORDER_TRANSITIONS[state] == frozenset()
    assert can_move(ORDER_TRANSITIONS, "confirmed", "cancelled")
    assert not can_move(ORDER_TRANSITIONS, "shipped", "cancelled")

from hypothesis import given
from hypothesis import strategies as st

from omnicanal.returns import rules
from omnicanal.returns.rules import BoughtLine, ReturnedUnits, WantedLine


def want(quantity: int, sku: str | None = None, line_no: int | None = None, condition: str = "sellable") -> WantedLine:
    return WantedLine(quantity=quantity, condition=condition, sku=sku, line_no=line_no)


ORDER = [BoughtLine(1, "A", 3, 3000), BoughtLine(2, "B", 1, 1999), BoughtLine(3, "A", 2, 2000)]


def test_an_order_level_discount_is_spread_pro_rata_and_adds_up():
    assert rules.paid_per_line({1: 6000, 2: 4000}, 9000) == {1: 5400, 2: 3600}
    spread = rules.paid_per_line({1: 1000, 2: 1000, 3: 1000}, 2999)
    assert sum(spread.values()) == 2999 and sorted(spread.values()) == [999, 1000, 1000]
    assert rules.paid_per_line({1: 500}, 500) == {1: 500}  # no discount: line totals as they are
    assert rules.paid_per_line({1: 0, 2: 0}, 0) == {1: 0, 2: 0}


def test_partial_returns_of_a_line_refund_exactly_what_was_paid_in_the_end():
    line = BoughtLine(1, "A", 3, 1000)  # 333.33… a unit
    first = rules.refund_for_line(line, ReturnedUnits(), 1)
    second = rules.refund_for_line(line, ReturnedUnits(1, first), 1)
    third = rules.refund_for_line(line, ReturnedUnits(2, first + second), 1)
    assert (first, second, third) == (333, 333, 334)


def test_a_return_by_sku_takes_units_from_the_lines_of_that_sku_in_order():
    allocation = rules.allocate_return(ORDER, {}, [want(4, sku="A")])
    assert [(a.line_no, a.quantity, a.refund) for a in allocation.lines] == [(1, 3, 3000), (3, 1, 1000)]
    assert allocation.refund == 4000 and not allocation.excess and not allocation.unknown


def test_what_was_already_returned_is_not_returnable_again():
    returned = {1: ReturnedUnits(3, 3000), 3: ReturnedUnits(1, 1000)}
    allocation = rules.allocate_return(ORDER, returned, [want(2, sku="A")])
    assert allocation.excess == [{"sku": "A", "line_no": None, "requested": 2, "returnable": 1}]
    assert rules.allocate_return(ORDER, returned, [want(1, line_no=3)]).lines[0].refund == 1000


def test_lines_not_on_the_order_are_named():
    allocation = rules.allocate_return(ORDER, {}, [want(1, sku="Z"), want(1, line_no=9), want(1, sku="B", line_no=1)])
    assert allocation.unknown == [{"sku": "Z", "line_no": None}, {"sku": None, "line_no": 9},
                                  {"sku": "B", "line_no": 1}]


def test_two_wanted_lines_of_one_sku_with_different_conditions_share_what_remains():
    allocation = rules.allocate_return(ORDER, {}, [want(1, line_no=2), want(1, line_no=2, condition="damaged")])
    assert allocation.lines[0].quantity == 1 and allocation.excess[0]["line_no"] == 2


def test_the_state_machine_and_the_damaged_bin():
    assert rules.can_move("requested", "received") and rules.can_move("received", "refunded")
    assert not rules.can_move("requested", "refunded")  # refund before receipt
    assert not rules.can_move("refunded", "received") and not rules.can_move("cancelled", "received")
    assert rules.damaged_bin_code("PAR-RIV") == "PAR-RIV-DAMAGED"
    assert len(rules.damaged_bin_code("X" * 40)) == 40


# --- properties: refunds never exceed what was paid, and all units back refunds exactly all of it -----------
orders = st.lists(st.tuples(st.integers(1, 6), st.integers(0, 50_000)), min_size=1, max_size=6).flatmap(
    lambda lines: st.tuples(st.just(lines), st.integers(0, sum(q * p for q, p in lines))))


def _bought(lines: list[tuple[int, int]], discount: int) -> list[BoughtLine]:
    totals = {n: q * p for n, (q, p) in enumerate(lines, start=1)}
    paid = rules.paid_per_line(totals, sum(totals.values()) - discount)
    return [BoughtLine(n, f"S{n}", q, paid[n]) for n, (q, _) in enumerate(lines, start=1)]


@given(order=orders, data=st.data())
def test_any_sequence_of_returns_refunds_at_most_what_was_paid_and_all_of_it_in_the_end(order, data):
    lines, discount = order
    bought = _bought(lines, discount)
    total_paid = sum(q * p for q, p in lines) - discount
    assert sum(line.paid for line in bought) == total_paid
    live: list[list[rules.AllocatedLine]] = []  # returns not cancelled
    cancellations = 0
    while True:
        returned = _returned(live)
        open_lines = [line for line in bought if line.quantity > returned.get(line.line_no, ReturnedUnits()).quantity]
        if not open_lines:
            break
        line = data.draw(st.sampled_from(open_lines))
        left = line.quantity - returned.get(line.line_no, ReturnedUnits()).quantity
        allocation = rules.allocate_return(bought, returned, [want(data.draw(st.integers(1, left)), sku=line.sku)])
        assert not allocation.excess and all(a.refund >= 0 for a in allocation.lines)
        live.append(allocation.lines)
        if cancellations < 3 and data.draw(st.booleans(), label="cancel an earlier return"):
            live.pop(data.draw(st.integers(0, len(live) - 1)))  # its units may be returned again
            cancellations += 1
        refunded = sum(a.refund for r in live for a in r)
        assert refunded <= total_paid
        per_line = _returned(live)
        assert all(per_line[n].refunded <= next(b.paid for b in bought if b.line_no == n) for n in per_line)
    assert sum(a.refund for r in live for a in r) == total_paid


def _returned(live: list[list[rules.AllocatedLine]]) -> dict[int, ReturnedUnits]:
    so_far: dict[int, ReturnedUnits] = {}
    for allocated in live:
        for a in allocated:
            old = so_far.get(a.line_no, ReturnedUnits())
            so_far[a.line_no] = ReturnedUnits(old.quantity + a.quantity, old.refunded + a.refund)
    return so_far


@given(order=orders)
def test_returning_the_whole_order_at_once_refunds_the_total_paid(order):
    lines, discount = order
    bought = _bought(lines, discount)
    allocation = rules.allocate_return(bought, {}, [want(line.quantity, line_no=line.line_no) for line in bought])
    assert allocation.refund == sum(q * p for q, p in lines) - discount
    over = rules.allocate_return(bought, {}, [want(bought[0].quantity + 1, line_no=1)])
    assert over.excess and sum(a.refund for a in over.lines) <= bought[0].paid

"""The batch MIP against routing one by one, on random small batches: feasible, never dearer."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnicanal.routing.batch import BatchResult, joint_fits, route_one_by_one, solve_batch
from omnicanal.routing.rules import DEFAULT_COST_MODEL, OrderToRoute, Supply, site_of
from tests.routing.test_rules import SKUS, networks, orders

MODEL = DEFAULT_COST_MODEL


@st.composite
def batches(draw):
    sites, supply = draw(networks(max_sites=4))
    batch = [(f"o{n}", draw(orders(sites))) for n in range(draw(st.integers(1, 6)))]
    return sites, supply, batch


def units_used(result: BatchResult) -> dict[tuple[str, str], int]:
    used: dict[tuple[str, str], int] = {}
    for plan in result.plans.values():
        for parcel in plan.parcels:
            for sku, units in parcel.units:
                used[(sku, parcel.location)] = used.get((sku, parcel.location), 0) + units
    return used


def assert_feasible(result: BatchResult, batch, supply: Supply) -> None:
    for (sku, code), units in units_used(result).items():
        assert units <= max(0, supply.free[sku][code])  # never more units than there are
    for code, left in supply.capacity.items():
        assert sum(code in plan.locations for plan in result.plans.values()) <= left
    wanted = dict(batch)
    for key, plan in result.plans.items():
        assert set(plan.assignment) == set(wanted[key].demand)
        assert not set(plan.locations) & wanted[key].excluded
    assert set(result.plans) | set(result.unrouted) == set(wanted)
    assert not set(result.plans) & set(result.unrouted)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_the_mip_is_feasible_and_never_dearer_than_one_by_one(case):
    sites, supply, batch = case
    greedy = route_one_by_one(batch, sites, supply, MODEL)
    mip = solve_batch(batch, sites, supply, MODEL, time_limit=10)
    assert_feasible(greedy, batch, supply)
    assert_feasible(mip, batch, supply)
    assert mip.method == "mip" and mip.solver_status == "optimal"
    assert mip.score() <= greedy.score()  # fewer unrouted orders, or as many and no dearer
    assert joint_fits(batch, mip.plans, supply)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_promised_orders_keep_a_plan(case):
    sites, supply, batch = case
    greedy = route_one_by_one(batch, sites, supply, MODEL)
    promised = set(greedy.plans)
    # hold what one by one gave them, as the hub does for confirmed orders
    held_batch = [(key, _holding(order, greedy.plans.get(key))) for key, order in batch]
    left = supply.copy()  # what they hold is reserved; their own parcels are not counted against capacity
    for _, order in held_batch:
        left.give_back(order.held, -1)
    mip = solve_batch(held_batch, sites, left, MODEL, time_limit=10, must_route=promised)
    assert promised <= set(mip.plans)
    assert mip.method == "mip" and mip.score() <= greedy.score()  # keeping the plans was one of its options
    if mip.sequence == "joint":
        assert joint_fits(held_batch, mip.plans, left)


def _holding(order: OrderToRoute, plan) -> OrderToRoute:
    if plan is None:
        return order
    held = tuple((sku, code, order.demand[sku]) for sku, code in sorted(plan.assignment.items()))
    return OrderToRoute(order.demand, order.destination, order.buffer, excluded=order.excluded, held=held)


def test_joint_routing_avoids_the_split_one_by_one_makes():
    warehouse = site_of("WH", "warehouse", 47.90, 1.90, MODEL)
    marseille = site_of("MRS", "store", 43.30, 5.37, MODEL)
    supply = Supply({"LAMP": {"WH": 1, "MRS": 1}, "VASE": {"WH": 5, "MRS": 0}})
    paris = (48.85, 2.35)
    batch = [("first", OrderToRoute({"LAMP": 1}, paris)), ("second", OrderToRoute({"LAMP": 1, "VASE": 1}, paris))]
    greedy = route_one_by_one(batch, [warehouse, marseille], supply)
    mip = solve_batch(batch, [warehouse, marseille], supply)
    assert greedy.plans["second"].locations == ("MRS", "WH")
    assert mip.plans["second"].locations == ("WH",) and mip.plans["first"].locations == ("MRS",)
    assert mip.cost < greedy.cost


def test_channel_buffers_are_kept_jointly():
    """Two orders of a channel holding back 2 units per location may not share the last 3."""
    store = site_of("S", "store", 45.0, 3.0, MODEL)
    supply = Supply({"A": {"S": 3}})
    batch = [("web-1", OrderToRoute({"A": 1}, buffer=2)), ("web-2", OrderToRoute({"A": 1}, buffer=2)),
             ("till", OrderToRoute({"A": 1}, buffer=0))]
    mip = solve_batch(batch, [store], supply)
    assert len(mip.plans) == 2 and "till" in mip.plans and joint_fits(batch, mip.plans, supply)


def test_an_unrouted_order_keeps_what_it_holds():
    store = site_of("S", "store", 45.0, 3.0, MODEL)
    supply = Supply({"A": {"S": 0}, "B": {"S": 0}})
    waiting = OrderToRoute({"A": 1, "B": 1}, held=(("A", "S", 1),))  # A reserved, B nowhere to be found
    other = OrderToRoute({"A": 1})
    for result in (solve_batch([("w", waiting), ("o", other)], [store], supply),
                   route_one_by_one([("w", waiting), ("o", other)], [store], supply)):
        assert result.plans == {} and set(result.unrouted) == {"w", "o"}


def test_the_solver_falls_back_to_one_by_one_when_it_cannot_answer():
    store = site_of("S", "store", 45.0, 3.0, MODEL)
    supply = Supply({sku: {"S": 1} for sku in SKUS})
    promised_but_impossible = [("o", OrderToRoute({"A": 2}))]
    result = solve_batch(promised_but_impossible, [store], supply, must_route={"o"})
    assert result.method == "greedy" and result.solver_status == "infeasible" and result.notes

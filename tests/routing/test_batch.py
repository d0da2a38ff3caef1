"""The batch MIP against routing one by one, on random small batches: feasible, never dearer."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnicanal.routing.batch import (
    BatchResult,
    StockProtection,
    joint_fits,
    route_one_by_one,
    solve_batch,
    solve_in_hindsight,
)
from omnicanal.routing.rules import DEFAULT_COST_MODEL, OrderToRoute, Supply, site_of
from tests.routing.test_rules import SKUS, networks, orders

MODEL = DEFAULT_COST_MODEL
UNPROTECTED = StockProtection(penalty=0)


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
    mip = solve_batch(batch, sites, supply, MODEL, time_limit=10, protection=UNPROTECTED)
    assert_feasible(greedy, batch, supply)
    assert_feasible(mip, batch, supply)
    assert mip.method == "mip" and mip.solver_status == "optimal"
    assert mip.score() <= greedy.score()  # fewer unrouted orders, or as many and no dearer
    assert joint_fits(batch, mip.plans, supply)
    protected = solve_batch(batch, sites, supply, MODEL, time_limit=10)  # the shelves' last units spared
    assert_feasible(protected, batch, supply)
    assert protected.score() <= greedy.score()
    assert protected.sequence == "one_by_one" or joint_fits(batch, protected.plans, supply)


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
    mip = solve_batch(held_batch, sites, left, MODEL, time_limit=10, must_route=promised, protection=UNPROTECTED)
    assert promised <= set(mip.plans)
    assert mip.method == "mip" and mip.score() <= greedy.score()  # keeping the plans was one of its options
    if mip.sequence == "joint":
        assert joint_fits(held_batch, mip.plans, left)
    protected = solve_batch(held_batch, sites, left, MODEL, time_limit=10, must_route=promised)
    assert promised <= set(protected.plans)
    one_by_one = route_one_by_one(held_batch, sites, left, MODEL)
    if not promised & set(one_by_one.unrouted):
        assert protected.score() <= one_by_one.score()


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


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches(), st.integers(1, 5))
def test_hindsight_fits_and_never_loses_to_routing_each_day(case, cut):
    """Over two days, hindsight's plans fit the stock (one joint reservation) and each day's capacity, and it
    leaves no more orders unrouted, nor pays more, than the batch run on each day in turn."""
    sites, supply, batch = case
    days = [batch[:cut], batch[cut:]]
    left, day_by_day, unrouted = supply.copy(), {}, 0
    for day in days:
        left.capacity = dict(supply.capacity)
        result = solve_batch(day, sites, left, MODEL, time_limit=10)
        for plan in result.plans.values():
            left.take(plan)
        day_by_day.update(result.plans)
        unrouted += len(result.unrouted)
    hindsight = solve_in_hindsight(days, sites, supply, MODEL, time_limit=10)
    assert hindsight.solver_status == "optimal"
    assert_feasible(hindsight, batch, Supply(supply.free))
    assert joint_fits(batch, hindsight.plans, Supply(supply.free))
    for day in days:
        todays = {key: plan for key, plan in hindsight.plans.items() if key in dict(day)}
        for code, left_today in supply.capacity.items():
            assert sum(code in plan.locations for plan in todays.values()) <= left_today
    assert (len(hindsight.unrouted), hindsight.cost) <= (unrouted, sum(p.cost for p in day_by_day.values()))


def test_hindsight_keeps_a_lamp_for_tomorrows_basket():
    """Routed day by day, today's lamp leaves from the warehouse and tomorrow's basket must be split; knowing
    tomorrow's basket, the lamp goes from Marseille today and the basket leaves whole from the warehouse."""
    warehouse = site_of("WH", "warehouse", 47.90, 1.90, MODEL)
    marseille = site_of("MRS", "store", 43.30, 5.37, MODEL)
    sites = [warehouse, marseille]
    supply = Supply({"LAMP": {"WH": 1, "MRS": 1}, "VASE": {"WH": 5, "MRS": 0}})
    paris = (48.85, 2.35)
    today = [("lamp", OrderToRoute({"LAMP": 1}, paris))]
    tomorrow = [("basket", OrderToRoute({"LAMP": 1, "VASE": 1}, paris))]
    left = supply.copy()
    day_by_day = {}
    for day in (today, tomorrow):
        result = solve_batch(day, sites, left)
        for key, plan in result.plans.items():
            left.take(plan)
            day_by_day[key] = plan
    hindsight = solve_in_hindsight([today, tomorrow], sites, supply)
    assert day_by_day["basket"].locations == ("MRS", "WH")
    assert hindsight.plans["lamp"].locations == ("MRS",) and hindsight.plans["basket"].locations == ("WH",)
    assert hindsight.solver_status == "optimal" and hindsight.sequence == "joint"
    assert hindsight.cost < sum(plan.cost for plan in day_by_day.values())


def test_hindsight_gives_each_day_its_own_capacity_and_shares_the_stock():
    store = site_of("S", "store", 45.0, 3.0, MODEL)
    supply = Supply({"A": {"S": 5}}, capacity={"S": 1})
    one = OrderToRoute({"A": 1})
    one_a_day = solve_in_hindsight([[("d1", one)], [("d2", one)]], [store], supply)
    assert set(one_a_day.plans) == {"d1", "d2"}  # the store takes one order a day, each day
    two_in_a_day = solve_in_hindsight([[("a", one), ("b", one)]], [store], supply)
    assert len(two_in_a_day.plans) == 1
    more_than_held = solve_in_hindsight([[("d1", OrderToRoute({"A": 3}))], [("d2", OrderToRoute({"A": 3}))]],
                                        [store], supply)
    assert len(more_than_held.plans) == 1  # 5 units for the two days together


def test_hindsight_checks_the_stock_as_one_joint_reservation_of_every_day():
    """3 units: a till order (no buffer) today and a web order keeping 2 back tomorrow. Day after day the web
    order would find 2 units, too few; hindsight reserves the web order first, as one joint batch does — the
    slight looseness that keeps it a bound."""
    store = site_of("S", "store", 45.0, 3.0, MODEL)
    supply = Supply({"A": {"S": 3}})
    till, web = ("till", OrderToRoute({"A": 1}, buffer=0)), ("web", OrderToRoute({"A": 1}, buffer=2))
    assert set(solve_in_hindsight([[till], [web]], [store], supply).plans) == {"till", "web"}


def test_on_equal_cost_the_batch_spares_the_shelf_nearly_empty():
    """Two warehouses side by side send the lamp at the same cost; the batch takes it from the one with six,
    keeping the other's last lamp for a basket to come. Without the protection either would do."""
    north = site_of("WH-N", "warehouse", 47.90, 1.90, MODEL)
    south = site_of("WH-S", "warehouse", 47.90, 1.90, MODEL)
    for nearly_empty, full in ((north, south), (south, north)):
        supply = Supply({"LAMP": {nearly_empty.code: 1, full.code: 6}})
        lamp = [("lamp", OrderToRoute({"LAMP": 1}, (48.85, 2.35)))]
        result = solve_batch(lamp, [north, south], supply)
        assert result.method == "mip" and result.plans["lamp"].locations == (full.code,)
        assert result.cost == route_one_by_one(lamp, [north, south], supply).cost  # the real cost is the same


def test_protecting_the_stock_never_makes_the_batch_dearer_than_one_by_one():
    """The warehouse's last lamp is the cheapest way to send today's lamp to Paris; the Paris store could send
    it for less than the protection charges, but keeping the lamp would make the batch dearer than routing one
    by one, so the batch answers the one-by-one plan (and says why)."""
    warehouse = site_of("WH", "warehouse", 47.90, 1.90, MODEL)
    paris_store = site_of("PAR", "store", 48.85, 2.35, MODEL)
    supply = Supply({"LAMP": {"WH": 1, "PAR": 6}})
    lamp = [("lamp", OrderToRoute({"LAMP": 1}, (48.85, 2.35)))]
    result = solve_batch(lamp, [warehouse, paris_store], supply)
    assert result.plans["lamp"].locations == ("WH",) and result.method == "greedy" and result.notes
    unprotected = solve_batch(lamp, [warehouse, paris_store], supply, protection=UNPROTECTED)
    assert unprotected.method == "mip" and unprotected.plans == result.plans

"""The cost model and the order-by-order router, checked on random networks against brute force."""

from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from omnicanal.benchmarks.routing import nearest_plan
from omnicanal.routing.rules import (
    DEFAULT_COST_MODEL,
    Costing,
    OrderToRoute,
    Supply,
    cheapest_plan,
    explain,
    site_of,
)

SKUS = ("A", "B", "C", "D")
MODEL = DEFAULT_COST_MODEL


@st.composite
def networks(draw, max_sites=5):
    count = draw(st.integers(1, max_sites))
    sites = [site_of(f"L{n}", draw(st.sampled_from(["store", "warehouse"])),
                     draw(st.floats(42.5, 51.0)), draw(st.floats(-4.5, 7.5)), MODEL) for n in range(count)]
    free = {sku: {site.code: draw(st.integers(-1, 6)) for site in sites} for sku in SKUS}
    capacity = {site.code: draw(st.integers(0, 3)) for site in sites if draw(st.booleans())}
    return sites, Supply(free, capacity)


@st.composite
def orders(draw, sites=()):
    skus = draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=4, unique=True))
    destination = draw(st.one_of(st.none(), st.tuples(st.floats(42.5, 51.0), st.floats(-4.5, 7.5))))
    codes = [site.code for site in sites]
    excluded = frozenset(draw(st.lists(st.sampled_from(codes), max_size=1, unique=True))) if codes else frozenset()
    return OrderToRoute({sku: draw(st.integers(1, 3)) for sku in skus}, destination, draw(st.integers(0, 2)),
                        excluded=excluded)


@st.composite
def routing_cases(draw):
    sites, supply = draw(networks())
    return sites, supply, draw(orders(sites))


def brute_force(order, sites, supply):
    """Every assignment of SKUs to usable locations, costed."""
    usable = [s.code for s in sites if s.code not in order.excluded and supply.has_capacity(s.code)]
    costing = Costing(order, sites, MODEL)
    skus = sorted(order.demand)
    options = [[c for c in usable if supply.units(sku, c, order.buffer) >= order.demand[sku]] for sku in skus]
    return [costing.plan(dict(zip(skus, codes, strict=True))) for codes in product(*options)]


@settings(max_examples=300, deadline=None)
@given(routing_cases())
def test_the_plan_is_feasible_and_the_cheapest_with_a_single_parcel_on_equal_cost(case):
    sites, supply, order = case
    plan = cheapest_plan(order, sites, supply, MODEL)
    every = brute_force(order, sites, supply)
    if plan is None:
        assert every == []
        return
    for parcel in plan.parcels:
        assert parcel.location not in order.excluded and supply.has_capacity(parcel.location)
        for sku, units in parcel.units:
            assert units == order.demand[sku] <= supply.units(sku, parcel.location, order.buffer)
    assert set(plan.assignment) == set(order.demand)
    assert plan.cost == min(p.cost for p in every)
    singles = [p for p in every if len(p.parcels) == 1]
    if singles and min(p.cost for p in singles) <= plan.cost:
        assert len(plan.parcels) == 1


@settings(max_examples=200, deadline=None)
@given(routing_cases())
def test_explain_lists_every_candidate_and_agrees_with_the_router(case):
    sites, supply, order = case
    explanation = explain(order, sites, supply, MODEL)
    per_site = explanation.alternatives[:len(sites)]  # each candidate as a single parcel, then the splits
    assert [a.locations for a in per_site] == [(s.code,) for s in sorted(sites, key=lambda s: s.code)]
    assert all(len(a.locations) > 1 for a in explanation.alternatives[len(sites):])
    chosen = cheapest_plan(order, sites, supply, MODEL)
    assert explanation.chosen == chosen
    for alternative in explanation.alternatives:
        code = alternative.locations[0]
        if alternative.verdict == "no_stock":
            assert alternative.missing and all(supply.units(sku, code, order.buffer) < order.demand[sku]
                                               for sku in alternative.missing)
        elif alternative.verdict == "no_capacity":
            assert not supply.has_capacity(code)
        elif alternative.verdict == "chosen":
            assert alternative.plan == chosen
        elif alternative.verdict in ("dearer", "more_parcels", "equal_cost"):
            assert chosen is not None and alternative.plan is not None
            assert alternative.plan.cost >= chosen.cost
    if chosen is None:
        assert explanation.shortages or any(a.verdict == "no_capacity" for a in explanation.alternatives)


@settings(max_examples=200, deadline=None)
@given(routing_cases())
def test_a_plan_costs_the_sum_of_its_parts(case):
    sites, supply, order = case
    plan = cheapest_plan(order, sites, supply, MODEL) or nearest_plan(order, sites, supply, MODEL)
    if plan is None:
        return
    parts = plan.breakdown()
    assert parts["total"] == parts["carrier"] + parts["handling"] + parts["picking"] + parts["split_penalty"]
    assert parts["split_penalty"] == MODEL.extra_parcel_penalty * (len(plan.parcels) - 1)


@given(st.floats(0, 2000), st.floats(0, 2000))
def test_the_carrier_costs_more_the_further_it_goes(near, far):
    near, far = sorted((near, far))
    assert MODEL.carrier(near) <= MODEL.carrier(far)
    assert MODEL.carrier(None) == MODEL.carrier_flat


def test_a_split_is_chosen_only_when_it_pays():
    near_store = site_of("MRS", "store", 43.30, 5.37, MODEL)
    warehouse = site_of("WH", "warehouse", 47.90, 1.90, MODEL)
    supply = Supply({"A": {"MRS": 5, "WH": 5}, "B": {"MRS": 0, "WH": 5}})
    in_marseille = OrderToRoute({"A": 1, "B": 1}, (43.29, 5.38))
    assert cheapest_plan(in_marseille, [near_store, warehouse], supply).locations == ("WH",)
    only_way = Supply({"A": {"MRS": 5, "WH": 0}, "B": {"MRS": 0, "WH": 5}})
    assert cheapest_plan(in_marseille, [near_store, warehouse], only_way).locations == ("MRS", "WH")


def test_a_reroute_adds_to_a_parcel_already_leaving_for_free():
    warehouse = site_of("WH", "warehouse", 47.90, 1.90, MODEL)
    store = site_of("PAR", "store", 48.86, 2.35, MODEL)
    supply = Supply({"A": {"WH": 5, "PAR": 5}})
    fresh = cheapest_plan(OrderToRoute({"A": 1}, (48.85, 2.35)), [warehouse, store], supply)
    joined = cheapest_plan(OrderToRoute({"A": 1}, (48.85, 2.35), opened=frozenset({"PAR"})), [warehouse, store],
                           supply)
    assert fresh.locations == ("WH",) and joined.locations == ("PAR",)
    assert joined.cost == joined.parcels[0].picking and joined.split_penalty == 0


def test_the_customers_choice_is_the_only_candidate():
    warehouse = site_of("WH", "warehouse", 47.90, 1.90, MODEL)
    store = site_of("PAR", "store", 48.86, 2.35, MODEL)
    supply = Supply({"A": {"WH": 5, "PAR": 5}, "B": {"WH": 5}})
    assert cheapest_plan(OrderToRoute({"A": 1}, forced="PAR"), [warehouse, store], supply).locations == ("PAR",)
    assert cheapest_plan(OrderToRoute({"A": 1, "B": 1}, forced="PAR"), [warehouse, store], supply) is None


def test_large_orders_on_large_networks_still_get_a_feasible_plan():
    sites = [site_of(f"S{n:02d}", "store", 43 + n * 0.2, 1 + n * 0.15, MODEL) for n in range(40)]
    skus = [f"K{n}" for n in range(12)]
    supply = Supply({sku: {site.code: (n + i) % 3 for i, site in enumerate(sites)} for n, sku in enumerate(skus)})
    order = OrderToRoute(dict.fromkeys(skus, 2), (45.0, 3.0))
    plan = cheapest_plan(order, sites, supply)
    assert plan is not None and set(plan.assignment) == set(skus)
    assert all(supply.units(sku, code, 0) >= 2 for sku, code in plan.assignment.items())

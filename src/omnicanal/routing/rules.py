"""Routing rules — from where a shipped order's parcels leave, what that costs, and why. Pure: no session,
no clock, no I/O.

**The cost of a plan** (every amount in cents, see :class:`CostModel` for the figures):

* each *parcel* — the units one location sends — costs the carrier (a base rate plus a rate per 100 km of
  great-circle distance from the location to the delivery address; a flat domestic rate when the address has
  no coordinates) plus the location's handling cost per parcel (a warehouse packs cheaper than a store);
* each *unit* costs the location's picking rate;
* each parcel beyond the first costs a penalty: the customer opens two doors, the retailer pays two labels
  and a worse experience.

**Candidates**: only locations that ship and are active are given to the rules (the service filters them);
a location may send a SKU only when its free units (on hand − reserved − safety stock) less the channel's
buffer cover the quantity, and may take the order only while it has daily capacity left. A SKU's units
leave from one location (a line is never cut in two).

**Choice**: the cheapest plan; on equal cost the one with fewer parcels — a single parcel is preferred, and
an order is split only when the split is strictly cheaper or the only way. For the usual order (a few SKUs,
a handful of candidate locations) every combination of locations is costed, so the plan is the order's
optimum; a large order on a large network is covered greedily (cheapest cost per SKU served first).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from itertools import combinations, product
from math import comb, prod
from types import MappingProxyType

from omnicanal.network.rules import distance_km

Destination = tuple[float, float]  # latitude, longitude of the delivery address


@dataclass(frozen=True)
class CostModel:
    """The figures of the cost model, in cents. Per-location handling, picking and capacity can be overridden
    for one location (the ``routing_profile`` table); these are the defaults by kind of location."""

    carrier_base: int = 390  # per parcel, whatever the distance
    carrier_per_100km: int = 110  # per parcel and 100 km from the location to the customer
    carrier_flat: int = 890  # per parcel when the address has no coordinates (domestic zone rate)
    extra_parcel_penalty: int = 350  # per parcel beyond the first
    handling: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({"warehouse": 120, "store": 380}))
    picking: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({"warehouse": 15, "store": 45}))
    daily_capacity: Mapping[str, int | None] = field(
        default_factory=lambda: MappingProxyType({"warehouse": None, "store": 60}))

    def figures(self) -> dict[str, object]:
        """The model as plain data (for explain answers and benchmark reports)."""
        return {f.name: dict(value) if isinstance(value, Mapping) else value
                for f in fields(self) for value in [getattr(self, f.name)]}

    def carrier(self, distance: float | None) -> int:
        """The carrier's price of one parcel sent ``distance`` km (``None``: no coordinates, flat rate)."""
        if distance is None:
            return self.carrier_flat
        return self.carrier_base + round(distance * self.carrier_per_100km / 100)


DEFAULT_COST_MODEL = CostModel()


@dataclass(frozen=True)
class Site:
    """A candidate shipping location with its own rates (its capacity left today is in :class:`Supply`)."""

    code: str
    kind: str
    latitude: float
    longitude: float
    handling: int
    picking: int


def site_of(code: str, kind: str, latitude: float, longitude: float, model: CostModel = DEFAULT_COST_MODEL, *,
            handling: int | None = None, picking: int | None = None) -> Site:
    """A site with the model's rates for its kind, unless given."""
    return Site(code, kind, latitude, longitude,
                model.handling.get(kind, max(model.handling.values())) if handling is None else handling,
                model.picking.get(kind, max(model.picking.values())) if picking is None else picking)


@dataclass
class Supply:
    """What may still be promised: free units per SKU and location (on hand − reserved − safety stock, the
    channel's buffer not yet taken off) and the orders each location may still take today (absent: no limit).
    Routing orders one after another takes from it."""

    free: dict[str, dict[str, int]]
    capacity: dict[str, int] = field(default_factory=dict)

    def units(self, sku: str, location: str, buffer: int = 0) -> int:
        """Units of ``sku`` that ``location`` may still promise to an order of a channel with ``buffer``."""
        return max(0, self.free.get(sku, {}).get(location, 0) - buffer)

    def has_capacity(self, location: str) -> bool:
        return self.capacity.get(location, 1) > 0

    def take(self, plan: Plan, opened: Iterable[str] = ()) -> None:
        """Remove what ``plan`` uses: its units, and one order of capacity at each location it opens."""
        already = set(opened)
        for parcel in plan.parcels:
            for sku, units in parcel.units:
                self.free[sku][parcel.location] -= units
            if parcel.location in self.capacity and parcel.location not in already:
                self.capacity[parcel.location] -= 1

    def give_back(self, held: Iterable[tuple[str, str, int]], sign: int = 1) -> None:
        """Count units held for an order as free again (``sign=-1``: hold them again)."""
        for sku, location, units in held:
            by_location = self.free.setdefault(sku, {})
            by_location[location] = by_location.get(location, 0) + sign * units

    def copy(self) -> Supply:
        return Supply({sku: dict(by_location) for sku, by_location in self.free.items()}, dict(self.capacity))


@dataclass(frozen=True)
class OrderToRoute:
    """What routing needs to know of an order. ``demand``: units per SKU. ``opened``: locations already
    sending a parcel of this order (a re-route adds to them without a new parcel). ``forced``: the location
    the customer chose. ``excluded``: locations that rejected it. ``held``: (sku, location, units) already
    reserved for this order — a batch may route them again (they are not in :class:`Supply`'s free units)."""

    demand: Mapping[str, int]
    destination: Destination | None = None
    buffer: int = 0
    forced: str | None = None
    opened: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()
    held: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True)
class Parcel:
    location: str
    units: tuple[tuple[str, int], ...]  # (sku, units), by SKU
    distance_km: float | None
    carrier: int  # 0 when the order already has a parcel leaving from there
    handling: int
    picking: int

    @property
    def cost(self) -> int:
        return self.carrier + self.handling + self.picking


@dataclass(frozen=True)
class Plan:
    """Where each SKU of an order leaves from, as parcels, and what it costs."""

    parcels: tuple[Parcel, ...]
    split_penalty: int

    @property
    def cost(self) -> int:
        return sum(parcel.cost for parcel in self.parcels) + self.split_penalty

    @property
    def locations(self) -> tuple[str, ...]:
        return tuple(parcel.location for parcel in self.parcels)

    @property
    def assignment(self) -> dict[str, str]:
        return {sku: parcel.location for parcel in self.parcels for sku, _ in parcel.units}

    def breakdown(self) -> dict[str, int]:
        """The cost by kind: carrier, handling, picking, split penalty, total."""
        return {"carrier": sum(p.carrier for p in self.parcels), "handling": sum(p.handling for p in self.parcels),
                "picking": sum(p.picking for p in self.parcels), "split_penalty": self.split_penalty,
                "total": self.cost}


def preference(plan: Plan) -> tuple[int, int, tuple[str, ...]]:
    """How plans rank: cheaper first, then fewer parcels, then by location code (so the choice is stable)."""
    return plan.cost, len(plan.parcels), plan.locations


class Costing:
    """The cost figures of one order against a set of sites, computed once."""

    def __init__(self, order: OrderToRoute, sites: Sequence[Site], model: CostModel) -> None:
        self.order, self.model = order, model
        self.sites = {site.code: site for site in sites}
        self.distance = {site.code: _distance(site, order.destination) for site in sites}
        self.fixed = {code: 0 if code in order.opened else model.carrier(self.distance[code]) + site.handling
                      for code, site in self.sites.items()}

    def plan(self, assignment: Mapping[str, str]) -> Plan:
        """The plan sending each SKU from the location ``assignment`` names."""
        by_location: dict[str, list[tuple[str, int]]] = {}
        for sku in sorted(assignment):
            by_location.setdefault(assignment[sku], []).append((sku, self.order.demand[sku]))
        parcels = []
        for code in sorted(by_location):
            site, units = self.sites[code], tuple(by_location[code])
            opened = code in self.order.opened
            parcels.append(Parcel(
                code, units, _round(self.distance[code]),
                0 if opened else self.model.carrier(self.distance[code]), 0 if opened else site.handling,
                site.picking * sum(n for _, n in units)))
        new = sum(1 for code in by_location if code not in self.order.opened)
        extra = new if self.order.opened else max(0, new - 1)
        return Plan(tuple(parcels), extra * self.model.extra_parcel_penalty)

    def unit_cost(self, sku: str, code: str) -> int:
        return self.sites[code].picking * self.order.demand[sku]


def _distance(site: Site, destination: Destination | None) -> float | None:
    if destination is None:
        return None
    return distance_km(site.latitude, site.longitude, destination[0], destination[1])


def _round(distance: float | None) -> float | None:
    return None if distance is None else round(distance, 1)


def usable_sites(order: OrderToRoute, sites: Sequence[Site], supply: Supply) -> list[Site]:
    """The sites that may take this order at all: not excluded, the chosen one if the customer chose, and with
    capacity left today (or already sending a parcel of it)."""
    return [site for site in sites
            if site.code not in order.excluded and (order.forced is None or site.code == order.forced)
            and (site.code in order.opened or supply.has_capacity(site.code))]


def senders(order: OrderToRoute, sites: Sequence[Site], supply: Supply) -> dict[str, list[str]]:
    """For each SKU, the usable sites that hold its whole quantity."""
    usable = usable_sites(order, sites, supply)
    return {sku: [site.code for site in usable if supply.units(sku, site.code, order.buffer) >= quantity]
            for sku, quantity in order.demand.items()}


def cheapest_plan(order: OrderToRoute, sites: Sequence[Site], supply: Supply,
                  model: CostModel = DEFAULT_COST_MODEL) -> Plan | None:
    """The order's cheapest plan (single parcel on equal cost), or ``None`` when some SKU has no sender."""
    best = best_plans(order, sites, supply, model)
    return min(best.values(), key=preference) if best else None


# Combinations of locations costed exactly per order; past it, a shortlist, then a greedy cover.
EXACT_BUDGET = 4_000
SHORTLIST_PER_SKU = 3


def best_plans(order: OrderToRoute, sites: Sequence[Site], supply: Supply,
               model: CostModel = DEFAULT_COST_MODEL) -> dict[int, Plan]:
    """The cheapest plan for each number of parcels that can serve the order (empty when one cannot)."""
    can = senders(order, sites, supply)
    if not order.demand or any(not codes for codes in can.values()):
        return {}
    costing = Costing(order, sites, model)
    candidates = sorted({code for codes in can.values() for code in codes})
    if _subsets(len(candidates), len(order.demand)) > EXACT_BUDGET:
        candidates = _shortlist(can, costing)
    if _subsets(len(candidates), len(order.demand)) > EXACT_BUDGET:
        plan = _greedy_cover(can, costing)
        return {len(plan.parcels): plan}
    return _exact(can, candidates, costing)


def _subsets(n: int, most: int) -> int:
    return sum(comb(n, k) for k in range(1, min(n, most) + 1))


def _shortlist(can: Mapping[str, list[str]], costing: Costing) -> list[str]:
    """The few cheapest senders of each SKU, and every site able to send the whole order."""
    keep = set.intersection(*(set(codes) for codes in can.values()))
    for sku, codes in can.items():
        keep |= set(sorted(codes, key=lambda c: (costing.fixed[c] + costing.unit_cost(sku, c), c))
                    [:SHORTLIST_PER_SKU])
    return sorted(keep)


def _exact(can: Mapping[str, list[str]], candidates: list[str], costing: Costing) -> dict[int, Plan]:
    sendable = {sku: set(codes) for sku, codes in can.items()}
    best: dict[int, Plan] = {}
    for size in range(1, min(len(candidates), len(can)) + 1):
        for group in combinations(candidates, size):
            assignment = _cheapest_within(group, sendable, costing)
            if assignment is None:
                continue
            plan = costing.plan(assignment)
            parcels = len(plan.parcels)
            if parcels not in best or preference(plan) < preference(best[parcels]):
                best[parcels] = plan
    return best


def _cheapest_within(group: Sequence[str], sendable: Mapping[str, set[str]],
                     costing: Costing) -> dict[str, str] | None:
    assignment = {}
    for sku, codes in sendable.items():
        options = [code for code in group if code in codes]
        if not options:
            return None
        assignment[sku] = min(options, key=lambda c: (costing.unit_cost(sku, c), costing.fixed[c], c))
    return assignment


def _cost_per_sku(code: str, uncovered: set[str], opened: set[str], can: Mapping[str, list[str]],
                  costing: Costing) -> tuple[float, str]:
    served = [sku for sku in uncovered if code in can[sku]]
    if not served:
        return float("inf"), code
    fee = costing.fixed[code] + (costing.model.extra_parcel_penalty if opened and code not in opened else 0)
    return (fee + sum(costing.unit_cost(sku, code) for sku in served)) / len(served), code


def _greedy_cover(can: Mapping[str, list[str]], costing: Costing) -> Plan:
    """Open, one at a time, the location with the lowest cost per SKU it would serve; then send each SKU
    from the cheapest opened location and close what is left empty."""
    uncovered, opened = set(can), set(costing.order.opened)
    while uncovered:
        choice = min({code for sku in uncovered for code in can[sku]},
                     key=lambda code: _cost_per_sku(code, uncovered, opened, can, costing))
        opened.add(choice)
        uncovered -= {sku for sku in uncovered if choice in can[sku]}
    assignment = {sku: min((c for c in can[sku] if c in opened),
                           key=lambda c: (costing.unit_cost(sku, c), costing.fixed[c], c)) for sku in can}
    return costing.plan(assignment)


# --- explain ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Alternative:
    """One option routing considered. ``verdict``: chosen, dearer, more_parcels, equal_cost, no_stock (the
    SKUs in ``missing`` lack there), no_capacity, excluded (rejected the order before), not_chosen_location
    (the customer chose another)."""

    locations: tuple[str, ...]
    verdict: str
    plan: Plan | None = None
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Explanation:
    chosen: Plan | None
    alternatives: tuple[Alternative, ...]
    shortages: tuple[str, ...]  # SKUs no usable location can send


def explain(order: OrderToRoute, sites: Sequence[Site], supply: Supply,
            model: CostModel = DEFAULT_COST_MODEL) -> Explanation:
    """The chosen plan and every alternative considered: each candidate location as a single parcel, and the
    cheapest plan with each other number of parcels — with its cost, or why it could not serve."""
    best = best_plans(order, sites, supply, model)
    chosen = min(best.values(), key=preference) if best else None
    costing = Costing(order, sites, model)
    can = senders(order, sites, supply)
    if chosen is not None and prod(len(codes) for codes in can.values()) <= EXACT_BUDGET:
        best = _every_assignment(can, costing)  # also the splits a cheaper location would absorb
        best[len(chosen.parcels)] = chosen
    alternatives = [_single(site, order, supply, costing, chosen) for site in sorted(sites, key=lambda s: s.code)]
    alternatives += [Alternative(plan.locations, _verdict(plan, chosen), plan)
                     for count, plan in sorted(best.items()) if count > 1]
    shortages = tuple(sorted(sku for sku, codes in can.items() if not codes))
    return Explanation(chosen, tuple(alternatives), shortages)


def _every_assignment(can: Mapping[str, list[str]], costing: Costing) -> dict[int, Plan]:
    best: dict[int, Plan] = {}
    skus = sorted(can)
    for codes in product(*(can[sku] for sku in skus)):
        plan = costing.plan(dict(zip(skus, codes, strict=True)))
        parcels = len(plan.parcels)
        if parcels not in best or preference(plan) < preference(best[parcels]):
            best[parcels] = plan
    return best


def _single(site: Site, order: OrderToRoute, supply: Supply, costing: Costing, chosen: Plan | None) -> Alternative:
    where = (site.code,)
    if site.code in order.excluded:
        return Alternative(where, "excluded")
    if order.forced is not None and site.code != order.forced:
        return Alternative(where, "not_chosen_location")
    missing = tuple(sorted(sku for sku, qty in order.demand.items()
                           if supply.units(sku, site.code, order.buffer) < qty))
    if missing:
        return Alternative(where, "no_stock", missing=missing)
    if site.code not in order.opened and not supply.has_capacity(site.code):
        return Alternative(where, "no_capacity")
    plan = costing.plan(dict.fromkeys(order.demand, site.code))
    return Alternative(where, _verdict(plan, chosen), plan)


def _verdict(plan: Plan, chosen: Plan | None) -> str:
    if chosen is None:  # cannot happen for a feasible plan; kept total for safety
        return "dearer"
    if plan == chosen:
        return "chosen"
    if len(plan.parcels) > len(chosen.parcels):
        return "more_parcels"
    return "dearer" if plan.cost > chosen.cost else "equal_cost"


def iter_units(plan: Plan) -> Iterator[tuple[str, str, int]]:
    """(sku, location, units) of a plan, sorted by SKU then location — the order reservations are taken in."""
    return iter(sorted((sku, parcel.location, units) for parcel in plan.parcels for sku, units in parcel.units))

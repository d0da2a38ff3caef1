"""``omnicanal bench routing``: the routing engine on the demo network, in memory (no database, no HTTP).

The scenario: the demo retailer's shipping locations (the Orléans warehouse and the five stores that ship,
real coordinates), its generated catalogue and stock (``omnicanal.demo``, same seed ⇒ same figures), and
``orders`` generated ship orders — baskets drawn from the catalogue by popularity like the demo's online
orders, channels with their safety buffers, delivery addresses scattered around 26 French cities by
population. A customer only orders what the web shop shows in stock somewhere, so the orders can mostly be
served; stock is not replenished during the run. The orders are spread over ``days`` days: each location's
daily capacity (the cost model's: stores 60 orders a day, the warehouse unlimited) starts afresh each day.

Three ways to route the same orders, each starting from the same stock:

* **nearest** — the nearest location able to send the whole order, else each SKU from its nearest location;
* **default** — the hub's routing: order by order, each order's cheapest plan under the cost model;
* **batch** — the MIP (HiGHS) jointly over waves of ``batch_size`` orders — by default one day's orders,
  as a nightly ``omnicanal orders route --batch`` re-optimises the orders not yet shipped — the stock a wave
  leaves going to the next, the last units on each shelf protected as that command does
  (:class:`~omnicanal.routing.batch.StockProtection`).

And, with ``--hindsight``, a bound: **hindsight** — one MIP over every day's orders at once, as if all were
known in advance (the stock shared by the days and checked as one joint reservation, capacity per day).
Solved to optimality, no routing that decides day by day does better; the gap says what foresight is worth.

Every plan is priced with the same cost model; figures: orders routed, total cost, cost per order, parcels
per order, split rate, mean distance per parcel, and time taken. Each split order is also told apart:
**forced** when no location could send the whole order from the stock of the morning of its day (whatever
the other orders did), **avoidable** otherwise (it split for cost, or because the day's other orders took the
units or the capacity of the location that could). Routing a day jointly can only remove avoidable splits;
forced ones come from where the stock stands — a SKU the warehouse never held, or a best-seller it has sold
out of by then — and so from the days before.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from omnicanal.demo.catalog import plan_catalog
from omnicanal.demo.orders import Pool, StockBook
from omnicanal.demo.reference import CHANNELS, SITES, SIZES
from omnicanal.demo.stock import plan_stock
from omnicanal.routing.batch import PROTECTION, BatchResult, route_one_by_one, solve_batch, solve_in_hindsight
from omnicanal.routing.rules import (
    DEFAULT_COST_MODEL,
    Costing,
    CostModel,
    OrderToRoute,
    Plan,
    Site,
    Supply,
    senders,
)
from omnicanal.routing.rules import site_of as make_site

# (city, latitude, longitude, population in thousands — of the urban area, roughly)
CITIES = (
    ("Paris", 48.8566, 2.3522, 10_900), ("Lyon", 45.7640, 4.8357, 2_300), ("Marseille", 43.2965, 5.3698, 1_900),
    ("Toulouse", 43.6047, 1.4442, 1_400), ("Bordeaux", 44.8378, -0.5792, 1_300), ("Lille", 50.6292, 3.0573, 1_200),
    ("Nice", 43.7102, 7.2620, 1_000), ("Nantes", 47.2184, -1.5536, 1_000), ("Strasbourg", 48.5734, 7.7521, 850),
    ("Montpellier", 43.6108, 3.8767, 800), ("Rennes", 48.1173, -1.6778, 750), ("Grenoble", 45.1885, 5.7245, 700),
    ("Rouen", 49.4432, 1.0999, 650), ("Toulon", 43.1242, 5.9280, 600), ("Tours", 47.3941, 0.6848, 500),
    ("Metz", 49.1193, 6.1757, 400), ("Clermont-Ferrand", 45.7772, 3.0870, 500), ("Dijon", 47.3220, 5.0415, 400),
    ("Angers", 47.4784, -0.5632, 400), ("Caen", 49.1829, -0.3707, 400), ("Reims", 49.2583, 4.0317, 300),
    ("Le Havre", 49.4944, 0.1079, 300), ("Brest", 48.3904, -4.4861, 300), ("Limoges", 45.8336, 1.2611, 300),
    ("Perpignan", 42.6887, 2.8948, 300), ("Pau", 43.2951, -0.3708, 200),
)
SCATTER_KM = 9.0  # how far from the city centre addresses spread (standard deviation)
BASKET_SIZES, BASKET_WEIGHTS = (1, 2, 3, 4), (50, 30, 14, 6)  # as the demo's orders
QUANTITIES, QUANTITY_WEIGHTS = (1, 2, 3), (85, 12, 3)
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)  # the demo's "today" is fixed so the figures repeat


@dataclass(frozen=True)
class RoutingBenchOptions:
    orders: int = 10_000
    seed: int = 42
    size: str = "medium"  # the demo catalogue: small 200 products, medium 1,000
    days: int = 8
    batch_size: int = 0  # orders per MIP wave; 0: a whole day's orders at once
    time_limit: float = 10.0  # per wave (hindsight: per day of orders)
    hindsight: bool = False  # also solve every day at once, knowing all orders (a bound; slower)


@dataclass(frozen=True)
class Scenario:
    sites: list[Site]
    supply: Supply
    orders: list[tuple[str, OrderToRoute]]
    days: list[list[tuple[str, OrderToRoute]]]
    capacity: dict[str, int]


def build_scenario(options: RoutingBenchOptions, model: CostModel = DEFAULT_COST_MODEL) -> Scenario:
    """The demo network and stock, and the generated orders, all decided by ``options.seed``."""
    rng = random.Random(options.seed)
    catalog = plan_catalog(rng, products=SIZES[options.size].products, now=NOW, currency="EUR")
    stock = plan_stock(rng, catalog, StockBook(), now=NOW, opened_at=NOW)
    shipping = [site for site in SITES if site.ships]
    sites = [make_site(s.code, s.kind, s.latitude, s.longitude, model) for s in shipping]
    codes = {site.code for site in sites}
    free: dict[str, dict[str, int]] = {}
    for level in stock.levels:
        if level["location_code"] in codes:
            free.setdefault(level["sku"], {})[level["location_code"]] = (
                level["on_hand"] - level["reserved"] - level["safety"])
    orders = _orders(rng, Pool.of(catalog.items), free, options.orders)
    per_day = -(-len(orders) // options.days)
    days = [orders[n:n + per_day] for n in range(0, len(orders), per_day)]
    capacity = {s.code: cap for s in sites if (cap := model.daily_capacity.get(s.kind)) is not None}
    return Scenario(sites, Supply(free), orders, days, capacity)


def _orders(rng: random.Random, pool: Pool, free: dict[str, dict[str, int]],
            count: int) -> list[tuple[str, OrderToRoute]]:
    """Ship orders whose articles the web shop shows in stock (network-wide, less two units per location)."""
    shown = {sku: sum(max(0, units - 2) for units in by_location.values()) for sku, by_location in free.items()}
    channels = [c for c in CHANNELS if c.fulfillment == "ship"]
    weights = [c.share for c in channels]
    city_weights = [c[3] for c in CITIES]
    orders = []
    for n in range(count):
        channel = rng.choices(channels, weights)[0]
        _, lat, lon, _ = rng.choices(CITIES, city_weights)[0]
        destination = (lat + rng.gauss(0, SCATTER_KM / 111), lon + rng.gauss(0, SCATTER_KM / 78))
        demand: dict[str, int] = {}
        while not demand:
            for item in pool.basket(rng, rng.choices(BASKET_SIZES, BASKET_WEIGHTS)[0]):
                quantity = rng.choices(QUANTITIES, QUANTITY_WEIGHTS)[0]
                if shown.get(item.sku, 0) >= quantity:
                    demand[item.sku] = quantity
                    shown[item.sku] -= quantity
        buffer = channel.safety_buffer if channel.online else 0
        orders.append((f"o{n:05d}", OrderToRoute(demand, destination, buffer)))
    return orders


# --- the three ways of routing ------------------------------------------------------------------------------
Router = Callable[[Sequence[tuple[str, OrderToRoute]], Supply], BatchResult]


def nearest_plan(order: OrderToRoute, sites: Sequence[Site], supply: Supply,
                 model: CostModel = DEFAULT_COST_MODEL) -> Plan | None:
    """The naive rule routing is compared with: the nearest location able to send the whole order, or
    else each SKU from its nearest location holding it (distance only, no costs weighed)."""
    can = senders(order, sites, supply)
    if not order.demand or any(not codes for codes in can.values()):
        return None
    costing = Costing(order, sites, model)

    def nearness(code: str) -> tuple[float, str]:
        return (costing.distance[code] or 0.0, code)

    whole = set.intersection(*(set(codes) for codes in can.values()))
    if whole:
        return costing.plan(dict.fromkeys(order.demand, min(whole, key=nearness)))
    return costing.plan({sku: min(codes, key=nearness) for sku, codes in can.items()})


def _nearest(sites: Sequence[Site], model: CostModel) -> Router:
    def route(orders: Sequence[tuple[str, OrderToRoute]], supply: Supply) -> BatchResult:
        left, plans, unrouted = supply.copy(), {}, []
        for key, order in orders:
            plan = nearest_plan(order, sites, left, model)
            if plan is None:
                unrouted.append(key)
            else:
                left.take(plan)
                plans[key] = plan
        return BatchResult(plans, tuple(unrouted), "nearest", "not_run", 0.0)
    return route


@dataclass
class MethodRun:
    name: str
    plans: dict[str, Plan] = field(default_factory=dict)
    unrouted: list[str] = field(default_factory=list)
    seconds: float = 0.0
    solver: dict[str, int] = field(default_factory=dict)  # how each wave ended


def run_method(name: str, route: Router, scenario: Scenario, wave: int,
               progress: Progress | None = None) -> MethodRun:
    """Route the scenario day by day (capacity afresh each day) in waves of ``wave`` orders."""
    run = MethodRun(name)
    supply = Supply({sku: dict(by) for sku, by in scenario.supply.free.items()})
    task = progress.add_task(name, total=len(scenario.orders)) if progress else None
    for day in scenario.days:
        supply.capacity = dict(scenario.capacity)
        for start in range(0, len(day), wave):
            chunk = day[start:start + wave]
            started = time.perf_counter()
            result = route(chunk, supply)
            run.seconds += time.perf_counter() - started
            outcome = f"{result.method}/{result.solver_status}"
            run.solver[outcome] = run.solver.get(outcome, 0) + 1
            for key, _ in chunk:
                if key in result.plans:
                    supply.take(result.plans[key])
                    run.plans[key] = result.plans[key]
            run.unrouted += result.unrouted
            if progress is not None and task is not None:
                progress.advance(task, len(chunk))
    return run


def run_hindsight(scenario: Scenario, model: CostModel, time_limit: float) -> MethodRun:
    """Every day's orders routed by one MIP, as if all were known in advance."""
    supply = Supply({sku: dict(by) for sku, by in scenario.supply.free.items()}, dict(scenario.capacity))
    result = solve_in_hindsight(scenario.days, scenario.sites, supply, model,
                                time_limit=time_limit * len(scenario.days))
    return MethodRun("hindsight", dict(result.plans), list(result.unrouted), result.seconds,
                     {f"{result.method}/{result.solver_status}": 1})


def split_causes(scenario: Scenario, plans: dict[str, Plan]) -> dict[str, int]:
    """The split orders, told apart: ``forced`` when no location held the whole order on the morning of its
    day (the stock the plans of the days before left), ``avoidable`` otherwise."""
    supply = Supply({sku: dict(by) for sku, by in scenario.supply.free.items()})
    causes = {"forced": 0, "avoidable": 0}
    for day in scenario.days:
        morning = supply.copy()
        for key, order in day:
            plan = plans.get(key)
            if plan is None:
                continue
            if len(plan.parcels) > 1:
                whole = any(all(morning.units(sku, site.code, order.buffer) >= units
                                for sku, units in order.demand.items()) for site in scenario.sites)
                causes["avoidable" if whole else "forced"] += 1
            supply.take(plan)
    return causes


def figures_of(run: MethodRun, common: set[str], scenario: Scenario) -> dict[str, Any]:
    plans = list(run.plans.values())
    causes = split_causes(scenario, run.plans)
    parcels = [parcel for plan in plans for parcel in plan.parcels]
    distances = [p.distance_km for p in parcels if p.distance_km is not None]
    routed = max(1, len(plans))
    return {
        "routed": len(plans), "unrouted": len(run.unrouted),
        "cost_eur": round(sum(p.cost for p in plans) / 100, 2),
        "cost_per_order_eur": round(sum(p.cost for p in plans) / routed / 100, 4),
        "cost_common_orders_eur": round(sum(run.plans[k].cost for k in common) / 100, 2),
        "parcels_per_order": round(len(parcels) / routed, 4),
        "split_rate_percent": round(100 * sum(len(p.parcels) > 1 for p in plans) / routed, 3),
        "split_orders": causes["forced"] + causes["avoidable"], "forced_splits": causes["forced"],
        "avoidable_splits": causes["avoidable"],
        "mean_distance_km": round(sum(distances) / max(1, len(distances)), 1),
        "seconds": round(run.seconds, 3), "orders_per_second": round(len(plans) / max(run.seconds, 1e-9)),
        "waves": run.solver,
    }


def goals(methods: dict[str, dict[str, Any]], orders: int) -> list[dict[str, Any]]:
    """The issue's goals, each with what was measured."""
    nearest, default, batch = methods["nearest"], methods["default"], methods["batch"]
    gap = 100 * (default["cost_common_orders_eur"] / batch["cost_common_orders_eur"] - 1)
    saving = 100 * (1 - default["cost_common_orders_eur"] / nearest["cost_common_orders_eur"])
    split_cut = (100 * (1 - batch["split_rate_percent"] / default["split_rate_percent"])
                 if default["split_rate_percent"] else 0.0)
    return [
        {"goal": "default routing within 2 % of the batch MIP's cost", "measured": f"{gap:+.2f} %",
         "met": gap <= 2.0},
        {"goal": "default routing clearly cheaper than nearest store (≥ 2 %)", "measured": f"{saving:.2f} % cheaper",
         "met": saving >= 2.0},
        {"goal": "batch cuts the split-parcel rate by ≥ 40 % against order by order",
         "measured": f"{split_cut:.1f} % fewer splits", "met": split_cut >= 40.0},
        {"goal": f"{orders:,} orders routed by the default routing in < 5 s",
         "measured": f"{default['seconds']:.2f} s", "met": default["seconds"] < 5.0},
    ]


def run_routing_benchmark(options: RoutingBenchOptions, console: Console,
                          model: CostModel = DEFAULT_COST_MODEL) -> dict[str, Any]:
    """Build the scenario, route it three ways, and answer the figures and goals."""
    started = time.perf_counter()
    scenario = build_scenario(options, model)
    built = time.perf_counter() - started
    routers: dict[str, tuple[Router, int]] = {
        "nearest": (_nearest(scenario.sites, model), len(scenario.orders)),
        "default": (lambda orders, supply: route_one_by_one(orders, scenario.sites, supply, model),
                    len(scenario.orders)),
        "batch": (lambda orders, supply: solve_batch(orders, scenario.sites, supply, model,
                                                     time_limit=options.time_limit),
                  options.batch_size or max(len(day) for day in scenario.days)),
    }
    with Progress(console=console, transient=True) as progress:
        runs = {name: run_method(name, route, scenario, wave, progress) for name, (route, wave) in routers.items()}
        if options.hindsight:
            progress.add_task("hindsight (one MIP over every day)", total=None)
            runs["hindsight"] = run_hindsight(scenario, model, options.time_limit)
    common = set.intersection(*(set(run.plans) for run in runs.values()))
    methods = {name: figures_of(run, common, scenario) for name, run in runs.items()}
    return {
        "scenario": {"orders": len(scenario.orders), "common_orders": len(common), "days": len(scenario.days),
                     "locations": [s.code for s in scenario.sites], "daily_capacity": scenario.capacity,
                     "skus": len(scenario.supply.free), "seconds_to_build": round(built, 2)},
        "cost_model": model.figures(), "stock_protection": asdict(PROTECTION), "methods": methods,
        "goals": goals(methods, len(scenario.orders)),
        "options": asdict(options),
    }


def print_tables(doc: dict[str, Any], console: Console) -> None:
    console = Console(file=console.file, width=max(console.width, 118), force_terminal=console.is_terminal)
    scenario = doc["scenario"]
    table = Table(title=f"Routing {scenario['orders']:,} orders over {scenario['days']} days on the demo network "
                        f"({', '.join(scenario['locations'])})")
    for column in ("method", "routed", "cost €", "€/order", "€ common", "parcels/order", "split %",
                   "forced/avoidable", "km/parcel", "seconds"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for name, m in doc["methods"].items():
        table.add_row(name, f"{m['routed']:,}", f"{m['cost_eur']:,.0f}", f"{m['cost_per_order_eur']:.3f}",
                      f"{m['cost_common_orders_eur']:,.0f}", f"{m['parcels_per_order']:.4f}",
                      f"{m['split_rate_percent']:.2f}", f"{m['forced_splits']}/{m['avoidable_splits']}",
                      f"{m['mean_distance_km']:.0f}", f"{m['seconds']:.2f}")
    console.print(table)
    console.print("[dim]forced/avoidable: split orders no location could have sent whole from the stock of the "
                  "morning of their day / the others — routing a day jointly can only remove the avoidable ones.[/]")
    hindsight = doc["methods"].get("hindsight")
    if hindsight is not None and hindsight["waves"] != {"mip/optimal": 1}:
        console.print(f"[yellow]hindsight was not solved to optimality ({', '.join(hindsight['waves'])}): "
                      "it is then no bound.[/]")
    goals_table = Table(title="Goals")
    for column in ("goal", "measured", "met"):
        goals_table.add_column(column)
    for goal in doc["goals"]:
        goals_table.add_row(goal["goal"], goal["measured"], "[green]✓[/]" if goal["met"] else "[red]✗[/]")
    console.print(goals_table)

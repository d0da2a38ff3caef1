"""The routing benchmark on a small scenario: the three methods route the same orders, consistently."""

from rich.console import Console

from omnicanal.benchmarks.routing import RoutingBenchOptions, build_scenario, run_routing_benchmark


def test_the_scenario_is_the_same_for_the_same_seed():
    options = RoutingBenchOptions(orders=300, size="small", days=2)
    first, second = build_scenario(options), build_scenario(options)
    assert first.orders == second.orders and first.supply.free == second.supply.free
    assert sum(len(day) for day in first.days) == 300
    assert {site.code for site in first.sites} >= {"WH-ORL", "PAR-RIV"}
    assert all(order.destination and 41 < order.destination[0] < 52 for _, order in first.orders)


def test_three_methods_route_the_same_orders_and_the_batch_is_never_dearer_per_wave():
    doc = run_routing_benchmark(RoutingBenchOptions(orders=400, size="small", days=2, time_limit=20),
                                Console(quiet=True))
    methods = doc["methods"]
    assert set(methods) == {"nearest", "default", "batch"}
    for figures in methods.values():
        assert figures["routed"] + figures["unrouted"] == 400
        assert figures["parcels_per_order"] >= 1 and 0 <= figures["split_rate_percent"] <= 100
    assert methods["batch"]["routed"] >= methods["default"]["routed"]
    assert methods["batch"]["waves"] == {"mip/optimal": 2}
    assert len(doc["goals"]) == 4 and all(isinstance(goal["met"], bool) and goal["measured"] for goal in doc["goals"])
    assert doc["scenario"]["common_orders"] <= min(m["routed"] for m in methods.values())


def test_hindsight_is_a_bound_and_every_split_is_forced_or_avoidable():
    doc = run_routing_benchmark(RoutingBenchOptions(orders=400, size="small", days=2, time_limit=20, hindsight=True),
                                Console(quiet=True))
    methods = doc["methods"]
    assert set(methods) == {"nearest", "default", "batch", "hindsight"}
    hindsight, batch = methods["hindsight"], methods["batch"]
    assert hindsight["waves"] == {"mip/optimal": 1}
    # the day-by-day batch is one of the answers hindsight weighs: never more orders left, never dearer
    assert hindsight["routed"] >= batch["routed"]
    if hindsight["routed"] == batch["routed"]:
        assert hindsight["cost_eur"] <= batch["cost_eur"]
    for figures in methods.values():
        assert figures["forced_splits"] + figures["avoidable_splits"] == figures["split_orders"]
        assert figures["split_orders"] == round(figures["split_rate_percent"] * figures["routed"] / 100)

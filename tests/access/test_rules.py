"""The pure access decisions: role table, scope shapes, locations, channels, orders, customers."""

from __future__ import annotations

import pytest

from omnicanal.access.rules import (
    Permission,
    Principal,
    Role,
    may_access_customer,
    may_access_location,
    may_access_order,
    require_location,
    require_order_placement,
    role_allows,
    scope_problem,
)
from omnicanal.kit.errors import Forbidden

LYON = Principal(key_id="usr_lea", name="Léa Martin", role=Role.STORE_ASSOCIATE, locations=("LYO-PDI",))
WEB = Principal(key_id="key_web", name="web shop", role=Role.INTEGRATION, channel="web")
HEAD = Principal(key_id="key_ho", name="merch", role=Role.HEAD_OFFICE)
PERSONAL = {Permission.CUSTOMERS_READ, Permission.CUSTOMERS_WRITE, Permission.ORDERS_READ,
            Permission.ORDERS_WRITE, Permission.EVENTS_READ, Permission.PRIVACY, Permission.ADMIN}


@pytest.mark.parametrize("role", [Role.ANALYST, Role.HEAD_OFFICE])
def test_analysts_and_head_office_hold_no_permission_on_personal_data(role):
    assert not [p for p in PERSONAL if role_allows(role, p)]
    assert role_allows(role, Permission.KPIS_READ) and role_allows(role, Permission.CATALOG_READ)


def test_head_office_runs_the_catalog_and_campaigns_but_stores_do_not():
    assert role_allows(Role.HEAD_OFFICE, Permission.CATALOG_WRITE)
    assert role_allows(Role.HEAD_OFFICE, Permission.CAMPAIGNS_WRITE)
    for role in (Role.STORE_MANAGER, Role.STORE_ASSOCIATE, Role.INTEGRATION, Role.ANALYST):
        assert not role_allows(role, Permission.CATALOG_WRITE)
        assert not role_allows(role, Permission.CAMPAIGNS_WRITE)


def test_only_admins_manage_access_and_privacy_requests():
    for role in Role:
        assert role_allows(role, Permission.ADMIN) is (role is Role.ADMIN)
        assert role_allows(role, Permission.PRIVACY) is (role is Role.ADMIN)
        assert role_allows(role, Permission.SELF)


@pytest.mark.parametrize(("role", "locations", "channel", "fits"), [
    (Role.STORE_ASSOCIATE, ["LYO-PDI"], None, True),
    (Role.STORE_MANAGER, ["LYO-PDI", "PAR-RIV"], None, True),
    (Role.STORE_ASSOCIATE, [], None, False),  # a store role with no store
    (Role.INTEGRATION, [], "web", True),
    (Role.INTEGRATION, [], None, False),  # an integration speaking for no channel
    (Role.INTEGRATION, ["LYO-PDI"], "web", False),
    (Role.ANALYST, ["LYO-PDI"], None, False),
    (Role.ADMIN, [], "web", False),
    (Role.HEAD_OFFICE, [], None, True),
])
def test_each_role_takes_the_scope_that_suits_it(role, locations, channel, fits):
    assert (scope_problem(role, locations, channel) is None) is fits


def test_a_store_role_reaches_only_its_stores_and_others_every_location():
    assert may_access_location(LYON, "LYO-PDI")
    assert not may_access_location(LYON, "PAR-RIV")
    assert not may_access_location(LYON, None)
    assert may_access_location(HEAD, "PAR-RIV") and may_access_location(WEB, "PAR-RIV")
    with pytest.raises(Forbidden, match="PAR-RIV is outside their stores"):
        require_location(LYON, "PAR-RIV")


def test_an_order_is_a_stores_when_it_or_any_line_is_served_there():
    assert may_access_order(LYON, channel="pos", locations=["LYO-PDI"])
    assert may_access_order(LYON, channel="web", locations=[None, "WH-ORL", "LYO-PDI"])  # e.g. its origin
    assert not may_access_order(LYON, channel="pos", locations=["PAR-RIV", None])
    assert may_access_order(WEB, channel="web", locations=["PAR-RIV"])
    assert not may_access_order(WEB, channel="app", locations=["PAR-RIV"])
    assert may_access_order(HEAD, channel="app", locations=[])


def test_a_store_sees_its_home_customers_and_those_who_ordered_there():
    assert may_access_customer(LYON, home_location="LYO-PDI", order_locations=[])
    assert may_access_customer(LYON, home_location="PAR-RIV", order_locations=["LYO-PDI"])
    assert not may_access_customer(LYON, home_location="PAR-RIV", order_locations=["PAR-RIV", None])
    assert not may_access_customer(LYON, home_location=None, order_locations=[])
    assert may_access_customer(WEB, home_location=None, order_locations=[])


def test_orders_are_placed_on_the_keys_channel_and_till_sales_at_the_staffs_store():
    require_order_placement(WEB, channel="web", fulfillment="ship", location=None)
    with pytest.raises(Forbidden, match="channel web, not app"):
        require_order_placement(WEB, channel="app", fulfillment="ship", location=None)
    require_order_placement(LYON, channel="pos", fulfillment="carry_out", location="LYO-PDI")
    with pytest.raises(Forbidden):
        require_order_placement(LYON, channel="pos", fulfillment="carry_out", location="PAR-RIV")
    require_order_placement(LYON, channel="kiosk", fulfillment="ship", location=None, origin="LYO-PDI")
    with pytest.raises(Forbidden, match="name one of these stores"):  # an endless-aisle order must say its store
        require_order_placement(LYON, channel="kiosk", fulfillment="ship", location=None)
    with pytest.raises(Forbidden):
        require_order_placement(LYON, channel="kiosk", fulfillment="pickup", location="LYO-PDI", origin="PAR-RIV")

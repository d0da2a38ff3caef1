"""Roles, the permissions they grant, and the scope of a caller — pure tables and decisions, no I/O.

Two questions are answered here. *May this role use this kind of endpoint?* (``role_allows``, a table a test
enumerates.) *May this caller touch this store's or this channel's data?* (``may_access_location`` and friends):
store roles are confined to their stores, integration keys to their channel; everyone else is unscoped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from omnicanal.kit.errors import Forbidden


class Permission(StrEnum):
    SELF = "self"  # who am I, sign out: every role
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"  # products, categories, prices, promotions
    NETWORK_READ = "network:read"  # locations and channels
    NETWORK_WRITE = "network:write"
    STOCK_READ = "stock:read"
    STOCK_WRITE = "stock:write"
    CUSTOMERS_READ = "customers:read"  # personal data
    CUSTOMERS_WRITE = "customers:write"
    ORDERS_READ = "orders:read"  # orders name their customer: personal data
    ORDERS_WRITE = "orders:write"
    EVENTS_READ = "events:read"  # the raw event feed carries every domain's payloads
    KPIS_READ = "kpis:read"  # aggregated figures, never a person
    CAMPAIGNS_WRITE = "campaigns:write"  # marketing campaigns (head office)
    PRIVACY = "privacy"  # data-subject requests: export, erasure, retention
    ADMIN = "admin"  # users, API keys, audit log


class Role(StrEnum):
    ADMIN = "admin"
    HEAD_OFFICE = "head_office"
    STORE_MANAGER = "store_manager"
    STORE_ASSOCIATE = "store_associate"
    ANALYST = "analyst"
    INTEGRATION = "integration"  # a channel's system: web shop, app, till fleet, marketplace connector


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    # Merchandising and marketing: the catalog, prices, promotions, campaigns, the network and stock everywhere,
    # the figures — but no person's data.
    Role.HEAD_OFFICE: frozenset({P.CATALOG_READ, P.CATALOG_WRITE, P.NETWORK_READ, P.NETWORK_WRITE,
                                 P.STOCK_READ, P.KPIS_READ, P.CAMPAIGNS_WRITE}),
    Role.STORE_MANAGER: frozenset({P.CATALOG_READ, P.NETWORK_READ, P.STOCK_READ, P.STOCK_WRITE, P.KPIS_READ,
                                   P.CUSTOMERS_READ, P.CUSTOMERS_WRITE, P.ORDERS_READ, P.ORDERS_WRITE}),
    Role.STORE_ASSOCIATE: frozenset({P.CATALOG_READ, P.NETWORK_READ, P.STOCK_READ, P.CUSTOMERS_READ,
                                     P.CUSTOMERS_WRITE, P.ORDERS_READ, P.ORDERS_WRITE}),
    Role.ANALYST: frozenset({P.CATALOG_READ, P.NETWORK_READ, P.STOCK_READ, P.KPIS_READ}),
    Role.INTEGRATION: frozenset({P.CATALOG_READ, P.NETWORK_READ, P.STOCK_READ, P.STOCK_WRITE,
                                 P.CUSTOMERS_READ, P.CUSTOMERS_WRITE, P.ORDERS_READ, P.ORDERS_WRITE,
                                 P.EVENTS_READ}),
}
ROLE_PERMISSIONS = {role: granted | {P.SELF} for role, granted in ROLE_PERMISSIONS.items()}
STORE_ROLES = frozenset({Role.STORE_MANAGER, Role.STORE_ASSOCIATE})


def role_allows(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key, a signed-in user or the admin token, with a role and a scope.

    ``key_id`` is the key's id, the user's id (``kind="user"``) or ``admin-token``. ``locations`` confines a
    store role to its stores; ``channel`` confines an integration key to its channel. ``expires_at`` is when a
    user's session ends (``None`` for keys).
    """

    key_id: str
    name: str
    role: Role
    locations: tuple[str, ...] = ()
    channel: str | None = None
    kind: str = "api_key"  # api_key | user | admin_token
    expires_at: datetime | None = None
    session_id: str | None = None

    @property
    def store_scoped(self) -> bool:
        return self.role in STORE_ROLES

    @property
    def channel_scoped(self) -> bool:
        return self.role is Role.INTEGRATION


def scope_problem(role: Role, locations: Iterable[str], channel: str | None) -> str | None:
    """Why this scope does not suit the role (``None`` when it does): store roles need their stores, an
    integration its channel; other roles are hub-wide and take neither."""
    codes = list(locations)
    if role in STORE_ROLES and not codes:
        return f"A {role} must be given the store(s) they work in (locations)."
    if role not in STORE_ROLES and codes:
        return f"A {role} works hub-wide: locations are only for store roles."
    if role is Role.INTEGRATION and not channel:
        return "An integration key must be given the channel it speaks for (channel)."
    if role is not Role.INTEGRATION and channel:
        return f"A {role} is not tied to a channel: channel is only for integration keys."
    return None


def may_access_location(principal: Principal, code: str | None) -> bool:
    """Store roles reach only their own stores' stock and orders; other roles every location."""
    return not principal.store_scoped or code in principal.locations


def may_access_channel(principal: Principal, code: str | None) -> bool:
    """Integration keys speak for one channel only; other roles for any."""
    return not principal.channel_scoped or code == principal.channel


def may_access_order(principal: Principal, *, channel: str, locations: Iterable[str | None]) -> bool:
    """An order is a store's when its location, its origin (the store that took it) or any line's location is
    one of the store's; a channel's when it was placed on that channel."""
    if principal.store_scoped:
        return any(code in principal.locations for code in locations if code)
    return may_access_channel(principal, channel)


def may_access_customer(principal: Principal, *, home_location: str | None,
                        order_locations: Iterable[str | None]) -> bool:
    """A store sees the customers whose home store it is, or who bought or ordered at it."""
    if not principal.store_scoped:
        return True
    return home_location in principal.locations or any(code in principal.locations for code in order_locations)


def require_location(principal: Principal, code: str | None) -> None:
    """Raise :class:`Forbidden` unless the caller may reach this location's data."""
    if not may_access_location(principal, code):
        stores = ", ".join(principal.locations)
        raise Forbidden(f"{principal.name} works at {stores}: name one of these stores." if code is None else
                        f"{principal.name} works at {stores}: location {code} is outside their stores.",
                        code="outside-scope")


def require_channel(principal: Principal, code: str | None) -> None:
    """Raise :class:`Forbidden` unless the caller may act for this channel."""
    if not may_access_channel(principal, code):
        raise Forbidden(f"This key speaks for channel {principal.channel}" + (
            ": name it." if code is None else f", not {code}."), code="outside-scope")


def require_order_placement(principal: Principal, *, channel: str, fulfillment: str, location: str | None,
                            origin: str | None = None) -> None:
    """Integration keys place orders on their channel only. Store staff take orders at their own stores: a
    carry-out sale at their till (``location``), any other order — shipped or collected elsewhere, the endless
    aisle — with one of their stores as its ``origin``, so that they see the order afterwards."""
    require_channel(principal, channel)
    if principal.store_scoped:
        require_location(principal, location if fulfillment == "carry_out" else origin)

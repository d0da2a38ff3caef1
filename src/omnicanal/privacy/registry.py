"""The inventory of personal data: every table that holds something about a customer, how its rows are found,
and what erasure and merging do to them. Export, erasure and merge walk this registry, so a new table that
names a customer is covered by adding one line here — and a test fails until it is (it introspects
``Base.metadata`` for customer columns and sealed columns, and wants every other table declared free of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Erase(StrEnum):
    DELETE = "delete"  # the rows go
    PSEUDONYMISE = "pseudonymise"  # the rows stay for the figures; the customer id becomes an anonymous token
    ANONYMISE = "anonymise"  # a handler clears the personal columns and unlinks the rows
    SCRUB = "scrub"  # a handler rewrites or removes what mentions the person (events, stored answers)
    WITH_PARENT = "with_parent"  # child rows without personal data of their own: they follow their parent


class Merge(StrEnum):
    MOVE = "move"  # the rows follow the person to the surviving record
    KEEP = "keep"  # history, left as it was
    MERGE_HANDLES = "merge_handles"  # the merge itself deals with them (the customer row, derived keys)


@dataclass(frozen=True)
class Holding:
    """A table holding personal data. ``columns`` name the customer (rows match when any does);
    ``only`` narrows to rows about customers (``column = value``); a child table names its ``parent`` as
    ``(parent table, parent key, child column)``."""

    table: str
    columns: tuple[str, ...]
    holds: str
    erase: Erase
    merge: Merge
    only: tuple[str, str] | None = None
    parent: tuple[str, str, str] | None = None
    exported: bool = True


HOLDINGS: tuple[Holding, ...] = (
    Holding("customer", ("id",), "the profile: names, e-mail, phone, birth date, address, home store",
            Erase.DELETE, Merge.MERGE_HANDLES),
    Holding("customer_identifier", ("customer_id",), "identifiers on every channel (e-mail, phone, cards, ids)",
            Erase.DELETE, Merge.MOVE),
    Holding("customer_match_key", ("customer_id",), "keyed hashes used to spot duplicate records",
            Erase.DELETE, Merge.MERGE_HANDLES, exported=False),
    Holding("customer_activity", ("customer_id",), "browsing, cart additions, searches, store visits",
            Erase.ANONYMISE, Merge.MOVE),
    Holding("customer_merge", ("survivor_id", "merged_id"), "records merged into this one, by whom and why",
            Erase.DELETE, Merge.KEEP),
    Holding("consent", ("customer_id",), "consents given and withdrawn, per purpose", Erase.DELETE, Merge.MOVE),
    Holding("order", ("customer_id",), "orders on every channel", Erase.PSEUDONYMISE, Merge.MOVE),
    Holding("order_line", (), "the lines of those orders", Erase.WITH_PARENT, Merge.KEEP,
            parent=("order", "id", "order_id")),
    Holding("shipment", (), "the parcels sent for those orders", Erase.WITH_PARENT, Merge.KEEP,
            parent=("order", "id", "order_id")),
    Holding("shipment_line", (), "what each parcel held", Erase.WITH_PARENT, Merge.KEEP,
            parent=("shipment", "id", "shipment_id")),
    Holding("pickup_task", (), "click & collect preparation and collection of those orders", Erase.WITH_PARENT,
            Merge.KEEP, parent=("order", "id", "order_id")),
    Holding("pickup_inbound", (), "units brought to the pickup store for those orders", Erase.WITH_PARENT,
            Merge.KEEP, parent=("order", "id", "order_id")),
    Holding("order_return", ("customer_id",), "returns of those orders", Erase.PSEUDONYMISE, Merge.MOVE),
    Holding("order_return_line", (), "the lines of those returns", Erase.WITH_PARENT, Merge.KEEP,
            parent=("order_return", "id", "return_id")),
    Holding("try_on", ("customer_id",), "try-in-store bookings", Erase.PSEUDONYMISE, Merge.MOVE),
    Holding("try_on_line", (), "the articles of those bookings", Erase.WITH_PARENT, Merge.KEEP,
            parent=("try_on", "id", "try_on_id")),
    Holding("privacy_request", ("customer_id",), "the person's access, rectification and erasure requests",
            Erase.PSEUDONYMISE, Merge.MOVE),
    Holding("audit_entry", ("subject_id",), "who read or changed the person's data, and when",
            Erase.PSEUDONYMISE, Merge.KEEP, only=("subject_type", "customer")),
    Holding("outbox_event", ("subject",), "events about the person or naming them", Erase.SCRUB, Merge.KEEP),
    Holding("idempotency_record", (), "stored answers to retried writes (kept 48 h, sealed)", Erase.SCRUB,
            Merge.KEEP, exported=False),
)

# Where a customer's last sign of life is found, for the retention job: (table, customer column, time column).
ACTIVITY_DATES: tuple[tuple[str, str, str], ...] = (
    ("order", "customer_id", "created_at"), ("order_return", "customer_id", "created_at"),
    ("try_on", "customer_id", "created_at"), ("customer_activity", "customer_id", "at"),
    ("consent", "customer_id", "at"),
)

# Tables declared free of customer data, with the reason — so that a new table is a conscious decision.
NOT_PERSONAL: dict[str, str] = {
    "product": "catalog", "category": "catalog", "channel_price": "catalog", "promotion": "catalog",
    "channel": "network", "location": "network",
    "stock_level": "stock", "stock_movement": "stock (references orders, not people)", "reservation": "stock",
    "transfer": "stock", "transfer_line": "stock",
    "api_key": "integrations' and staff's keys — staff accounts, not customers",
    "user": "staff accounts (console users), not customers",
    "user_session": "staff sessions", "login_failure": "staff sign-in attempts (hashed e-mail)",
    "pickup_setting": "store settings", "routing_profile": "store settings",
    "routing_decision": "how orders were routed (locations and costs, no person)",
    "routing_parcel": "how orders were routed", "routing_rejection": "why a store could not fulfil an order",
    "try_on_setting": "store settings", "try_on_day": "store capacity", "try_on_slot": "store capacity",
}


def holding(table: str) -> Holding:
    return next(h for h in HOLDINGS if h.table == table)

"""The floor under an order: what ``POST /api/v1/orders`` costs with the hub's own SQL and nothing else.

``BareOrders`` answers a plain one-line order the way a hand-written endpoint would: the body parsed with ``json``,
the order's reads and writes sent as the SQL the hub sends for it (captured from a run; the same six reads, then
BEGIN IMMEDIATE, the idempotency claim, the conditional reservation, the routing decision and parcel, the order,
its line, the ledger movement, two outbox events, the stored answer, COMMIT) on stdlib ``sqlite3`` connections,
and a JSON answer. No framework, no ORM, no authorisation, no pricing or routing rules (the warehouse ships
everything, at the product's base price), nothing encrypted. Everything else — the bench's stock top-ups, the
availability reads, the race's checks — goes to the hub, so ``omnicanal bench`` runs it unchanged, SQLite only::

    PYTHONPATH=$PWD/bench omnicanal bench --database sqlite --no-ceiling --app floor:create_app --name floor

An experiment to compare with, not a way to serve: its writers wait for each other in the event loop's thread.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import make_url
from starlette.types import ASGIApp, Receive, Scope, Send

from omnicanal.app import create_app as create_hub
from omnicanal.config import get_settings

WAREHOUSE = "WH-ORL"
READS = [  # (sql, which of channel, sku, now, day it takes)
    ("SELECT code, kind, online, safety_buffer, active FROM channel WHERE code = ?", "c"),
    ("SELECT product.sku, product.base_price, product.currency, product.active, product.category_code, "
     "channel_price.amount, channel_price.reason, channel_price.valid_from, channel_price.valid_until FROM product "
     "LEFT OUTER JOIN channel_price ON channel_price.sku = product.sku AND channel_price.channel_code = ? "
     "WHERE product.sku IN (?)", "cs"),
    ("SELECT id, name, kind, value, starts_at, ends_at, channels, skus, categories, active, created_at FROM promotion "
     "WHERE active IS 1 AND starts_at <= ? AND ends_at > ?", "nn"),
    ("WITH RECURSIVE lineage(code, parent_code) AS (SELECT category.code AS code, category.parent_code AS parent_code "
     "FROM category WHERE category.code IN (SELECT product.category_code FROM product WHERE product.sku IN (?)) "
     "UNION SELECT category_1.code AS code, category_1.parent_code AS parent_code FROM category AS category_1 "
     "JOIN lineage ON category_1.code = lineage.parent_code) SELECT lineage.code, lineage.parent_code FROM lineage",
     "s"),
    ("SELECT location.code, location.kind, location.latitude, location.longitude, location.timezone, "
     "routing_profile.location_code AS profiled, routing_profile.handling_per_parcel, "
     "routing_profile.picking_per_unit, "
     "routing_profile.daily_capacity, stock_level.sku, stock_level.on_hand, stock_level.reserved, stock_level.safety "
     "FROM location LEFT OUTER JOIN routing_profile ON routing_profile.location_code = location.code "
     "LEFT OUTER JOIN stock_level ON stock_level.location_code = location.code AND stock_level.sku IN (?) "
     "WHERE location.ships IS 1 AND location.active IS 1 ORDER BY location.code, stock_level.sku", "s"),
    ("SELECT routing_parcel.location_code, routing_parcel.routed_on, count(*) FROM routing_parcel "
     "JOIN \"order\" ON \"order\".id = routing_parcel.order_id WHERE routing_parcel.location_code IN "
     "('BOD-STC', 'LIL-EUR', 'LYO-PDI', 'MRS-TDP', 'PAR-RIV') AND routing_parcel.routed_on IN (?) "
     "AND \"order\".status != 'cancelled' GROUP BY routing_parcel.location_code, routing_parcel.routed_on", "d"),
]
CLAIM = ("INSERT INTO idempotency_record (scope, fingerprint, created_at) VALUES (?, ?, ?) "
         "ON CONFLICT (scope) DO NOTHING RETURNING scope")
RESERVE = ("UPDATE stock_level SET reserved = reserved + ?, updated_at = ? WHERE sku = ? AND location_code = ? "
           "AND on_hand - reserved - safety - ? >= ? RETURNING on_hand, reserved, safety")
WRITES = [
    "INSERT INTO routing_decision (order_id, \"trigger\", cost, \"plan\", at) "
    "VALUES (:id, 'placed', 1025, :plan, :now)",
    "INSERT INTO routing_parcel (order_id, location_code, routed_on, routed_at) VALUES (:id, :at, :day, :now)",
    "INSERT INTO \"order\" (id, channel_code, location_code, origin_location, customer_id, ship_to, "
    "external_reference, fulfillment, status, currency, subtotal, discount_total, total, payment_status, "
    "payment_reference, created_at, updated_at) VALUES (:id, :channel, NULL, NULL, NULL, 'null', NULL, 'ship', "
    "'confirmed', 'EUR', :total, 0, :total, 'pending', NULL, :now, :now)",
    "INSERT INTO order_line (order_id, line_no, sku, quantity, location_code, unit_list_price, unit_price, "
    "promotion_id, line_total) VALUES (:id, 1, :sku, :quantity, :at, :price, :price, NULL, :total)",
    "INSERT INTO stock_movement (sku, location_code, kind, on_hand_delta, reserved_delta, reference, reason, "
    "created_at) VALUES (:sku, :at, 'reservation', 0, :quantity, :id, NULL, :now)",
    "INSERT INTO outbox_event (event_id, type, subject, time, data, channel) VALUES "
    "(:event1, 'order.created', :id, :now, :answer, :channel), "
    "(:event2, 'stock.changed', :subject, :now, :stock, NULL)",
    "UPDATE idempotency_record SET status_code = 201, media_type = 'application/json', body = :body "
    "WHERE scope = :scope",
]


class BareOrders:
    def __init__(self, app: ASGIApp, database: str) -> None:
        self.app, self.database = app, database
        self.reader = self.writer = None  # type: sqlite3.Connection | None
        self.turn = open(database + "-floor-turn", "w")  # noqa: SIM115 - held for the process's life

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.database, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            connection.execute(f"PRAGMA {pragma}")
        return connection

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/api/v1/orders"):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        order = json.loads(body)
        key = dict(scope["headers"]).get(b"idempotency-key", b"").decode()
        (line,) = order["lines"]  # the bench's orders have one line
        status, answer = self._place(order["channel"], line["sku"], int(line["quantity"]), key)
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    def _place(self, channel: str, sku: str, quantity: int, key: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = self._connect(), self._connect()
        assert self.reader is not None
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
        values = {"c": channel, "s": sku, "n": now, "d": now[:10]}
        found = [self.reader.execute(sql, [values[k] for k in takes]).fetchall() for sql, takes in READS]
        buffer, price = found[0][0][3], found[1][0][1]
        order_id = "ord_" + uuid.uuid4().hex[:26].upper()
        scope = hashlib.sha256(key.encode()).hexdigest()
        answer = json.dumps({"id": order_id, "channel": channel, "status": "confirmed", "fulfillment": "ship",
                             "total": price * quantity, "lines": [{"sku": sku, "quantity": quantity,
                                                                   "location": WAREHOUSE, "unit_price": price}]})
        fcntl.flock(self.turn, fcntl.LOCK_EX)
        try:
            return self._write(scope, now, channel, sku, quantity, buffer, price, order_id, answer)
        finally:
            fcntl.flock(self.turn, fcntl.LOCK_UN)

    def _write(self, scope: str, now: str, channel: str, sku: str, quantity: int, buffer: int, price: int,
               order_id: str, answer: str) -> tuple[int, bytes]:
        writer = self.writer
        assert writer is not None
        writer.execute("BEGIN IMMEDIATE")
        try:
            if not writer.execute(CLAIM, (scope, scope, now)).fetchall():
                writer.execute("ROLLBACK")
                (body,) = writer.execute("SELECT body FROM idempotency_record WHERE scope = ?", (scope,)).fetchone()
                return 201, body
            level = writer.execute(RESERVE, (quantity, now, sku, WAREHOUSE, buffer, quantity)).fetchall()
            if not level:
                writer.execute("ROLLBACK")
                return 409, json.dumps({"title": "Not enough stock", "status": 409}).encode()
            parameters: dict[str, Any] = {
                "id": order_id, "channel": channel, "sku": sku, "quantity": quantity, "price": price,
                "total": price * quantity, "at": WAREHOUSE, "now": now, "day": now[:10], "scope": scope,
                "plan": json.dumps({"parcels": [{"location": WAREHOUSE,
                                                 "lines": [{"sku": sku, "quantity": quantity}]}]}),
                "event1": str(uuid.uuid4()), "event2": str(uuid.uuid4()), "answer": answer,
                "subject": f"{sku}@{WAREHOUSE}", "body": answer.encode(),
                "stock": json.dumps({"sku": sku, "location": WAREHOUSE, "reserved_delta": quantity})}
            for sql in WRITES:
                writer.execute(sql, parameters)
            writer.execute("COMMIT")
        except BaseException:
            if writer.in_transaction:
                writer.execute("ROLLBACK")
            raise
        return 201, answer.encode()


def create_app() -> ASGIApp:
    settings = get_settings()
    database = make_url(settings.database_url).database
    assert settings.database_url.startswith("sqlite") and database, "the floor runs on a SQLite file"
    return BareOrders(create_hub(settings, background_jobs=False), database)

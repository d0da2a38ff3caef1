"""Every domain's tables, imported once so that ``Base.metadata`` (Alembic, tests) sees them all."""

from omnicanal.access.models import ApiKey, LoginFailure, User, UserSession
from omnicanal.audit.models import AuditEntry
from omnicanal.catalog.models import Category, ChannelPrice, Product, Promotion
from omnicanal.customers.models import (
    Customer,
    CustomerActivity,
    CustomerIdentifier,
    CustomerMatchKey,
    CustomerMerge,
)
from omnicanal.db import Base
from omnicanal.events.models import OutboxEvent
from omnicanal.fulfillment.models import PickupInbound, PickupSetting, PickupTask, Shipment, ShipmentLine
from omnicanal.inventory.models import Reservation, StockLevel, StockMovement, Transfer, TransferLine
from omnicanal.kit.idempotency import IdempotencyRecord
from omnicanal.network.models import Channel, Location
from omnicanal.orders.models import Order, OrderLine
from omnicanal.privacy.models import Consent, PrivacyRequest
from omnicanal.returns.models import OrderReturn, OrderReturnLine
from omnicanal.routing.models import RoutingDecision, RoutingParcel, RoutingProfile, RoutingRejection
from omnicanal.tryon.models import TryOn, TryOnDay, TryOnLine, TryOnSetting, TryOnSlot

__all__ = [
    "ApiKey", "AuditEntry", "Base", "Category", "Channel", "ChannelPrice", "Consent", "Customer",
    "CustomerActivity", "CustomerIdentifier", "CustomerMatchKey", "CustomerMerge", "IdempotencyRecord",
    "Location", "LoginFailure", "Order", "OrderLine", "OrderReturn", "OrderReturnLine", "OutboxEvent",
    "PickupInbound", "PickupSetting", "PickupTask", "PrivacyRequest", "Product", "Promotion", "Reservation",
    "RoutingDecision", "RoutingParcel", "RoutingProfile", "RoutingRejection",
    "Shipment", "ShipmentLine", "StockLevel", "StockMovement", "Transfer", "TransferLine", "TryOn", "TryOnDay",
    "TryOnLine", "TryOnSetting", "TryOnSlot", "User", "UserSession",
]

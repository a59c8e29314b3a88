"""All tables. Importing this package registers every model on SQLModel.metadata."""

from sqlmodel import SQLModel

from reup_app.models.audit import AuditLog
from reup_app.models.billing import Invoice, Payment
from reup_app.models.catalog import Brand, InventoryLot, PriceTier, PriceTierPrice, Product, ProductImage
from reup_app.models.entities import BusinessDocument, Entity, License, Membership, SupportView, TradeRelationship
from reup_app.models.identity import EmailOutbox, MfaRecoveryCode, OneTimeToken, RefreshToken, User
from reup_app.models.integrations import IntegrationConnection, SyncCursor, SyncRun, WebhookReceipt
from reup_app.models.logistics import ComplianceManifest, Delivery
from reup_app.models.metrc_sync import InventoryConflict, MetrcItemMapping, MetrcPackage
from reup_app.models.notifications import Notification, NotificationPreference
from reup_app.models.order_guides import OrderGuide, OrderGuideItem
from reup_app.models.orders import CartItem, Order, OrderEvent, OrderLine, OrderLineAllocation, OrderMessage
from reup_app.models.outbox import JobFence, OutboxMessage
from reup_app.models.pos import PosDailySales, PosProduct, PosStoreSettings
from reup_app.models.public_api import ApiIdempotencyRecord, ApiKey, WebhookDelivery, WebhookEndpoint

metadata = SQLModel.metadata

__all__ = [
    "PosDailySales",
    "PosProduct",
    "PosStoreSettings",
    "ApiIdempotencyRecord",
    "ApiKey",
    "WebhookDelivery",
    "WebhookEndpoint",
    "AuditLog",
    "Brand",
    "BusinessDocument",
    "CartItem",
    "ComplianceManifest",
    "Delivery",
    "EmailOutbox",
    "Entity",
    "IntegrationConnection",
    "InventoryConflict",
    "InventoryLot",
    "Invoice",
    "JobFence",
    "License",
    "Membership",
    "MetrcItemMapping",
    "MetrcPackage",
    "MfaRecoveryCode",
    "Notification",
    "NotificationPreference",
    "OneTimeToken",
    "Order",
    "OrderGuide",
    "OrderGuideItem",
    "OrderEvent",
    "OrderLine",
    "OrderLineAllocation",
    "OrderMessage",
    "OutboxMessage",
    "Payment",
    "PriceTier",
    "PriceTierPrice",
    "Product",
    "ProductImage",
    "RefreshToken",
    "SupportView",
    "SyncCursor",
    "SyncRun",
    "TradeRelationship",
    "User",
    "WebhookReceipt",
    "metadata",
]

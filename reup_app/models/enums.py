"""Domain vocabularies. Stored as short strings (not native ENUMs) so adding a value needs no DDL."""

from enum import StrEnum


class EntityKind(StrEnum):
    RETAILER = "retailer"
    WHOLESALER = "wholesaler"
    BOTH = "both"


class EntityStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SUSPENDED = "suspended"
    REJECTED = "rejected"


class EmailStatus(StrEnum):
    """An e-mail in the outbox: waiting (or between retries), delivered, logged (no SMTP), or given up."""

    PENDING = "pending"
    SENT = "sent"
    LOGGED = "logged"
    FAILED = "failed"


class LicenseStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    PENDING = "pending"


class DocumentKind(StrEnum):
    STATE_LICENSE = "state_license"  # the state licence certificate
    BUSINESS_REGISTRATION = "business_registration"
    OTHER = "other"


class DocumentReview(StrEnum):
    """A platform admin's decision on a licence or a document."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    BUYER = "buyer"
    SALES = "sales"
    FULFILLMENT = "fulfillment"
    VIEWER = "viewer"


class Category(StrEnum):
    FLOWER = "flower"
    PRE_ROLLS = "pre_rolls"
    VAPES = "vapes"
    EDIBLES = "edibles"
    CONCENTRATES = "concentrates"
    TINCTURES = "tinctures"
    TOPICALS = "topicals"


class StrainType(StrEnum):
    INDICA = "indica"
    SATIVA = "sativa"
    HYBRID = "hybrid"
    CBD = "cbd"
    NONE = "none"


class UnitOfMeasure(StrEnum):
    EACH = "each"
    GRAM = "g"
    OUNCE = "oz"
    MILLILITER = "ml"


class ListingState(StrEnum):
    AVAILABLE = "available"
    BACKORDER = "backorder"
    SAMPLE = "sample"
    INTERNAL = "internal"
    ARCHIVED = "archived"


# Listing states a buyer can see in the marketplace.
PUBLIC_LISTING_STATES = (ListingState.AVAILABLE, ListingState.BACKORDER, ListingState.SAMPLE)


class LabTestState(StrEnum):
    NOT_SUBMITTED = "not_submitted"
    SUBMITTED = "submitted"
    PASSED = "passed"
    FAILED = "failed"
    NOT_REQUIRED = "not_required"  # METRC "NotRequired": the item needs no lab test


class OrderStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    BACKORDER = "backorder"
    CANCELLED = "cancelled"
    FULFILLED = "fulfilled"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETE = "complete"


class PaymentTerms(StrEnum):
    COD = "cod"
    PREPAY = "prepay"
    NET_7 = "net_7"
    NET_15 = "net_15"
    NET_30 = "net_30"
    NET_60 = "net_60"


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    VOID = "void"


class PaymentMethod(StrEnum):
    CASH = "cash"
    CHECK = "check"
    ACH = "ach"
    WIRE = "wire"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SCHEDULED = "scheduled"
    DISPATCHED = "dispatched"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ManifestStatus(StrEnum):
    PENDING = "pending"
    NOT_CONNECTED = "not_connected"  # the shipping license has no enabled METRC connection
    SUBMITTED = "submitted"  # the outgoing template exists in METRC
    ACCEPTED = "accepted"  # registered as a transfer: ManifestNumber issued
    RECEIVED = "received"  # the buyer received it (some packages may be rejected)
    REJECTED = "rejected"  # the buyer rejected every package
    FAILED = "failed"
    VOIDED = "voided"


class Provider(StrEnum):
    METRC = "metrc"
    DUTCHIE = "dutchie"
    FLEETBASE = "fleetbase"


class SyncStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class OneTimeTokenPurpose(StrEnum):
    INVITE = "invite"
    PASSWORD_RESET = "password_reset"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # failed at least once, will retry at next_attempt_at
    DEAD = "dead"  # retry budget spent: in the admin error queue

"""Response and request shapes of the public API. Amounts and quantities are Decimal strings; times
are RFC 3339 in UTC (`Z`)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

DecimalStr = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", examples=["12.50"])]
T = TypeVar("T")


def dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListOf(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


def _omitted(schema: dict[str, Any]) -> None:
    """An optional member that is left out rather than sent as null: no `default: null`."""
    schema.pop("default", None)


class ProblemErrorItem(BaseModel):
    """One invalid input of a `validation_error`."""

    location: str = Field(description="Where, e.g. `body.lines.0.quantity` or `query.limit`.")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, sent as application/problem+json (reup_app/api/v1/problems.py).
    Members absent from an answer are omitted, never null; clients should ignore unknown members."""

    type: str = Field(description="`urn:reup:problem:<code>`.")
    title: str
    status: int = Field(ge=400, le=599, description="The HTTP status of the answer.")
    detail: str
    code: str = Field(description="Stable machine-readable error code.")
    instance: str = Field(description="The request's path.")
    field: str | SkipJsonSchema[None] = Field(
        None, description="The input the error is about, when there is one.", json_schema_extra=_omitted
    )
    errors: list[ProblemErrorItem] | SkipJsonSchema[None] = Field(
        None, description="`validation_error` only: each invalid input.", json_schema_extra=_omitted
    )
    error_id: str | SkipJsonSchema[None] = Field(
        None,
        description="`internal` and `unavailable` only: quote it to support; the server's log carries it.",
        json_schema_extra=_omitted,
    )


class OrderSummaryOut(BaseModel):
    number: str
    status: str
    buyer_id: int
    buyer_name: str
    seller_id: int
    seller_name: str
    payment_terms: str
    subtotal: DecimalStr
    tax: DecimalStr
    total: DecimalStr
    line_count: int
    created_at: datetime
    submitted_at: datetime | None
    updated_at: datetime


class OrderLineOut(BaseModel):
    id: int
    product_id: int
    sku: str
    product_name: str
    quantity: DecimalStr
    unit_price: DecimalStr
    line_total: DecimalStr


class OrderOut(OrderSummaryOut):
    side: str | None
    buyer_license_number: str
    seller_license_number: str
    notes: str | None
    accepted_at: datetime | None
    fulfilled_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    available_actions: list[str]
    lines: list[OrderLineOut]


class OrderLineIn(Strict):
    product_id: int = Field(ge=1)
    quantity: DecimalStr


class SellerChoiceIn(Strict):
    seller_id: int = Field(ge=1)
    payment_terms: str | None = Field(default=None, max_length=32)
    notes: str | None = Field(default=None, max_length=2000)
    seller_license_id: int | None = Field(default=None, ge=1)


class OrderCreateIn(Strict):
    buyer_license_id: int = Field(ge=1)
    lines: list[OrderLineIn] = Field(min_length=1, max_length=200)
    sellers: list[SellerChoiceIn] = Field(default_factory=list, max_length=50)


class OrdersCreatedOut(BaseModel):
    data: list[OrderSummaryOut]


class TransitionIn(Strict):
    note: str | None = Field(default=None, max_length=1000)
    reason: str | None = Field(default=None, max_length=1000)


class ShipIn(Strict):
    driver_name: str | None = Field(default=None, max_length=128)
    driver_license_number: str | None = Field(default=None, max_length=64)
    driver_phone: str | None = Field(default=None, max_length=32)
    vehicle: str | None = Field(default=None, max_length=128)
    vehicle_make: str | None = Field(default=None, max_length=64)
    vehicle_model: str | None = Field(default=None, max_length=64)
    vehicle_plate: str | None = Field(default=None, max_length=16)
    etd: datetime | None = None
    eta: datetime | None = None
    note: str | None = Field(default=None, max_length=1000)


class TransitionOut(BaseModel):
    number: str
    status: str
    previous_status: str
    applied: bool


class MessageIn(Strict):
    body: str = Field(min_length=1, max_length=4000)


class MessageOut(BaseModel):
    id: int
    order_number: str
    author_name: str
    author_business_id: int
    body: str
    created_at: datetime


class ProductOut(BaseModel):
    id: int
    seller_id: int
    sku: str
    name: str
    brand: str | None
    category: str
    strain_name: str | None
    strain_type: str
    thc_percent: DecimalStr | None
    cbd_percent: DecimalStr | None
    unit_of_measure: str
    unit_price: DecimalStr
    case_size: int
    case_price: DecimalStr | None
    min_order_qty: DecimalStr
    listing_state: str
    available_qty: DecimalStr
    description: str | None
    created_at: datetime
    updated_at: datetime


class ProductIn(Strict):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=255)
    category: str = Field(max_length=32)
    unit_price: DecimalStr
    brand: str | None = Field(default=None, max_length=128)
    strain_name: str | None = Field(default=None, max_length=128)
    strain_type: str | None = Field(default=None, max_length=16)
    thc_percent: DecimalStr | None = None
    cbd_percent: DecimalStr | None = None
    unit_of_measure: str | None = Field(default=None, max_length=8)
    case_size: int | None = Field(default=None, ge=1, le=100000)
    case_price: DecimalStr | None = None
    min_order_qty: DecimalStr | None = None
    listing_state: str | None = Field(default=None, max_length=16)
    description: str | None = Field(default=None, max_length=5000)


class LotOut(BaseModel):
    id: int
    product_id: int
    license_id: int
    package_label: str
    batch_number: str | None
    quantity_on_hand: DecimalStr
    quantity_reserved: DecimalStr
    quantity_available: DecimalStr
    lab_test_state: str
    on_hold: bool
    created_at: datetime
    updated_at: datetime


class LotAdjustIn(Strict):
    quantity_on_hand: DecimalStr | None = None
    delta: DecimalStr | None = None
    reason: str = Field(min_length=1, max_length=255)


class PaymentOut(BaseModel):
    id: int
    amount: DecimalStr
    method: str
    reference: str | None
    received_at: datetime


class InvoiceOut(BaseModel):
    number: str
    order_number: str
    seller_id: int
    buyer_id: int
    status: str
    currency: str
    subtotal: DecimalStr
    tax: DecimalStr
    total: DecimalStr
    amount_paid: DecimalStr
    balance: DecimalStr
    issued_at: datetime
    due_at: datetime
    updated_at: datetime = Field(description="Last change: issued, a payment, paid or void (`updated_since`).")
    payments: list[PaymentOut] | None = None


class PaymentIn(Strict):
    amount: DecimalStr
    method: str = Field(max_length=16, description="cash, check, ach or wire")
    reference: str | None = Field(default=None, max_length=128)
    received_at: datetime | None = None
    note: str | None = Field(default=None, max_length=1000)


class CounterpartyOut(BaseModel):
    id: int
    name: str
    relationship: str
    order_count: int
    on_hold: bool
    price_tier_id: int | None
    last_order_at: datetime | None
    updated_at: datetime = Field(
        description="Latest of the business's update, the relationship's (hold, tier) and the last order between you."
    )


class LicenseOut(BaseModel):
    id: int
    state: str
    number: str
    license_type: str
    status: str
    expires_on: date | None
    premises_name: str | None
    updated_at: datetime


class PriceTierOut(BaseModel):
    id: int
    name: str
    product_count: int
    customer_count: int


class TierPriceOut(BaseModel):
    product_id: int
    sku: str
    name: str
    list_price: DecimalStr
    tier_price: DecimalStr | None


class ManifestOut(BaseModel):
    id: int
    order_number: str
    provider: str
    status: str
    manifest_number: str | None
    last_error: str | None
    submitted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeliveryOut(BaseModel):
    id: int
    order_number: str
    provider: str
    status: str
    tracking_number: str | None
    eta: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime

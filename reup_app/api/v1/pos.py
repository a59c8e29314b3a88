"""/api/v1 POS reorder suggestions: what the /pos page shows a retailer for one of its Dutchie stores,
computed by the same service (services/pos/suggestions.store_suggestions: `cart.manage` on the
store licence's business, retail licences only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from reup_app.api.v1.deps import Identity, read
from reup_app.api.v1.schemas import DecimalStr, dec
from reup_app.services.pos import suggestions

router = APIRouter(tags=["pos"])
StoreId = Annotated[int, Path(ge=1, description="The store's licence id (GET /api/v1/licenses).")]


class SuggestionOut(BaseModel):
    pos_product_id: int = Field(description="The store's POS product (ReUp's row id).")
    pos_name: str
    pos_sku: str
    on_hand: DecimalStr
    velocity_per_day: DecimalStr = Field(description="Units a day, recent days weighted more.")
    days_of_cover: DecimalStr
    lead_days: int = Field(description="The seller's median days from submission to delivery.")
    target_days: int = Field(description="The store's target cover.")
    quantity: DecimalStr = Field(description="Suggested order: at least the minimum, whole cases.")
    product_id: int = Field(description="The marketplace listing offered (POST /api/v1/orders lines).")
    product_name: str
    seller_name: str
    unit_price: DecimalStr
    in_stock: bool = Field(description="The listing holds at least the suggested quantity.")
    offer_reason: str
    math: str = Field(description="How the quantity was computed, in words.")
    weekly_units: list[int] = Field(description="Units sold per week, the last 12 weeks, oldest first.")


class StoreSuggestionsOut(BaseModel):
    store_id: int
    license_number: str
    target_cover_days: int
    matched_products: int
    unmatched_products: int
    data: list[SuggestionOut] = Field(description="Most urgent first (fewest days of cover).")


def _suggestion_out(s: suggestions.Suggestion) -> dict[str, Any]:
    return SuggestionOut(
        pos_product_id=s.pos_id,
        pos_name=s.pos_name,
        pos_sku=s.pos_sku,
        on_hand=dec(s.on_hand) or "0",
        velocity_per_day=f"{s.velocity:.3f}",
        days_of_cover=f"{s.days_of_cover:.1f}",
        lead_days=s.lead_days,
        target_days=s.target_days,
        quantity=dec(s.quantity) or "0",
        product_id=s.product_id,
        product_name=s.product_name,
        seller_name=s.seller_name,
        unit_price=dec(s.unit_price) or "0",
        in_stock=s.in_stock,
        offer_reason=s.offer_reason,
        math=s.math,
        weekly_units=list(s.trend),
    ).model_dump(mode="json")


@router.get(
    "/pos/stores/{store_id}/suggestions",
    response_model=StoreSuggestionsOut,
    summary="Reorder suggestions for a store (retailers)",
)
def store_suggestions(identity: Identity, store_id: StoreId) -> Any:
    """The store's reorder suggestions from its synced Dutchie sales and stock, as on /pos: for each POS
    product matched to a marketplace listing whose cover is short of lead time + target, the quantity
    to order and the listing offered. Needs a role that may manage the cart (owner, admin, buyer)."""
    result = read(identity, suggestions.store_suggestions, store_id)
    return {
        "store_id": result.license_id,
        "license_number": result.license_number,
        "target_cover_days": result.target_days,
        "matched_products": result.matched,
        "unmatched_products": result.unmatched,
        "data": [_suggestion_out(s) for s in result.items],
    }

"""Which license types may sell to which: the trade table the pre-ship checks apply.

Sources and choices (domain.md says only that "the license type controls what that retailer may
order", sections 1.1 and "Features a user expects"; the table itself is ReUp's reading of the
state rules, to be reviewed with compliance counsel):
- California (DCC): cannabis goods reach a retailer only through a distributor (or a
  microbusiness licensed for distribution), so a manufacturer or cultivator sells to distributors
  and manufacturers only; a retailer cannot sell wholesale; a transport-only distributor and a
  testing laboratory never hold title to sell.
- Other states: most METRC states have no mandatory distribution tier, so the default table also
  lets manufacturers and cultivators sell to retailers. A state can get its own table below.
Free-text types from signup are normalized: lower case, "adult_use_"/"medicinal_" prefixes
dropped, common synonyms folded ("dispensary" -> retail, "processor" -> manufacturer).
"""

from __future__ import annotations

import re

RETAIL = "retail"
DISTRIBUTOR = "distributor"
MICROBUSINESS = "microbusiness"
MANUFACTURER = "manufacturer"
CULTIVATOR = "cultivator"
TRANSPORT_ONLY = "distributor_transport_only"
TESTING_LAB = "testing_laboratory"

_ALIASES = {
    "retail": RETAIL,
    "retailer": RETAIL,
    "retailer_nonstorefront": RETAIL,
    "nonstorefront_retail": RETAIL,
    "dispensary": RETAIL,
    "provisioning_center": RETAIL,
    "distributor": DISTRIBUTOR,
    "distribution": DISTRIBUTOR,
    "microbusiness": MICROBUSINESS,
    "manufacturer": MANUFACTURER,
    "manufacturing": MANUFACTURER,
    "processor": MANUFACTURER,
    "products_manufacturer": MANUFACTURER,
    "cultivator": CULTIVATOR,
    "cultivation": CULTIVATOR,
    "grower": CULTIVATOR,
    "distributor_transport_only": TRANSPORT_ONLY,
    "transport_only": TRANSPORT_ONLY,
    "transporter": TRANSPORT_ONLY,
    "testing_laboratory": TESTING_LAB,
    "testing_lab": TESTING_LAB,
    "laboratory": TESTING_LAB,
}
_PREFIXES = ("adult_use_", "medicinal_", "medical_", "recreational_", "commercial_")

_CA = {
    DISTRIBUTOR: frozenset({DISTRIBUTOR, MICROBUSINESS, RETAIL, MANUFACTURER}),
    MICROBUSINESS: frozenset({DISTRIBUTOR, MICROBUSINESS, RETAIL, MANUFACTURER}),
    MANUFACTURER: frozenset({DISTRIBUTOR, MANUFACTURER}),
    CULTIVATOR: frozenset({DISTRIBUTOR, MANUFACTURER}),
    RETAIL: frozenset(),
    TRANSPORT_ONLY: frozenset(),
    TESTING_LAB: frozenset(),
}
_DEFAULT = {
    **_CA,
    MANUFACTURER: frozenset({DISTRIBUTOR, MANUFACTURER, MICROBUSINESS, RETAIL}),
    CULTIVATOR: frozenset({DISTRIBUTOR, MANUFACTURER, MICROBUSINESS, RETAIL}),
}
MAY_SELL_TO: dict[str, dict[str, frozenset[str]]] = {"CA": _CA}


def canonical_type(license_type: str | None) -> str | None:
    """The table's name for a license type as stored (None when ReUp doesn't know it)."""
    text = re.sub(r"[\s\-]+", "_", (license_type or "").strip().lower())
    if text in _ALIASES:
        return _ALIASES[text]
    for prefix in _PREFIXES:
        if text.startswith(prefix) and text[len(prefix) :] in _ALIASES:
            return _ALIASES[text[len(prefix) :]]
    return None


def trade_refusal(state: str, seller_type: str | None, buyer_type: str | None) -> str | None:
    """Why a `seller_type` license may not sell to a `buyer_type` license in `state` (None: allowed)."""
    seller, buyer = canonical_type(seller_type), canonical_type(buyer_type)
    for raw, kind, side in ((seller_type, seller, "seller"), (buyer_type, buyer, "buyer")):
        if kind is None:
            return (
                f"The {side}'s license type '{(raw or '')[:64]}' is not one ReUp can check; ask support to review it."
            )
    assert seller is not None and buyer is not None  # the loop above answered for an unknown type
    table = MAY_SELL_TO.get((state or "").upper(), _DEFAULT)
    allowed = table.get(seller, frozenset())
    if buyer in allowed:
        return None
    if not allowed:
        return f"A {seller.replace('_', ' ')} license can't sell wholesale."
    where = f"In {state.upper()} a" if state else "A"
    return f"{where} {seller.replace('_', ' ')} license can't sell to a {buyer.replace('_', ' ')} license" + (
        "; ship through a distributor." if buyer == RETAIL else "."
    )

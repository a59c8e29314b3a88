"""Tax on wholesale orders: one rate per state of the *seller's* license, applied to the subtotal.

The rule, deliberately simple and kept in this one module:

    tax = round_half_up(subtotal * WHOLESALE_TAX_RATES.get(seller_license_state, 0), cents)

Every rate is 0 today. A sale between two licensees is a sale for resale, so no sales tax is due
on it, and in the states ReUp starts in the cannabis excise tax is collected from the consumer at
retail, not on the wholesale transfer (California since 1 Jan 2023, for example). Where a state
does levy a tax on the wholesale transfer, put its rate here (e.g. "XX": Decimal("0.15")); order
totals, invoices and the invoice PDF pick it up. Rates are fractions, not percentages.
"""

from __future__ import annotations

from decimal import Decimal

from reup_app.services.common import ZERO, q2

WHOLESALE_TAX_RATES: dict[str, Decimal] = {}


def wholesale_tax_rate(seller_state: str | None) -> Decimal:
    return WHOLESALE_TAX_RATES.get((seller_state or "").upper(), ZERO)


def wholesale_tax(subtotal: Decimal, seller_state: str | None) -> Decimal:
    return q2(subtotal * wholesale_tax_rate(seller_state))

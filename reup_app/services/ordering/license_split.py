"""How one seller's part of a cart is split over the seller's licenses: one order per seller license.

An order ships under one seller license and draws only on the packages held by that license, but a
seller may hold the same product at several licenses (146 at one, 192 at another). The rule:

- every active, unexpired license the seller holds in the buyer license's state may ship;
- when one license can cover all of the seller's lines, everything ships from it (one order);
- otherwise each line goes whole to a license that covers it (a license already used for this
  seller first, then the one with most stock), and a line no single license covers is split over
  the licenses with most stock first: one order per license used;
- what a product can be ordered in is therefore the sum over those licenses; a line asking more is
  short, and only that seller's part of the cart is held back.

Pure: works on ids and quantities; the cart (a plain read) and checkout (locked rows) feed it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal("0")


@dataclass
class LicenseSplit:
    """`parts`: license id -> [(product id, quantity)], in the order licenses were first used;
    `short`: product id -> quantity the licenses hold in all (only for lines they can't cover)."""

    parts: dict[int, list[tuple[int, Decimal]]] = field(default_factory=dict)
    short: dict[int, Decimal] = field(default_factory=dict)

    @property
    def order_count(self) -> int:
        return len(self.parts)


def split_over_licenses(
    lines: Sequence[tuple[int, Decimal]],
    license_ids: Sequence[int],
    sellable: Mapping[tuple[int, int], Decimal],
) -> LicenseSplit:
    """Split `lines` ((product id, quantity)) over `license_ids` given `sellable[(product, license)]`."""
    result = LicenseSplit()
    room = {(pid, lic): sellable.get((pid, lic), ZERO) for pid, _ in lines for lic in license_ids}
    whole = next((lic for lic in license_ids if all(room[(pid, lic)] >= qty for pid, qty in lines)), None)
    if whole is not None:
        result.parts[whole] = [(pid, qty) for pid, qty in lines]
        return result
    for pid, qty in lines:
        total = sum((room[(pid, lic)] for lic in license_ids), ZERO)
        if total < qty:
            result.short[pid] = total
            continue
        # a license already used first (fewer orders), then most stock first
        ranked = sorted(license_ids, key=lambda lic: (lic not in result.parts, -room[(pid, lic)], lic))
        single = next((lic for lic in ranked if room[(pid, lic)] >= qty), None)
        if single is not None:
            _take(result, room, pid, single, qty)
            continue
        remaining = qty
        for lic in sorted(license_ids, key=lambda lic: (-room[(pid, lic)], lic)):
            take = min(room[(pid, lic)], remaining)
            if take > 0:
                _take(result, room, pid, lic, take)
                remaining -= take
            if remaining <= 0:
                break
    return result


def _take(result: LicenseSplit, room: dict[tuple[int, int], Decimal], pid: int, lic: int, qty: Decimal) -> None:
    room[(pid, lic)] -= qty
    result.parts.setdefault(lic, []).append((pid, qty))

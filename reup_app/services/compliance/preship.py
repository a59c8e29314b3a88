"""Pre-ship compliance checks: what must hold before a wholesale order may leave on a METRC manifest.

`check_order` evaluates an order (the ship transition calls `enforce_preship_checks` with the order
and its lots locked; the fulfill-and-ship screen shows `preship_report`'s checklist):
- both licenses active and unexpired (expiry compared with today's date in the license's state,
  a license being valid through its expiry date), in the same state, and their types allowed to
  trade (license_types.MAY_SELL_TO);
- every line fully assigned to packages; every package held under the shipping license, not on
  hold, lab state passed or not required, not expired, with enough on hand for what it ships;
- every package label a valid METRC tag (24 capital letters and digits, domain.md 2.6/2.7).
Each failed check carries a specific message; any failure blocks the ship.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import Conflict, PermissionDenied
from reup_app.models import InventoryLot, License, Order, OrderLine, OrderLineAllocation
from reup_app.models.enums import LabTestState, LicenseStatus
from reup_app.models.types import utcnow
from reup_app.security.principal import Principal
from reup_app.services.common import authorize_party, clean_text, fmt_qty
from reup_app.services.compliance.license_calendar import license_today
from reup_app.services.compliance.license_types import trade_refusal

METRC_TAG_LENGTH = 24
_TAG_RE = re.compile(r"^[0-9A-Z]{24}$")
SHIPPABLE_LAB_STATES = (LabTestState.PASSED, LabTestState.NOT_REQUIRED)
ZERO = Decimal("0")


@dataclass(frozen=True)
class PreshipCheck:
    code: str  # licenses | license_types | allocation | package_license | hold | lab | expiry | on_hand | label
    label: str  # what was checked, as the checklist shows it
    ok: bool
    message: str = ""  # why it failed ("" when it passed)


@dataclass(frozen=True)
class PreshipReport:
    order_number: str
    checks: list[PreshipCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[PreshipCheck]:
        return [c for c in self.checks if not c.ok]


class PreshipFailed(Conflict):
    """The ship is blocked; `failures` lists every failed check."""

    def __init__(self, report: PreshipReport):
        self.report = report
        lines = "; ".join(c.message for c in report.failures)
        super().__init__(f"Order {report.order_number} can't ship yet: {lines}")


def label_problem(label: str | None) -> str | None:
    """Why `label` is not a valid METRC package tag (None when it is)."""
    text = label or ""
    if len(text) != METRC_TAG_LENGTH:
        return f"Package label '{text[:40]}' has {len(text)} characters; a METRC tag has {METRC_TAG_LENGTH}."
    if not _TAG_RE.match(text):
        return f"Package label '{text}' may contain only capital letters and digits."
    return None


def _license_checks(side: str, lic: License | None, now: datetime) -> list[PreshipCheck]:
    title = f"{side.capitalize()} license"
    if lic is None:
        return [PreshipCheck("licenses", title, False, f"The {side}'s license on this order no longer exists.")]
    label = f"{title} {lic.number} active and unexpired"
    today = license_today(lic.state, now)
    if lic.status != LicenseStatus.ACTIVE:
        return [PreshipCheck("licenses", label, False, f"{title} {lic.number} is {lic.status}, not active.")]
    if lic.expires_on is not None and lic.expires_on < today:
        msg = f"{title} {lic.number} expired on {lic.expires_on.isoformat()} ({lic.state} date {today.isoformat()})."
        return [PreshipCheck("licenses", label, False, msg)]
    return [PreshipCheck("licenses", label, True)]


def _pair_check(seller: License | None, buyer: License | None) -> PreshipCheck:
    label = "License types may trade with each other"
    if seller is None or buyer is None:
        return PreshipCheck("license_types", label, False, "Both licenses are needed to check the trade.")
    label = f"{seller.license_type} may sell to {buyer.license_type}"
    if seller.state != buyer.state:
        return PreshipCheck(
            "license_types",
            label,
            False,
            f"Seller license {seller.number} is in {seller.state} and buyer license {buyer.number} in {buyer.state}; "
            "cannabis can't cross state lines.",
        )
    refusal = trade_refusal(seller.state, seller.license_type, buyer.license_type)
    return PreshipCheck("license_types", label, refusal is None, refusal or "")


def _lab_message(lot: InventoryLot) -> str:
    state = lot.lab_test_state
    if state == LabTestState.FAILED:
        return f"Package {lot.package_label} failed its lab test and can't be shipped."
    if state == LabTestState.SUBMITTED:
        return f"Package {lot.package_label} is still waiting for its lab results."
    return f"Package {lot.package_label} has no passing lab test ({state}); it needs one before it can ship."


def _package_checks(order: Order, lot: InventoryLot, qty: Decimal, today: date) -> list[PreshipCheck]:
    """The checks on one assigned package; `today` is the date in the seller license's state."""
    tag = lot.package_label
    out = []
    bad_label = label_problem(tag)
    out.append(PreshipCheck("label", f"Package {tag}: valid METRC tag", bad_label is None, bad_label or ""))
    own = lot.license_id == order.seller_license_id
    out.append(
        PreshipCheck(
            "package_license",
            f"Package {tag}: held under the shipping license",
            own,
            "" if own else f"Package {tag} is held under another license, not the one this order ships from.",
        )
    )
    out.append(
        PreshipCheck(
            "hold",
            f"Package {tag}: not on hold",
            not lot.on_hold,
            f"Package {tag} is on hold in METRC and can't be shipped." if lot.on_hold else "",
        )
    )
    lab_ok = lot.lab_test_state in SHIPPABLE_LAB_STATES
    out.append(
        PreshipCheck(
            "lab", f"Package {tag}: lab test passed or not required", lab_ok, "" if lab_ok else _lab_message(lot)
        )
    )
    if lot.expires_on is not None:
        fresh = lot.expires_on >= today
        msg = "" if fresh else f"Package {tag} expired on {lot.expires_on.isoformat()}."
        out.append(PreshipCheck("expiry", f"Package {tag}: not expired", fresh, msg))
    enough = qty <= lot.quantity_on_hand
    msg = "" if enough else f"Package {tag} has {fmt_qty(lot.quantity_on_hand)} on hand but ships {fmt_qty(qty)}."
    out.append(PreshipCheck("on_hand", f"Package {tag}: {fmt_qty(qty)} on hand", enough, msg))
    return out


def _assigned(session: Session, order: Order) -> tuple[list[OrderLine], dict[int, Decimal], dict[int, Decimal]]:
    """The order's lines, and the quantities assigned to packages per line id and per lot id."""
    lines = list(
        session.execute(
            select(OrderLine).where(col(OrderLine.order_id) == order.id).order_by(col(OrderLine.id))
        ).scalars()
    )
    per_line: dict[int, Decimal] = defaultdict(lambda: ZERO)
    per_lot: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for a in session.execute(
        select(OrderLineAllocation).where(col(OrderLineAllocation.order_line_id).in_([ln.id for ln in lines] or [0]))
    ).scalars():
        per_line[a.order_line_id] += a.quantity
        per_lot[a.inventory_lot_id] += a.quantity
    return lines, per_line, per_lot


def _line_check(ln: OrderLine, assigned: Decimal) -> PreshipCheck:
    done = assigned == ln.quantity
    msg = (
        f"{ln.product_name} has {fmt_qty(assigned)} of {fmt_qty(ln.quantity)} assigned to packages; "
        "fulfill the order again."
    )
    return PreshipCheck("allocation", f"{ln.product_name}: assigned to packages", done, "" if done else msg)


def check_order(session: Session, order: Order, *, now: datetime | None = None) -> PreshipReport:
    """Every pre-ship check for `order` (no authorization: callers authorize first)."""
    now = now or utcnow()
    seller, buyer = session.get(License, order.seller_license_id), session.get(License, order.buyer_license_id)
    checks = [
        *_license_checks("seller", seller, now),
        *_license_checks("buyer", buyer, now),
        _pair_check(seller, buyer),
    ]
    lines, per_line, per_lot = _assigned(session, order)
    checks += [_line_check(ln, per_line[ln.id]) for ln in lines]
    today = license_today(seller.state if seller else None, now)
    lots = session.execute(select(InventoryLot).where(col(InventoryLot.id).in_(list(per_lot) or [0]))).scalars()
    by_id = {lot.id: lot for lot in lots}
    for lot_id in sorted(per_lot):
        if lot_id not in by_id:
            checks.append(PreshipCheck("allocation", "Assigned package exists", False, "An assigned package is gone."))
            continue
        checks += _package_checks(order, by_id[lot_id], per_lot[lot_id], today)
    return PreshipReport(order.number, checks)


def enforce_preship_checks(session: Session, order: Order, *, now: datetime | None = None) -> PreshipReport:
    """Raise PreshipFailed (a Conflict listing every failed check) unless the order may ship."""
    report = check_order(session, order, now=now)
    if not report.ok:
        raise PreshipFailed(report)
    return report


def preship_report(session: Session, principal: Principal, order_number: str) -> PreshipReport:
    """The checklist for the seller's fulfill-and-ship screen; the buyer and others are refused."""
    number = clean_text(order_number, "order_number", max_len=32, required=True, label="an order number")
    order = session.execute(select(Order).where(col(Order.number) == number)).scalars().first()
    not_found = f"Order {number} was not found."
    authorize_party(
        principal, "order.view", [order.buyer_entity_id, order.seller_entity_id] if order else [], not_found
    )
    assert order is not None  # authorize_party raised NotFound for a missing order
    if not principal.is_system and principal.entity_id != order.seller_entity_id:
        raise PermissionDenied("Only the seller runs the pre-ship checks.")
    return check_order(session, order)

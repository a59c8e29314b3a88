"""Render an InvoiceDTO as a PDF.

Laid out with the shared document pieces in reup_app/services/pdf_kit.py.
"""

from __future__ import annotations

from reup_app.services import pdf_kit as kit
from reup_app.services.common import fmt_qty

_usd = kit.usd


def _facts(inv) -> list[tuple[str, str]]:
    facts = [
        ("Invoice", inv.number),
        ("Order", inv.order_number),
        ("Issued", inv.issued_at.strftime("%Y-%m-%d")),
        ("Due", inv.due_at.strftime("%Y-%m-%d")),
        ("Terms", inv.payment_terms.replace("_", " ").upper()),
        ("Status", inv.status.upper()),
    ]
    if inv.is_overdue:
        facts.append(("Overdue", f"{inv.days_overdue} day{'' if inv.days_overdue == 1 else 's'}"))
    return facts


def _totals(inv) -> list[tuple[str, str]]:
    return [
        ("Subtotal", _usd(inv.subtotal, inv.currency)),
        ("Tax", _usd(inv.tax, inv.currency)),
        ("Total", _usd(inv.total, inv.currency)),
        ("Paid", _usd(inv.amount_paid, inv.currency)),
        ("Balance due", _usd(inv.balance, inv.currency)),
    ]


def _payment_lines(inv) -> list[str]:
    out = []
    for p in inv.payments:
        ref = f" ref {p.reference}" if p.reference else ""
        out.append(f"{p.received_at:%Y-%m-%d}  {p.method.upper()}{ref}  {_usd(p.amount, inv.currency)}")
    return out


def render(inv) -> bytes:
    pdf = kit.new_document(f"Invoice {inv.number}", inv.seller_name)
    kit.heading(pdf, f"INVOICE {inv.number}")
    kit.facts(pdf, _facts(inv))
    kit.parties(
        pdf,
        [
            (
                "From",
                [*inv.seller_address, f"License {inv.seller_license_number}" if inv.seller_license_number else ""],
            ),
            (
                "Bill to",
                [*inv.buyer_address, f"License {inv.buyer_license_number}" if inv.buyer_license_number else ""],
            ),
        ],
    )
    rows = [
        (
            line.sku,
            line.product_name,
            fmt_qty(line.quantity),
            _usd(line.unit_price, inv.currency),
            _usd(line.line_total, inv.currency),
        )
        for line in inv.lines
    ]
    kit.table(
        pdf,
        ("SKU", "Product", "Qty", "Unit price", "Amount"),
        rows,
        (70, 200, 55, 70, 75),
        ("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
    )
    kit.right_aligned_totals(pdf, _totals(inv), bold=("Total", "Balance due"))
    if inv.payments:
        pdf.ln(10)
        kit.heading(pdf, "Payments received", size=10)
        pdf.set_font("Helvetica", "", 9)
        for line in _payment_lines(inv):
            pdf.cell(0, 13, kit.latin1(line), **kit.NEXT_LINE)
    return kit.output(pdf)

"""Billing: invoices, payments against them, buyer credit holds, tax, and invoice downloads.

Modules, and the public functions re-exported here (loaded on first use):

- `download_tickets`: Short-lived, single-use tickets that let the browser fetch a private file over
  plain HTTP. `create_invoice_ticket`, `redeem_invoice_ticket`.
- `invoice_pdf`: Render an InvoiceDTO as a PDF.
- `invoices`: Invoices: created when an order ships, read by both parties, rendered as PDF.
  `due_date_for`, `invoice_number_for`, `balance_of`, `is_overdue`, `create_invoice_for_order`,
  `load_invoice`, `invoice_detail`, `get_invoice`, `list_invoices`, `render_invoice_pdf`.
- `overdue`: When an invoice is overdue: the one rule for invoice pages, the PDF, invoice lists and
  dashboards.
- `payments`: Payments against invoices (recorded by the seller) and credit holds on buyers.
  `get_buyer_hold`, `list_payments`, `record_payment`, `set_buyer_hold`.
- `tax`: Tax on wholesale orders: one rate per state of the *seller's* license, applied to the
  subtotal. `wholesale_tax_rate`, `wholesale_tax`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reup_app.services.lazy_exports import exports

if TYPE_CHECKING:
    from reup_app.services.billing.download_tickets import (
        create_invoice_ticket,
        redeem_invoice_ticket,
    )
    from reup_app.services.billing.invoices import (
        InvoiceDTO,
        InvoiceLineDTO,
        InvoicePage,
        InvoiceSummary,
        PaymentDTO,
        balance_of,
        create_invoice_for_order,
        due_date_for,
        get_invoice,
        invoice_detail,
        invoice_number_for,
        is_overdue,
        list_invoices,
        load_invoice,
        render_invoice_pdf,
    )
    from reup_app.services.billing.payments import (
        BuyerHold,
        get_buyer_hold,
        list_payments,
        record_payment,
        set_buyer_hold,
    )
    from reup_app.services.billing.tax import (
        wholesale_tax,
        wholesale_tax_rate,
    )

__all__ = [
    "create_invoice_ticket",
    "redeem_invoice_ticket",
    "due_date_for",
    "invoice_number_for",
    "balance_of",
    "is_overdue",
    "create_invoice_for_order",
    "InvoiceLineDTO",
    "PaymentDTO",
    "InvoiceSummary",
    "InvoiceDTO",
    "InvoicePage",
    "load_invoice",
    "invoice_detail",
    "get_invoice",
    "list_invoices",
    "render_invoice_pdf",
    "BuyerHold",
    "get_buyer_hold",
    "list_payments",
    "record_payment",
    "set_buyer_hold",
    "wholesale_tax_rate",
    "wholesale_tax",
]

_HOME = {
    "create_invoice_ticket": "download_tickets",
    "redeem_invoice_ticket": "download_tickets",
    "due_date_for": "invoices",
    "invoice_number_for": "invoices",
    "balance_of": "invoices",
    "is_overdue": "invoices",
    "create_invoice_for_order": "invoices",
    "InvoiceLineDTO": "invoices",
    "PaymentDTO": "invoices",
    "InvoiceSummary": "invoices",
    "InvoiceDTO": "invoices",
    "InvoicePage": "invoices",
    "load_invoice": "invoices",
    "invoice_detail": "invoices",
    "get_invoice": "invoices",
    "list_invoices": "invoices",
    "render_invoice_pdf": "invoices",
    "BuyerHold": "payments",
    "get_buyer_hold": "payments",
    "list_payments": "payments",
    "record_payment": "payments",
    "set_buyer_hold": "payments",
    "wholesale_tax_rate": "tax",
    "wholesale_tax": "tax",
}

__getattr__ = exports(__name__, _HOME)

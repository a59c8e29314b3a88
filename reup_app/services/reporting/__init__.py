"""Reporting: dashboards and sales reports for wholesalers and retailers.

Modules, and the public functions re-exported here (loaded on first use):

- `dashboards`: Dashboards: the wholesaler's work queues and sales, the retailer's open orders and
  spend. `retailer_dashboard`, `sales_report`, `wholesaler_dashboard`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reup_app.services.lazy_exports import exports

if TYPE_CHECKING:
    from reup_app.services.reporting.dashboards import (
        MoneySummary,
        OrderQueue,
        RetailerDashboard,
        SalesPoint,
        SalesReport,
        SalesTotal,
        WholesalerDashboard,
        retailer_dashboard,
        sales_report,
        wholesaler_dashboard,
    )

__all__ = [
    "MoneySummary",
    "OrderQueue",
    "RetailerDashboard",
    "SalesPoint",
    "SalesReport",
    "SalesTotal",
    "WholesalerDashboard",
    "retailer_dashboard",
    "sales_report",
    "wholesaler_dashboard",
]

_HOME = {
    "MoneySummary": "dashboards",
    "OrderQueue": "dashboards",
    "RetailerDashboard": "dashboards",
    "SalesPoint": "dashboards",
    "SalesReport": "dashboards",
    "SalesTotal": "dashboards",
    "WholesalerDashboard": "dashboards",
    "retailer_dashboard": "dashboards",
    "sales_report": "dashboards",
    "wholesaler_dashboard": "dashboards",
}

__getattr__ = exports(__name__, _HOME)

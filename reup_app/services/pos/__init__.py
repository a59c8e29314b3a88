"""Dutchie POS for retailers: store connections (`connections`), the sync's writes and product
matching (`store_data`, `matching`), reorder suggestions (`suggestions`), deliveries pushed back
as draft receives or purchase orders (`pushes`) and opt-in sell-through for brands (`sell_through`).
Never imports the ordering services (ordering calls `pushes` on its transitions)."""

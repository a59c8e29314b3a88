"""Which of a business's orders a list or an export shows: side, status, text, the placed-date range
(UTC dates, both ends included), the counterparty, and the sort order.

`OrderFilters.parse(**raw)` validates browser input; `to_ref()` / `from_ref()` turn the filters into
one canonical string, which a CSV download ticket is bound to (so the download shows exactly what
was asked for when the ticket was issued).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import or_, select
from sqlmodel import Session, col

from reup_app.errors import ValidationError
from reup_app.models import Entity, Order
from reup_app.models.enums import OrderStatus
from reup_app.services.common import clean_text, parse_int
from reup_app.services.ordering.orders import BUYER, OPEN_STATUSES, SELLER

SORTS = {
    "newest": (col(Order.created_at).desc(), col(Order.id).desc()),
    "oldest": (col(Order.created_at).asc(), col(Order.id).asc()),
    "total_desc": (col(Order.total).desc(), col(Order.id).desc()),
    "total_asc": (col(Order.total).asc(), col(Order.id).asc()),
}


def _date(value: Any, field: str, label: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValidationError(f"{label} must be a date (YYYY-MM-DD).", field) from None


@dataclass(frozen=True)
class OrderFilters:
    role_side: str | None = None
    status: tuple[str, ...] = ()
    search: str | None = None
    placed_from: date | None = None
    placed_to: date | None = None
    counterparty_id: int | None = None
    sort: str = "newest"

    @classmethod
    def parse(
        cls,
        *,
        role_side: Any = None,
        status: str | Iterable[str] | None = None,
        search: Any = None,
        placed_from: Any = None,
        placed_to: Any = None,
        counterparty_id: Any = None,
        sort: Any = None,
    ) -> OrderFilters:
        if role_side in ("", None):
            role_side = None
        if role_side not in (None, BUYER, SELLER):
            raise ValidationError("role_side must be buyer or seller.", "role_side")
        wanted = [] if not status else [status] if isinstance(status, str) else list(status)
        if wanted == ["open"]:
            wanted = [str(s) for s in OPEN_STATUSES]
        bad = [s for s in wanted if s not in set(OrderStatus)]
        if bad:
            raise ValidationError(f"Unknown order status {str(bad[0])[:20]!r}.", "status")
        start, end = _date(placed_from, "placed_from", "From"), _date(placed_to, "placed_to", "To")
        if start and end and end < start:
            raise ValidationError("The date range ends before it starts.", "placed_to")
        sort = sort or "newest"
        if sort not in SORTS:
            raise ValidationError(f"Unknown sort order {str(sort)[:20]!r}.", "sort")
        cp = parse_int(counterparty_id, "counterparty_id") if counterparty_id not in (None, "") else None
        return cls(
            role_side=role_side,
            status=tuple(wanted),
            search=clean_text(search, "search", max_len=64),
            placed_from=start,
            placed_to=end,
            counterparty_id=cp,
            sort=sort,
        )

    def to_ref(self) -> str:
        pairs = [
            ("side", self.role_side or ""),
            ("status", ",".join(self.status)),
            ("q", self.search or ""),
            ("from", self.placed_from.isoformat() if self.placed_from else ""),
            ("to", self.placed_to.isoformat() if self.placed_to else ""),
            ("cp", str(self.counterparty_id or "")),
            ("sort", self.sort),
        ]
        return urlencode(pairs)

    @classmethod
    def from_ref(cls, ref: str) -> OrderFilters:
        raw = dict(parse_qsl(ref, keep_blank_values=True))
        return cls.parse(
            role_side=raw.get("side"),
            status=[s for s in raw.get("status", "").split(",") if s],
            search=raw.get("q"),
            placed_from=raw.get("from"),
            placed_to=raw.get("to"),
            counterparty_id=raw.get("cp"),
            sort=raw.get("sort"),
        )

    def conditions(self, entity_id: int, buyer_e: Any, seller_e: Any) -> list[Any]:
        """WHERE conditions over `summary_query()` (its buyer and seller aliases) for this business."""
        conds: list[Any] = []
        if self.role_side == BUYER:
            conds.append(col(Order.buyer_entity_id) == entity_id)
        elif self.role_side == SELLER:
            conds.append(col(Order.seller_entity_id) == entity_id)
        else:
            conds.append(or_(col(Order.buyer_entity_id) == entity_id, col(Order.seller_entity_id) == entity_id))
        if self.status:
            conds.append(col(Order.status).in_(self.status))
        if self.placed_from:
            conds.append(col(Order.created_at) >= datetime.combine(self.placed_from, time(), tzinfo=UTC))
        if self.placed_to:
            end = datetime.combine(self.placed_to + timedelta(days=1), time(), tzinfo=UTC)
            conds.append(col(Order.created_at) < end)
        if self.counterparty_id:
            cp = self.counterparty_id
            conds.append(
                or_(
                    (col(Order.buyer_entity_id) == entity_id) & (col(Order.seller_entity_id) == cp),
                    (col(Order.seller_entity_id) == entity_id) & (col(Order.buyer_entity_id) == cp),
                )
            )
        if self.search:
            conds.append(self._text_condition(buyer_e, seller_e))
        return conds

    def _text_condition(self, buyer_e: Any, seller_e: Any) -> Any:
        like = (self.search or "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        side = self.role_side
        other = seller_e.name if side == BUYER else buyer_e.name if side == SELLER else None
        names = (
            [other.like(f"%{like}%")]
            if other is not None
            else [
                buyer_e.name.like(f"%{like}%"),
                seller_e.name.like(f"%{like}%"),
            ]
        )
        return or_(col(Order.number).like(f"{like}%"), col(Order.number).like(f"RU-{like}%"), *names)


def counterparties(session: Session, entity_id: int) -> list[tuple[int, str]]:
    """(entity id, name) of every business this one has orders with, by name: the counterparty filter."""
    sold_to = select(col(Order.buyer_entity_id)).where(col(Order.seller_entity_id) == entity_id)
    bought_from = select(col(Order.seller_entity_id)).where(col(Order.buyer_entity_id) == entity_id)
    rows = session.execute(
        select(col(Entity.id), col(Entity.name))
        .where(or_(col(Entity.id).in_(sold_to), col(Entity.id).in_(bought_from)))
        .order_by(col(Entity.name), col(Entity.id))
    ).all()
    return [(int(i), n) for i, n in rows]

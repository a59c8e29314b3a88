"""The METRC v2 client: HTTP Basic (vendor key : user key), licenseNumber on every licensed call,
v2 paging (pageSize <= 20), 24-hour windows oldest first, writes in chunks of <= 10, GETs kept
within the per-facility and per-vendor-key budgets shared through Redis."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reup_app.integrations.errors import NotFound
from reup_app.integrations.http.ratelimit import Limit, limiter_for
from reup_app.integrations.http.requestor import Requestor
from reup_app.integrations.http.transport import RetryPolicy, Transport, TransportConfig
from reup_app.integrations.metrc import records as r
from reup_app.integrations.metrc.paging import DEFAULT_LOOKBACK, MAX_PAGE_SIZE, Window, chunks, unwrap, windows

PACKAGE_STATES = ("active", "onhold", "inactive")
Progress = Callable[[int, int], None]  # (done, total) pages or windows
MAX_REWALKS = 2  # extra walks of a paged list whose pages came back short of TotalRecords
PAGE_CONCURRENCY = 4  # pages of one list fetched at once once page 1 told TotalPages
MAX_IN_FLIGHT = 8  # GETs in flight per facility per client (METRC allows 10 concurrent GETs per facility)


@dataclass(frozen=True)
class MetrcCredentials:
    vendor_key: str
    user_key: str

    def __repr__(self) -> str:  # never print keys
        return "MetrcCredentials(vendor_key=***, user_key=***)"


@dataclass(frozen=True)
class MetrcLimits:
    """METRC's GET budgets. We pace at `headroom` of each (95%) so the limiter's own slack (a call
    starts a slot or two late, see `_paced`) and network jitter between our limiter's clock and
    METRC's counter never push a one-second window over the limit."""

    facility_gets_per_second: float = 50
    vendor_gets_per_second: float = 150
    headroom: float = 0.95

    @classmethod
    def from_settings(cls, settings) -> MetrcLimits:
        return cls(settings.metrc_facility_gets_per_second, settings.metrc_vendor_gets_per_second)


class MetrcClient:
    """Typed METRC v2 calls for one user key (one or more facilities/licenses)."""

    def __init__(
        self,
        base_url: str,
        credentials: MetrcCredentials,
        *,
        limits: MetrcLimits | None = None,
        redis_url: str | None = None,
        limiter: Any = None,
        retry: RetryPolicy | None = None,
        timeout: float = 20.0,
        page_concurrency: int = PAGE_CONCURRENCY,
    ) -> None:
        if not credentials.vendor_key or not credentials.user_key:
            raise ValueError("METRC needs both the vendor key and the user key")
        self.limits = limits or MetrcLimits()
        self.page_concurrency = max(1, page_concurrency)
        self._in_flight: dict[str | None, threading.BoundedSemaphore] = {}
        self._in_flight_lock = threading.Lock()
        config = TransportConfig("metrc", base_url, timeout=timeout, retry=retry or RetryPolicy())
        transport = Transport(config, secrets=(credentials.vendor_key, credentials.user_key))
        self._vendor_tag = hashlib.sha256(credentials.vendor_key.encode()).hexdigest()[:16]
        self.requestor = Requestor(
            transport,
            limiter=limiter or limiter_for(redis_url),
            auth=(credentials.vendor_key, credentials.user_key),
            limits_for=self._limits_for,
        )

    @classmethod
    def from_settings(
        cls,
        settings,
        user_key: str,
        *,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> MetrcClient:
        """The client for one connection: the vendor key, limits and Redis from settings; the user
        key (decrypted from the connection) and base URL (the connection's, else the setting).
        `retry` and `timeout` override the defaults for a caller someone waits on (a page)."""
        if not settings.metrc_vendor_key:
            raise ValueError("REUP_METRC_VENDOR_KEY is not set: METRC needs the integrator's vendor key")
        return cls(
            base_url or settings.metrc_base_url,
            MetrcCredentials(settings.metrc_vendor_key, user_key),
            limits=MetrcLimits.from_settings(settings),
            redis_url=settings.redis_url,
            retry=retry,
            timeout=timeout if timeout is not None else getattr(settings, "metrc_timeout_seconds", 20.0),
        )

    def _limits_for(self, method: str, params: dict[str, Any]) -> list[Limit]:
        """GETs spend the facility's budget, then the vendor key's (METRC limits GETs only); the
        vendor key is shared by every facility, so it comes last (the limiter's order)."""
        if method != "GET":
            return []
        lim = self.limits
        out = []
        if params.get("licenseNumber"):
            out.append(_paced(f"metrc:facility:{params['licenseNumber']}", lim.facility_gets_per_second, lim.headroom))
        out.append(_paced(f"metrc:vendor:{self._vendor_tag}", lim.vendor_gets_per_second, lim.headroom))
        return out

    # -- paging ---------------------------------------------------------------------------------

    def _get(self, path: str, license_number: str | None, **params: Any) -> Any:
        if license_number is not None:
            if not license_number.strip():
                raise ValueError("licenseNumber must not be empty")
            params["licenseNumber"] = license_number
        with self._in_flight_lock:
            gate = self._in_flight.setdefault(license_number, threading.BoundedSemaphore(MAX_IN_FLIGHT))
        with gate:  # the Redis limiter paces the rate; this bounds the concurrency per facility
            return self.requestor.request("GET", path, params=params)

    def _pages(self, path: str, license_number: str | None, params: dict[str, Any], first: int, last: int):
        """Pages first..last in page order, fetched up to `page_concurrency` at a time."""

        def fetch(number: int) -> Any:
            return unwrap(self._get(path, license_number, pageNumber=number, pageSize=MAX_PAGE_SIZE, **params))

        workers = min(self.page_concurrency, last - first + 1)
        if workers <= 1:
            yield from (fetch(n) for n in range(first, last + 1))
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="metrc-page") as pool:
            yield from pool.map(fetch, range(first, last + 1))

    def _walk(
        self,
        path: str,
        license_number: str | None,
        params: dict[str, Any] | None = None,
        *,
        on_page: Progress | None = None,
    ) -> Iterator[Any]:
        """Every record of a paged list, page 1 upward; a record seen on an earlier page (a shifted or
        duplicated page) is yielded once. When the pages gave fewer distinct records than TotalRecords
        (a duplicated page hid a page, or a shift skipped rows) the list is walked again, at most
        MAX_REWALKS times, yielding only the records still missing."""
        seen: set[Any] = set()
        for _ in range(1 + MAX_REWALKS):
            total = yield from self._walk_once(path, license_number, params or {}, seen, on_page)
            if total is None or len(seen) >= total or None in seen:  # None: keyless rows, can't tell
                return

    def _walk_once(
        self, path: str, license_number: str | None, params: dict[str, Any], seen: set[Any], on_page: Progress | None
    ) -> Generator[Any, None, int | None]:
        page = unwrap(self._get(path, license_number, pageNumber=1, pageSize=MAX_PAGE_SIZE, **params))
        if page.total_pages is None or page.total_pages <= 1 or not page.records:
            return (yield from self._walk_sequential(path, license_number, params, seen, on_page, page))
        # TotalPages known: pages 2.. are fetched concurrently and taken in page order (the same dedup)
        total, pages = page.total_records, page.total_pages
        yield from self._fresh(page, seen)
        if on_page:
            on_page(1, pages)
        for number, current in enumerate(self._pages(path, license_number, params, 2, pages), start=2):
            total = current.total_records if current.total_records is not None else total
            yield from self._fresh(current, seen)
            if on_page:
                on_page(number, pages)
            if not current.records:
                break
        return total

    def _walk_sequential(
        self,
        path: str,
        license_number: str | None,
        params: dict[str, Any],
        seen: set[Any],
        on_page: Progress | None,
        page: Any,
    ) -> Generator[Any, None, int | None]:
        page_number, total = 1, None
        while True:
            total = page.total_records if page.total_records is not None else total
            fresh = yield from self._fresh(page, seen)
            if page.total_pages is not None:
                more = page_number < page.total_pages
            else:  # no totals: a full page of new records means there may be another
                more = len(page.records) >= MAX_PAGE_SIZE and fresh > 0
            if on_page:
                on_page(page_number, page.total_pages or page_number + int(more))
            if not page.records or not more:
                return total
            page_number += 1
            page = unwrap(self._get(path, license_number, pageNumber=page_number, pageSize=MAX_PAGE_SIZE, **params))

    @staticmethod
    def _fresh(page: Any, seen: set[Any]) -> Generator[Any, None, int]:
        """The page's records not seen on an earlier page; returns how many."""
        fresh = 0
        for record in page.records:
            key = _record_key(record)
            if key is not None and key in seen:
                continue
            seen.add(key)
            fresh += 1
            yield record
        return fresh

    # -- facilities and packages ----------------------------------------------------------------

    def facilities(self) -> list[r.Facility]:
        """GET /facilities/v2: the facilities (licenses) this user key reaches."""
        return [r.Facility.parse(x) for x in unwrap(self._get("/facilities/v2", None)).records]

    def packages(
        self, state: str, license_number: str, window: Window, on_page: Progress | None = None
    ) -> list[r.Package]:
        """GET /packages/v2/{active|onhold|inactive} for one window of at most 24 h."""
        if state not in PACKAGE_STATES:
            raise ValueError(f"package state must be one of {PACKAGE_STATES}, got {state!r}")
        path = f"/packages/v2/{state}"
        return [r.Package.parse(x) for x in self._walk(path, license_number, window.params(), on_page=on_page)]

    def package_windows(
        self,
        state: str,
        license_number: str,
        since: datetime,
        until: datetime,
        *,
        lookback: timedelta = DEFAULT_LOOKBACK,
    ) -> Iterator[tuple[Window, list[r.Package]]]:
        """(window, packages) oldest window first; commit each window before moving the cursor to its end."""
        for window in windows(since, until, lookback=lookback):
            yield window, self.packages(state, license_number, window)

    def package_by_label(self, license_number: str, label: str) -> r.Package | None:
        """GET /packages/v2/{label}; None when METRC does not know the label."""
        if not label or "/" in label:
            raise ValueError(f"not a package label: {label!r}")
        try:
            body = self._get(f"/packages/v2/{label}", license_number)
        except NotFound:
            return None
        return r.Package.parse(body) if body else None

    # -- transfers ------------------------------------------------------------------------------

    def transfer_types(self, license_number: str) -> list[r.TransferType]:
        return [r.TransferType.parse(x) for x in self._walk("/transfers/v2/types", license_number)]

    def outgoing_templates(self, license_number: str, window: Window) -> list[r.Transfer]:
        return [
            r.Transfer.parse(x) for x in self._walk("/transfers/v2/templates/outgoing", license_number, window.params())
        ]

    def find_outgoing_template(
        self, license_number: str, name: str, since: datetime, until: datetime
    ) -> r.Transfer | None:
        """The template called `name` modified in [since, until] (the reconcile-first lookup)."""
        for window in windows(since, until):
            for template in self.outgoing_templates(license_number, window):
                if template.name == name:
                    return template
        return None

    def create_outgoing_templates(self, license_number: str, templates: list[dict[str, Any]]) -> r.WriteResult:
        """POST /transfers/v2/templates/outgoing in chunks of <= 10; Ids and Warnings merged."""
        ids: list[int] = []
        warnings: list[str] = []
        for chunk in chunks(templates):
            result = r.WriteResult.parse(
                self.requestor.request(
                    "POST",
                    "/transfers/v2/templates/outgoing",
                    params={"licenseNumber": license_number},
                    json_body=chunk,
                )
            )
            ids += result.ids
            warnings += result.warnings
        return r.WriteResult(ids, warnings)

    def outgoing_transfers(self, license_number: str, window: Window) -> list[r.Transfer]:
        return [r.Transfer.parse(x) for x in self._walk("/transfers/v2/outgoing", license_number, window.params())]

    def transfer_deliveries(self, license_number: str, transfer_id: int) -> list[r.TransferDelivery]:
        path = f"/transfers/v2/{int(transfer_id)}/deliveries"
        return [r.TransferDelivery.parse(x) for x in self._walk(path, license_number)]

    def delivery_packages(self, license_number: str, delivery_id: int) -> list[r.DeliveryPackage]:
        path = f"/transfers/v2/deliveries/{int(delivery_id)}/packages"
        return [r.DeliveryPackage.parse(x) for x in self._walk(path, license_number)]

    def delivery_wholesale_prices(self, license_number: str, delivery_id: int) -> list[r.WholesalePrice]:
        path = f"/transfers/v2/deliveries/{int(delivery_id)}/packages/wholesale"
        return [r.WholesalePrice.parse(x) for x in self._walk(path, license_number)]


def _paced(key: str, allowed: float, headroom: float) -> Limit:
    """The budget paced at `headroom` of `allowed`. A call may start a few slots late (the limiter's
    worst second is rate + late_slots + 1): as many as keep that within half the headroom, at least 1
    (150/s paced at 142.5: 2 slots late; 50/s at 47: 1; a budget under 60/s is paced 3 below it)."""
    rate = min(allowed * headroom, allowed - 3)  # a low budget keeps room for the slack: late 1 + 1
    return Limit(key, rate, late_slots=max(1, int((allowed - rate) / 2) - 1))


def _record_key(record: Any) -> Any:
    if not isinstance(record, dict):
        return None
    for key, value in record.items():
        if key.lower() in ("id", "packageid") and value is not None:
            return value
    return None

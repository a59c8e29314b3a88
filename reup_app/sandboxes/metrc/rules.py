"""METRC's request rules: Basic auth, licenseNumber checks, GET rate limits, paging, 24-hour windows, write bodies.

Each rule raises `VendorError` with the status and body METRC answers (ASP.NET style {"Message": ...} for
401/403/404/413/429 and query errors; a [{row, message}] array for rejected write objects).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, overload

from starlette.requests import Request

from reup_app.sandboxes.app import SandboxContext, VendorError
from reup_app.sandboxes.calllog import SlidingWindowLimiter
from reup_app.sandboxes.clock import parse_instant

DENIED = "Authorization has been denied for this request."


def message(status: int, text: str, headers: dict | None = None) -> VendorError:
    return VendorError(status, {"Message": text}, headers)


@dataclass
class Limits:
    facility_gets_per_second: int = 50
    vendor_gets_per_second: int = 150
    max_page_size: int = 20
    max_window: timedelta = timedelta(hours=24)
    max_objects: int = 10
    rate_window_seconds: float = 1.0  # tests stretch it so a slow machine still hits the limit


@dataclass
class Rules:
    ctx: SandboxContext
    vendor_keys: set[str]
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        window = self.limits.rate_window_seconds
        self.facility_limiter = SlidingWindowLimiter(self.limits.facility_gets_per_second, window)
        self.vendor_limiter = SlidingWindowLimiter(self.limits.vendor_gets_per_second, window)

    def set_limits(self, limits: Limits) -> None:
        self.limits = limits
        self.__post_init__()

    def authenticate(self, request: Request, user_keys: dict[str, set[str]]) -> tuple[str, set[str]]:
        """(vendor key, the user key's license numbers) from HTTP Basic; 401 otherwise."""
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise message(401, DENIED, {"WWW-Authenticate": 'Basic realm="Metrc"'})
        try:
            vendor_key, sep, user_key = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise message(401, DENIED) from None
        if not sep or vendor_key not in self.vendor_keys or user_key not in user_keys:
            raise message(401, DENIED)
        return vendor_key, user_keys[user_key]

    @overload
    def license(self, request: Request, permitted: set[str], *, required: Literal[True] = True) -> str: ...
    @overload
    def license(self, request: Request, permitted: set[str], *, required: bool) -> str | None: ...
    def license(self, request: Request, permitted: set[str], *, required: bool = True) -> str | None:
        number = request.query_params.get("licenseNumber")
        if not number:
            if required:
                raise message(400, "No license number was specified. The licenseNumber query parameter is required.")
            return None
        if number not in permitted:
            raise message(403, f"The user does not have access to the facility with license number {number}.")
        return number

    def throttle_get(self, vendor_key: str, license_number: str | None) -> None:
        """429 with Retry-After over 50 GET/s per facility or 150 GET/s per vendor key (configurable)."""
        if license_number:
            wait = self.facility_limiter.hit(license_number)
            if wait is not None:
                raise VendorError(
                    429,
                    {"Message": f"Too many requests for facility {license_number}. Please try again later."},
                    {"Retry-After": str(wait)},
                )
        wait = self.vendor_limiter.hit(vendor_key)
        if wait is not None:
            raise VendorError(
                429,
                {"Message": "Too many requests for this integrator. Please try again later."},
                {"Retry-After": str(wait)},
            )

    def window(self, request: Request) -> tuple[datetime, datetime] | None:
        """The lastModified window (both ends, at most 24 h apart), or None when neither is given."""
        start_text = request.query_params.get("lastModifiedStart")
        end_text = request.query_params.get("lastModifiedEnd")
        if not start_text and not end_text:
            return None
        if not start_text or not end_text:
            raise message(400, "Both lastModifiedStart and lastModifiedEnd must be specified together.")
        start, end = _instant("lastModifiedStart", start_text), _instant("lastModifiedEnd", end_text)
        if end < start:
            raise message(400, "The lastModifiedEnd must be later than the lastModifiedStart.")
        if end - start > self.limits.max_window:
            hours = self.limits.max_window.total_seconds() / 3600
            raise message(
                400,
                f"The date range between lastModifiedStart and lastModifiedEnd cannot exceed {hours:g} hours. "
                "Please request large amounts of data in multiple calls, oldest first.",
            )
        return start, end

    def page(self, request: Request, rows: list, shape: Callable[[Any], dict] | None = None) -> dict:
        """The v2 paging wrapper; no pageSize means one page with everything (METRC: paging off by default).

        `shape` turns a row into its JSON object; only the rows on the page are shaped.
        """
        page_number = _int(request, "pageNumber", 1)
        size = _int(request, "pageSize", None)
        if page_number < 1:
            raise message(400, "The pageNumber must be 1 or greater.")
        if size is not None and not 1 <= size <= self.limits.max_page_size:
            raise message(400, f"The pageSize must be between 1 and {self.limits.max_page_size}.")
        total = len(rows)
        shaped: Callable[[Any], Any] = shape or (lambda row: row)
        if size is None:
            return _wrapper([shaped(r) for r in rows], total, total, 1, 1)
        offset = (page_number - 1) * size
        fault = self.ctx.faults.take_page_fault() if self.ctx.faults.applies(request.url.path) else None
        if fault and fault[0] == "duplicate" and page_number > 1:
            offset -= size  # the previous page again
        elif fault and fault[0] == "shift":
            offset = max(0, offset + fault[1])
        data = [shaped(r) for r in rows[max(0, offset) : max(0, offset) + size]]
        return _wrapper(data, total, size, page_number, max(1, math.ceil(total / size)))

    def write_body(self, raw: bytes) -> list:
        """The JSON array of a write; 413 above the object limit."""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            raise message(400, "The request body is not valid JSON.") from None
        if not isinstance(body, list) or not body:
            raise message(400, "The request body must be a non-empty JSON array of objects.")
        if len(body) > self.limits.max_objects:
            raise message(
                413, f"The request contains {len(body)} objects; the limit is {self.limits.max_objects} per request."
            )
        return body


def _wrapper(data: list, total: int, size: int, page: int, pages: int) -> dict:
    return {
        "Data": data,
        "Total": total,
        "TotalRecords": total,
        "PageSize": size,
        "RecordsOnPage": len(data),
        "Page": page,
        "CurrentPage": page,
        "TotalPages": pages,
    }


def _int(request: Request, name: str, default):
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise message(400, f"The value '{text}' is not valid for {name}.") from None


def _instant(name: str, text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError:
        raise message(400, f"The value '{text}' is not valid for {name}. Use yyyy-mm-ddThh:mm:ssZ.") from None


def in_window(value: datetime, window: tuple[datetime, datetime] | None) -> bool:
    return window is None or window[0] <= value <= window[1]

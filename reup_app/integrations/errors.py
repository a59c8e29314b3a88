"""Typed errors every vendor client raises, so jobs and services handle vendors the same way."""

from __future__ import annotations


class IntegrationError(Exception):
    """Base class. `status` is the HTTP status when there was a response."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, vendor_message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.vendor_message = vendor_message


class AuthFailed(IntegrationError):
    """401: the vendor key or user key is wrong or revoked."""


class PermissionDenied(IntegrationError):
    """403: the keys are valid but the user lacks the permission (or the license is not theirs)."""


class NotFound(IntegrationError):
    """404: the object or path does not exist."""


class RateLimited(IntegrationError):
    """429: over the vendor's rate limit; `retry_after` is the server's Retry-After in seconds."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Rejected(IntegrationError):
    """400/413/422: the vendor refused the request; `vendor_message` says why."""


class Unavailable(IntegrationError):
    """5xx, timeouts and connection errors: the vendor could not answer (maybe try later)."""

    retryable = True


class AmbiguousWrite(Unavailable):
    """A write whose outcome is unknown (timeout or 5xx after sending): reconcile before resending."""

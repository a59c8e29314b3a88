"""Errors the service layer raises; every caller (state, API, jobs) turns them into a clear message."""


class ServiceError(Exception):
    """Base: `str(err)` is a message fit to show the user."""

    code = "error"


class ValidationError(ServiceError):
    code = "invalid"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class NotFound(ServiceError):
    code = "not_found"


class PermissionDenied(ServiceError):
    code = "forbidden"


class NotAuthenticated(ServiceError):
    code = "unauthenticated"


class Conflict(ServiceError):
    code = "conflict"


class ChallengeRequired(NotAuthenticated):
    """Sign-in needs the e-mailed unlock link (too many failed attempts for the account)."""

    code = "challenge_required"


class RateLimited(ServiceError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float = 0):
        super().__init__(message)
        self.retry_after = retry_after

"""The HTTP transport: one pooled httpx.Client per vendor and base URL, timeouts, retries and
credential-redacting logs.

Retries use tenacity (pinned in pyproject): it is widely used, keeps the policy declarative, and
takes our own wait function, so every wait comes from `reup_app.backoff` and honours Retry-After.
What is retried: connection errors for any method (nothing was sent), 429 for any method (the
vendor refused before acting), and timeouts/5xx only for idempotent methods (GET, PUT, DELETE);
a POST that timed out raises `AmbiguousWrite` so the caller reconciles first. A caller may say a
PUT/DELETE is not safe to replay blindly (`idempotent=False`: it carries a decision made on state that
may have moved on meanwhile); it is then treated like a POST.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from reup_app.backoff import retry_delay
from reup_app.integrations.errors import AmbiguousWrite, IntegrationError, RateLimited, Unavailable

log = logging.getLogger("reup_app.integrations.http")


class _DropHttpxRequestLines(logging.Filter):
    """httpx logs every request's full URL at INFO, unredacted; our transport logs the same line
    redacted, so those records are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("HTTP Request:")


logging.getLogger("httpx").addFilter(_DropHttpxRequestLines())

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
REDACTED = "***"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, the first included
    base: float = 0.25  # seconds; backoff.retry_delay's exponential base
    cap: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After is raised to the caller (a job reschedules)


@dataclass(frozen=True)
class TransportConfig:
    vendor: str
    base_url: str
    timeout: float = 20.0
    connect_timeout: float = 5.0
    max_connections: int = 20
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every non-empty secret replaced by ***."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (only the delta-seconds form vendors send; HTTP dates are ignored)."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


_clients: dict[tuple[str, str, float, float], httpx.Client] = {}
_clients_lock = threading.Lock()


def shared_client(config: TransportConfig) -> httpx.Client:
    """The one pooled client for this vendor, base URL and timeouts (created on first use). The timeouts
    are part of the key: a client made for another timeout would otherwise answer for this one."""
    key = (config.vendor, config.base_url.rstrip("/"), config.timeout, config.connect_timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None or client.is_closed:
            client = httpx.Client(
                base_url=key[1],
                timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
                limits=httpx.Limits(  # every pooled connection kept alive: a busy sync reuses them instead of reconnecting
                    max_connections=config.max_connections, max_keepalive_connections=config.max_connections
                ),
                follow_redirects=False,
            )
            _clients[key] = client
        return client


def close_all_clients() -> None:
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


class Transport:
    """Sends one request with retries; returns the final httpx.Response (any status but 429/5xx
    on idempotent calls, which are retried and then raised as typed errors)."""

    def __init__(self, config: TransportConfig, *, secrets: Iterable[str | None] = ()) -> None:
        self.config = config
        self._secrets = tuple(s for s in secrets if s)
        self._client = shared_client(config)

    def _retryable(self, idempotent: bool):
        def check(exc: BaseException) -> bool:
            if isinstance(exc, RateLimited):
                return exc.retry_after is None or exc.retry_after <= self.config.retry.max_retry_after
            if isinstance(exc, AmbiguousWrite):
                return False
            return isinstance(exc, Unavailable) and (idempotent or getattr(exc, "not_sent", False))

        return retry_if_exception(check)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        policy = self.config.retry
        return retry_delay(state.attempt_number, retry_after=retry_after, base=policy.base, cap=policy.cap)

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s: retry %d after %s (waiting %.2fs)",
            self.config.vendor,
            state.attempt_number,
            self.redact(str(exc)),
            state.upcoming_sleep,
        )

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def send(self, method: str, path: str, *, idempotent: bool | None = None, **kwargs) -> httpx.Response:
        """`idempotent`: whether a timeout or 5xx may be retried here (default: by the method)."""
        method = method.upper()
        safe = method in IDEMPOTENT if idempotent is None else idempotent
        retrying = Retrying(
            stop=stop_after_attempt(self.config.retry.attempts),
            wait=self._wait,
            retry=self._retryable(safe),
            before_sleep=self._before_sleep,
            reraise=True,
        )
        return retrying(self._send_once, method, path, safe=safe, **kwargs)

    def _send_once(self, method: str, path: str, before_attempt=None, *, safe: bool, **kwargs) -> httpx.Response:
        if before_attempt is not None:
            before_attempt()  # e.g. take a rate-limit slot: every attempt spends one
        started = time.monotonic()
        url, path = path, path.partition("?")[0]  # a query the caller encoded into the path stays out of messages
        try:
            response = self._client.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            err = Unavailable(f"{self.config.vendor}: cannot connect to {self.config.base_url}: {exc}")
            err.not_sent = True  # type: ignore[attr-defined]  # a marker the retry policy reads: the request never left
            raise err from exc
        except httpx.TimeoutException as exc:
            cls = Unavailable if safe else AmbiguousWrite
            raise cls(f"{self.config.vendor}: {method} {path} timed out: {exc}") from exc
        except httpx.TransportError as exc:
            cls = Unavailable if safe else AmbiguousWrite
            raise cls(f"{self.config.vendor}: {method} {path} failed: {exc}") from exc
        if log.isEnabledFor(logging.INFO):  # the redacted URL is built only when someone reads it
            log.info(
                "%s %s %s -> %d (%.0f ms)",
                self.config.vendor,
                method,
                self.redact(str(response.request.url)),
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise RateLimited(f"{self.config.vendor}: rate limited on {method} {path}", retry_after=retry_after)
        if response.status_code >= 500:
            cls = Unavailable if safe else AmbiguousWrite
            raise cls(
                f"{self.config.vendor}: {method} {path} answered {response.status_code}", status=response.status_code
            )
        return response


__all__ = ["IntegrationError", "RetryPolicy", "Transport", "TransportConfig", "redact"]

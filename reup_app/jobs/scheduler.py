"""The worker's scheduler: APScheduler 3.x (UTC) jobs that run only while this worker leads.

Any number of `reup worker` processes may run. They elect one leader through a Redis lease with a
fencing token (`jobs.lease`, `jobs.leader`); the leader's scheduler runs, the standbys' stays
paused, and a standby takes over within the lease TTL plus one poll (about 17 s) of the leader
dying. Without Redis (the embedded default, one worker) the local lease always leads.
Periodic housekeeping keeps its per-slot Redis lock as a second guard; jobs that write for the
leader get its `Fence` and check it in the database.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from reup_app.jobs import dutchie_pushes as _dutchie_pushes  # noqa: F401  registers the outbox handlers
from reup_app.jobs import fleetbase_orders as _fleetbase_orders  # noqa: F401  registers the outbox handler
from reup_app.jobs import housekeeping
from reup_app.jobs import metrc_transfers as _metrc_transfers  # noqa: F401  registers the outbox handler
from reup_app.jobs import webhook_sender as _webhook_sender  # noqa: F401  registers the outbox handler
from reup_app.jobs.email_sender import send_due_emails
from reup_app.jobs.leader import LeaderState, elect_forever
from reup_app.jobs.lease import LocalLease, RedisLease
from reup_app.jobs.locks import JobRun, run_exclusive
from reup_app.models.types import utcnow
from reup_app.security.events import begin_request, new_request_id
from reup_app.services.audit.trail import install_audit_listener
from reup_app.settings import Settings, get_settings

log = logging.getLogger(__name__)


def _send_outbox(fence) -> Any:
    from reup_app.db import get_engine
    from reup_app.jobs.outbox_sender import send_due

    return send_due(get_engine(), fence, concurrency=get_settings().worker_concurrency)


def _run_syncs(fence, status: str | None = None) -> Any:
    from reup_app.db import get_engine
    from reup_app.jobs import dutchie_sync, metrc_packages  # noqa: F401  (register the METRC and Dutchie syncs)
    from reup_app.jobs.sync_registry import run_registered_syncs

    return run_registered_syncs(get_engine(), fence, max_workers=get_settings().worker_concurrency, status=status)


def _follow_metrc_transfers(fence) -> Any:
    from reup_app.db import get_engine
    from reup_app.jobs.metrc_transfer_follow import follow_transfers

    return follow_transfers(get_engine(), fence)


def _process_fleetbase_webhooks() -> Any:
    """Stored Fleetbase events whose in-process kick was lost (or failed): apply them now."""
    from reup_app.services.ordering.fleetbase_inbox import sweep

    return sweep()


def _retry_syncs(fence) -> Any:
    """Connections an admin asked to retry (status "retry"), without waiting for the next full pass."""
    return _run_syncs(fence, status="retry")


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[..., Any]
    trigger: Callable[[], BaseTrigger]
    period_seconds: int  # one run per period across all workers (slot lock) when `exclusive`
    run_at_start: bool = True
    exclusive: bool = True  # take the per-slot Redis lock too
    needs_fence: bool = False  # called as func(fence)


JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        "expire_licenses",
        housekeeping.expire_licenses,
        lambda: CronTrigger(minute=5, timezone=UTC),
        period_seconds=3600,
    ),
    JobSpec(
        "purge_idempotency_keys",
        housekeeping.purge_idempotency_keys,
        lambda: CronTrigger(minute=35, timezone=UTC),
        period_seconds=3600,
    ),
    JobSpec("send_outbox", _send_outbox, lambda: IntervalTrigger(seconds=5), 5, exclusive=False, needs_fence=True),
    JobSpec("run_syncs", _run_syncs, lambda: IntervalTrigger(minutes=5), 300, exclusive=False, needs_fence=True),
    JobSpec(
        "follow_metrc_transfers",
        _follow_metrc_transfers,
        lambda: IntervalTrigger(seconds=get_settings().metrc_transfer_poll_seconds),
        15,
        exclusive=False,
        needs_fence=True,
    ),
    JobSpec(
        "process_fleetbase_webhooks",
        _process_fleetbase_webhooks,
        lambda: IntervalTrigger(seconds=5),
        5,
        exclusive=False,
    ),
    JobSpec("retry_syncs", _retry_syncs, lambda: IntervalTrigger(seconds=15), 15, exclusive=False, needs_fence=True),
    JobSpec(
        "send_due_emails",
        send_due_emails,
        lambda: CronTrigger(second=0, timezone=UTC),  # every minute
        period_seconds=60,
    ),
)


def guarded(spec: JobSpec, redis_url: str | None, leader: LeaderState | None = None) -> Callable[[], JobRun | None]:
    """The callable the scheduler runs: only on the leader, errors logged, not raised."""

    def run() -> JobRun | None:
        begin_request(f"job-{spec.id}-{new_request_id()[:8]}")  # this run's id on its log lines
        try:
            if leader is not None and not leader.is_leader:
                return JobRun(spec.id, False, reason="standby")
            if spec.needs_fence:
                if leader is None:
                    raise RuntimeError(f"job {spec.id} needs the leader's fencing token")
                fence = leader.fence()
                outcome = JobRun(spec.id, True, spec.func(fence))
            elif spec.exclusive:
                outcome = run_exclusive(spec.id, spec.func, redis_url=redis_url, slot_seconds=spec.period_seconds)
            else:
                outcome = JobRun(spec.id, True, spec.func())
        except Exception:
            log.exception("job %s failed", spec.id)
            return None
        if outcome.ran and outcome.result:
            log.info("job %s done: %r", spec.id, outcome.result)
        return outcome

    run.__name__ = f"run_{spec.id}"
    return run


def build_scheduler(
    settings: Settings | None = None, jobs: tuple[JobSpec, ...] = JOBS, leader: LeaderState | None = None
) -> BackgroundScheduler:
    settings = settings or get_settings()
    scheduler = BackgroundScheduler(timezone=UTC)
    for spec in jobs:
        extra = {"next_run_time": utcnow()} if spec.run_at_start else {}
        scheduler.add_job(
            guarded(spec, settings.redis_url, leader),
            trigger=spec.trigger(),
            id=spec.id,
            name=spec.id,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=600,
            replace_existing=True,
            **extra,
        )
    return scheduler


def make_lease(settings: Settings):
    if not settings.redis_url:
        return LocalLease()
    import redis

    return RedisLease(
        redis.Redis.from_url(settings.redis_url),
        ttl_ms=settings.worker_lease_ttl_ms,
        prefix=f"{settings.event_channel}:lease:",
    )


def run_worker(
    settings: Settings | None = None, stop: threading.Event | None = None, jobs: tuple[JobSpec, ...] = JOBS
) -> None:
    """Elect, schedule while leading, and block until SIGINT/SIGTERM (or `stop`)."""
    settings = settings or get_settings()
    install_audit_listener()  # the jobs' writes are audited like the app's
    stop = stop or threading.Event()
    leader = LeaderState(make_lease(settings))
    scheduler = build_scheduler(settings, jobs=jobs, leader=leader)
    scheduler.start(paused=True)

    def _stop(signum, _frame):
        log.info("worker: signal %s, shutting down", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    log.info(
        "worker: %d job(s) (%s); lease %s",
        len(scheduler.get_jobs()),
        ", ".join(j.id for j in scheduler.get_jobs()),
        "Redis" if settings.redis_url else "local (single worker)",
    )
    try:
        elect_forever(
            leader,
            stop,
            on_elected=lambda token: scheduler.resume(),
            on_lost=scheduler.pause,
            poll_seconds=settings.worker_poll_seconds,
        )
    finally:
        scheduler.shutdown(wait=True)

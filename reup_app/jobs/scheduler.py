"""The worker's scheduler: an APScheduler 3.x BlockingScheduler (UTC) running housekeeping jobs.

Every job goes through `reup_app.jobs.locks.run_exclusive`, so with REUP_REDIS_URL set any number
of `reup worker` processes run each job once per period; without Redis, run a single worker.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from reup_app.jobs import housekeeping
from reup_app.jobs.email_sender import send_due_emails
from reup_app.jobs.locks import JobRun, run_exclusive
from reup_app.models.types import utcnow
from reup_app.services.audit.trail import install_audit_listener
from reup_app.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[], Any]
    trigger: Callable[[], CronTrigger]
    period_seconds: int  # one run per period across all workers
    run_at_start: bool = True


JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        "expire_licenses",
        housekeeping.expire_licenses,
        lambda: CronTrigger(minute=5, timezone=UTC),
        period_seconds=3600,
    ),
    JobSpec(
        "send_due_emails",
        send_due_emails,
        lambda: CronTrigger(second=0, timezone=UTC),  # every minute
        period_seconds=60,
    ),
)


def guarded(spec: JobSpec, redis_url: str | None) -> Callable[[], JobRun | None]:
    """The callable the scheduler runs: the job under its Redis lock; errors are logged, not raised."""

    def run() -> JobRun | None:
        try:
            outcome = run_exclusive(spec.id, spec.func, redis_url=redis_url, slot_seconds=spec.period_seconds)
        except Exception:
            log.exception("job %s failed", spec.id)
            return None
        if outcome.ran:
            log.info("job %s done: %r", spec.id, outcome.result)
        return outcome

    run.__name__ = f"run_{spec.id}"
    return run


def build_scheduler(settings: Settings | None = None, jobs: tuple[JobSpec, ...] = JOBS) -> BlockingScheduler:
    settings = settings or get_settings()
    scheduler = BlockingScheduler(timezone=UTC)
    for spec in jobs:
        extra = {"next_run_time": utcnow()} if spec.run_at_start else {}
        scheduler.add_job(
            guarded(spec, settings.redis_url),
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


def run_worker(settings: Settings | None = None) -> None:
    """Start the scheduler and block until SIGINT/SIGTERM."""
    settings = settings or get_settings()
    install_audit_listener()  # the jobs' writes are audited like the app's
    scheduler = build_scheduler(settings)

    def _stop(signum, _frame):
        log.info("worker: signal %s, shutting down", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    log.info(
        "worker: %d job(s) scheduled (%s); Redis lock %s",
        len(scheduler.get_jobs()),
        ", ".join(j.id for j in scheduler.get_jobs()),
        "on" if settings.redis_url else "off (single worker)",
    )
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass

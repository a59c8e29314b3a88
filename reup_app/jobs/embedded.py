"""The job worker inside the app process: the embedded default (`scripts/start.sh`, SQLite, no Redis).

Without Redis the event bus is in-process, so a separate `reup worker` process could not push sync
progress to the browser. With `REUP_EMBEDDED_WORKER=1` and no `REUP_REDIS_URL`, the app runs the
same worker (`jobs.scheduler.run_worker`, local lease: there is one app process) on a daemon
thread for its lifespan. With Redis configured this does nothing: run `reup worker` processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

from reup_app.settings import Settings, get_settings

log = logging.getLogger(__name__)
STOP_TIMEOUT = 30.0


def wanted(settings: Settings) -> bool:
    """Run the jobs in the app process? Only when asked and without Redis."""
    return bool(settings.embedded_worker and not settings.redis_url)


class EmbeddedWorker:
    """`run_worker` on a daemon thread; `stop()` ends it (the scheduler waits for running jobs)."""

    def __init__(self, settings: Settings, jobs: tuple | None = None) -> None:
        self.settings, self.jobs = settings, jobs
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="reup-embedded-worker", daemon=True)

    def _run(self) -> None:
        from reup_app.jobs.scheduler import JOBS, run_worker

        try:
            run_worker(self.settings, stop=self.stop_event, jobs=self.jobs or JOBS)
        except Exception:
            log.exception("embedded worker stopped with an error")

    def start(self) -> EmbeddedWorker:
        log.info("starting the job worker inside the app process (no Redis: embedded default)")
        self.thread.start()
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        self.stop_event.set()
        self.thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()


@contextlib.asynccontextmanager
async def embedded_worker_task(app: Any = None) -> AsyncIterator[EmbeddedWorker | None]:
    """Reflex lifespan task (`app.register_lifespan_task(embedded_worker_task)`)."""
    settings = get_settings()
    if not wanted(settings):
        yield None
        return
    worker = EmbeddedWorker(settings).start()
    try:
        yield worker
    finally:
        await asyncio.to_thread(worker.stop)

"""An ASGI app served over a real socket inside the test process (granian's embedded server on a
thread with its own event loop), so vendor sandboxes can call the app back (webhooks) while the
test shares its database engine, settings and event bus."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx

from tests.sandboxes import free_port


class EmbeddedServer:
    def __init__(self, app, *, health_path: str = "/api/health") -> None:
        from granian.constants import Interfaces
        from granian.server.embed import Server

        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server = Server(app, address="127.0.0.1", port=self.port, interface=Interfaces.ASGINL, log_enabled=False)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"app-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.base_url + health_path, timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("embedded app server did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._server.serve())

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._server.stop)
        self._thread.join(timeout=10)

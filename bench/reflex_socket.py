"""A minimal asyncio client of Reflex's state-sync socket, for benchmarks.

It speaks what the browser speaks: a WebSocket (wsproto, already installed with Reflex) carrying
Engine.IO v4 / Socket.IO v5 packets on the "/_event" namespace, with the client token in the query
string; it opens each connection with the browser's hydrate and sends events as `42/_event,["event", {name, payload, router_data}]` and receives state
updates (`{"delta": ..., "events": ...}`). Light enough to hold hundreds of sessions in one process.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Ping, Request, TextMessage

NAMESPACE = "/_event"
HYDRATE = "reflex___state____state.hydrate_and_load"  # what the browser sends first on every (re)connect


def event(name: str, payload: dict[str, Any], path: str) -> dict[str, Any]:
    """An event as the browser sends it (`path` may carry a query string: "/marketplace?seller=3")."""
    pathname, _, query = path.partition("?")
    params = dict(parse_qsl(query))
    return {"name": name, "payload": payload, "router_data": {"pathname": pathname, "query": params, "asPath": path}}


class ReflexSocket:
    def __init__(self, host: str, port: int, origin: str, on_update: Callable[[ReflexSocket, dict, float], None]):
        self.host, self.port, self.origin = host, port, origin
        self.token = str(uuid.uuid4())
        self.on_update = on_update
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._connected = asyncio.Event()
        self._text: list[str] = []
        self._task: asyncio.Task | None = None
        self.closed = False
        self.path = "/"  # the page this tab is on: its hydrate runs that page's on_load

    async def connect(self, timeout: float = 20.0) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        target = f"{NAMESPACE}/?EIO=4&transport=websocket&token={self.token}"
        self._send_raw(
            self._ws.send(
                Request(
                    host=f"{self.host}:{self.port}", target=target, extra_headers=[(b"origin", self.origin.encode())]
                )
            )
        )
        self._task = asyncio.create_task(self._read_loop())
        await asyncio.wait_for(self._connected.wait(), timeout)

    def _send_raw(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)

    def _send_text(self, text: str) -> None:
        self._send_raw(self._ws.send(TextMessage(data=text)))

    def emit_event(self, name: str, payload: dict[str, Any], path: str = "/") -> None:
        self.path = path
        self._send_text(f"42{NAMESPACE}," + json.dumps(["event", event(name, payload, path)]))

    async def _read_loop(self) -> None:
        assert self._reader is not None
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    break
                received = time.perf_counter()
                self._ws.receive_data(data)
                for ev in self._ws.events():
                    if isinstance(ev, AcceptConnection):
                        pass
                    elif isinstance(ev, TextMessage):
                        self._text.append(ev.data)
                        if ev.message_finished:
                            self._packet("".join(self._text), received)
                            self._text = []
                    elif isinstance(ev, Ping):
                        self._send_raw(self._ws.send(ev.response()))
                    elif isinstance(ev, CloseConnection):
                        return
        finally:
            self.closed = True

    def _packet(self, packet: str, received: float) -> None:
        kind = packet[:1]
        if kind == "0":  # Engine.IO open: join the namespace
            self._send_text(f"40{NAMESPACE},")
        elif kind == "2":  # Engine.IO ping
            self._send_text("3")
        elif packet.startswith(f"40{NAMESPACE}"):  # joined: hydrate first, as the browser does
            self._send_text(f"42{NAMESPACE}," + json.dumps(["event", event(HYDRATE, {}, self.path)]))
        elif packet.startswith(f"42{NAMESPACE},"):
            name, *args = json.loads(packet[len(NAMESPACE) + 3 :])
            if name != "event" or not args:
                return
            if not self._connected.is_set():  # the hydrate's snapshot: connected
                if args[0].get("delta"):
                    self._connected.set()
                return
            self.on_update(self, args[0], received)

    async def close(self) -> None:
        if self._writer is not None and not self.closed:
            try:
                self._send_text("41" + NAMESPACE + ",")
                self._writer.close()
            except Exception:
                pass
        if self._task is not None:
            self._task.cancel()

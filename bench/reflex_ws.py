"""A blocking client of Reflex's state-sync socket (websocket-client), for locust users (gevent)
and threaded fault tests; the asyncio twin is bench/reflex_socket.py.

`Tab` is one browser tab: a client token kept across reconnects, each (re)connect opened with the
hydrate the browser sends, events sent as the browser sends them
(`42/_event,["event", {name, payload, router_data}]`), state deltas received. `Shopper`
is a signed-in retailer tab that browses the catalog and places one-line orders through the real
pages' event handlers (product page -> add to cart -> cart -> place orders).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import websocket

from bench.reflex_socket import HYDRATE, NAMESPACE
from bench.reflex_socket import event as _event


class TabClosed(ConnectionError):
    pass


def event_names() -> dict[str, str]:
    """Event handler names and state keys as the compiled frontend sends them."""
    from reflex_base.utils.format import format_event_handler

    from reup_app.state.auth import AuthState
    from reup_app.state.cart import CartState
    from reup_app.state.catalog import CatalogState
    from reup_app.state.product import ProductState

    return {
        "login": format_event_handler(AuthState.login),
        "finish_restore": format_event_handler(AuthState.finish_restore),
        "catalog_load": format_event_handler(CatalogState.load),
        "product_load": format_event_handler(ProductState.load),
        "set_quantity": format_event_handler(ProductState.set_quantity),
        "add_to_cart": format_event_handler(ProductState.add_to_cart),
        "cart_load": format_event_handler(CartState.load),
        "place_orders": format_event_handler(CartState.place_orders),
        "auth": AuthState.get_full_name(),
        "product": ProductState.get_full_name(),
        "cart": CartState.get_full_name(),
        "catalog": CatalogState.get_full_name(),
    }


_GRANT = re.compile(r"/api/auth/session'.*grant: '([^']+)'")


def field(delta: dict, state: str, name: str) -> Any:
    sub = delta.get(state) or {}
    for key, value in sub.items():
        if key == name or key.startswith(name + "_rx_state"):
            return value
    return None


class Tab:
    def __init__(self, base_ws: str, origin: str, timeout: float = 15.0) -> None:
        self.base_ws, self.origin, self.timeout = base_ws.rstrip("/"), origin, timeout
        self.token = str(uuid.uuid4())
        self.ws: websocket.WebSocket | None = None
        self.connects = 0
        self.path = "/login"  # the page this tab is on: its hydrate runs that page's on_load
        # the browser's sessionStorage: client-storage vars (state, var) -> value, kept from the
        # deltas and sent back with every hydrate, as the browser does
        self.storage: dict[tuple[str, str], Any] = {}
        self.scripts: list[str] = []  # the scripts the server asked this tab to run (newest last)

    def connect(self) -> None:
        url = f"{self.base_ws}{NAMESPACE}/?EIO=4&transport=websocket&token={self.token}"
        ws = websocket.create_connection(
            url, origin=self.origin, timeout=self.timeout, enable_multithread=False, skip_utf8_validation=True
        )  # websocket-client checks UTF-8 in pure Python: most of a load generator's CPU; the browser does it in C
        try:
            while True:
                packet = ws.recv()
                if packet.startswith("0"):
                    ws.send(f"40{NAMESPACE},")
                elif packet.startswith(f"40{NAMESPACE}"):
                    break
            stored = {f"{state}.{var}": value for (state, var), value in self.storage.items() if value}
            ws.send(f"42{NAMESPACE}," + json.dumps(["event", _event(HYDRATE, {"vars": stored}, self.path)]))
            while True:  # its answer: the state snapshot (then the page's on_load runs)
                packet = ws.recv()
                if packet == "2":
                    ws.send("3")
                elif packet.startswith(f"42{NAMESPACE},") and '"delta"' in packet:
                    break
        except Exception:
            ws.close()
            raise
        self.ws, self.connects = ws, self.connects + 1

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.shutdown()  # drop the socket; no close handshake to wait for
            except Exception:
                pass
        self.ws = None

    def emit(self, name: str, payload: dict[str, Any], path: str) -> None:
        if self.ws is None:
            self.connect()
        assert self.ws is not None
        self.path = path
        self.ws.send(f"42{NAMESPACE}," + json.dumps(["event", _event(name, payload, path)]))

    def wait(self, done: Callable[[dict], bool], timeout: float | None = None) -> dict:
        """Read updates until `done(delta)`; answer pings. TabClosed when the socket drops."""
        assert self.ws is not None
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            try:
                self.ws.settimeout(max(0.1, deadline - time.monotonic()))
                packet = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                break
            except Exception as err:
                self.close()
                raise TabClosed(str(err)) from err
            if not packet:
                self.close()
                raise TabClosed("closed")
            if packet == "2":
                self.ws.send("3")
            elif packet.startswith(f"42{NAMESPACE},"):
                name, *args = json.loads(packet[len(NAMESPACE) + 3 :])
                if name != "event" or not args:
                    continue
                delta = args[0].get("delta") or {}
                for ev in args[0].get("events") or []:
                    if code := (ev.get("payload") or {}).get("javascript_code"):
                        self.scripts = [*self.scripts[-9:], str(code)]
                for state, var in self.storage:
                    if (value := field(delta, state, var)) is not None:
                        self.storage[(state, var)] = value
                if done(delta):
                    return delta
        raise TimeoutError("no answer in time")

    def call(self, name: str, payload: dict[str, Any], path: str, done: Callable[[dict], bool]) -> dict:
        self.emit(name, payload, path)
        return self.wait(done)


class SessionCookie:
    """One signed-in user's session cookie, shared by that user's tabs as the browser shares it:
    the first tab signs in with the password and trades its grant for the cookie
    (/api/auth/session); later tabs restore from it (/api/auth/restore, which rotates it), one at
    a time, as the page's Web Lock makes them."""

    NAME = "reup_session"

    def __init__(self, base_http: str, origin: str) -> None:
        self.base_http, self.origin = base_http.rstrip("/"), origin
        self.value = ""
        self.lock = threading.Lock()

    def post(self, path: str, body: dict | None = None) -> httpx.Response:
        headers = {"X-ReUp-Auth": "1", "Origin": self.origin}
        if self.value:
            headers["Cookie"] = f"{self.NAME}={self.value}"
        r = httpx.post(f"{self.base_http}{path}", json=body or {}, headers=headers, timeout=30)
        if value := r.cookies.get(self.NAME):
            self.value = value
        return r


class Shopper:
    """A signed-in retailer tab: browse the catalog, order one unit of a product."""

    def __init__(self, tab: Tab, email: str, password: str, names: dict[str, str] | None = None) -> None:
        self.tab, self.email, self.password = tab, email, password
        self.n = names or event_names()
        self.tab.storage.setdefault((self.n["cart"], "checkout_key"), "")

    def sign_in(self) -> None:
        n = self.n
        form = {"form": {"email": self.email, "password": self.password}}
        self.tab.call(n["login"], form, "/login", lambda d: bool(field(d, n["auth"], "signed_in")))

    def open_signed_in(self, cookie: SessionCookie) -> None:
        """This user's tab signed in the way the browser does it: the user's first tab with the
        password (then the cookie is set), every other tab restored from the session cookie."""
        with cookie.lock:
            if not cookie.value:
                self.sign_in()
                deadline = time.monotonic() + self.tab.timeout
                grant = None
                while grant is None and time.monotonic() < deadline:
                    grant = next((m.group(1) for c in self.tab.scripts if (m := _GRANT.search(c))), None)
                    if grant is None:  # the script may come after the signed-in delta
                        try:
                            self.tab.wait(lambda _d: any(_GRANT.search(c) for c in self.tab.scripts), timeout=1)
                        except TimeoutError:
                            pass
                if grant is None:
                    raise RuntimeError("no session grant after sign-in")
                cookie.post("/api/auth/session", {"grant": grant}).raise_for_status()
                return
            r = cookie.post("/api/auth/restore")
            r.raise_for_status()
            code = r.json()["code"]
        n = self.n
        self.tab.call(
            n["finish_restore"], {"code": code}, "/marketplace", lambda d: bool(field(d, n["auth"], "signed_in"))
        )

    def browse(self, path: str = "/marketplace") -> dict:
        n = self.n
        return self.tab.call(n["catalog_load"], {}, path, lambda d: field(d, n["catalog"], "loaded") is not None)

    def add_one(self, product_id: int) -> str:
        n, path = self.n, f"/products/{product_id}"
        self.tab.call(n["product_load"], {}, path, lambda d: field(d, n["product"], "loaded") is not None)
        self.tab.emit(n["set_quantity"], {"value": "1"}, path)

        def added(d: dict) -> bool:
            return bool(field(d, n["product"], "cart_message") or field(d, n["product"], "cart_error"))

        d = self.tab.call(n["add_to_cart"], {}, path, added)
        return str(field(d, n["product"], "cart_error") or "")

    def load_cart(self) -> dict:
        n = self.n
        return self.tab.call(n["cart_load"], {}, "/cart", lambda d: field(d, n["cart"], "loaded") is not None)

    def cart_items(self) -> int:
        """Load the cart page: how many items are in the cart (RuntimeError with the page's error)."""
        return self.cart_page()[0]

    def cart_page(self) -> tuple[int, list[str]]:
        """Load the cart page: (items in the cart, orders of a checkout whose answer was lost and
        that the page now confirms). RuntimeError with the page's error."""
        n = self.n

        def answered(d: dict) -> bool:
            return field(d, n["cart"], "loaded") is not None or bool(field(d, n["cart"], "error"))

        d = self.tab.call(n["cart_load"], {}, "/cart", answered)
        if field(d, n["cart"], "loaded") is None:
            raise RuntimeError(str(field(d, n["cart"], "error")))
        confirmed = [str(o["number"]) for o in field(d, n["cart"], "placed") or []]
        return int(field(d, n["cart"], "item_count") or 0), confirmed

    def place(self) -> tuple[list[str], str]:
        """(order numbers placed, error shown). Waits for the handler's final answer."""
        n = self.n

        def answered(d: dict) -> bool:
            msg, err = field(d, n["cart"], "message"), field(d, n["cart"], "error")
            return bool(msg and str(msg).startswith("Placed")) or bool(err)

        d = self.tab.call(n["place_orders"], {}, "/cart", answered)
        msg = str(field(d, n["cart"], "message") or "")
        if msg.startswith("Placed "):  # "Placed 2 orders."; the numbers are in the confirmation list
            return [str(o["number"]) for o in field(d, n["cart"], "placed") or []], ""
        return [], str(field(d, n["cart"], "error") or "")

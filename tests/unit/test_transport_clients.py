"""One pooled httpx client per vendor, base URL and timeouts: a client made for one timeout never
answers for another (a short-timeout caller must not inherit a long-timeout client)."""

from __future__ import annotations

from reup_app.integrations.http.transport import TransportConfig, close_all_clients, shared_client


def test_clients_are_shared_per_timeout():
    try:
        long_a = shared_client(TransportConfig("metrc", "http://127.0.0.1:9/", timeout=20.0))
        long_b = shared_client(TransportConfig("metrc", "http://127.0.0.1:9", timeout=20.0))
        short = shared_client(TransportConfig("metrc", "http://127.0.0.1:9", timeout=2.0))
        assert long_a is long_b
        assert short is not long_a
        assert short.timeout.read == 2.0 and long_a.timeout.read == 20.0
    finally:
        close_all_clients()

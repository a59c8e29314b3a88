"""Clients for outside systems (METRC, Dutchie, Fleetbase), in stripe-python's three layers:

- `http/`: the shared transport (httpx, timeouts, pooling, retries via tenacity with
  `reup_app.backoff` waits, credential-redacting logs), the shared rate limiter and the requestor
  base (auth, status -> typed errors in `errors.py`);
- one package per vendor (`metrc/`, ...) with its requestor conventions and typed resources.
Nothing here imports reflex or opens a database session.
"""

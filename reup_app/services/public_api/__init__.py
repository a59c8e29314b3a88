"""The public REST API's business side (the FastAPI layer is reup_app/api/v1/).

- `keys`: a business's API keys (created and shown once, listed, revoked) and resolving a presented
  key to a Principal (`authenticate`; `held_identity` for a key resolved before), with the per-key
  rate limit (`enforce_rate_limit`).
- `idempotency`: the Idempotency-Key of a POST. `claim_for` names the request's record (key, route,
  request hash); `stored` answers a key already done before anything runs (a different request with
  the key: `IdempotencyMismatch`, 422); `record` writes the answer in the effect's own transaction,
  after the effect, so both commit or neither; `KeyTaken` means a concurrent request with the key
  committed first (roll back, replay its answer). `purge_expired` forgets records after 24 hours.
- `feeds`: keyset-paginated lists sorted by (updated_at, id) with opaque cursors and
  `updated_since` (orders, products, lots); `trade_feeds`: invoices (by created_at), manifests and
  deliveries the same way, plus counterparties (customers, vendors) and the business's own licences.
- `order_create`: POST /orders, the lines through the key's own cart and the pages' checkout rules.
- `webhooks`: outgoing webhook endpoints (subscribe, list, delete, resend), the pre-commit writer
  that turns domain events into signed deliveries through the outbox, and the delivery log.

Import the modules directly (`from reup_app.services.public_api import keys`).
"""

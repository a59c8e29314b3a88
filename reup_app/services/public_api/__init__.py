"""The public REST API's business side (the FastAPI layer is reup_app/api/v1/).

- `keys`: a business's API keys (create shown once, list, revoke) and resolving a presented key to
  a Principal (`authenticate`), with the per-key rate limit.
- `idempotency`: Stripe-style Idempotency-Key records (`begin`, `complete`, `abandon`).
- `webhooks`: outgoing webhook endpoints (subscribe, list, delete, resend), the pre-commit writer
  that turns domain events into signed deliveries through the outbox, and the delivery log.
- `pagination`: opaque cursors for stable keyset pagination.

Import the modules directly (`from reup_app.services.public_api import keys`).
"""

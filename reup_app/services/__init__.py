"""The service layer: business rules and authorization. Never imports reflex.

Every public function takes a `Session` (from `reup_app.db.unit_of_work`) and a `Principal`.
Find a rule by its business name; each package's ``__init__`` lists its modules and re-exports
their public functions (``from reup_app.services.ordering import checkout``).

- `identity/`: accounts and access -- sign-up and moderation of businesses (`signup`), sign-in and
  the MFA challenge (`sign_in`), sessions and tokens (`auth`), the browser cookie and per-tab
  sessions (`browser_sessions`), passwords (`password_reset`), two-factor settings
  (`mfa_settings`), teams and invitations (`team`), the user's profile (`profile`), platform
  admin of users (`admin_users`), the principal cache (`principal_cache`).
- `catalog/`: what sellers list and buyers find -- a seller's products (`products`,
  `product_fields`, `product_csv`, `images`), price tiers and the price a buyer pays
  (`price_tiers`, `pricing`), the marketplace search (`search`, `catalog_query`, `fulltext`,
  `facets`) and the product page (`product_detail`).
- `ordering/`: from cart to delivered order -- the cart (`cart`, `cart_view`), checkout
  (`checkout_flow`, `checkout_plans`, `checkout_licenses`), the order state machine (`orders`,
  `transition`) and its side effects (`transition_effects`), seller line edits (`line_edits`), reading orders
  (`order_views`, `records`), reorder (`reordering`), order messages (`messages`), and the
  shipping seam to METRC and delivery vendors (`shipping`).
- `billing/`: invoices (`invoices`, `invoice_pdf`, `download_tickets`), payments and buyer
  credit holds (`payments`), wholesale tax (`tax`).
- `inventory/`: stock reservations and consumption (`lots`), a seller's lots (`lot_management`),
  the packages picked at fulfillment (`package_allocation`).
- `notifications/`: the in-app inbox (`inbox`), notification preferences (`preferences`), the
  e-mail sender (`email`).
- `audit/`: the audit trail written at the ORM layer (`trail`) and reading it (`log_listing`).
- `compliance/`: license lifecycle rules (`licenses`); the state-system (METRC) rules the vendor
  integrations bring go here.
- `documents/`: what a business uploads for its review (`business_documents`) and the platform
  admin's review of each licence (`license_review`).
- `integrations/`: telling vendors (METRC, Dutchie, Fleetbase): the outbox (`outbox`) and the
  admin error queue of background work (`error_queue`).
- `reporting/`: dashboards and sales reports (`dashboards`).
- `common.py`: parsing and authorization helpers every domain uses; `private_files.py`: private
  storage and content checks of uploads; `file_tickets.py`: issuing
  single-use download tickets (billing redeems them); `lazy_exports.py`: how the packages
  re-export without import cycles.

Size rule (tests/unit/test_code_shape.py): no module here over 400 lines, no function over 60
unless the line above its ``def`` says ``# long: <reason>``.
"""

# Hooks every process that runs a service needs: the notification writer joins each transaction
# that emits events (it registers with `reup_app.events.core.register_precommit` when imported;
# the events layer never imports the services).
# The METRC manifest number reaches the Fleetbase order the same way (services/logistics/fleetbase_manifest.py).
from reup_app.services.logistics import fleetbase_manifest as _fleetbase_manifest  # noqa: F401
from reup_app.services.notifications import inbox as _notification_writer  # noqa: F401

# The webhook publisher joins each transaction that emits events, the same way (services/public_api/webhooks.py).
from reup_app.services.public_api import webhooks as _webhook_publisher  # noqa: F401

"""The service layer: business rules and authorization. Never imports reflex.

Every public function takes a `Session` (from `reup_app.db.unit_of_work`) and a `Principal`.
"""

# Hooks every process that runs a service needs: the notification writer joins each transaction
# that emits events (it registers with `reup_app.events.core.register_precommit` when imported;
# the events layer never imports the services).
from reup_app.services.notifications import inbox as _notification_writer  # noqa: F401

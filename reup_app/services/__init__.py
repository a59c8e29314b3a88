"""The service layer: business rules and authorization. Never imports reflex.

Every public function takes a `Session` (from `reup_app.db.unit_of_work`) and a `Principal`.
"""

"""Reflex State classes. They validate browser input and call services; no business rules here."""

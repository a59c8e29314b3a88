"""Reusable UI pieces (no state of their own)."""

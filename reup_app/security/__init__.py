"""Authentication, authorization and cryptography. Never imports reflex."""

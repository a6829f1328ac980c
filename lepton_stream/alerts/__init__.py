"""Alerts: built from detector findings, claimed once in Redis, published through an outbox."""

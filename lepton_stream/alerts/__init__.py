"""Alerts: the records built from detector findings and their text for a terminal (claimed and published by
state/monitor.py and state/outbox.py)."""

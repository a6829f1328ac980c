"""Windowed per-subject state in Redis: event-time buckets, idempotent per message, Cluster-ready keys."""

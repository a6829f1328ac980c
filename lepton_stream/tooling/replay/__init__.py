"""Replaying streams: a generator of realistic synthetic streams and a rate-limited producer."""

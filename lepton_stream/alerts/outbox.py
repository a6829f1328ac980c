"""Publishing claimed alerts exactly once in practice.

An alert is claimed (SET NX, in the detector's compare-and-set script) and listed in an outbox sorted
set in the same pipelined round trip. It leaves the outbox only after the broker acknowledged it. If a
pod dies in between, any pod's next batch finds the entry older than `grace_s` and publishes it again,
so a claimed alert is never lost; a duplicate needs a crash between the flush and the removal.
"""

from __future__ import annotations

import time

import redis

from lepton_stream import logs
from lepton_stream.state import cluster, scripts

log = logs.get(__name__)

LEASE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], m) end
return due
"""
_LEASE = scripts.Lua(LEASE)


class Outbox:
    def __init__(self, client: redis.Redis, prefix: str, kind: str, grace_s: float = 30.0, batch: int = 100):
        self.client, self.grace_s, self.batch = client, grace_s, batch
        self.key = f"{prefix}outbox:{kind}"

    def add(self, entries: list[str]) -> scripts.Step:
        """A pipeline step listing the entries: "<alert key>|<claim token>"; the alert key holds
        "<claim token>\n<alert JSON>"."""
        return lambda pipe: pipe.zadd(self.key, {e: time.time() for e in entries}, nx=True)

    def overdue(self) -> list[tuple[str, str]]:
        """Entries whose publisher has not confirmed within grace_s: leased to us, with their alert JSON."""
        now = time.time()
        leased = scripts.run(self.client, _LEASE([self.key], [now - self.grace_s, now, self.batch]))
        entries = [e.decode() for e in leased]
        if not entries:
            return []
        values = cluster.mget(self.client, [e.rsplit("|", 1)[0] for e in entries])  # subjects' slots differ
        due, stale = [], []
        for e, v in zip(entries, values, strict=True):
            token, _, body = (v or b"").decode().partition("\n")
            # Only the attempt whose token won the claim publishes; losers' entries are dropped.
            (due if v is not None and token == e.rsplit("|", 1)[1] else stale).append((e, body))
        if stale:
            self.client.zrem(self.key, *[e for e, _ in stale])
        return due

    def confirm(self, entries: list[str]) -> None:
        if not entries:
            return
        try:
            self.client.zrem(self.key, *entries)
        except cluster.ERRORS as exc:  # the entry stays; it may be re-published once (never lost)
            log.warning("outbox_confirm_failed", error=type(exc).__name__, n=len(entries))

"""Publishing claimed alerts exactly once in practice.

An alert is claimed (SET NX, in the detector's compare-and-set script) and listed in an outbox sorted set in
the same pipelined round trip, under the name of the pod that claimed it. It leaves the outbox only after the
broker acknowledged it.

Ownership is explicit: each pod holds a lease in the outbox's owners hash (its expiry time) and renews it
while its loop runs, retries included (`renew`, called from the poll loop). Another pod re-publishes an entry
only once the entry is older than `grace_s` AND its owner's lease has lapsed: a pod that died (or stalled
longer than its lease) never confirms, so a claimed alert is never lost; a live pod that is merely slow (a
batch retried for minutes while the broker is down) keeps its entries, so its alerts are not published twice.
A duplicate needs a crash between the broker's acknowledgement and the removal, or a stall longer than the
lease; subscribers that must never see one de-duplicate by `alert_id` (stable per alert).
"""

from __future__ import annotations

import time

import redis

from lepton_stream import logs
from lepton_stream.state import cluster, scripts

log = logs.get(__name__)

# KEYS: outbox, owners. ARGV: due before, now, limit, our name, lease expiry of ours.
# Members are "<entry>#<owner>"; entries of owners whose lease lapsed are re-listed as ours and returned.
TAKE_OVER = """
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local now = tonumber(ARGV[2])
local taken = {}
for _, m in ipairs(due) do
  local entry, owner = string.match(m, '^(.*)#([^#]*)$')
  if entry == nil then entry, owner = m, '' end
  local lease = tonumber(redis.call('HGET', KEYS[2], owner) or '0')
  if owner == ARGV[4] or lease < now then
    redis.call('ZREM', KEYS[1], m)
    redis.call('ZADD', KEYS[1], now, entry .. '#' .. ARGV[4])
    if owner ~= ARGV[4] and owner ~= '' then redis.call('HDEL', KEYS[2], owner) end
    table.insert(taken, entry)
  end
end
return taken
"""
_TAKE_OVER = scripts.Lua(TAKE_OVER)


class Outbox:
    def __init__(self, client: redis.Redis, prefix: str, kind: str, grace_s: float = 30.0, batch: int = 100,
                 owner: str = "", clock=time.time):  # fmt: skip
        self.client, self.grace_s, self.batch, self.clock = client, grace_s, batch, clock
        # One hash tag for both keys: the take-over script reads them together (Redis Cluster: one slot).
        self.key = f"{prefix}outbox:{{{kind}}}"
        self.owners_key = f"{prefix}outbox-owners:{{{kind}}}"
        self.owner = owner.replace("#", "_") or f"anon-{id(self):x}"
        self._renewed_at = float("-inf")

    def _member(self, entry: str) -> str:
        return f"{entry}#{self.owner}"

    def add(self, entries: list[str]) -> scripts.Step:
        """A pipeline step listing the entries: "<alert key>|<claim token>"; the alert key holds
        "<claim token>\n<alert JSON>"."""
        return lambda pipe: pipe.zadd(self.key, {self._member(e): self.clock() for e in entries}, nx=True)

    def renew(self, force: bool = False) -> None:
        """Extend this pod's lease (at most every grace/4 seconds unless forced); a Redis error is left to the
        next call: the lease is long enough to ride out a short outage."""
        now = self.clock()
        if not force and now - self._renewed_at < self.grace_s / 4:
            return
        self._renewed_at = now  # a failed renewal is tried again later, not on every poll
        try:
            self.client.hset(self.owners_key, self.owner, repr(now + self.grace_s))
        except cluster.ERRORS as exc:
            log.warning("outbox_lease_renew_failed", error=type(exc).__name__)

    def overdue(self) -> list[tuple[str, str]]:
        """Entries older than grace_s whose owner's lease lapsed (or our own): taken over, with their alert JSON."""
        now = self.clock()
        self._renewed_at = now  # the script renews our lease too
        taken = scripts.run(self.client, _TAKE_OVER([self.key, self.owners_key],
                                                     [now - self.grace_s, now, self.batch, self.owner,
                                                      repr(now + self.grace_s)]))  # fmt: skip
        entries = [e.decode() for e in taken]
        if not entries:
            return []
        values = cluster.mget(self.client, [e.rsplit("|", 1)[0] for e in entries])  # subjects' slots differ
        due, stale = [], []
        for e, v in zip(entries, values, strict=True):
            token, _, body = (v or b"").decode().partition("\n")
            # Only the attempt whose token won the claim publishes; losers' entries are dropped.
            (due if v is not None and token == e.rsplit("|", 1)[1] else stale).append((e, body))
        if stale:
            self.client.zrem(self.key, *[self._member(e) for e, _ in stale])
        return due

    def confirm(self, entries: list[str]) -> None:
        if not entries:
            return
        try:
            self.client.zrem(self.key, *[self._member(e) for e in entries])
        except cluster.ERRORS as exc:  # the entry stays; it may be re-published once (never lost)
            log.warning("outbox_confirm_failed", error=type(exc).__name__, n=len(entries))

"""Event-time buckets of counts per label, per subject (an entity or a support intent), in Redis.

Every key of one subject carries the hash tag `{<kind>:<subject>}`, so the per-batch script never spans
Redis Cluster slots. The script applies each event at most once: beside the buckets it keeps, per input
partition, the offset of the last record applied to that subject, and applies only records past it. A partition
is consumed in offset order by one pod at a time, and a redelivery (a retry, a restart, a rebalance, two pods
briefly sharing a partition) replays offsets in order, so "past the last applied offset" is exactly "not yet
applied". That state is bounded by subjects x partitions, and it does not expire with the wall clock: a
partition that stalls for days still does not double-count. (One guard key per message, kept for the allowed
lateness, took about 113 MB per million events and forgot what it guarded after 2.2 hours.)

    <prefix>{news:TSM}:b:<bucket start>    hash: n, <label> counts, sum:<label> scores (label "n": counted once,
                                           in n: a support intent's messages)
    <prefix>{news:TSM}:ev:<bucket start>   list: evidence (newest first, capped) of the alerting label
    <prefix>{news:TSM}:o                   hash: <topic>:<partition> -> last offset applied to this subject
    <prefix>wm:<kind>                      hash: newest event time per input partition; watermark = min
    <prefix>pending:<kind>                 sorted set: subjects with buckets not yet scored (score: newest)
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import orjson
import redis

from lepton_stream import metrics
from lepton_stream.state import scripts

# KEYS[1]: the subject's offsets hash; then per event its bucket and evidence keys.
# ARGV: n, bucket ttl, evidence cap, then per event: partition, offset, label, score, evidence.
APPLY = """
local n_events = tonumber(ARGV[1])
local bucket_ttl, ev_cap = tonumber(ARGV[2]), tonumber(ARGV[3])
local applied = 0
local last = {}
for i = 1, n_events do
  local bucket, evkey = KEYS[2 * i], KEYS[2 * i + 1]
  local base = 3 + 5 * (i - 1)
  local part, offset = ARGV[base + 1], tonumber(ARGV[base + 2])
  local label, score, evidence = ARGV[base + 3], ARGV[base + 4], ARGV[base + 5]
  if last[part] == nil then last[part] = tonumber(redis.call('HGET', KEYS[1], part) or '-1') end
  if offset > last[part] then
    last[part] = offset
    redis.call('HINCRBY', bucket, 'n', 1)
    if label ~= 'n' then redis.call('HINCRBY', bucket, label, 1) end
    redis.call('HINCRBYFLOAT', bucket, 'sum:' .. label, score)
    redis.call('EXPIRE', bucket, bucket_ttl)
    if evidence ~= '' then
      redis.call('LPUSH', evkey, evidence)
      redis.call('LTRIM', evkey, 0, ev_cap - 1)
      redis.call('EXPIRE', evkey, bucket_ttl)
    end
    applied = applied + 1
  end
end
for part, offset in pairs(last) do redis.call('HSET', KEYS[1], part, offset) end
redis.call('EXPIRE', KEYS[1], bucket_ttl)
return applied
"""

# The non-empty buckets among KEYS, as (position in KEYS, HGETALL) pairs: one call per subject instead of one
# per bucket (a subject seen after a gap replays up to max_fill mostly empty buckets).
READ_BUCKETS = """
local out = {}
for i, k in ipairs(KEYS) do
  local h = redis.call('HGETALL', k)
  if #h > 0 then
    out[#out + 1] = i
    out[#out + 1] = h
  end
end
return out
"""

# Per input partition: the newest event time seen, suffixed "!" while the partition is caught up (idle).
# The watermark is the smallest of the active partitions: one that lags (a replay, a slow pod) holds event
# time back instead of having its events counted late, and one not read yet ("0") holds it at zero. An idle
# partition does not hold time back. With every partition idle, it is the newest time seen.
# No time is taken beyond ARGV[1], the wall clock plus the allowed skew, and a stored time beyond it (written
# before the bound, or by a clock gone wrong) is brought back to it: one event from the future must not make
# every current event late for good.
# ARGV: cap, n, then n (partition, newest) pairs, then the partition states "<partition>=<behind|idle|unknown>".
RAISE_WATERMARK = """
local cap = tonumber(ARGV[1])
local function watermark()
  local low, high = nil, 0
  for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
    local x = tonumber((string.gsub(v, '!', '')))
    if x > high then high = x end
    if string.sub(v, -1) ~= '!' and (low == nil or x < low) then low = x end
  end
  return low or high
end
for _, p in ipairs(redis.call('HKEYS', KEYS[1])) do
  local v = redis.call('HGET', KEYS[1], p)
  if tonumber((string.gsub(v, '!', ''))) > cap then
    redis.call('HSET', KEYS[1], p, string.sub(v, -1) == '!' and (tostring(cap) .. '!') or tostring(cap))
  end
end
local before = watermark()
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  local p, ts = ARGV[3 + 2 * i], math.min(tonumber(ARGV[4 + 2 * i]), cap)
  local cur = tonumber((string.gsub(redis.call('HGET', KEYS[1], p) or '-1', '!', '')))
  if ts > cur then redis.call('HSET', KEYS[1], p, tostring(ts)) end
end
for i = 3 + 2 * n, #ARGV do
  local p, st = string.match(ARGV[i], '^(.*)=(%a+)$')
  local v = redis.call('HGET', KEYS[1], p)
  if not v then
    redis.call('HSET', KEYS[1], p, st == 'idle' and '0!' or '0')
  else
    local base = string.gsub(v, '!', '')
    redis.call('HSET', KEYS[1], p, st == 'idle' and (base .. '!') or base)
  end
end
return {tostring(before), tostring(watermark())}
"""

_APPLY, _READ_BUCKETS, _RAISE_WATERMARK = scripts.Lua(APPLY), scripts.Lua(READ_BUCKETS), scripts.Lua(RAISE_WATERMARK)


@dataclass(frozen=True, slots=True)
class Event:
    partition: str  # "<topic>:<partition>" of the input record: watermarks are tracked per partition
    subject: str
    msg_id: str
    ts: float  # event time, epoch seconds
    label: str  # "n": the message only counts (it is not counted a second time under its label)
    score: float = 1.0
    evidence: dict | None = None  # kept for alerts: id, masked text, confidence
    # of the input record in its partition: what makes a redelivered event a no-op
    offset: int = field(kw_only=True)


def part(item) -> str:
    return f"{item.record.topic}:{item.record.partition}"


class WindowStore:
    def __init__(self, client: redis.Redis, prefix: str, kind: str, window_s: int, lateness_s: int,
                 retention_s: int = 8 * 86400, evidence_cap: int = 10, max_skew_s: float = 600.0,
                 clock=time.time):  # fmt: skip
        self.client, self.prefix, self.kind = client, prefix, kind
        self.max_skew_s, self.clock = max_skew_s, clock
        self.window_s, self.lateness_s = window_s, lateness_s
        self.retention_s, self.evidence_cap = retention_s, evidence_cap

    def key(self, subject: str, suffix: str) -> str:
        return f"{self.prefix}{{{self.kind}:{subject}}}:{suffix}"

    def watermark_key(self) -> str:
        return f"{self.prefix}wm:{self.kind}"

    def watermarks(self) -> dict[str, str]:
        """Each input partition's newest event time as stored ("!" = caught up): for operators."""
        return {k.decode(): v.decode() for k, v in self.client.hgetall(self.watermark_key()).items()}

    def reset_watermark(self, partition: str | None = None) -> int:
        """Forget the stored event time of one partition (or all): it is taken afresh from the next events."""
        key = self.watermark_key()
        return int(self.client.hdel(key, partition) if partition else self.client.delete(key))

    def bucket(self, ts: float) -> int:
        return int(ts // self.window_s) * self.window_s

    def raise_watermark(self, newest: dict[str, float], states: dict[str, str] | None = None) -> tuple[float, float]:
        """Record each partition's newest event time and, where known, whether it is caught up ("idle") or
        "behind"; return the watermark (min over active partitions) before and after."""
        args: list[object] = [repr(float(self.clock() + self.max_skew_s)), len(newest)]
        args += [x for part, ts in newest.items() for x in (part, repr(float(ts)))]
        args += [f"{part}={st}" for part, st in (states or {}).items()]
        before, after = scripts.run(self.client, _RAISE_WATERMARK([self.watermark_key()], args))
        return float(before), float(after)

    def apply(self, events: list[Event], watermark: float) -> tuple[int, int]:
        """Apply events in one pipelined round trip (one script call per subject). Returns (applied, late)."""
        by_subject: dict[str, list[Event]] = defaultdict(list)
        late = 0
        for e in events:
            if e.ts < watermark - self.lateness_s:
                late += 1
            else:
                by_subject[e.subject].append(e)
        if late:
            metrics.LATE_EVENTS_DROPPED.inc(late)
        if not by_subject:
            return 0, late
        calls = []
        for subject, evs in by_subject.items():
            keys: list[str] = [self.key(subject, "o")]
            args: list[object] = [len(evs), self.retention_s, self.evidence_cap]
            for e in evs:
                b = self.bucket(e.ts)
                keys += [self.key(subject, f"b:{b}"), self.key(subject, f"ev:{b}")]
                args += [e.partition, e.offset, e.label, repr(float(e.score)),
                         orjson.dumps(e.evidence) if e.evidence else ""]  # fmt: skip
            calls.append(_APPLY(keys, args))
        return sum(int(x) for x in scripts.execute(self.client, calls)), late

    def read(self, subjects_buckets: dict[str, list[int]]) -> dict[str, dict[int, dict[str, float]]]:
        """Bucket hashes for each subject's bucket starts, in one round trip (missing buckets are empty)."""
        subjects = [s for s, bs in subjects_buckets.items() if bs]
        calls = [_READ_BUCKETS([self.key(s, f"b:{b}") for b in subjects_buckets[s]]) for s in subjects]
        out: dict[str, dict[int, dict[str, float]]] = defaultdict(dict)
        for s, found in zip(subjects, scripts.execute(self.client, calls) if subjects else [], strict=True):
            buckets = subjects_buckets[s]
            for pos, flat in zip(found[::2], found[1::2], strict=True):
                out[s][buckets[pos - 1]] = {flat[i].decode(): float(flat[i + 1]) for i in range(0, len(flat), 2)}
        return out

    def evidence(self, subject: str, bucket: int) -> list[dict]:
        return [orjson.loads(x) for x in self.client.lrange(self.key(subject, f"ev:{bucket}"), 0, -1)]

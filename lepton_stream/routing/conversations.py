"""Per-conversation state in Redis, updated atomically and idempotently per input record.

Keys (every key one script call touches shares the `{conversation_id}` hash tag, so it is Redis-Cluster-ready):
    <prefix>conv:{<conversation_id>}   hash: n, neg, streak, first, last, intents, sents; off:<topic:partition>
                                       (last applied offset); snap:<message id> for the last SNAPSHOTS messages
                                       and `recent`, their ids in order (TTL ttl_s)

A message is applied only when its offset is past the last one applied from its partition (a conversation's
messages share a key, so a partition delivers them in offset order, and a redelivery replays them in order).
A redelivered message gets its stored snapshot back, unchanged, so the routing decision made from it is
identical to the first one and no counter moves twice. The state is bounded per conversation: no key per
message. A redelivery older than the last SNAPSHOTS messages of its conversation (more than a redelivery
window holds) still moves no counter; it is routed on the conversation's current state.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

from lepton_stream.routing.conversation_state import HISTORY, ConversationState
from lepton_stream.state import scripts

SNAPSHOTS = 32

# KEYS[1] state hash. ARGV: sentiment label, negative ("1"/"0"), intent label, ttl seconds, history,
# partition, offset, message id, snapshots kept.
# Returns {replayed (0/1), snapshot JSON}. Server TIME keeps first/last seen consistent across pods.
APPLY_LUA = """
local function snapshot(n, neg, streak, first, last, ji, js)
  return '{"n":' .. n .. ',"neg":' .. neg .. ',"streak":' .. streak .. ',"first":' .. string.format('%d', first) ..
         ',"last":' .. string.format('%d', last) .. ',"intents":' .. ji .. ',"sents":' .. js .. '}'
end
local h = redis.call('HMGET', KEYS[1], 'n', 'neg', 'streak', 'first', 'intents', 'sents', 'last',
                     'off:' .. ARGV[6], 'snap:' .. ARGV[8], 'recent')
if tonumber(ARGV[7]) <= (tonumber(h[8]) or -1) then
  if h[9] then return {1, h[9]} end
  return {1, snapshot(h[1] or 0, h[2] or 0, h[3] or 0, tonumber(h[4]) or 0, tonumber(h[7]) or 0,
                      h[5] or '[]', h[6] or '[]')}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = (tonumber(h[1]) or 0) + 1
local neg = tonumber(h[2]) or 0
local streak = tonumber(h[3]) or 0
local first = tonumber(h[4]) or now
if ARGV[2] == '1' then neg = neg + 1; streak = streak + 1 else streak = 0 end
local keep = tonumber(ARGV[5])
local intents = {}
local sents = {}
if h[5] then intents = cjson.decode(h[5]) end
if h[6] then sents = cjson.decode(h[6]) end
table.insert(intents, ARGV[3])
table.insert(sents, ARGV[1])
while #intents > keep do table.remove(intents, 1) end
while #sents > keep do table.remove(sents, 1) end
local ji = cjson.encode(intents)
local js = cjson.encode(sents)
local snap = snapshot(n, neg, streak, first, now, ji, js)
local recent = {}
if h[10] then recent = cjson.decode(h[10]) end
table.insert(recent, ARGV[8])
while #recent > tonumber(ARGV[9]) do
  redis.call('HDEL', KEYS[1], 'snap:' .. table.remove(recent, 1))
end
redis.call('HSET', KEYS[1], 'n', n, 'neg', neg, 'streak', streak, 'first', first, 'last', now,
           'intents', ji, 'sents', js, 'off:' .. ARGV[6], ARGV[7], 'snap:' .. ARGV[8], snap,
           'recent', cjson.encode(recent))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return {0, snap}
"""
_APPLY = scripts.Lua(APPLY_LUA)

# conversation_id, message_id, sentiment label, intent label, input partition ("<topic>:<partition>"), offset
BatchItem = tuple[str, str, str, str, str, int]

DEFAULT_TTL_S = 24 * 3600


class ConversationStore:
    def __init__(
        self,
        redis_client: redis.Redis,
        prefix: str,
        ttl_s: int = DEFAULT_TTL_S,
        negative_labels: Iterable[str] = ("negative",),
        history: int = HISTORY,
        snapshots: int = SNAPSHOTS,
    ) -> None:
        # A brace in the prefix would become the hash tag and put every conversation in one slot.
        if "{" in prefix or "}" in prefix:
            raise ValueError(f"key prefix must not contain braces: {prefix!r}")
        if ttl_s < 1:
            raise ValueError("ttl_s must be >= 1")
        self.redis = redis_client
        self.prefix = prefix
        self.ttl_s = int(ttl_s)
        self.negative = frozenset(negative_labels)
        self.history = int(history)
        self.snapshots = int(snapshots)

    def state_key(self, conversation_id: str) -> str:
        return f"{self.prefix}conv:{{{conversation_id}}}"

    def _args(self, item: BatchItem) -> tuple[list[str], list[str | int]]:
        cid, mid, sentiment, intent, partition, offset = item
        for name, value in (("conversation id", cid), ("message id", mid)):
            if not value or "{" in value or "}" in value:
                raise ValueError(f"{name} must be non-empty and free of braces: {value!r}")
        negative = "1" if sentiment in self.negative else "0"
        return [self.state_key(cid)], [sentiment, negative, intent, self.ttl_s, self.history, partition, offset, mid,
                                       self.snapshots]  # fmt: skip

    def apply_batch(self, items: list[BatchItem]) -> list[ConversationState]:
        """Apply each message once, in order, in one pipelined round trip; one state per item."""
        if not items:
            return []
        results = scripts.execute(self.redis, [_APPLY(*self._args(item)) for item in items])
        states = []
        for item, r in zip(items, results, strict=True):
            replayed, snapshot = r
            states.append(ConversationState.from_snapshot(item[0], snapshot, bool(int(replayed))))
        return states

    def get(self, conversation_id: str) -> dict[str, str]:
        """The raw state hash (for inspection and tests)."""
        raw = self.redis.hgetall(self.state_key(conversation_id))
        return {_s(k): _s(v) for k, v in raw.items()}


def _s(v: object) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)

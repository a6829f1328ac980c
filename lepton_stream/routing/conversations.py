"""Per-conversation state in Redis, updated atomically and idempotently per message id.

Keys (every key one script call touches shares the `{conversation_id}` hash tag, so it is Redis-Cluster-ready):
    <prefix>conv:{<conversation_id>}              hash: n, neg, streak, first, last, intents, sents  (TTL ttl_s)
    <prefix>conv:{<conversation_id>}:m:<msg_id>   guard: JSON snapshot of the state right after that message (TTL ttl_s)

A redelivered message finds its guard and gets the stored snapshot back, unchanged, so the routing decision
made from it is identical to the first one and no counter moves twice.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

from lepton_stream.routing.conversation_state import HISTORY, ConversationState
from lepton_stream.state import scripts

# KEYS[1] state hash, KEYS[2] guard. ARGV: sentiment label, negative ("1"/"0"), intent label, ttl seconds, history.
# Returns {replayed (0/1), snapshot JSON}. Server TIME keeps first/last seen consistent across pods.
APPLY_LUA = """
local snap = redis.call('GET', KEYS[2])
if snap then return {1, snap} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'n', 'neg', 'streak', 'first', 'intents', 'sents')
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
redis.call('HSET', KEYS[1], 'n', n, 'neg', neg, 'streak', streak, 'first', first, 'last', now,
           'intents', ji, 'sents', js)
local ttl = tonumber(ARGV[4])
redis.call('EXPIRE', KEYS[1], ttl)
snap = '{"n":' .. n .. ',"neg":' .. neg .. ',"streak":' .. streak .. ',"first":' .. string.format('%d', first) ..
       ',"last":' .. string.format('%d', now) .. ',"intents":' .. ji .. ',"sents":' .. js .. '}'
redis.call('SET', KEYS[2], snap, 'EX', ttl)
return {0, snap}
"""
_APPLY = scripts.Lua(APPLY_LUA)

BatchItem = tuple[str, str, str, str]  # conversation_id, message_id, sentiment label, intent label

DEFAULT_TTL_S = 24 * 3600


class ConversationStore:
    def __init__(
        self,
        redis_client: redis.Redis,
        prefix: str,
        ttl_s: int = DEFAULT_TTL_S,
        negative_labels: Iterable[str] = ("negative",),
        history: int = HISTORY,
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

    def state_key(self, conversation_id: str) -> str:
        return f"{self.prefix}conv:{{{conversation_id}}}"

    def guard_key(self, conversation_id: str, message_id: str) -> str:
        return f"{self.prefix}conv:{{{conversation_id}}}:m:{message_id}"

    def _args(self, item: BatchItem) -> tuple[list[str], list[str | int]]:
        cid, mid, sentiment, intent = item
        for name, value in (("conversation id", cid), ("message id", mid)):
            if not value or "{" in value or "}" in value:
                raise ValueError(f"{name} must be non-empty and free of braces: {value!r}")
        keys = [self.state_key(cid), self.guard_key(cid, mid)]
        negative = "1" if sentiment in self.negative else "0"
        return keys, [sentiment, negative, intent, self.ttl_s, self.history]

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

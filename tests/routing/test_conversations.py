"""Per-conversation state in the real Redis: atomic, idempotent per message id, pipelined, cluster-ready keys."""

from __future__ import annotations

import uuid

import pytest
import redis

from lepton_stream.contracts import IntentPrediction, Prediction
from lepton_stream.routing import ConversationState, ConversationStore, Router
from lepton_stream.routing import conversations as conv_mod
from lepton_stream.state.cluster import connect
from lepton_stream.state.scripts import Lua


def store(client: redis.Redis, prefix: str, ttl_s: int = 3600) -> ConversationStore:
    return ConversationStore(client, prefix, ttl_s=ttl_s)


BATCH = [
    ("c1", "m1", "neutral", "card_arrival", "chat.raw:0", 0),
    ("c2", "m1", "negative", "lost_or_stolen_card", "chat.raw:1", 0),  # same message id, other conversation
    ("c1", "m2", "negative", "card_arrival", "chat.raw:0", 1),
    ("c1", "m3", "negative", "card_not_working", "chat.raw:0", 2),
    ("c2", "m2", "positive", "lost_or_stolen_card", "chat.raw:1", 1),
]


def test_batch_updates_counts_in_order(redis_client: redis.Redis, prefix: str) -> None:
    states = store(redis_client, prefix).apply_batch(BATCH)
    assert [s.conversation_id for s in states] == ["c1", "c2", "c1", "c1", "c2"]
    assert [s.message_count for s in states] == [1, 1, 2, 3, 2]
    assert [s.negative_streak for s in states] == [0, 1, 1, 2, 0]
    last_c1, last_c2 = states[3], states[4]
    assert last_c1.negative_count == 2
    assert last_c1.last_intents == ("card_arrival", "card_arrival", "card_not_working")
    assert last_c1.last_sentiments == ("neutral", "negative", "negative")
    assert last_c2.last_intents == ("lost_or_stolen_card",) * 2 and last_c2.negative_count == 1
    assert 0 < last_c1.first_seen <= last_c1.last_seen
    assert not any(s.replayed for s in states)


def test_replaying_a_batch_changes_nothing(redis_client: redis.Redis, prefix: str) -> None:
    s = store(redis_client, prefix)
    first = s.apply_batch(BATCH)
    hashes = {c: s.get(c) for c in ("c1", "c2")}
    again = s.apply_batch(BATCH)
    assert again == first  # identical states, first/last seen included
    assert all(x.replayed for x in again)
    assert {c: s.get(c) for c in ("c1", "c2")} == hashes  # counters did not move


def test_late_redelivery_returns_the_state_as_first_applied(redis_client: redis.Redis, prefix: str) -> None:
    s = store(redis_client, prefix)
    original = s.apply_batch(BATCH[:1])[0]
    s.apply_batch(BATCH[1:])
    redelivered = s.apply_batch([BATCH[0], ("c1", "m4", "neutral", "card_arrival", "chat.raw:0", 3)])
    assert redelivered[0] == original and redelivered[0].message_count == 1
    assert redelivered[1].message_count == 4 and redelivered[1].negative_streak == 0


def test_a_redelivery_older_than_the_kept_snapshots_moves_no_counter(redis_client: redis.Redis, prefix: str) -> None:
    s = ConversationStore(redis_client, prefix, ttl_s=600, snapshots=4)
    msgs = [("c5", f"m{i}", "negative" if i % 2 else "neutral", "card_arrival", "chat.raw:2", i) for i in range(10)]
    first = s.apply_batch(msgs)
    before = s.get("c5")
    again = s.apply_batch(msgs)
    assert all(st.replayed for st in again) and s.get("c5") == before
    assert again[6:] == first[6:]  # the last four: their snapshots, as first applied
    assert all(st.message_count == 10 for st in again[:6])  # older ones: the current state, nothing counted twice
    assert sum(k.startswith("snap:") for k in before) == 4


def test_routing_is_identical_on_redelivery(redis_client: redis.Redis, prefix: str) -> None:
    router, s = Router.load(), store(redis_client, prefix)
    msgs = [("c9", f"m{i}", "negative", "card_arrival", "chat.raw:0", i) for i in range(3)]

    def route(states: list[ConversationState]):
        return [router.decide(IntentPrediction(label="card_arrival", confidence=0.9, scores={}),
                              Prediction(label="negative", confidence=0.9, scores={}), "text", None, st)
                for st in states]

    first = route(s.apply_batch(msgs))
    assert [d.escalate for d in first] == [False, False, True]  # worsening conversation escalates
    assert route(s.apply_batch(msgs)) == first


def test_keys_carry_the_hash_tag_and_expire(redis_client: redis.Redis, prefix: str) -> None:
    s = store(redis_client, prefix, ttl_s=600)
    s.apply_batch(BATCH)
    keys = sorted(k.decode() for k in redis_client.scan_iter(match=prefix + "*"))
    assert keys == sorted([s.state_key("c1"), s.state_key("c2")])  # no key per message
    for k in keys:
        assert "{c1}" in k or "{c2}" in k
        assert 0 < redis_client.ttl(k) <= 600


def test_missing_script_is_loaded_and_the_batch_applied(
    redis_client: redis.Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A script body the server has never seen, so EVALSHA answers NOSCRIPT (no SCRIPT FLUSH on a shared Redis).
    lua = Lua(conv_mod.APPLY_LUA + f"\n-- {uuid.uuid4().hex}\n")
    monkeypatch.setattr(conv_mod, "_APPLY", lua)
    states = store(redis_client, prefix).apply_batch(BATCH)
    assert [s.message_count for s in states] == [1, 1, 2, 3, 2]
    assert redis_client.script_exists(lua.sha) == [True]


def test_empty_batch_and_bad_ids(redis_client: redis.Redis, prefix: str) -> None:
    s = store(redis_client, prefix)
    assert s.apply_batch([]) == []
    with pytest.raises(ValueError):
        s.apply_batch([("c{1}", "m1", "neutral", "x", "chat.raw:0", 0)])
    with pytest.raises(ValueError):
        ConversationStore(redis_client, "bad{prefix}:")
    assert list(redis_client.scan_iter(match=prefix + "*")) == []


def test_works_with_decoded_responses(prefix: str) -> None:
    import os

    client = connect(os.environ.get("LEPTON_REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True)
    states = store(client, prefix).apply_batch(BATCH[:2])
    assert [s.message_count for s in states] == [1, 1]
    client.close()

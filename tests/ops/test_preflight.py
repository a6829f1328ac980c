"""Start-up checks: Redis eviction policy (on a real Redis) and topics that can never take an acks=all write."""

from __future__ import annotations

import pytest
import redis

from lepton_stream.config import load_settings
from lepton_stream.kafka.topics import insync_problems, layout
from lepton_stream.ops.redis_checks import check_redis_eviction, eviction_risk


def test_eviction_risk_needs_a_limit_and_an_evicting_policy():
    assert eviction_risk("allkeys-lru", 1 << 30) and eviction_risk("volatile-ttl", 1 << 30)
    assert not eviction_risk("noeviction", 1 << 30)
    assert not eviction_risk("allkeys-lru", 0)


def test_a_redis_that_may_evict_is_reported(redis_url):
    if "cluster=" in redis_url:
        pytest.skip("sets CONFIG on one server")
    client = redis.Redis.from_url(redis_url)
    before = client.config_get("maxmemory*")
    try:
        client.config_set("maxmemory-policy", "allkeys-lru")
        client.config_set("maxmemory", str(4 << 30))
        assert check_redis_eviction(client, "news") is False
        client.config_set("maxmemory-policy", "noeviction")
        assert check_redis_eviction(client, "news") is True
    finally:
        client.config_set("maxmemory-policy", before["maxmemory-policy"])
        client.config_set("maxmemory", before["maxmemory"])
        client.close()


def test_topic_layout_defaults_to_three_replicas_and_two_in_sync():
    s = load_settings()
    assert (layout(s, 5).replication_factor, layout(s, 5).min_insync_replicas) == (3, 2)
    assert (layout(s, 1).replication_factor, layout(s, 1).min_insync_replicas) == (1, 1)
    pinned = load_settings(topic_replication_factor=2, topic_min_insync_replicas=2)
    assert (layout(pinned, 5).replication_factor, layout(pinned, 5).min_insync_replicas) == (2, 2)


def test_min_insync_above_the_replicas_is_a_problem():
    assert insync_problems({"a": 3, "b": 1}, {"a": 2, "b": 2}) == ["b: min.insync.replicas=2 > 1 replica(s)"]
    assert insync_problems({"a": 3}, {}) == []

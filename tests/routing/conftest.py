"""Fixtures for routing tests: a real Redis with a unique key prefix per run, cleaned up afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from lepton_stream.state.cluster import connect


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = connect(os.environ.get("LEPTON_REDIS_URL", "redis://127.0.0.1:6379/0"))
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"no Redis reachable: {exc}")
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    p = f"test-routing-{uuid.uuid4().hex}:"
    yield p
    keys = list(redis_client.scan_iter(match=p + "*", count=500))
    if keys:
        redis_client.delete(*keys)
    assert not list(redis_client.scan_iter(match=p + "*"))

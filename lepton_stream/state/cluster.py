"""Redis Cluster: the client for a URL that names cluster mode, and multi-key commands that are slot-safe.

LEPTON_REDIS_URL names cluster mode in its query, `redis://host:port/0?cluster=true` (any node as the seed):
the client is then a `redis.cluster.RedisCluster`, which follows MOVED/ASK redirections and a failover's new
primaries. Every multi-key Lua script of the project already keeps its keys in one slot (hash tags); reads that
span subjects or texts (the prediction cache's MGET, the outbox's MGET) go through `mget` here, one MGET per
slot on a cluster (pipelined per node), a plain MGET otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

import redis
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException

_TRUE = {"1", "true", "yes", "on"}
# What a Redis outage raises: RedisError, and on a cluster also RedisClusterException, which is not one (no node
# serving a slot during a failover: SlotNotCoveredError; no node reachable at start).
ERRORS: tuple[type[Exception], ...] = (redis.RedisError, RedisClusterException)


def split_url(url: str) -> tuple[str, bool]:
    """(the URL without the `cluster` query parameter, whether it names cluster mode)."""
    parts = urlparse(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    flags = [v for k, v in query if k == "cluster"]
    if not flags:
        return url, False
    rest = urlencode([(k, v) for k, v in query if k != "cluster"])
    return urlunparse(parts._replace(query=rest)), flags[-1].lower() in _TRUE


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

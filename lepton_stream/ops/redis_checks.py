"""Start-up check of the Redis the worker keeps its guarantees in.

Guards, detector states, alert claims and the outbox are keys with expiries. A Redis that evicts keys when it
reaches `maxmemory` (any policy but `noeviction`) may drop one of them: a redelivered message then counts
twice, a claimed alert is published again or a detector restarts. With `noeviction` Redis refuses writes
instead, which the worker retries until memory is freed: slower, never wrong. The check warns (log
`redis_may_evict`) and sets `lepton_redis_eviction_policy_ok` (1 safe, 0 evicting, -1 unknown: CONFIG is
disabled on some managed services).
"""

from __future__ import annotations

from typing import Any

from lepton_stream import logs, metrics
from lepton_stream.state import cluster

log = logs.get(__name__)


def eviction_risk(policy: str, maxmemory: int) -> bool:
    """True when Redis may evict this service's keys: a limit is set and the policy evicts."""
    return maxmemory > 0 and policy != "noeviction"


def check_redis_eviction(client: Any, kind: str) -> bool | None:
    """Warn when Redis may evict keys; returns whether it is safe (None: could not tell)."""
    if client is None:
        return None
    try:
        cfg = client.config_get("maxmemory*")
    except cluster.ERRORS as exc:  # CONFIG renamed or refused (managed Redis), or Redis down at start
        log.info("redis_config_unreadable", error=type(exc).__name__)
        metrics.REDIS_EVICTION_SAFE.labels(kind).set(-1)
        return None
    # One server answers a flat dict; a cluster client may answer one per node: every node must be safe.
    nodes = [v for v in cfg.values() if isinstance(v, dict)] or [cfg]
    risky = [(str(c.get("maxmemory-policy", "noeviction")), int(c.get("maxmemory", 0) or 0)) for c in nodes]
    risky = [(p, m) for p, m in risky if eviction_risk(p, m)]
    safe = not risky
    policy, maxmemory = risky[0] if risky else ("noeviction", 0)
    metrics.REDIS_EVICTION_SAFE.labels(kind).set(1 if safe else 0)
    if not safe:
        log.warning("redis_may_evict", policy=policy, maxmemory=maxmemory,
                    hint="set maxmemory-policy noeviction: an evicted guard or claim breaks exactly-once")  # fmt: skip
    return safe

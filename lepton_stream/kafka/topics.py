"""Topic layout (partitions, replicas, min.insync.replicas) and the start-up check that writes can succeed.

Topics the worker creates get LEPTON_TOPIC_PARTITIONS partitions (DLQs too: a dead-letter burst is spread like
the input) and LEPTON_TOPIC_REPLICATION_FACTOR replicas, by default 3 (fewer only when the cluster has fewer
brokers, with a warning), with min.insync.replicas 2 (1 below 3 replicas). The worker produces with acks=all:
a topic whose min.insync.replicas exceeds its replica count refuses every write, which a producer reports as a
retriable error forever. `check_writable` turns that into a clear error at start.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from lepton_stream.config import ConfigError, Settings


@dataclass(frozen=True)
class Layout:
    replication_factor: int
    min_insync_replicas: int

    def configs(self) -> dict[str, str]:
        return {"min.insync.replicas": str(self.min_insync_replicas)}


def layout(settings: Settings, brokers: int) -> Layout:
    """The replication of topics created at start, from the settings and the cluster's broker count."""
    rf = settings.topic_replication_factor or max(1, min(3, brokers))
    min_isr = settings.topic_min_insync_replicas or min(2, max(1, rf - 1))
    return Layout(rf, min_isr)


def insync_problems(replicas: dict[str, int], min_insync: dict[str, int]) -> list[str]:
    """Topics whose min.insync.replicas exceeds their replica count: every acks=all write to them fails."""
    return [
        f"{t}: min.insync.replicas={min_insync[t]} > {n} replica(s)"
        for t, n in sorted(replicas.items())
        if t in min_insync and min_insync[t] > n
    ]


def check_writable(admin: KafkaAdminClient, topics: list[str]) -> None:
    """Raise ConfigError when a topic the worker writes to does not exist (with LEPTON_CREATE_TOPICS off, a send
    to it would wait for metadata without end) or can never accept an acks=all write. Brokers that do not report
    topic configs (tansu) pass the second check."""
    missing = sorted(set(topics) - set(admin.list_topics()))
    if missing:
        raise ConfigError("output topics do not exist (create them, or set LEPTON_CREATE_TOPICS=true): "
                          + ", ".join(missing))  # fmt: skip
    described = admin.describe_topics(topics)
    replicas = {d["name"]: min((len(p["replica_nodes"]) for p in d["partitions"]), default=0) for d in described}
    found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
    min_insync = {t: int(v) for t, v in _config_values(found, "min.insync.replicas").items()}
    problems = insync_problems(replicas, min_insync)
    if problems:
        raise ConfigError("topics refuse every write with acks=all (lower min.insync.replicas or add replicas):\n  "
                          + "\n  ".join(problems))  # fmt: skip


def _config_values(found: object, name: str) -> dict[str, str]:
    """kafka-python's describe_configs answer, as topic -> value of one config (absent when not reported)."""
    out: dict[str, str] = {}
    results = found if isinstance(found, list) else [found]
    for r in results:
        if isinstance(r, dict):
            for topic, configs in (r.get("topic") or {}).items():
                if isinstance(configs, dict) and name in configs:
                    value = configs[name]
                    out[topic] = str(value.get("value") if isinstance(value, dict) else value)
            continue
        for res in getattr(r, "resources", []) or []:  # a DescribeConfigsResponse
            topic, entries = res[3], res[4]
            for entry in entries:
                if entry[0] == name:
                    out[topic] = str(entry[1])
    return out

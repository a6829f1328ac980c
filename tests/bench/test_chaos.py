"""A small chaos run on the broker the tests run against (`--broker tansu|kafka`): worker SIGKILLs and
a Redis restart while a stream with an incident is replayed, plus, on Apache Kafka (three KRaft nodes, topics
with 3 replicas and min.insync.replicas 2), 1 -> 3 -> 1 scaling and a SIGKILL and restart of the node leading
the input partitions. Compared with a clean run of the same input: nothing is lost, no alert is published twice, the
aggregates are identical, and (Kafka) no consumer group needed a restart to come unstuck.
`lepton-stream chaos [--broker kafka]` is the full-size version."""

from __future__ import annotations

import json

import pytest

from lepton_stream.config import load_settings
from lepton_stream.tooling.bench.chaos import ChaosConfig, run_chaos


@pytest.mark.broker
def test_small_chaos_run_loses_and_duplicates_nothing(tmp_path, broker_kind):
    if broker_kind == "tansu":
        pytest.importorskip("moto", reason="the durable tansu needs moto[server] (the chaos extra)")
    from lepton_stream.tooling.training.quick import ensure_bundles

    # The full quick recipe (the tests' tiny bundles are too weak for the incident to alert).
    ensure_bundles(tmp_path / "models", ("news",))
    # On tansu, members leaving mid-rebalance (scale-down, a broker restart) can leave a JoinGroup it never answers
    # (docs/engines.md, tansu versus Kafka), which the harness can only end by restarting it: its small run kills
    # workers and restarts Redis only. On Kafka: also 1 -> 3 -> 1 and a SIGKILL of the input partitions' leader.
    kafka = broker_kind == "kafka"
    cfg = ChaosConfig(n=1500, kills=2, redis_restarts=1, broker_restarts=int(kafka), scale=kafka, seed=7,
                      timeout_s=600, broker=broker_kind, brokers=3)  # fmt: skip
    report = run_chaos(load_settings(models_dir=tmp_path / "models"), cfg)
    summary = json.dumps(report, indent=1)
    assert report["sigkills"] >= 2 and report["redis_restarts"] == 1, summary
    assert report["broker_restarts"] == cfg.broker_restarts and report["max_workers"] == (3 if kafka else 1), summary
    assert report["lost_messages"] == 0, summary
    assert report["duplicate_alerts"] == 0, summary
    assert report["aggregate_drift"] == 0, summary
    assert report["dlq_missing_vs_clean"] == report["dlq_extra_vs_clean"] == 0, summary
    if kafka:  # every group join ended by itself; idempotent producers; topics replicated 3 times, 2 in sync
        assert report["broker_restarts_to_unstick"] == report["liveness_restarts"] == 0, summary
        assert report["producer_idempotence"] and report["topic_replication"] == [3, 2], summary
    # Not asserted: which alerts fire. With identical aggregates, a single worker draining one partition first
    # can score the incident's buckets before the other partitions' events arrive (the watermark ignores
    # partitions it has not seen yet: docs/bench.md, findings), so the clean run may miss the incident.

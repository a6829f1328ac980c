"""A small chaos run (slow: not part of the default test run): worker SIGKILLs and a Redis restart while a
stream with an incident is replayed; compared with a clean run of the same input, nothing is lost, no alert
is published twice and the aggregates are identical. `lepton-stream chaos` is the full-size version."""

from __future__ import annotations

import json

import pytest

from lepton_stream.bench.chaos import ChaosConfig, run_chaos
from lepton_stream.config import load_settings


@pytest.mark.slow
def test_small_chaos_run_loses_and_duplicates_nothing(tmp_path):
    pytest.importorskip("moto", reason="the durable broker needs moto[server]")
    from lepton_stream.models.quick import ensure_bundles

    # The full quick recipe (the session's tiny test bundles are too weak for the incident to alert).
    ensure_bundles(tmp_path / "models", ("news",))
    cfg = ChaosConfig(n=1500, kills=2, redis_restarts=1, broker_restarts=0, scale=False, seed=7, timeout_s=600)
    report = run_chaos(load_settings(models_dir=tmp_path / "models"), cfg)
    summary = json.dumps({k: v for k, v in report.items() if k != "timeline"}, indent=1)
    assert report["sigkills"] >= 2 and report["redis_restarts"] == 1, summary
    assert report["lost_messages"] == 0, summary
    assert report["duplicate_alerts"] == 0, summary
    assert report["aggregate_drift"] == 0, summary
    assert report["dlq_missing_vs_clean"] == report["dlq_extra_vs_clean"] == 0, summary
    # Not asserted: which alerts fire. With identical aggregates, a single worker draining one partition first
    # can score the incident's buckets before the other partitions' events arrive (the watermark ignores
    # partitions it has not seen yet: docs/bench.md, findings), so the clean run may miss the incident.

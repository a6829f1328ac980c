"""`bench`'s pipeline part end to end on a small stream: every phase runs through the real broker and Redis."""

from __future__ import annotations

from lepton_stream.state.cluster import connect
from lepton_stream.tooling.bench.pipeline import BenchConfig, run_pipeline_bench
from tests.pipeline.kafka_helpers import make_settings


def test_every_phase_runs_and_cleans_up(broker, redis_url, key_prefix, models_dir):
    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir)
    r = run_pipeline_bench(s, BenchConfig("news", n=96, naive_n=4, latency_n=48))

    d = r["details"]
    assert d["pipeline"]["messages"] == 96 and d["pipeline"]["cache_hits"] == 0
    assert d["cache_hit"]["messages"] == 96 and d["cache_hit"]["cache_hits"] == 96  # every text hits
    assert d["latency"]["messages"] == 48 and d["latency"]["p50_ms"] <= d["latency"]["p99_ms"]
    assert d["naive"]["messages"] == 4
    m = d["model_only"]  # measured on both sides of the pipeline phase; the figure is the two together
    assert m["messages"] == 2 * 96
    lo, hi = sorted([m["before_pipeline_msgs_per_s"], m["after_pipeline_msgs_per_s"]])
    assert lo - 0.1 <= m["msgs_per_s"] <= hi + 0.1
    assert min(r["model_only_msgs_per_s"], r["pipeline_msgs_per_s"], r["cache_hit_msgs_per_s"],
               r["naive_msgs_per_s"]) > 0  # fmt: skip
    assert r["pipeline_over_model_only"] == round(r["pipeline_msgs_per_s"] / r["model_only_msgs_per_s"], 3)
    streamed = d["model_only_streamed"]  # the same batches, the next queued before the current is collected
    assert streamed["messages"] == 2 * 96 and streamed["msgs_per_s"] > 0
    assert r["pipeline_over_streamed_model"] == round(r["pipeline_msgs_per_s"] / streamed["msgs_per_s"], 3)
    assert set(r["targets_met"]) == {"pipeline_ge_0.95_model_only", "pipeline_ge_5x_naive",
                                     "p99_le_300ms_half_load", "cache_hit_ge_5000"}  # fmt: skip
    # Each phase's keys live under the run's own prefix and are deleted at the end.
    assert not list(connect(redis_url).scan_iter(f"{s.redis_key_prefix}bench:*", count=1000))

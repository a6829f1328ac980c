"""The model-only benchmark runs end to end on a small bundle and reports every row."""

from __future__ import annotations

from pathlib import Path

from lepton_stream.tooling.training.bench import bench_model


def test_bench_model_reports_all_rows(quick_news: Path) -> None:
    out = bench_model(quick_news, n=32, batch_size=16, threads=2, naive_n=4)
    rows = out["texts_per_s"]
    assert set(rows) == {"int8_64tok", "int8_real_bucketed", "int8_real_bucketed_intra_op", "int8_real_unsorted",
                         "torch_fp32_bucketed", "naive_pipeline_fp32"}
    assert all(v > 0 for v in rows.values())
    assert out["real_tokens_p50_p99"][0] < 64
    assert out["int8_batch1_latency_ms"]["p50"] > 0

"""Bare-model throughput (`bench --model-only`): every runtime on the same texts in one run.

Rows, each texts/s over the same number of texts:
- int8_64tok: int8 ONNX on texts of exactly 64 tokens (the worst case for bucketing: nothing to gain)
- int8_real_bucketed / int8_real_unsorted: int8 on the real length distribution of the shipped news samples
- int8_real_bucketed_intra_op: the same, one pass at a time split across threads by onnxruntime (the serving
  default runs `threads` single-threaded passes side by side instead)
- torch_fp32_bucketed: the fp32 torch runtime, batched and bucketed
- naive_pipeline_fp32: a transformers feature-extraction pipeline called once per text (no batching), then
  the same head: what a straightforward implementation does
- int8_batch1_latency_ms: p50/p95/p99 of single-text calls (a lone message in a quiet stream)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from lepton_stream.models import bundle
from lepton_stream.models.encoder import load_tokenizer
from lepton_stream.models.torch_serving import TorchModel, encoder_path
from lepton_stream.tooling.training.quick import SAMPLES, read_csv


def news_texts(n: int) -> list[str]:
    texts, _ = read_csv(SAMPLES / "news_sentiment.csv")
    return [texts[i % len(texts)] for i in range(n)]


def texts_of_tokens(root: Path, manifest: bundle.Manifest, n: int, tokens: int = 64) -> list[str]:
    """Texts that tokenize to exactly `tokens` tokens (with [CLS]/[SEP]), varied so no cache can help."""
    tok = load_tokenizer(encoder_path(root, manifest))
    base = " ".join(news_texts(200))
    words = base.split()
    out = []
    for i in range(n):
        ids = tok(" ".join(words[i % 500 : i % 500 + 120]), truncation=True, max_length=tokens)["input_ids"]
        out.append(tok.decode(ids[1:-1]))
    return out


def _rate(fn: Callable[[Sequence[str]], object], texts: list[str], repeats: int = 1) -> float:
    fn(texts[:16])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn(texts)
        best = min(best, time.perf_counter() - t)
    return round(len(texts) / best, 1)


def naive_pipeline(root: Path, manifest: bundle.Manifest, task: str, threads: int):
    """Per-text transformers pipeline (fp32), mean pooling, then the bundle's head."""
    from transformers import pipeline

    torch_model = TorchModel(root, manifest=manifest)
    pipe = pipeline("feature-extraction", model=torch_model.module.encoder,
                    tokenizer=load_tokenizer(encoder_path(root, manifest)), framework="pt", device="cpu")
    head = torch_model.module.heads[torch_model.tasks.index(task)]

    def run(texts: Sequence[str]):
        out = []
        with torch.inference_mode():
            for t in texts:
                hidden = torch.tensor(pipe(t, truncation=True, max_length=manifest.max_length)[0])
                out.append(int(head(hidden.mean(0)).argmax()))
        return out

    return run


def bench_model(root: Path, n: int = 512, batch_size: int = 64, threads: int = 2, naive_n: int = 128) -> dict:
    from lepton_stream.models.onnx_runtime import OnnxModel

    torch.set_num_threads(threads)
    manifest = bundle.verify(root)
    task = next(iter(manifest.tasks))
    int8 = OnnxModel(root, batch_size, manifest, threads=threads)
    int8_unsorted = OnnxModel(root, batch_size, manifest, threads=threads, bucketed=False)
    int8_intra = OnnxModel(root, batch_size, manifest, threads=threads, parallel="intra")
    fp32 = TorchModel(root, batch_size, manifest)
    real = news_texts(n)
    long = texts_of_tokens(root, manifest, n)
    tok = int8.batcher.tokenizer
    lens = np.array([len(x) for x in tok.ids(real, manifest.max_length)])
    rows = {
        "int8_64tok": _rate(int8.predict, long, 2),
        "int8_real_bucketed": _rate(int8.predict, real, 2),
        "int8_real_bucketed_intra_op": _rate(int8_intra.predict, real, 2),
        "int8_real_unsorted": _rate(int8_unsorted.predict, real, 2),
        "torch_fp32_bucketed": _rate(fp32.predict, real),
    }
    try:
        rows["naive_pipeline_fp32"] = _rate(naive_pipeline(root, manifest, task, threads), real[:naive_n])
    except Exception as exc:  # the baseline must not hide the real figures
        rows["naive_pipeline_fp32_error"] = str(exc)[:200]
    lat = []
    for t in real[:100]:
        s = time.perf_counter()
        int8.predict([t])
        lat.append((time.perf_counter() - s) * 1000)
    return {
        "bundle": str(root),
        "version": manifest.version,
        "recipe": manifest.recipe,
        "threads": threads,
        "batch_size": batch_size,
        "texts": n,
        "real_tokens_p50_p99": [int(np.percentile(lens, 50)), int(np.percentile(lens, 99))],
        "texts_per_s": rows,
        "int8_batch1_latency_ms": {f"p{q}": round(float(np.percentile(lat, q)), 2) for q in (50, 95, 99)},
        "speedup_bucketed_real_vs_64tok": round(rows["int8_real_bucketed"] / rows["int8_64tok"], 2),
        "speedup_int8_vs_naive": round(rows["int8_real_bucketed"] / rows["naive_pipeline_fp32"], 1)
        if "naive_pipeline_fp32" in rows else None,
    }

"""`kg bench`: load time, memory and link+propagate throughput on a synthetic graph (default 100k / 500k)."""

from __future__ import annotations

import gc
import resource
import tempfile
import time
from pathlib import Path

from lepton_stream.kg.graph import KnowledgeGraph
from lepton_stream.tooling.kg.synthetic import synthetic_texts, write_synthetic


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_bench(n_nodes: int = 100_000, n_edges: int = 500_000, n_texts: int = 20_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.jsonl"
        t0 = time.perf_counter()
        names = write_synthetic(path, n_nodes, n_edges)
        gen_s = time.perf_counter() - t0
        texts = synthetic_texts(names, n_texts)
        del names
        gc.collect()
        rss0 = _rss_mb()
        t0, c0 = time.perf_counter(), time.process_time()
        kg = KnowledgeGraph.load(path)
        load_s, load_cpu = time.perf_counter() - t0, time.process_time() - c0
        gc.collect()
        rss1 = _rss_mb()
    n_mentions = n_impacted = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for text in texts:
        mentions = kg.link(text)
        impacted = kg.propagate(mentions, -0.6)
        n_mentions += len(mentions)
        n_impacted += len(impacted)
    run_s, run_cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "nodes": kg.g.number_of_nodes(),
        "edges": kg.n_edges,
        "generate_s": round(gen_s, 2),
        "load_s": round(load_s, 2),
        # CPU seconds of this process: on a shared machine the wall clock also counts other jobs' time
        "load_cpu_s": round(load_cpu, 2),
        "rss_mb_before_load": round(rss0, 1),
        "rss_mb_after_load": round(rss1, 1),
        "graph_rss_mb": round(rss1 - rss0, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "precomputed_paths": len(kg.hoods),
        "precomputed_mb": round(kg.hoods.nbytes() / 2**20, 1),
        "texts": len(texts),
        "mentions_per_text": round(n_mentions / len(texts), 2),
        "impacted_per_text": round(n_impacted / len(texts), 2),
        "link_propagate_texts_per_s": round(len(texts) / run_s, 1),
        "link_propagate_texts_per_cpu_s": round(len(texts) / run_cpu, 1),
        "targets": {"load_s": 15, "rss_mb": 1536, "texts_per_s": 2000},
    }

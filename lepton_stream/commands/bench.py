"""`lepton-stream bench [--model-only] --json`: throughput figures as JSON.

The `model` section is the bare-model benchmark (lepton_stream/tooling/training/bench.py). The full-pipeline section
goes in `pipeline_section` below: it receives the parsed args and returns a dict; `--model-only` skips it.
"""

from __future__ import annotations

import json
from pathlib import Path

import workers


def register(sub) -> None:
    p = sub.add_parser("bench", help="throughput and latency figures as JSON")
    p.add_argument("--model-only", action="store_true", help="only the bare-model figures (no broker, no Redis)")
    p.add_argument("--json", action="store_true", help="JSON output (always JSON; kept for the CLI contract)")
    p.add_argument("--model", type=Path, help="bundle to measure (default: LEPTON_MODELS_DIR/news, quick if absent)")
    p.add_argument("--texts", type=int, default=512, help="texts per measurement")
    p.add_argument("--threads", type=int, help="inference threads (default: LEPTON_THREADS or 2)")
    p.add_argument("--batch-size", type=int, help="default: LEPTON_INFER_BATCH_SIZE")
    p.add_argument("--kind", choices=workers.Choices(), metavar="KIND", default="news",
                   help=workers.choices_help("stream and worker kind (pipeline part)"))
    p.add_argument("--n", type=int, default=6000, help="messages per pipeline phase")
    p.add_argument("--naive-n", type=int, default=300, help="messages through the naive worker")
    p.add_argument("--latency-n", type=int, default=3000, help="messages produced at half load for latency")
    p.set_defaults(func=run)


def model_section(args) -> dict:
    from lepton_stream.config import settings
    from lepton_stream.tooling.training.bench import bench_model
    from lepton_stream.tooling.training.quick import ensure_bundles

    s = settings()
    root = args.model or ensure_bundles(s.models_dir, ("news",))["news"]
    return bench_model(root, n=args.texts, batch_size=args.batch_size or s.infer_batch_size,
                       threads=args.threads or s.threads or 2)


def pipeline_section(args) -> dict | None:
    """Full pipeline figures through the broker and Redis (lepton_stream/tooling/bench/pipeline.py); table on stderr."""
    from lepton_stream import logs
    from lepton_stream.config import settings
    from lepton_stream.tooling.bench.pipeline import BenchConfig, print_table, run_pipeline_bench

    s = settings()
    s.state_dir.mkdir(parents=True, exist_ok=True)
    logs.configure("WARNING", "json", file=(s.state_dir / "bench.log").open("a"))  # batch lines off the output
    result = run_pipeline_bench(s, BenchConfig(args.kind, args.n, args.naive_n, args.latency_n, args.model))
    print_table(result)
    return result


def run(args) -> int:
    result: dict = {"model": model_section(args)}
    if not args.model_only:
        result["pipeline"] = pipeline_section(args)
    print(json.dumps(result, indent=2))
    return 0

"""`lepton-stream chaos --json`: zero-loss figures under worker kills, scaling, Redis and broker restarts, on
tansu or on a 3-node Apache Kafka cluster (`--broker kafka`)."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser("chaos", help="replay a stream clean and under chaos; compare (JSON)")
    p.add_argument("--json", action="store_true", help="JSON output (always JSON; kept for the CLI contract)")
    p.add_argument("--n", type=int, default=20_000, help="records to replay (each run)")
    p.add_argument("--kills", type=int, default=6, help="SIGKILLs of a random worker at random moments")
    p.add_argument("--redis-restarts", type=int, default=1)
    p.add_argument("--broker-restarts", type=int, default=1)
    p.add_argument("--no-scale", action="store_true", help="keep one worker (no 1 -> 3 -> 1)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per run before giving up")
    p.add_argument("--stall", type=float, default=120.0,
                   help="seconds without output before the workers are restarted (as a liveness probe would)")
    p.add_argument("--keep", action="store_true", help="keep the work folder (worker logs, broker data)")
    p.add_argument("--broker", choices=["tansu", "kafka"], default="tansu",
                   help="tansu on S3 storage (one node) or Apache Kafka (KRaft nodes; jars from Maven, Java 17+)")
    p.add_argument("--brokers", type=int, default=3, help="Kafka nodes (--broker kafka)")
    p.set_defaults(func=run)


def run(args) -> int:
    from lepton_stream.config import settings
    from lepton_stream.tooling.bench.chaos import ChaosConfig, run_chaos

    cfg = ChaosConfig(n=args.n, kills=args.kills, redis_restarts=args.redis_restarts,
                      broker_restarts=args.broker_restarts, scale=not args.no_scale, seed=args.seed,
                      timeout_s=args.timeout, stall_s=args.stall, keep_dir=args.keep,
                      broker=args.broker, brokers=args.brokers)  # fmt: skip
    report = run_chaos(settings(), cfg, say=lambda line: print(f"chaos  {line}", file=sys.stderr, flush=True))
    print(json.dumps(report, indent=2))
    return 1 if report["failures"] else 0

"""`lepton-stream watermark show|reset`: inspect or reset the event-time watermark a worker kind keeps in Redis."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import workers


def register(sub) -> None:
    p = sub.add_parser("watermark", help="show or reset a worker kind's event-time watermark (per input partition)")
    p.add_argument("action", choices=["show", "reset"])
    p.add_argument("kind", choices=workers.Choices(), metavar="KIND", help=workers.choices_help("worker kind"))
    p.add_argument("--partition", help="reset only this '<topic>:<partition>' (default: all)")
    p.set_defaults(func=run)


def run(args) -> int:
    from lepton_stream.config import settings
    from lepton_stream.ops.kafka_security import redis_client
    from lepton_stream.state.windows import WindowStore

    s = settings()
    store = WindowStore(redis_client(s), s.redis_key_prefix, args.kind, s.window_s, s.allowed_lateness_s)
    if args.action == "reset":
        removed = store.reset_watermark(args.partition)
        print(json.dumps({"kind": args.kind, "partition": args.partition or "all", "removed": removed}))
        return 0
    now = datetime.now(UTC).timestamp()
    rows = {}
    for part, value in sorted(store.watermarks().items()):
        ts = float(value.rstrip("!"))
        rows[part] = {"event_time": datetime.fromtimestamp(ts, UTC).isoformat() if ts > 0 else None,
                      "caught_up": value.endswith("!"), "ahead_of_clock_s": round(max(0.0, ts - now), 1)}  # fmt: skip
    print(json.dumps({"kind": args.kind, "partitions": rows}, indent=2))
    return 0

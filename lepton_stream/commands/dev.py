"""`lepton-stream dev up|down|status`: the local broker (tansu) and Redis."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("dev", help="start, stop or inspect the local broker and Redis")
    p.add_argument("action", choices=["up", "down", "status"])
    p.set_defaults(func=run)


def run(args) -> int:
    from lepton_stream.config import settings
    from lepton_stream.dev import stack

    s = settings()
    if args.action == "up":
        state = stack.up(s)
        print(json.dumps({"up": True, **state.__dict__}))
    elif args.action == "down":
        state = stack.down(s)
        print(json.dumps({"down": True, "stopped_broker_pid": state.broker_pid, "stopped_redis_pid": state.redis_pid}))
    else:
        st = stack.status(s)
        print(json.dumps(st, indent=2))
        return 0 if st["broker"]["reachable"] and st["redis"]["reachable"] else 1  # type: ignore[index]
    return 0

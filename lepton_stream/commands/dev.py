"""`lepton-stream dev up|down|status`: the local broker (tansu, or Apache Kafka with --broker kafka) and Redis."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("dev", help="start, stop or inspect the local broker and Redis")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--broker", choices=["tansu", "kafka"], default="tansu",
                   help="up: tansu (bundled, default) or Apache Kafka (jars resolved by Maven, or KAFKA_HOME)")
    p.add_argument("--brokers", type=int, default=1, metavar="N",
                   help="up --broker kafka: N KRaft nodes on the bootstrap port and the ports after it")
    p.set_defaults(func=run)


def run(args) -> int:
    from lepton_stream.config import settings
    from lepton_stream.tooling.dev import stack

    s = settings()
    if args.action == "up":
        state = stack.up(s, broker=args.broker, brokers=args.brokers)
        print(json.dumps({"up": True, **state.__dict__}))
    elif args.action == "down":
        state = stack.down(s)
        print(json.dumps({"down": True, "stopped_broker_pid": state.broker_pid,
                          "stopped_broker_pids": state.broker_pids, "stopped_redis_pid": state.redis_pid}))
    else:
        st = stack.status(s)
        print(json.dumps(st, indent=2))
        return 0 if st["broker"]["reachable"] and st["redis"]["reachable"] else 1  # type: ignore[index]
    return 0

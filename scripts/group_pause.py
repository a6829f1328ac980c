"""Consumer-group pauses on a broker, measured: scale-out 1 -> 3 and a SIGKILLed member, per assignor.

Consumers are separate processes (kafka-python, manual commit after every poll, like the worker); a producer
sends a steady stream into a 6-partition topic. For each event the figure is the longest time any partition
went without a record being consumed after it (time to resume), and the records consumed twice (redelivered).
Prints one JSON document.

    python scripts/group_pause.py --broker kafka            # a private one-node Apache Kafka
    python scripts/group_pause.py --bootstrap HOST:PORT     # an existing broker
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

PARTITIONS = 6
RATE = 300  # records/s
SESSION_MS = 6000


def consume(bootstrap: str, topic: str, group: str, assignor: str, out: mp.Queue) -> None:
    from kafka import KafkaConsumer
    from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
    from kafka.coordinator.assignors.range import RangePartitionAssignor

    strategy = [CooperativeStickyAssignor] if assignor == "cooperative-sticky" else [RangePartitionAssignor]
    c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                      auto_offset_reset="earliest", session_timeout_ms=SESSION_MS, heartbeat_interval_ms=1000,
                      partition_assignment_strategy=strategy, fetch_max_wait_ms=50)  # fmt: skip
    while True:
        polled = c.poll(timeout_ms=100)
        now = time.time()
        batch = [(r.partition, r.offset, now) for recs in polled.values() for r in recs]
        if batch:
            c.commit()
            out.put((os.getpid(), batch))


def run(bootstrap: str, assignor: str) -> dict:
    from lepton_stream.config import load_settings
    from lepton_stream.kafka.backend import ensure_topics, make_producer

    s = load_settings(kafka_bootstrap=bootstrap)
    topic, group = f"pause.{uuid.uuid4().hex[:8]}", f"pause-{uuid.uuid4().hex[:8]}"
    ensure_topics(s, {topic: PARTITIONS})
    producer = make_producer(s)
    stop = threading.Event()

    def produce() -> None:
        i = 0
        while not stop.is_set():
            producer.send(topic, key=str(i).encode(), value=b"x", partition=i % PARTITIONS)
            i += 1
            time.sleep(1 / RATE)

    threading.Thread(target=produce, daemon=True).start()
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    procs: list = []
    seen: list[tuple[int, int, float]] = []

    def drain(seconds: float) -> None:
        end = time.time() + seconds
        while time.time() < end:
            try:
                _, batch = q.get(timeout=0.1)
                seen.extend(batch)
            except Exception:  # noqa: BLE001 - queue.Empty
                pass

    def start() -> None:
        p = ctx.Process(target=consume, args=(bootstrap, topic, group, assignor, q), daemon=True)
        p.start()
        procs.append(p)

    def event_figures(t0: float, t1: float) -> dict:
        last: dict[int, float] = {}
        gap: dict[int, float] = defaultdict(float)
        for part, _, t in sorted(seen, key=lambda x: x[2]):
            if t < t0 or t > t1:
                last[part] = t if t < t0 else last.get(part, t0)
                continue
            gap[part] = max(gap[part], t - last.get(part, t0))
            last[part] = t
        for part in range(PARTITIONS):  # a partition still silent at the end counts up to the end
            gap[part] = max(gap[part], t1 - last.get(part, t0))
        counts = Counter((p, o) for p, o, t in seen if t0 <= t <= t1)
        return {"resume_s": round(max(gap.values(), default=0.0), 2),
                "redelivered": sum(n - 1 for n in counts.values() if n > 1)}  # fmt: skip

    start()
    drain(12)  # first join and a steady state
    t0 = time.time()
    start()
    start()
    drain(20)
    scale = event_figures(t0, time.time())
    t1 = time.time()
    os.kill(procs[1].pid, signal.SIGKILL)  # a pod killed: no LeaveGroup, found out by the session timeout
    drain(25)
    kill = event_figures(t1, time.time())
    stop.set()
    for p in procs:
        if p.is_alive():
            p.kill()
    producer.close()
    return {"assignor": assignor, "scale_out_1_to_3": scale, "sigkill_one_of_3": kill,
            "session_timeout_ms": SESSION_MS, "rate": RATE, "partitions": PARTITIONS}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", choices=["kafka", "tansu"], default="kafka")
    ap.add_argument("--bootstrap")
    ap.add_argument("--assignors", default="range,cooperative-sticky")
    args = ap.parse_args()
    from lepton_stream.tooling.dev.broker import Tansu, free_port
    from lepton_stream.tooling.dev.kafka import ApacheKafka

    broker = None
    bootstrap = args.bootstrap
    if bootstrap is None:
        workdir = Path(tempfile.mkdtemp(prefix="lepton-pause-"))
        broker = (ApacheKafka(port=free_port(), workdir=workdir) if args.broker == "kafka"
                  else Tansu(port=free_port(), log_path=workdir / "tansu.log"))  # fmt: skip
        broker.start()
        bootstrap = broker.bootstrap
    try:
        results = [run(bootstrap, a) for a in args.assignors.split(",")]
    finally:
        if broker is not None:
            broker.stop()
    print(json.dumps({"broker": args.bootstrap or args.broker, "runs": results}, indent=2))


if __name__ == "__main__":
    main()

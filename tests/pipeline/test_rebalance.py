"""Two worker processes in one consumer group on a 4-partition topic (real broker, real Redis).

- both are assigned partitions (disjoint, together all four) and both produce outputs;
- stopping one (SIGTERM: it leaves the group) hands its partitions, with work still left on them, to the
  other, which finishes the stream: every valid id in news.enriched, every malformed record in the DLQ,
  redeliveries only with identical content, and the group's offsets committed to the end;
- the incident's alerts cross the hand-over too: each state change (firing, updates, resolved) published once,
  none missing from its incident's sequence.
"""

from __future__ import annotations

import collections
import signal
import time
from pathlib import Path

from lepton_stream.config import Settings
from lepton_stream.tooling.bench.accounting import lifecycle_gaps
from lepton_stream.tooling.replay import synth
from tests.pipeline.kafka_helpers import make_settings
from tests.pipeline.worker_proc import (
    WorkerProcess,
    check_complete,
    committed,
    input_positions,
    outputs_watcher,
    produce_all,
    spawn,
    wait_outputs,
)

START_TIMEOUT_S = 300  # two fresh processes load torch, the model and the graph at once on 2 cores
RUN_TIMEOUT_S = 360


def assignment(p: WorkerProcess, topic: str) -> set[int] | None:
    """The partitions of `topic` in the worker's latest assignment (None before its first)."""
    latest = None
    for e in p.log_events():
        if e.get("event") == "partitions_assigned":
            latest = {int(x.rsplit(":", 1)[1]) for x in e["partitions"] if x.rsplit(":", 1)[0] == topic}
        elif e.get("event") == "stopped":
            latest = set()
    return latest


def records_processed(p: WorkerProcess) -> int:
    return sum(int(e.get("records", 0)) for e in p.log_events() if e.get("event") == "batch")


def wait_for(cond, timeout_s: float, step_s: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step_s)
    return cond()


def test_two_workers_share_partitions_and_hand_over_on_stop(broker, redis_url, key_prefix, models_dir,
                                                            tmp_path: Path):  # fmt: skip
    # A short detector warm-up, so that the stream's incident alerts within its 8 hours.
    s: Settings = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir, max_records=16, threads=1,
                                detector_warmup=12, detector_warmup_s=0)  # fmt: skip
    records = synth.news_stream(n=800, seed=41, malformed=0.03)
    valid = [r for r in records if r.id]
    produce_all(s, s.topic_news_raw, records)
    positions = input_positions(s, s.topic_news_raw, records)
    per_partition = {p: sum(1 for x in positions if x.partition == p) for p in range(4)}
    assert all(per_partition.values()), f"every partition has input: {per_partition}"
    out = outputs_watcher(s)
    a = spawn(s, tmp_path / "worker-a.log", idle_exit=15)
    b = spawn(s, tmp_path / "worker-b.log")
    try:
        # Both in the group: disjoint assignments covering all four partitions, and both processing.
        def sharing() -> bool:
            out.poll(timeout_ms=100)
            pa, pb = assignment(a, s.topic_news_raw), assignment(b, s.topic_news_raw)
            return (
                bool(pa) and bool(pb) and not (pa & pb) and (pa | pb) == {0, 1, 2, 3}  # type: ignore[operator]
                and records_processed(a) > 0 and records_processed(b) > 0
            )  # fmt: skip

        assert wait_for(sharing, START_TIMEOUT_S), f"A:\n{a.log_tail(2000)}\nB:\n{b.log_tail(2000)}"
        b_parts = assignment(b, s.topic_news_raw)
        assert b_parts

        # Stop B (graceful: finish, commit, leave the group) while its partitions still have work.
        b.signal(signal.SIGTERM)
        assert b.wait(60) == 0, b.log_tail()
        at_stop = committed(s, f"{s.group_prefix}-news", s.topic_news_raw)
        left_on_b = {p: per_partition[p] - at_stop[p] for p in b_parts}
        assert any(n > 0 for n in left_on_b.values()), f"B had finished its partitions already: {left_on_b}"
        processed_by_b = records_processed(b)

        # A takes over all four partitions and finishes the stream.
        assert wait_for(lambda: assignment(a, s.topic_news_raw) == {0, 1, 2, 3}, 120), a.log_tail()
        assert wait_outputs(out, s, len(valid), a, RUN_TIMEOUT_S), a.log_tail()
        assert a.wait(120) == 0, a.log_tail()
        out.settle()

        stats = check_complete(out, s, records, positions)
        final = committed(s, f"{s.group_prefix}-news", s.topic_news_raw)
        assert final == per_partition, f"committed {final}, partition sizes {per_partition}"
        alerts = out.values(s.topic_alerts)
        assert alerts and max(collections.Counter(a["alert_id"] for a in alerts).values()) == 1
        assert lifecycle_gaps(alerts) == []
        tsm = sorted((a for a in alerts if a["kind"] == "sentiment_spike" and a["subject"] == "TSM"),
                     key=lambda a: a["sequence"])  # fmt: skip
        assert tsm and tsm[0]["status"] == "firing" and tsm[-1]["status"] == "resolved"
        # A did the rest, including what B left: between them every record was processed at least once.
        assert records_processed(a) + processed_by_b >= len(records)
        print(f"\nB had {b_parts}, left {left_on_b} at stop; A processed {records_processed(a)}, "
              f"B {processed_by_b}; redelivered {stats}")  # fmt: skip
    finally:
        out.close()
        for p in (a, b):
            p.stop()

"""Crash and shutdown of real worker processes (`python -m lepton_stream run news`, configured by LEPTON_*).

- SIGKILL mid-stream, then a restart: every valid id still reaches news.enriched, every malformed record the
  DLQ; what was committed before the kill had its outputs flushed; duplicates exist only as redeliveries with
  byte-identical content.
- SIGTERM mid-stream: the process exits 0; the committed offsets are exactly the records whose outputs were
  flushed (no output beyond them, none missing below them); a restart processes the rest without duplicates.
- A stop requested while a batch is in hand finishes that batch (flush + commit) before leaving.
- SIGTERM while the worker is still loading: it exits 0 once started, having consumed nothing.
- SIGTERM while a batch's stage is retried (its Redis gone): the process exits 0 without a traceback, having
  committed the records it settled before and none of the ones still being retried.
"""

from __future__ import annotations

import collections
import json
import signal
import time
from pathlib import Path

import pytest
import structlog

from lepton_stream import metrics
from lepton_stream.config import Settings
from lepton_stream.runtime import build_loop, build_worker
from lepton_stream.tooling.replay import synth
from tests.pipeline.kafka_helpers import make_settings, start_broker
from tests.pipeline.worker_proc import (
    Position,
    Watcher,
    check_complete,
    committed,
    dlq_positions,
    enriched_ids,
    input_positions,
    outputs_watcher,
    produce_all,
    spawn,
    wait_outputs,
)

START_TIMEOUT_S = 240  # model + graph load in a fresh process on a busy 2-core machine
RUN_TIMEOUT_S = 360


def settings_for(broker, redis_url, key_prefix, models_dir) -> Settings:
    # Small batches: many commits, so a kill lands between and inside them.
    return make_settings(broker.bootstrap, redis_url, key_prefix, models_dir, max_records=32, threads=1)


def group(s: Settings) -> str:
    return f"{s.group_prefix}-news"


def flushed_positions(w: Watcher, s: Settings, positions: list[Position]) -> set[tuple[int, int]]:
    """Input positions whose output (enriched record or dead letter) is in the output topics."""
    ids, dead = enriched_ids(w, s), dlq_positions(w, s)
    return {(p.partition, p.offset) for p in positions if (p.id in ids if p.id else (p.partition, p.offset) in dead)}


def below(offsets: dict[int, int], positions: list[Position]) -> set[tuple[int, int]]:
    return {(p.partition, p.offset) for p in positions if p.offset < offsets[p.partition]}


@pytest.fixture
def closing():
    """What a test opens and does not close itself (output watchers, worker loops not run to their end): closed
    at teardown, so no client keeps reconnecting (e.g. to a stopped broker) for the rest of the session."""
    opened: list = []
    yield opened
    for thing in opened:
        thing.close()


@pytest.fixture
def procs():
    started = []
    yield started
    for p in started:
        p.stop()


def test_sigkill_mid_stream_and_restart_loses_nothing(broker, redis_url, key_prefix, models_dir, tmp_path: Path,
                                                      closing, procs):  # fmt: skip
    s = settings_for(broker, redis_url, key_prefix, models_dir)
    records = synth.news_stream(n=600, seed=31, malformed=0.05)
    valid = [r for r in records if r.id]
    produce_all(s, s.topic_news_raw, records)
    positions = input_positions(s, s.topic_news_raw, records)
    assert len(positions) == len(records)
    out = outputs_watcher(s)
    closing.append(out)

    first = spawn(s, tmp_path / "worker-1.log")
    procs.append(first)
    started = wait_outputs(out, s, 100, first, START_TIMEOUT_S)
    assert started, f"no outputs from the first worker:\n{first.log_tail()}"
    first.signal(signal.SIGKILL)
    assert first.wait(30) == -signal.SIGKILL
    out.settle(quiet_s=1.0)

    # The kill landed mid-stream, and what it had committed was flushed before (at-least-once).
    at_kill = committed(s, group(s), s.topic_news_raw)
    seen_at_kill = len(enriched_ids(out, s))
    assert 0 < sum(at_kill.values()) < len(records) and seen_at_kill < len(valid), "kill was not mid-stream"
    assert below(at_kill, positions) <= flushed_positions(out, s, positions), "committed before flushing"

    second = spawn(s, tmp_path / "worker-2.log", idle_exit=8)
    procs.append(second)
    done = wait_outputs(out, s, len(valid), second, RUN_TIMEOUT_S)
    assert done, f"restart did not finish the stream:\n{second.log_tail()}"
    assert second.wait(120) == 0, second.log_tail()
    out.settle()

    stats = check_complete(out, s, records, positions)
    final = committed(s, group(s), s.topic_news_raw)
    assert sum(final.values()) == len(records)
    print(f"\nSIGKILL after {seen_at_kill}/{len(valid)} outputs; committed then {sum(at_kill.values())}; "
          f"redelivered duplicates {stats}")  # fmt: skip


def test_sigterm_mid_stream_commits_exactly_what_was_flushed(broker, redis_url, key_prefix, models_dir,
                                                             tmp_path: Path, closing, procs):  # fmt: skip
    s = settings_for(broker, redis_url, key_prefix, models_dir)
    records = synth.news_stream(n=500, seed=32, malformed=0.05)
    valid = [r for r in records if r.id]
    produce_all(s, s.topic_news_raw, records)
    positions = input_positions(s, s.topic_news_raw, records)
    out = outputs_watcher(s)
    closing.append(out)

    first = spawn(s, tmp_path / "worker-1.log")
    procs.append(first)
    started = wait_outputs(out, s, 64, first, START_TIMEOUT_S)
    assert started, f"no outputs from the first worker:\n{first.log_tail()}"
    first.signal(signal.SIGTERM)
    assert first.wait(60) == 0, first.log_tail()
    assert any(e.get("event") == "stopping" and e.get("signal") == "SIGTERM" for e in first.log_events())
    assert any(e.get("event") == "stopped" for e in first.log_events())
    out.settle()

    at_stop = committed(s, group(s), s.topic_news_raw)
    flushed = flushed_positions(out, s, positions)
    assert 0 < sum(at_stop.values()) < len(records), "stop was not mid-stream"
    assert flushed == below(at_stop, positions), (
        f"committed {sum(at_stop.values())} records, flushed outputs of {len(flushed)}: "
        f"unflushed but committed {len(below(at_stop, positions) - flushed)}, "
        f"flushed but uncommitted {len(flushed - below(at_stop, positions))}"
    )

    second = spawn(s, tmp_path / "worker-2.log", idle_exit=8)
    procs.append(second)
    done = wait_outputs(out, s, len(valid), second, RUN_TIMEOUT_S)
    assert done, f"restart did not finish the stream:\n{second.log_tail()}"
    assert second.wait(120) == 0, second.log_tail()
    out.settle()
    stats = check_complete(out, s, records, positions)
    assert stats == {"duplicates": 0, "dlq_duplicates": 0}, "a graceful stop leaves nothing to redeliver"
    assert sum(committed(s, group(s), s.topic_news_raw).values()) == len(records)


def test_the_stop_signal_handler_only_sets_flags() -> None:
    """It runs between two bytecodes of the main thread, possibly inside a log write: a log line of its own would
    wait forever on the log stream's (non-reentrant) lock. The loop logs the stop when it closes."""
    from lepton_stream.ops.health import Health
    from lepton_stream.pipeline.loop import WorkerLoop

    loop = object.__new__(WorkerLoop)  # the handler's state only: no consumer, no sink
    loop.stopping, loop.stop_signal, loop.health = False, None, Health(60, lambda: True)
    with structlog.testing.capture_logs() as logs:
        loop.request_stop(signal.SIGTERM)
    assert logs == []
    assert loop.stopping and loop.stop_signal == "SIGTERM"
    assert loop.health.ready()[1]["draining"] == {"ok": False}


def test_stop_during_a_batch_finishes_that_batch(broker, redis_url, key_prefix, models_dir, news_model, closing):
    """The SIGTERM handler only sets `stopping`; here it is set while a batch is inside `process` (where a
    signal almost always lands, inference being the slow part), deterministically."""
    s = settings_for(broker, redis_url, key_prefix, models_dir)
    records = synth.news_stream(n=160, seed=33, malformed=0.0)
    produce_all(s, s.topic_news_raw, records)
    worker = build_worker("news", s, model=news_model)
    loop = build_loop(worker)
    processed: list = []
    real = worker.finish

    def finish_with_stop_arriving(staged):
        outputs = real(staged)
        processed.extend(staged.records)
        if len(processed) >= 40:
            loop.stopping = True  # what the SIGTERM handler does, while this batch (and the next) are in hand
        return outputs

    worker.finish = finish_with_stop_arriving  # type: ignore[method-assign]
    loop.run(idle_exit_s=60)

    assert 40 <= len(processed) < len(records)
    out = outputs_watcher(s)
    closing.append(out)
    out.settle()
    assert enriched_ids(out, s) == {json.loads(r.value)["id"] for r in processed}, "the batch in hand was flushed"
    assert sum(committed(s, group(s), s.topic_news_raw).values()) == len(processed), "and committed"


def test_a_batch_abandoned_at_shutdown_holds_back_the_one_staged_after_it(
    broker, redis_url, key_prefix, models_dir, news_model
):
    """Stopping while a batch's stage still fails leaves it uncommitted; the next batch, already staged, must not
    be finished and committed at close (its offsets would commit past the abandoned one, losing it)."""
    import redis

    s = settings_for(broker, redis_url, key_prefix, models_dir)
    produce_all(s, s.topic_news_raw, synth.news_stream(n=160, seed=35, malformed=0.0))
    worker = build_worker("news", s, model=news_model)
    loop = build_loop(worker)
    finished: list = []
    failed: list = []
    real = worker.finish

    def finish_failing_third(staged):
        if len(finished) == 2 and not failed:  # the third batch fails once; anything after would go through
            failed.append(staged.records)
            loop.stopping = True  # SIGTERM arrives while Redis is down
            raise redis.ConnectionError("redis went away")
        finished.append(staged.records)
        return real(staged)

    worker.finish = finish_failing_third  # type: ignore[method-assign]
    loop.run(idle_exit_s=60)

    assert len(finished) == 2 and len(failed) == 1
    assert sum(committed(s, group(s), s.topic_news_raw).values()) == sum(len(r) for r in finished), (
        "only the two finished batches are committed; the failed one and the one staged after it are redelivered"
    )


@pytest.fixture
def own_broker(tmp_path: Path, broker_kind: str):
    """A broker of the test's own (of the session's kind), which the test may stop (the shared one must stay up)."""
    b = start_broker(broker_kind, tmp_path)
    yield b
    b.stop()


def test_a_commit_the_broker_cannot_take_is_deferred_not_fatal(own_broker, redis_url, key_prefix, models_dir,
                                                               news_model, closing):  # fmt: skip
    """The broker dies between a batch's flush and its commit: the worker keeps the offsets for its next commit
    instead of ending (the chaos run saw a worker exit with status 1 right after a broker restart)."""
    from kafka import TopicPartition

    s = make_settings(own_broker.bootstrap, redis_url, key_prefix, models_dir, max_records=32, threads=1)
    produce_all(s, s.topic_news_raw, synth.news_stream(n=20, seed=37, malformed=0.0))
    loop = build_loop(build_worker("news", s, model=news_model))
    closing.append(loop)
    records: list = []
    for _ in range(100):
        records = loop.poll_batch()
        if records:
            break
    assert records, "no records polled"
    loop.handle(records)
    loop.drain()  # flushed and committed while the broker is up
    assert not loop.uncommitted
    own_broker.stop()
    with structlog.testing.capture_logs() as logs:
        loop.commit(records)  # must not raise
        loop.commit()  # an idle loop tries again: the deferral is not logged again
    assert [e["event"] for e in logs].count("commit_deferred") == 1
    expected = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        expected[tp] = max(expected.get(tp, -1), r.offset + 1)
    assert loop.uncommitted == expected


def test_a_poll_while_the_broker_is_down_does_not_end_the_worker(own_broker, redis_url, key_prefix, models_dir,
                                                                 news_model, closing, broker_kind):  # fmt: skip
    """kafka-python raises a refused connection from the group coordinator's lookup out of `poll` (the chaos
    run's unplanned worker exit after a broker restart): the loop waits and polls again."""
    s = make_settings(own_broker.bootstrap, redis_url, key_prefix, models_dir, max_records=32, threads=1)
    loop = build_loop(build_worker("news", s, model=news_model))
    closing.append(loop)
    own_broker.stop()  # before the first poll: its group coordinator lookup finds the broker gone
    failed = metrics.BROKER_ERRORS.labels("news", "poll")
    before = failed._value.get()
    loop.keepalive(1.5)  # a stage's retry backoff (Redis down) polls too: must not raise either
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and failed._value.get() == before:
        assert loop.poll_batch() == []  # must not raise
    if broker_kind == "tansu":
        # Against Apache Kafka 4.1 (seen in every run here), kafka-python 3.0.12 logs the refused
        # FindCoordinator and retries inside poll instead of raising: the loop's error path is not reached there,
        # and what is checked is that polls keep returning for the 20 s.
        assert failed._value.get() > before, "no poll failed while the broker was down"


def test_sigterm_during_start_up_exits_cleanly(broker, redis_url, key_prefix, models_dir, tmp_path: Path, procs):
    """A worker stopped while it loads (a rollout replacing a pod that is still starting) leaves with exit 0
    once the loop exists, having consumed nothing, instead of dying on the default handler."""
    s = settings_for(broker, redis_url, key_prefix, models_dir)
    produce_all(s, s.topic_news_raw, synth.news_stream(n=20, seed=33))
    proc = spawn(s, tmp_path / "worker.log")
    procs.append(proc)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not any(e.get("event") == "starting" for e in proc.log_events()):
        assert proc.proc.poll() is None and time.monotonic() < deadline, proc.log_tail()
        time.sleep(0.05)
    proc.signal(signal.SIGTERM)  # the model and graph are still loading
    assert proc.wait(START_TIMEOUT_S) == 0, proc.log_tail()
    events = [e.get("event") for e in proc.log_events()]
    assert "stopping" in events and "stopped" in events
    assert "partitions_assigned" not in events
    assert sum(committed(s, group(s), s.topic_news_raw).values()) == 0


@pytest.fixture
def own_redis(tmp_path: Path):
    """A valkey-server of the test's own, which the test may stop (the session's Redis must stay up)."""
    from lepton_stream.tooling.dev import redis_server
    from lepton_stream.tooling.dev.broker import stop_pid
    from lepton_stream.tooling.dev.ports import free_port

    port = free_port()
    pid = redis_server.start_private(port, tmp_path / "valkey")
    url = f"redis://127.0.0.1:{port}/0"
    yield url, lambda: stop_pid(pid)
    stop_pid(pid)


def test_sigterm_during_a_retry_loop_exits_cleanly_committing_what_was_settled(broker, own_redis, key_prefix,
                                                                               models_dir, tmp_path: Path,
                                                                               closing, procs):  # fmt: skip
    """A real worker settles a first batch, then its Redis goes away: the next records' stage is retried with
    backoff (stage_retry). SIGTERM there: exit 0, no traceback, the first batch committed and nothing of the
    second (it is redelivered to whoever reads the partitions next)."""
    from lepton_stream.tooling.dev import redis_server

    url, stop_redis = own_redis
    s = settings_for(broker, url, key_prefix, models_dir)
    first = synth.news_stream(n=40, seed=51, malformed=0.0, incident=False)
    second = synth.news_stream(n=40, seed=52, malformed=0.0, incident=False)
    produce_all(s, s.topic_news_raw, first)
    out = outputs_watcher(s)
    closing.append(out)

    proc = spawn(s, tmp_path / "worker.log")
    procs.append(proc)
    assert wait_outputs(out, s, len(first), proc, START_TIMEOUT_S), f"first batch not processed:\n{proc.log_tail()}"
    deadline = time.monotonic() + 60
    while sum(committed(s, group(s), s.topic_news_raw).values()) < len(first):
        assert proc.proc.poll() is None and time.monotonic() < deadline, proc.log_tail()
        time.sleep(0.2)

    stop_redis()
    assert not redis_server.ping(url)
    produce_all(s, s.topic_news_raw, second)
    deadline = time.monotonic() + 120

    def retrying() -> bool:
        return any(e.get("event") == "stage_retry" and e.get("stage") == "process" and e.get("attempt", 0) >= 2
                   for e in proc.log_events())  # fmt: skip

    while not retrying():
        assert proc.proc.poll() is None and time.monotonic() < deadline, f"no stage retry:\n{proc.log_tail()}"
        time.sleep(0.2)
    proc.signal(signal.SIGTERM)
    assert proc.wait(60) == 0, proc.log_tail()
    log_text = proc.log_path.read_text(errors="replace")
    assert "Traceback" not in log_text, proc.log_tail()
    events = proc.log_events()
    assert any(e.get("event") == "stopping" and e.get("signal") == "SIGTERM" for e in events)
    assert any(e.get("event") == "stopped" for e in events)

    out.settle()
    positions = input_positions(s, s.topic_news_raw, first + second)
    assert len(positions) == len(first) + len(second)
    first_ids = {r.id for r in first}
    settled = collections.Counter(p.partition for p in positions if p.id in first_ids)
    assert enriched_ids(out, s) == first_ids, "nothing of the second batch was flushed"
    assert committed(s, group(s), s.topic_news_raw) == {p: settled[p] for p in range(4)}, (
        "the first batch is committed, nothing of the batch being retried"
    )
    # The first batch occupies the first offsets of each partition: committing it commits nothing after it.
    assert all(p.offset < settled[p.partition] for p in positions if p.id in first_ids)

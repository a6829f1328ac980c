"""The Kafka side of a worker: poll a micro-batch, process it, send its outputs; commit it once they are
acknowledged. Repeat.

Three batches overlap, each at a different step, so that neither the model nor the broker waits for the
Python stages: batch N+1 is staged (decoded, masked, looked up in the cache, its inference started in the
background), then batch N is finished (enriched, state, detect, rendered) while N+1's inference runs, then
N-1 is settled (its acknowledgements awaited, then committed) and N's outputs are sent. When the input is
idle, and at shutdown, everything staged is finished and settled at once. Batches are finished, sent and
committed in poll order.

Guarantees kept here:
- offsets are committed only after every output of the batch is acknowledged (at-least-once);
- a failing stage is retried with backoff while consumption is paused and the group membership is
  kept alive by polling; infrastructure errors (Redis, Kafka) are retried until they clear, other
  errors a bounded number of times, after which the batch is split and only the records that still
  fail are dead-lettered (reason `stage_failed`): nothing is dropped silently;
- SIGTERM/SIGINT: finish the batch in hand, flush, commit, leave the group.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError, RebalanceInProgressError
from kafka.structs import OffsetAndMetadata

from lepton_stream import logs, metrics
from lepton_stream.contracts import DeadLetter
from lepton_stream.kafka import unreadable
from lepton_stream.ops.health import Health
from lepton_stream.pipeline.batch import Output, RawRecord
from lepton_stream.pipeline.decode import dead_letter, slimmed
from lepton_stream.pipeline.produce import PublishError, Sink
from lepton_stream.pipeline.timing import StageTimer
from lepton_stream.pipeline.worker import Staged, Worker
from lepton_stream.state import cluster

log = logs.get(__name__)
T = TypeVar("T")

# Errors of the services around us: wait them out, never dead-letter input because of them.
# cluster.ERRORS: RedisError, and RedisClusterException (not one): a cluster slot unserved, no node reachable.
INFRA_ERRORS = (*cluster.ERRORS, KafkaError, PublishError, OSError)
FRESH_FETCH_MS = 10  # a fetch round trip to a broker that has data
POLL_RETRY_S = 0.5  # pause after a poll the broker could not answer
JOIN_GRACE_S = 60.0  # an idle exit (demo, tests, bench) waits this much longer for a first assignment


class Stopping(Exception):
    """Shutdown was requested while a stage was still failing."""


@dataclass
class InFlight:
    """A processed batch whose outputs were sent; it is committed once the broker acknowledged them all."""

    records: list[RawRecord]
    outputs: list[Output]
    on_flushed: list[Callable[[], None]]  # e.g. confirm outbox entries; run after the acks
    futures: list | None = None  # one per output, None: not sent yet
    polled_at: float = 0.0  # monotonic time of its poll: the age of the oldest unfinished batch


class WorkerLoop:
    def __init__(
        self,
        worker: Worker,
        make_consumer: Callable[..., KafkaConsumer],
        sink: Sink,
        health: Health | None = None,
        housekeeping: list[Callable[[], None]] | None = None,
        heartbeats: list[Callable[[], None]] | None = None,
    ):
        self.worker, self.sink, self.health = worker, sink, health
        sink.dead_letter = self.dead_letter_output
        self.settings = worker.settings
        self.consumer = make_consumer(on_assign=self.on_assign, on_revoke=self.on_revoke)
        self.housekeeping = housekeeping or []  # e.g. hot reload checks, run between batches
        self.heartbeats = heartbeats or []  # e.g. the outbox lease: after every poll, during retries too
        self.stopping = False
        self.stop_signal: str | None = None  # the signal that asked for the stop, logged by close()
        self.batches = 0
        # polled and staged (None if staging failed), inference running: finished after the next poll
        self.staged: tuple[list[RawRecord], Staged | None] | None = None
        self.staged_at = 0.0  # when the staged batch was polled
        self.completing_at: float | None = None  # when the batch being finished was polled
        self.in_flight: InFlight | None = None
        self.uncommitted: dict[TopicPartition, int] = {}  # acknowledged, commit deferred (rebalance, broker down)
        self.committed: dict[TopicPartition, int] = {}  # what this loop last committed, per partition
        self.assigned_at: float | None = None  # monotonic time of the latest assignment (None: not joined yet)
        self.deferring: str | None = None  # why commits are being deferred (logged once, not per try)

    # ------------------------------------------------------------------ lifecycle

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, lambda signum, _frame: self.request_stop(signum))
        signal.signal(signal.SIGINT, lambda signum, _frame: self.request_stop(signum))

    def request_stop(self, signum: int) -> None:
        """Finish the batches in hand, commit and leave (what SIGTERM does). It runs inside the signal handler,
        so it only sets flags: a log line here deadlocks when the signal lands while the main thread is writing
        one (structlog's write lock is not reentrant); `close` logs the stop."""
        self.stop_signal = signal.Signals(signum).name
        self.stopping = True
        if self.health is not None:
            self.health.set_draining()

    def run(self, max_batches: int | None = None, idle_exit_s: float | None = None) -> None:
        # The graph, model and libraries loaded so far live as long as the worker: exempt them from the cyclic
        # collector, whose full passes over them stalled a batch by ~150 ms (a p99 latency tail). No collection
        # first: in a big process (the test suite's) it held the GIL while the consumer was joining its group;
        # what startup garbage gets frozen with them is freed at close (unfreeze).
        gc.freeze()
        last_records = time.monotonic()
        try:
            while not self.stopping:
                for task in self.housekeeping:
                    task()
                records = self.poll_batch()
                if not records:
                    self.drain()  # nothing to overlap with: finish, acknowledge and commit what is in hand
                    self.commit_past_skipped()
                    if self.uncommitted:
                        self.commit()
                    if idle_exit_s is not None and self.idle_for(last_records) > idle_exit_s:
                        break
                    continue
                last_records = time.monotonic()
                self.handle(records)
                self.batches += 1
                if max_batches is not None and self.batches >= max_batches:
                    break
        finally:
            self.close()

    def idle_for(self, last_records: float) -> float:
        """Seconds this loop has been idle. Joining the group is not idleness: the clock starts at the latest
        assignment (a join on a busy broker can take longer than a short idle exit), and before any it starts
        JOIN_GRACE_S late, so a loop that is never given a partition still ends."""
        now = time.monotonic()
        if self.assigned_at is None:
            return now - last_records - JOIN_GRACE_S
        return now - max(last_records, self.assigned_at)

    def close(self) -> None:
        # consumer.close() commits nothing (auto-commit is off) and sends LeaveGroup, so partitions move at once.
        if self.stop_signal is not None:
            log.info("stopping", signal=self.stop_signal)
        try:
            with contextlib.suppress(Stopping):
                self.drain()
            if self.uncommitted:
                with contextlib.suppress(KafkaError):
                    self.commit()
            self.consumer.close()
        finally:
            self.sink.producer.close(timeout=10)
            gc.unfreeze()  # what this loop held may be garbage now (tests and the bench run several loops)
        log.info("stopped", worker=self.worker.id, batches=self.batches)

    def on_assign(self, assigned: set[TopicPartition]) -> None:
        self.assigned_at = time.monotonic()
        metrics.REBALANCES.labels(self.worker.spec.kind, "assigned").inc()
        log.info("partitions_assigned", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in assigned))
        if self.health is not None:
            self.health.set_assigned(len(self.consumer.assignment()))

    def on_revoke(self, revoked: set[TopicPartition]) -> None:
        metrics.REBALANCES.labels(self.worker.spec.kind, "revoked").inc()
        # The batch in flight is not settled here: this callback runs on kafka-python's I/O thread, which
        # cannot commit. It is settled after the poll, and commit() then skips the partitions that moved
        # (their new owner reprocesses from the last commit; effects are idempotent).
        for tp in revoked:  # a stale lag series would look like a stuck partition
            with contextlib.suppress(KeyError):
                metrics.CONSUMER_LAG.remove(tp.topic, str(tp.partition))
        if self.health is not None:
            self.health.set_assigned(0)

    # ------------------------------------------------------------------ one batch

    def handle(self, records: list[RawRecord]) -> None:
        """Stage a batch (its inference starts), then finish the one staged before it and send its outputs."""
        self.track_partitions()
        polled_at = time.monotonic()
        try:
            staged = self.worker.stage(records)
        except Exception as exc:  # noqa: BLE001 - processed again in complete(), with retries and isolation
            log.warning("stage_failed", error=f"{type(exc).__name__}: {str(exc)[:200]}", records=len(records))
            staged = None
        previous, previous_at = self.staged, self.staged_at
        self.staged, self.staged_at = (records, staged), polled_at
        if previous is not None:
            self.complete(*previous, polled_at=previous_at)

    def drain(self) -> None:
        """Finish the staged batch and settle everything: nothing left in hand."""
        previous, self.staged = self.staged, None
        if previous is not None:
            self.complete(*previous, polled_at=self.staged_at)
        self.settle()

    def complete(self, records: list[RawRecord], staged: Staged | None, polled_at: float = 0.0) -> None:
        """Finish a staged batch, settle the one in flight, send this one's outputs (acknowledged later)."""
        self.completing_at = polled_at or time.monotonic()
        try:
            outputs = self.retrying("process", lambda: self.attempt(records, staged),
                                    lambda: self.isolate(records))  # fmt: skip
            batch = InFlight(records, outputs, self.worker.take_after_flush(), polled_at=self.completing_at)
            self.settle()
        except Stopping:
            # Stopped while a stage still failed: nothing of this batch is committed, and the batch staged
            # after it must not be either (its offsets would commit past this one): both are redelivered.
            self.staged = None
            return
        finally:
            self.completing_at = None
        self.failpoint("before_produce", outputs)
        with StageTimer(self.worker.spec.kind)("produce"):
            batch.futures = self.sink.send(outputs)  # a send that fails is sent again by settle(), alone
        self.in_flight = batch

    def settle(self) -> None:
        """Wait until the batch in flight is acknowledged (sending it again while it is not), run its
        after-flush callbacks, commit its offsets. Raises Stopping if shutdown interrupts the retries."""
        batch, self.in_flight = self.in_flight, None
        if batch is None:
            return
        self.retrying("produce", lambda: self._deliver(batch))
        self.failpoint("after_flush", batch.outputs)
        for fn in batch.on_flushed:
            fn()
        self.failpoint("before_commit", batch.outputs)
        self.commit(batch.records)

    def _deliver(self, batch: InFlight) -> None:
        if batch.futures is None:
            batch.futures = self.sink.send(batch.outputs)
        with StageTimer(self.worker.spec.kind)("produce"):
            self.sink.wait(batch.outputs, batch.futures)  # re-sends only what failed; raises until all are acked

    def dead_letter_output(self, output: Output, error: str) -> Output | None:
        """The DLQ record that replaces an output the broker can never take (reason send_failed): the input
        record it answered, or the output itself when it had none (an alert); for a refused dead letter, its slim
        form (decode.slimmed), and None once it is slim: retried, and alerted on, until an operator fixes the DLQ."""
        w = self.worker
        if output.topic == w.dlq_topic:  # the dead letter itself: once more without the original's bytes
            slim = slimmed(DeadLetter.model_validate_json(output.value))
            return None if slim is None else replace(output, value=slim.__pydantic_serializer__.to_json(slim))
        src = output.source or RawRecord(output.topic, -1, -1, output.key, output.value)
        metrics.DEAD_LETTERED.labels(w.input_topic, "send_failed").inc()
        dead = dead_letter(src, "send_failed", f"output to {output.topic}: {error}", w.id,
                           self.settings.dlq_max_original_bytes)  # fmt: skip
        return w.dead_letter_output(src, dead)

    def failpoint(self, name: str, outputs: list[Output]) -> None:
        """Crash tests only: LEPTON_TEST_FAILPOINT=<name> kills the process here, the first time a batch
        carries an alert, as SIGKILL would (no cleanup, nothing committed); <name>:<status> (`resolved`) the
        first time a batch carries an alert record of that lifecycle status."""
        alerts = self.settings.topic_alerts
        point, _, status = os.environ.get("LEPTON_TEST_FAILPOINT", "").partition(":")
        marker = f'"status":"{status}"'.encode()
        if point == name and any(o.topic == alerts and (not status or marker in o.value) for o in outputs):
            log.warning("failpoint", name=name)
            os._exit(137)

    def attempt(self, records: list[RawRecord], staged: Staged | None) -> list[Output]:
        self.worker.discard_after_flush()
        # A finish may be retried: its stages are idempotent and the inference result is kept.
        return self.worker.finish(staged) if staged is not None else self.worker.process(records)

    def isolate(self, records: list[RawRecord]) -> list[Output]:
        """Split a batch that keeps failing: good records go through, the ones that still fail to the DLQ."""
        outputs: list[Output] = []
        w = self.worker
        w.discard_after_flush()
        for r in records:
            try:
                outputs += w.process([r])
            except INFRA_ERRORS:
                raise
            except Exception as exc:  # noqa: BLE001 - a poison record must not stop the worker
                error = f"{type(exc).__name__}: {exc}"
                # The exception's type only: its text may quote the record (personal data); the DLQ has it all.
                log.error("stage_failed", topic=r.topic, partition=r.partition, offset=r.offset,
                          error=type(exc).__name__)  # fmt: skip
                metrics.DEAD_LETTERED.labels(r.topic, "stage_failed").inc()
                dead = dead_letter(r, "stage_failed", error, w.id, self.settings.dlq_max_original_bytes)
                outputs.append(w.dead_letter_output(r, dead))
        return outputs

    def poll_batch(self) -> list[RawRecord]:
        """Up to max_records. Waits at most max_wait_ms for the first record, then takes what is already
        fetched: a caught-up consumer does not hold a record back to fill the batch (latency), a busy one
        still gets full batches (throughput)."""
        s = self.settings
        # With a batch staged, a quiet input must not hold it back: finish it after one fetch round trip.
        deadline = time.monotonic() + (FRESH_FETCH_MS if self.staged else s.max_wait_ms) / 1000
        out: list[RawRecord] = []
        while len(out) < s.max_records and not self.stopping:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                break
            # Records a poll returns were fetched at the previous poll, a batch ago; that poll sent the next
            # fetch, whose answer (what arrived since) is one round trip away: wait that long for it too.
            wait_ms = min(FRESH_FETCH_MS, remaining_ms) if out else remaining_ms
            polled = self._poll(wait_ms, s.max_records - len(out))
            if not polled and out:
                break
            for recs in polled.values():
                out += recs
        return out

    def _poll(self, timeout_ms: int, max_records: int | None = None) -> dict[TopicPartition, list[RawRecord]]:
        """consumer.poll, as RawRecords per partition. A broker down or restarting (kafka-python raises a refused
        connection from the group coordinator's lookup) gives nothing after a pause instead of ending the worker;
        a partition's record that cannot be read (a codec, a corrupt batch) comes back as a record marked
        unreadable, for the DLQ, and the partition moves on past it."""
        try:
            polled = {tp: [RawRecord(tp.topic, tp.partition, r.offset, r.key, r.value, r.timestamp) for r in recs]
                      for tp, recs in self.consumer.poll(timeout_ms=timeout_ms, max_records=max_records).items()}
        except Exception as exc:  # noqa: BLE001 - sorted below: a partition's data, the broker, or fatal
            where = None if isinstance(exc, unreadable.NOT_DATA_ERRORS) else unreadable.locate(self.consumer)
            if where is not None:
                polled = {where.tp: [self._unreadable(where, exc)]}
            elif not isinstance(exc, KafkaError) or not exc.retriable:  # authorisation, configuration: fatal
                raise
            else:
                metrics.BROKER_ERRORS.labels(self.worker.spec.kind, "poll").inc()
                log.warning("poll_failed", error=f"{type(exc).__name__}: {str(exc)[:200]}")
                time.sleep(POLL_RETRY_S)
                polled = {}
        age = self.oldest_batch_age_s()
        metrics.OLDEST_BATCH_AGE.labels(self.worker.spec.kind).set(age)
        if self.health is not None:
            self.health.polled(age)  # the loop is alive; liveness also wants its batches to finish
        for beat in self.heartbeats:
            beat()
        return polled

    def _unreadable(self, where: unreadable.Unreadable, exc: BaseException) -> RawRecord:
        error = f"{type(exc).__name__}: {str(exc)[:300]}"
        log.error("record_unreadable", topic=where.tp.topic, partition=where.tp.partition, offset=where.offset,
                  error=error)  # fmt: skip
        unreadable.step_past(self.consumer, where)
        return RawRecord(where.tp.topic, where.tp.partition, where.offset, None, None, error=error)

    def commit_past_skipped(self) -> None:
        """Idle, with nothing in hand, every record before the consumer's position has been handled. Where the
        position is past this loop's last commit, what lies between holds nothing to process: transaction
        markers, or an aborted transaction's records (the consumer reads committed data only). Committing the
        position there keeps lag at zero (it drives autoscaling) instead of one marker or more behind."""
        owned = self.consumer.assignment()
        for tp, done in self.committed.items():
            if tp in owned:
                pos = self.consumer.position(tp, timeout_ms=0)  # known: this loop read from it
                if pos is not None and pos > max(done, self.uncommitted.get(tp, -1)):
                    self.uncommitted[tp] = pos

    def commit(self, records: list[RawRecord] | None = None) -> None:
        """Commit the records' offsets, with any left over from a deferred commit."""
        offsets = dict(self.uncommitted)
        for r in records or ():
            tp = TopicPartition(r.topic, r.partition)
            offsets[tp] = max(offsets.get(tp, -1), r.offset + 1)
        self.uncommitted = {}
        owned = self.consumer.assignment()
        to_commit = {tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items() if tp in owned}
        if not to_commit:
            return
        with StageTimer(self.worker.spec.kind)("commit"):
            try:
                # Bounded: a broker that cannot take the commit within a session timeout gets it with the next one.
                self.consumer.commit(to_commit, timeout_ms=self.settings.session_timeout_ms)
                self.committed.update((tp, om.offset) for tp, om in to_commit.items())
                if self.deferring is not None:
                    log.info("commit_resumed", after=self.deferring, partitions=len(to_commit))
                    self.deferring = None
            except CommitFailedError as exc:
                # The group moved on without us: the partitions' new owners reprocess from the last commit;
                # effects are idempotent.
                log.warning("commit_failed", error=str(exc)[:200], partitions=len(to_commit))
            except KafkaError as exc:
                # A rebalance in progress, or a broker down or restarting (timeout, connection, an error it answers
                # while recovering): acknowledged work is kept and committed with the next commit, for the
                # partitions still ours (one kept across a rebalance is not necessarily read again, so nothing
                # else would), instead of ending the worker.
                self.uncommitted = offsets
                if not isinstance(exc, RebalanceInProgressError):  # the broker's trouble, not the group's
                    metrics.BROKER_ERRORS.labels(self.worker.spec.kind, "commit").inc()
                # An idle worker retries every poll (a rebalance: every 200 ms): say so once, until one succeeds.
                if self.deferring is None:
                    self.deferring = type(exc).__name__
                    log.warning("commit_deferred", error=f"{type(exc).__name__}: {str(exc)[:200]}",
                                partitions=len(to_commit))  # fmt: skip

    def track_partitions(self) -> None:
        """Lag per partition (metric) and which partitions are caught up (for the watermark)."""
        states: dict[str, str] = {}
        for tp in self.consumer.assignment():
            hw = self.consumer.highwater(tp)  # from the last fetch; tansu's end_offsets is unreliable
            name = f"{tp.topic}:{tp.partition}"
            if hw is None:
                states[name] = "unknown"
                continue
            lag = max(0, hw - self.consumer.position(tp))
            metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)
            states[name] = "behind" if lag else "idle"
        self.worker.partitions = states

    # ------------------------------------------------------------------ retries and isolation

    def retrying(self, stage: str, fn: Callable[[], T], give_up: Callable[[], T] | None = None) -> T:
        """Run fn, backing off with consumption paused while it fails; raises Stopping on shutdown.

        Infrastructure errors are retried until they clear; other errors stage_retries times, then give_up.
        """
        attempt = 0
        while True:
            # Every stage runs at least once, so a SIGTERM mid-batch still finishes, flushes and commits it;
            # only retries stop at shutdown (the batch then stays uncommitted and is redelivered).
            try:
                return fn()
            except INFRA_ERRORS as exc:
                attempt += 1
                if self.stopping:
                    raise Stopping from exc
                self._backoff(stage, attempt, exc, infra=True)
            except Exception as exc:  # noqa: BLE001
                attempt += 1
                if give_up is not None and attempt > self.settings.stage_retries:
                    return self.retrying(stage, give_up)
                if self.stopping:
                    raise Stopping from exc
                self._backoff(stage, attempt, exc, infra=False)

    def oldest_batch_age_s(self) -> float:
        """Seconds since the oldest batch still in hand was polled (0 with none): a batch that never finishes
        (a stage retried forever) shows here while the loop itself keeps polling."""
        times = [t for t in (self.in_flight.polled_at if self.in_flight else None, self.completing_at,
                             self.staged_at if self.staged else None) if t]  # fmt: skip
        return time.monotonic() - min(times) if times else 0.0

    def _backoff(self, stage: str, attempt: int, exc: BaseException, infra: bool) -> None:
        metrics.STAGE_RETRIES.labels(self.worker.spec.kind, stage).inc()
        if isinstance(exc, cluster.ERRORS):
            metrics.REDIS_ERRORS.labels(self.worker.spec.kind, stage).inc()
        delay = min(self.settings.retry_backoff_ms / 1000 * 2 ** min(attempt - 1, 6), 10.0)
        log.warning("stage_retry", stage=stage, attempt=attempt, infra=infra, delay_s=round(delay, 2),
                    error=f"{type(exc).__name__}: {str(exc)[:200]}")  # fmt: skip
        self.keepalive(delay)

    def keepalive(self, seconds: float) -> None:
        """Wait while staying in the group: poll with every partition paused, rewinding anything fetched."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.stopping:
            assigned = self.consumer.assignment()
            self.consumer.pause(*assigned)
            polled = self._poll(min(200, max(1, int((deadline - time.monotonic()) * 1000))))
            # Partitions assigned during this poll are not paused yet; put their records back.
            for tp, recs in polled.items():
                self.consumer.seek(tp, min(r.offset for r in recs))
        self.consumer.resume(*self.consumer.assignment())

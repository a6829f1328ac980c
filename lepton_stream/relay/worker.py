"""The relay worker: reads the alerts topic in its own consumer group and delivers each alert to the webhook
targets that want it; offsets are committed once every alert of a batch is delivered or dead-lettered.

It runs in the workers' loop (pipeline/loop.py), so it keeps their guarantees: commits only after the batch's
dead letters are acknowledged, SIGTERM finishes the batch in hand, a broker outage is waited out, an alert
record that cannot be read goes to the DLQ. Targets are served in parallel, one thread each, alerts in topic
order within a target; a target found down is probed once a batch and its other alerts of the batch are
dead-lettered untried, so it holds the others up by one retry budget at most. While posts are under way the
loop keeps the group membership alive. A relay needs
neither Redis nor models: it imports neither torch nor a model runtime.

Delivery is at-least-once: a relay that dies after a post but before the commit posts that alert again after
the restart, with the same `webhook-id`, which receivers de-duplicate by.
"""

from __future__ import annotations

import collections
import functools
import json
import os
import socket
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from lepton_stream import logs, metrics
from lepton_stream.config import ConfigError, Settings
from lepton_stream.contracts import Alert, DeadLetter
from lepton_stream.kafka import backend, cloudevents
from lepton_stream.ops.health import Health, stall_limit_s
from lepton_stream.pipeline.batch import Output, RawRecord
from lepton_stream.pipeline.decode import bounded_key, dead_letter, decode_one
from lepton_stream.pipeline.loop import WorkerLoop
from lepton_stream.pipeline.produce import Sink
from lepton_stream.relay import targets as targets_file
from lepton_stream.relay.deliver import Outcome, TargetClient
from lepton_stream.relay.targets import Target

log = logs.get(__name__)
KIND = "relay"


@dataclass(frozen=True)
class RelaySpec:
    """What the loop reads of a worker's spec."""

    kind: str = KIND


class RelayHealth(Health):
    """Ready: the loop is live, partitions are assigned and no stop was asked; no model and no Redis to check."""

    def ready(self) -> tuple[bool, dict[str, Any]]:
        _, checks = super().ready()
        checks = {k: v for k, v in checks.items() if k not in ("model", "redis")}
        return all(c["ok"] for c in checks.values()), checks


class RelayWorker:
    """The worker side of the relay, in the shape WorkerLoop drives: stage() keeps the records, finish()
    delivers them and returns the dead letters to publish."""

    def __init__(self, settings: Settings, targets: list[Target], environ: Mapping[str, str] | None = None):
        self.spec = RelaySpec()
        self.settings = settings
        self.id = f"{KIND}-{socket.gethostname()}-{os.getpid()}"
        self.input_topic = settings.topic_alerts
        self.dlq_topic = settings.dlq_topic(self.input_topic)
        self.partitions: dict[str, str] = {}
        self.model = None
        env = dict(os.environ if environ is None else environ)
        self.targets = targets
        given = {t.name: t.secret_text(env) for t in targets}
        urls = {t.name: t.endpoint(env) for t in targets}
        self.clients = {t.name: TargetClient(t, targets_file.decode_secret(given[t.name], t.name), urls[t.name])
                        for t in targets}  # fmt: skip
        # What must never reach a log line: the secrets, and URLs (some carry a token in their path).
        self.redact = [*given.values(), *urls.values()]
        self.pool = ThreadPoolExecutor(len(targets), f"{KIND}-target")
        # The loop's wait that keeps the group membership (polls with partitions paused): set by build().
        self.keepalive: Callable[[float], None] | None = None

    # ------------------------------------------------------------------ what WorkerLoop calls

    def stage(self, records: list[RawRecord], background: bool = True) -> list[RawRecord]:
        return records

    def finish(self, records: list[RawRecord]) -> list[Output]:
        return self.deliver(records)

    def process(self, records: list[RawRecord]) -> list[Output]:
        return self.deliver(records)

    def discard_after_flush(self) -> None:
        pass

    def take_after_flush(self) -> list[Callable[[], None]]:
        return []

    def dead_letter_output(self, rec: RawRecord, d: DeadLetter) -> Output:
        return Output.of(self.dlq_topic, bounded_key(rec.key), d, cloudevents.dead_letter(KIND, d, rec.timestamp_ms))

    # ------------------------------------------------------------------ delivery

    def deliver(self, records: list[RawRecord]) -> list[Output]:
        """Deliver a batch: every alert to every target that wants it. Returns the dead letters: unreadable
        alert records, and one per (alert, target) that stayed undeliverable."""
        s = self.settings
        dead: list[Output] = []
        jobs: dict[str, list[tuple[RawRecord, dict[str, Any]]]] = collections.defaultdict(list)
        for rec in records:
            checked = decode_one(rec, Alert, s.max_message_bytes)
            if isinstance(checked, tuple):
                reason, error = checked
                metrics.DEAD_LETTERED.labels(rec.topic, reason).inc()
                log.warning("dead_letter", reason=reason, error=error[:200], topic=rec.topic,
                            partition=rec.partition, offset=rec.offset)  # fmt: skip
                dead.append(self.dead_letter_output(rec, dead_letter(rec, reason, error, self.id,
                                                                     s.dlq_max_original_bytes)))  # fmt: skip
                continue
            # The record as published, not the contract's copy: fields newer than this relay's Alert (lifecycle
            # status, sequence, fingerprint) reach the id, the routing and the receivers.
            alert = json.loads(rec.value or b"{}")
            wanted_by = [t for t in self.targets if t.wants(alert)]
            if wanted_by and self._expired(rec):
                for t in wanted_by:
                    metrics.RELAY_DELIVERIES.labels(t.name, "expired").inc()
                log.info("relay_expired", alert_id=alert.get("alert_id"), partition=rec.partition, offset=rec.offset,
                         targets=[t.name for t in wanted_by])  # fmt: skip
                continue
            for t in wanted_by:
                jobs[t.name].append((rec, alert))
        futures = {name: self.pool.submit(self._deliver_all, name, items) for name, items in jobs.items()}
        self._wait(list(futures.values()))
        for name, fut in futures.items():
            for rec, outcome in fut.result():
                if not outcome.delivered:
                    dead.append(self._undeliverable(rec, name, outcome))
        return dead

    def _expired(self, rec: RawRecord) -> bool:
        """Published longer ago than LEPTON_RELAY_MAX_AGE_S (by the record's timestamp; none: never)."""
        limit = self.settings.relay_max_age_s
        return bool(limit and rec.timestamp_ms and time.time() - rec.timestamp_ms / 1000 > limit)

    def _deliver_all(self, name: str, items: list[tuple[RawRecord, dict[str, Any]]]) -> list[tuple[RawRecord, Outcome]]:
        """One target's share of the batch, in topic order. Once one of them leaves the target down (its budget,
        or its single try as a down target, spent), the rest are dead-lettered untried: a receiver that hangs
        would otherwise cost a timeout per alert, and every other target waits for the batch."""
        client = self.clients[name]
        out: list[tuple[RawRecord, Outcome]] = []
        failed = False
        for rec, alert in items:
            if failed and client.down:
                out.append((rec, client.not_tried(alert, "target down: not tried (an earlier post of this batch "
                                                          "found it down)")))  # fmt: skip
                continue
            o = client.deliver(alert, rec.value or b"")
            failed = not o.delivered and client.down
            out.append((rec, o))
        return out

    def _wait(self, futures: list[Future]) -> None:
        """Wait for the targets' threads, polling the (paused) consumer meanwhile: a batch of posts may take longer
        than the consumer's poll interval (a target retrying), and the group must not give our partitions away."""
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.05)
            if pending and self.keepalive is not None:
                self.keepalive(0.2)

    def _undeliverable(self, rec: RawRecord, target: str, o: Outcome) -> Output:
        s = self.settings
        metrics.DEAD_LETTERED.labels(rec.topic, "undeliverable").inc()
        error = f"target {target}: {o.error}" + (f" after {o.attempts} attempt(s) in {o.elapsed_s:.1f} s"
                                                  if o.attempts else "")  # fmt: skip
        d = dead_letter(rec, "undeliverable", error, self.id, s.dlq_max_original_bytes)
        return self.dead_letter_output(rec, d.model_copy(update={"target": target}))

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for c in self.clients.values():
            c.close()


def build(settings: Settings, environ: Mapping[str, str] | None = None, group_id: str | None = None,
          health: Health | None = None) -> tuple[RelayWorker, WorkerLoop]:  # fmt: skip
    """The relay's worker and loop from settings: targets file, topics (alerts and alerts.dlq), clients."""
    s = settings
    if s.relay_targets is None:
        raise ConfigError("LEPTON_RELAY_TARGETS: set it to the webhook targets file (docs/alerts.md)")
    worker = RelayWorker(s, targets_file.load(s.relay_targets), environ)
    try:
        topics = {worker.input_topic: s.topic_partitions, worker.dlq_topic: s.topic_partitions}
        if s.create_topics:
            backend.ensure_topics(s, topics)
        backend.check_writable(s, [worker.dlq_topic])
        make_consumer = functools.partial(backend.make_consumer, s, [worker.input_topic],
                                          group_id or f"{s.group_prefix}-{KIND}")  # fmt: skip
        loop = WorkerLoop(worker, make_consumer, Sink(backend.make_producer(s)), health=health)  # type: ignore[arg-type]
    except BaseException:
        worker.close()
        raise
    worker.keepalive = loop.keepalive
    log.info("relay_targets", targets=[{"name": t.name, "format": t.format, "kinds": t.kinds,
                                        "min_severity": t.min_severity, "subjects": t.subjects}
                                       for t in worker.targets])  # fmt: skip
    return worker, loop


def health(settings: Settings) -> RelayHealth:
    return RelayHealth(stall_limit_s(settings.max_poll_interval_ms), lambda: True, worker=KIND,
                       stuck_batch_s=settings.stuck_batch_s)  # fmt: skip

"""The alerting stages of a batch's back half: events into event-time windows (state), detectors over the
closed windows and alert records out (detect), and, on a replicated Redis, a wait for a replica (replicate).

Guarantee (with the loop's commit after the outputs are acknowledged): a redelivered batch counts nothing
twice (windows.apply skips an event whose partition offset was already applied) and claims no alert twice
(the monitor's compare-and-set); alerts claimed but never acknowledged are re-published from the outbox.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lepton_stream import logs, metrics
from lepton_stream.alerts.build import Finding
from lepton_stream.contracts import Alert
from lepton_stream.kafka import cloudevents
from lepton_stream.pipeline.batch import Item, Output
from lepton_stream.pipeline.stage import BatchContext, Stage
from lepton_stream.state import cluster
from lepton_stream.state.monitor import MonitorConfig, SubjectMonitor
from lepton_stream.state.outbox import Outbox
from lepton_stream.state.windows import Event, WindowStore

log = logs.get(__name__)


@dataclass
class CountWindows:
    """state: the batch's events into their subjects' windows, and event time (the watermark) raised."""

    store: WindowStore
    events_of: Callable[[Item], list[Event]]
    name: str = "state"
    # this batch's, for the detect stage that follows
    events: list[Event] = field(default_factory=list)
    watermark: float = 0.0

    def run(self, items: list[Item], batch: BatchContext) -> list[Output]:
        self.events = events = [e for it in items for e in self.events_of(it)]
        newest: dict[str, float] = {}
        for e in events:
            newest[e.partition] = max(newest.get(e.partition, 0.0), e.ts)
        before, self.watermark = self.store.raise_watermark(newest, batch.partitions) if events else (0.0, 0.0)
        # Lateness is judged against event time before this batch: a backlog batch spanning hours of one
        # partition must not make its own oldest events late.
        self.store.apply(events, before)
        return []


@dataclass
class Detect:
    """detect: the subjects this batch touched scored over their closed windows; the alert records claimed (and
    any overdue in the outbox) out, confirmed in the outbox once the broker has them."""

    windows: CountWindows
    monitor: SubjectMonitor
    outbox: Outbox
    # a finding and the evidence its windows kept (texts, confidences) -> the kind's alerts
    alerts_of: Callable[[Finding, list[dict]], list[Alert]]
    topic: str
    name: str = "detect"

    def run(self, items: list[Item], batch: BatchContext) -> list[Output]:
        events, store = self.windows.events, self.windows.store
        touched: dict[str, int] = {}
        oldest: dict[str, int] = {}
        buckets: dict[str, set[int]] = {}
        for e in events:
            b = store.bucket(e.ts)
            touched[e.subject] = max(touched.get(e.subject, b), b)
            oldest[e.subject] = min(oldest.get(e.subject, b), b)
            buckets.setdefault(e.subject, set()).add(b)
        claimed = (self.monitor.run(touched, self.windows.watermark, self._alert_dicts, self.outbox, oldest, buckets)
                   if events else [])  # fmt: skip
        claimed += self.outbox.overdue()
        outputs = []
        for _, body in claimed:
            data = json.loads(body)
            metrics.ALERTS.labels(data["kind"], data["severity"]).inc()
            # Built from the body: an alert re-published from the outbox gets the same event id (its alert_id).
            event = cloudevents.alert(batch.kind, data)
            outputs.append(Output(self.topic, data["subject"].encode(), body.encode(), event))
        entries = [e for e, _ in claimed]
        batch.after_flush(lambda: self.outbox.confirm(entries))
        return outputs

    def _alert_dicts(self, f: Finding) -> list[dict]:
        # JSON-ready dicts: the monitor's lifecycle sets the id and the lifecycle fields before they are stored.
        evidence = self.windows.store.evidence(f.subject, f.bucket)
        return [a.model_dump(mode="json") for a in self.alerts_of(f, evidence)]


@dataclass
class WaitReplicated:
    """replicate: what this batch wrote to Redis (guards and counts, claims, detector state) on a replica before
    its alerts go out and its offsets are committed, so a failover cannot lose it (cluster.wait_replicated)."""

    client: Any
    replicas: int
    prefix: str
    name: str = "replicate"

    def run(self, items: list[Item], batch: BatchContext) -> list[Output]:
        acked = cluster.wait_replicated(self.client, self.replicas, prefix=self.prefix)
        if acked < self.replicas:
            log.warning("redis_unreplicated", wanted=self.replicas, acked=acked)
        return []


@dataclass
class Alerting:
    """A kind's alerting stages, in order (the loop renews `detect.outbox`'s lease)."""

    windows: CountWindows
    detect: Detect
    replicate: WaitReplicated | None

    @property
    def stages(self) -> list[Stage]:
        return [self.windows, self.detect, *([self.replicate] if self.replicate else [])]


def build(w: Any, label: str | None, share: bool, events_of: Callable[[Item], list[Event]],
          alerts_of: Callable[[Finding, list[dict]], list[Alert]]) -> Alerting:  # fmt: skip
    """A worker's alerting stages from its settings (window, lateness, detector, cooldown, resolution).

    label: the label whose count is watched ("negative"); None = every message. share: also its share."""
    s, kind = w.settings, w.spec.kind
    store = WindowStore(w.redis, s.redis_key_prefix, kind, s.window_s, s.allowed_lateness_s,
                        max_skew_s=s.max_future_skew_s)  # fmt: skip
    cfg = MonitorConfig(
        label=label,
        share=share,
        min_volume=s.min_share_volume,
        min_count=s.min_alert_count,
        close_after_s=s.close_after_s,
        cooldown_buckets=s.alert_cooldown_buckets,
        detector={"warmup": s.detector_warmup, "warmup_s": s.detector_warmup_s},
        detector_kind=s.detector,
        resolve_after_s=s.resolve_after_s,
    )
    outbox = Outbox(w.redis, s.redis_key_prefix, kind, s.outbox_grace_s, owner=w.id)
    windows = CountWindows(store, events_of)
    replicas = cluster.wait_replicas(s.redis_url)
    return Alerting(
        windows,
        Detect(windows, SubjectMonitor(store, cfg), outbox, alerts_of, s.topic_alerts),
        WaitReplicated(w.redis, replicas, s.redis_key_prefix) if replicas else None,
    )

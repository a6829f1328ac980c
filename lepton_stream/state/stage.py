"""The state and detect stages of a batch: events into windows, detectors over them, alerts out."""

from __future__ import annotations

import json
from collections.abc import Callable

from lepton_stream import logs, metrics
from lepton_stream.alerts.build import Finding
from lepton_stream.contracts import Alert
from lepton_stream.kafka import cloudevents
from lepton_stream.pipeline.batch import Item, Output
from lepton_stream.pipeline.timing import StageTimer
from lepton_stream.pipeline.worker import Worker
from lepton_stream.state import cluster
from lepton_stream.state.monitor import SubjectMonitor
from lepton_stream.state.outbox import Outbox
from lepton_stream.state.windows import Event, WindowStore

log = logs.get(__name__)


class StateStage:
    def __init__(
        self,
        store: WindowStore,
        monitor: SubjectMonitor,
        outbox: Outbox,
        events_of: Callable[[Item], list[Event]],
        alerts_of: Callable[[Finding], list[Alert]],
        topic: str,
        replicas: int = 0,
    ):
        self.store, self.monitor, self.outbox, self.replicas = store, monitor, outbox, replicas
        self.events_of, self.alerts_of, self.topic = events_of, alerts_of, topic

    def apply(self, items: list[Item], w: Worker, t: StageTimer) -> list[Output]:
        """Returns the alert records to publish; confirms them in the outbox once the worker has flushed them."""
        events = [e for it in items for e in self.events_of(it)]
        with t("state"):
            newest: dict[str, float] = {}
            for e in events:
                newest[e.partition] = max(newest.get(e.partition, 0.0), e.ts)
            before, watermark = self.store.raise_watermark(newest, w.partitions) if events else (0.0, 0.0)
            # Lateness is judged against event time before this batch: a backlog batch spanning hours of
            # one partition must not make its own oldest events late.
            self.store.apply(events, before)
        with t("detect"):
            touched: dict[str, int] = {}
            oldest: dict[str, int] = {}
            buckets: dict[str, set[int]] = {}
            for e in events:
                b = self.store.bucket(e.ts)
                touched[e.subject] = max(touched.get(e.subject, b), b)
                oldest[e.subject] = min(oldest.get(e.subject, b), b)
                buckets.setdefault(e.subject, set()).add(b)
            claimed = (self.monitor.run(touched, watermark, self._alert_pairs, self.outbox, oldest, buckets)
                       if events else [])  # fmt: skip
            claimed += self.outbox.overdue()
        if self.replicas:
            with t("state"):
                # What this batch wrote (guards and counts, claims, detector state) on a replica before its alerts
                # go out and its offsets are committed: a failover then cannot lose it (cluster.wait_replicated).
                acked = cluster.wait_replicated(self.store.client, self.replicas, prefix=self.store.prefix)
            if acked < self.replicas:
                log.warning("redis_unreplicated", wanted=self.replicas, acked=acked)
        outputs = []
        for _, body in claimed:
            data = json.loads(body)
            metrics.ALERTS.labels(data["kind"], data["severity"]).inc()
            # Built from the body: an alert re-published from the outbox gets the same event id (its alert_id).
            event = cloudevents.alert(w.spec.kind, data)
            outputs.append(Output(self.topic, data["subject"].encode(), body.encode(), event))
        entries = [e for e, _ in claimed]
        w.after_flush(lambda: self.outbox.confirm(entries))
        return outputs

    def _alert_pairs(self, f: Finding) -> list[dict]:
        # JSON-ready dicts: the monitor's lifecycle sets the id and the lifecycle fields before they are stored.
        return [a.model_dump(mode="json") for a in self.alerts_of(f)]


def build(worker, config_label: str | None, share: bool, events_of, alerts_of) -> StateStage:
    """The stage for one worker, from its settings (window, lateness, detector warm-up, cooldown)."""
    from lepton_stream.state.monitor import MonitorConfig

    s = worker.settings
    store = WindowStore(worker.redis, s.redis_key_prefix, worker.spec.kind, s.window_s, s.allowed_lateness_s,
                        max_skew_s=s.max_future_skew_s)  # fmt: skip
    cfg = MonitorConfig(
        label=config_label,
        share=share,
        min_volume=s.min_share_volume,
        min_count=s.min_alert_count,
        close_after_s=s.close_after_s,
        cooldown_buckets=s.alert_cooldown_buckets,
        detector={"warmup": s.detector_warmup, "warmup_s": s.detector_warmup_s},
        detector_kind=s.detector,
        resolve_after_s=s.resolve_after_s,
    )
    outbox = Outbox(worker.redis, s.redis_key_prefix, worker.spec.kind, s.outbox_grace_s, owner=worker.id)
    return StateStage(store, SubjectMonitor(store, cfg), outbox, events_of, alerts_of, s.topic_alerts,
                      replicas=cluster.wait_replicas(s.redis_url))  # fmt: skip

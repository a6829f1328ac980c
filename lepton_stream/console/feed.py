"""The console's reader: one background consumer on the alerts and chat.routed topics, into ConsoleState.

No consumer group: the console commits nothing and takes no partitions from the relay or anyone else, and each
console reads for itself. It starts `backlog` records before each partition's end (the recent span, bounded
whatever the topic's retention), picks up topics created after it started (a console opened before the first
alert), and never creates a topic itself (a topic made with the broker's default partition count would not be
what the workers create).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

from lepton_stream import logs
from lepton_stream.config import Settings
from lepton_stream.console.model import ConsoleState

log = logs.get(__name__)
POLL_MS = 300
RESCAN_S = 2.0  # how often topics not seen yet (or new partitions) are looked for


class Feed:
    def __init__(self, settings: Settings, state: ConsoleState, backlog: int = 20_000) -> None:
        self.settings, self.state, self.backlog = settings, state, backlog
        self.topics = {settings.topic_alerts: state.add_alert, settings.topic_chat_routed: state.add_routed}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lepton-console-feed", daemon=True)
        self.records = 0

    def start(self) -> Feed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume()
            except Exception as exc:  # the page says the broker is unreachable; the reader tries again
                log.warning("console_feed_failed", error=f"{type(exc).__name__}: {exc}")
                self.state.set_feed_error(f"cannot read from {self.settings.kafka_bootstrap}: {type(exc).__name__}")
                self._stop.wait(3.0)

    def _consume(self) -> None:
        from kafka import KafkaConsumer, TopicPartition

        from lepton_stream.kafka.backend import client_kwargs

        # Said until the first metadata answer: a broker that does not answer keeps kafka-python waiting, not failing.
        self.state.set_feed_error(f"connecting to {self.settings.kafka_bootstrap}")
        consumer = KafkaConsumer(**client_kwargs(self.settings), enable_auto_commit=False,
                                 allow_auto_create_topics=False)  # fmt: skip
        assigned: set[Any] = set()
        try:
            next_scan = 0.0
            while not self._stop.is_set():
                if time.monotonic() >= next_scan:
                    next_scan = time.monotonic() + RESCAN_S
                    found = {TopicPartition(t, p) for t in self.topics for p in consumer.partitions_for_topic(t) or ()}
                    new = found - assigned
                    if new:
                        assigned |= new
                        consumer.assign(sorted(assigned))
                        self._seek_recent(consumer, sorted(new))
                    missing = sorted(t for t in self.topics if not any(tp.topic == t for tp in assigned))
                    self.state.set_feed_error(f"waiting for topic {', '.join(missing)}" if missing else None)
                if not assigned:
                    self._stop.wait(0.5)
                    continue
                for tp, recs in consumer.poll(timeout_ms=POLL_MS).items():
                    add = self.topics[tp.topic]
                    for r in recs:
                        self.records += 1
                        value: Any = None
                        with contextlib.suppress(ValueError, TypeError):
                            value = json.loads(r.value or b"")
                        add(value)
        finally:
            consumer.close()

    def _seek_recent(self, consumer: Any, tps: list[Any]) -> None:
        """Position new partitions `backlog` records before their end, or at their beginning."""
        begin = consumer.beginning_offsets(tps)
        end = consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, max(begin.get(tp, 0), end.get(tp, 0) - self.backlog))

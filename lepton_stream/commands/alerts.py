"""`lepton-stream alerts tail [--follow]`: the alerts topic rendered for a terminal, as the demo prints alerts.

Without --follow: every alert on the topic, by window, then a count by kind; it exits. With --follow: the same,
then each new alert as it arrives, until Ctrl-C. It reads without a consumer group (it commits nothing and
takes no partitions from the relay or anyone else).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

POLL_MS = 500


def register(sub) -> None:
    p = sub.add_parser("alerts", help="read the alerts topic")
    asub = p.add_subparsers(dest="alerts_command", required=True, metavar="SUBCOMMAND")
    tail = asub.add_parser("tail", help="print the alerts on the topic (and new ones with --follow)")
    tail.add_argument("--follow", "-f", action="store_true", help="keep printing new alerts until Ctrl-C")
    tail.set_defaults(func=run_tail)


def run_tail(args) -> int:
    from kafka.errors import KafkaError

    from lepton_stream.config import settings

    s = settings()
    try:
        return tail(s, follow=args.follow)
    except KeyboardInterrupt:
        return 0
    except KafkaError as exc:  # no broker at the address (kafka-python: a timeout), or one that refuses us
        print(f"cannot read {s.topic_alerts} from {s.kafka_bootstrap} (LEPTON_KAFKA_BOOTSTRAP): "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def show(value: bytes | None, say: Callable[[str], None]) -> dict[str, Any] | None:
    """Print one alert record; a record that is not an alert is named, not skipped silently."""
    from lepton_stream.alerts import render

    a = _parse(value)
    if a is None:
        say(f"  (not an alert: {(value or b'')[:80]!r})")
        return None
    for line in render.lines(a):
        say(line)
    return a


def tail(s, follow: bool = False, say: Callable[[str], None] = lambda t: print(t, flush=True),
         stop: Callable[[], bool] = lambda: False, timeout_s: float = 60.0) -> int:  # fmt: skip
    """Print the topic's alerts (then, following, new ones until stop()). 1 when the topic could not be read to
    its end within timeout_s (a broker that does not answer): without --follow, printing part of it as all of
    it would mislead."""
    from kafka import KafkaConsumer, TopicPartition

    from lepton_stream.alerts import render
    from lepton_stream.kafka.backend import client_kwargs

    topic = s.topic_alerts
    consumer = KafkaConsumer(**client_kwargs(s), enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic)
        while not parts and follow and not stop():  # a topic nobody wrote to yet: wait for its first alert
            time.sleep(1.0)
            parts = consumer.partitions_for_topic(topic)
        if not parts:
            say(f"no alerts: topic {topic} does not exist")
            return 0
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        # What is there now: read to each partition's end as the first fetch reports it, then print it sorted.
        ends: dict[Any, int] = {}
        backlog: list = []
        deadline = time.monotonic() + timeout_s
        while len(ends) < len(tps) or any(consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                say(f"{topic}: not read to its end within {timeout_s:.0f} s (is the broker answering?)")
                if not follow:
                    return 1
                break
            got = consumer.poll(timeout_ms=POLL_MS)
            for tp in tps:
                if tp not in ends and consumer.highwater(tp) is not None:
                    ends[tp] = consumer.highwater(tp)
            backlog += [r for recs in got.values() for r in recs]
        alerts, odd = [], []
        for r in backlog:
            a = _parse(r.value)
            (alerts if a is not None else odd).append(a if a is not None else r.value)
        say(f"Alerts ({len(alerts)}):")
        for a in sorted(alerts, key=render.sort_key):
            for line in render.lines(a):
                say(line)
        for value in odd:
            show(value, say)
        if alerts:
            say(render.by_kind(alerts))
        if not follow:
            return 0
        say(f"following {topic} (Ctrl-C to stop)")
        while not stop():
            for recs in consumer.poll(timeout_ms=POLL_MS).values():
                for r in recs:
                    show(r.value, say)
        return 0
    finally:
        consumer.close()


def _parse(value: bytes | None) -> dict[str, Any] | None:
    """The record as an alert the renderer can print, or None."""
    from lepton_stream.alerts import render

    try:
        a = json.loads(value or b"")
        render.sort_key(a)
        render.lines(a)
        return a
    except (ValueError, KeyError, TypeError, IndexError):
        return None

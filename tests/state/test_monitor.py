"""SubjectMonitor with a real Redis: a subject's detector state is written only when it changes."""

from __future__ import annotations

import redis

from lepton_stream.alerts.outbox import Outbox
from lepton_stream.state.monitor import MonitorConfig, SubjectMonitor
from lepton_stream.state.windows import Event, WindowStore

W = 300


def test_detector_state_is_written_when_a_bucket_closes_not_on_every_peek(redis_url, key_prefix) -> None:
    client = redis.Redis.from_url(redis_url)
    store = WindowStore(client, key_prefix, "news", W, 600)
    monitor = SubjectMonitor(store, MonitorConfig(label="negative", close_after_s=0))
    outbox = Outbox(client, key_prefix, "news", 60)
    t0 = 1_000_000 * W

    def batch(ts: float, ids: range) -> None:
        store.apply([Event("raw:0", "ACME", f"m{i}", ts, "neutral") for i in ids], 0.0)
        b = store.bucket(ts)
        assert monitor.run({"ACME": b}, ts, lambda f: [], outbox, {"ACME": b}) == []

    def rev() -> int:
        return int(client.hget(store.key("ACME", "det"), "rev") or 0)

    batch(t0 + 10, range(3))
    assert rev() == 1  # first sight: where the series starts is stored
    batch(t0 + 20, range(3, 6))
    batch(t0 + 30, range(6, 9))
    assert rev() == 1  # the open bucket was only peeked at: nothing to store
    batch(t0 + W + 10, range(9, 12))  # the watermark passes the first bucket's end: it is scored
    assert rev() == 2
    assert client.hget(store.key("ACME", "b:" + str(store.bucket(t0))), "n") == b"9"
    client.close()

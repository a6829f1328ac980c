"""Window state on a real Redis: each event applied once by its partition offset, whatever is redelivered, and
the idempotence state bounded by subjects x partitions (no key per message)."""

from __future__ import annotations

from lepton_stream.state.cluster import connect
from lepton_stream.state.windows import Event, WindowStore

W = 300


def events(partition: str, offsets: range, subject: str = "ACME", ts: float = 1_000_000 * W + 5) -> list[Event]:
    return [Event(partition, subject, f"{partition}-{o}", ts, "negative", offset=o) for o in offsets]


def test_redelivered_and_overlapping_batches_count_each_record_once(redis_url, key_prefix) -> None:
    client = connect(redis_url)
    store = WindowStore(client, key_prefix, "news", W, 3600)
    b = store.bucket(1_000_000 * W + 5)
    # A batch, its retry, a new owner replaying from an older commit with more, and another partition.
    store.apply(events("raw:0", range(0, 10)), 0.0)
    store.apply(events("raw:0", range(0, 10)), 0.0)
    store.apply(events("raw:0", range(5, 20)), 0.0)
    store.apply(events("raw:1", range(0, 10)), 0.0)
    # The old owner finishing late what the new one already applied.
    store.apply(events("raw:0", range(10, 15)), 0.0)
    counts = store.read({"ACME": [b]})["ACME"][b]
    assert counts["n"] == 30 and counts["negative"] == 30
    keys = {k.decode().rsplit(":", 1)[-1] for k in client.scan_iter(match=f"{key_prefix}*")}
    assert not any(k.startswith("m") for k in keys)  # no per-message guard keys
    assert len(list(client.scan_iter(match=f"{key_prefix}*"))) == 2  # the bucket and the offsets hash
    client.close()


def test_a_count_only_event_is_counted_once(redis_url, key_prefix) -> None:
    """A support intent's messages carry the label "n": each must add 1 to n, not 2 (n and then its label)."""
    client = connect(redis_url)
    store = WindowStore(client, key_prefix, "chat", W, 3600)
    ts = 1_000_000 * W + 5
    store.apply([Event("raw:0", "card_not_working", f"m{o}", ts, "n", 0.9, offset=o) for o in range(12)], 0.0)
    b = store.bucket(ts)
    counts = store.read({"card_not_working": [b]})["card_not_working"][b]
    assert counts["n"] == 12
    client.close()


def test_the_watermark_never_runs_ahead_of_the_clock_and_can_be_reset(redis_url, key_prefix) -> None:
    client = connect(redis_url)
    now = 1_800_000_000.0
    store = WindowStore(client, key_prefix, "news", W, 3600, max_skew_s=600, clock=lambda: now)
    # A partition stored years ahead (a producer's clock gone wrong, before the bound existed): brought back.
    client.hset(store.watermark_key(), "raw:1", repr(now + 5 * 365 * 86400))
    before, after = store.raise_watermark({"raw:0": now + 86400, "raw:1": now - 30}, {"raw:0": "behind"})
    assert before <= now + 600 and after <= now + 600
    assert all(float(v.rstrip("!")) <= now + 600 for v in store.watermarks().values())
    # Current events are on time against it, not an hour late.
    assert store.apply(events("raw:0", range(3), ts=now - 60), after)[1] == 0
    assert store.reset_watermark("raw:1") == 1 and set(store.watermarks()) == {"raw:0"}
    assert store.reset_watermark() == 1 and store.watermarks() == {}
    client.close()

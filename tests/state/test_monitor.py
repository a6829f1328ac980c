"""SubjectMonitor with a real Redis: a subject's detector state is written only when it changes."""

from __future__ import annotations

import dataclasses

from lepton_stream.state.cluster import connect
from lepton_stream.state.monitor import MonitorConfig, SubjectMonitor
from lepton_stream.state.outbox import Outbox
from lepton_stream.state.windows import Event, WindowStore

W = 300


def spike(f) -> list[dict]:
    return [{"kind": "sentiment_spike", "subject": f.subject, "bucket": f.bucket}]


def test_detector_state_is_written_when_a_bucket_closes_not_on_every_peek(redis_url, key_prefix) -> None:
    client = connect(redis_url)
    store = WindowStore(client, key_prefix, "news", W, 600)
    monitor = SubjectMonitor(store, MonitorConfig(label="negative", close_after_s=0))
    outbox = Outbox(client, key_prefix, "news", 60)
    t0 = 1_000_000 * W

    def batch(ts: float, ids: range) -> None:
        store.apply([Event("raw:0", "ACME", f"m{i}", ts, "neutral", offset=i) for i in ids], 0.0)
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


def test_a_partition_running_ahead_does_not_alert_early_and_silence_the_incident(redis_url, key_prefix) -> None:
    """Seen in a chaos run: one partition far ahead of the watermark touched a later bucket of the incident's
    subject; peeked at against a detector hours behind, its partial count alerted, and that alert's cooldown
    then silenced the incident's own bucket when the lagging partition caught up and it closed."""
    import json

    client = connect(redis_url)
    store = WindowStore(client, key_prefix, "news", W, 86400)
    monitor = SubjectMonitor(store, MonitorConfig(label="negative", close_after_s=0,
                                                  detector={"warmup": 10, "warmup_s": 0}))  # fmt: skip
    outbox = Outbox(client, key_prefix, "news", 60)
    t0 = 1_000_000 * W
    alerted: list[int] = []
    n = iter(range(10**6))

    def batch(bucket: int, negatives: int, neutrals: int, watermark_bucket: int) -> None:
        ts = t0 + bucket * W + 10
        labels = ["negative"] * negatives + ["neutral"] * neutrals
        events = [Event("raw:0", "ACME", f"m{next(n)}", ts, lab, offset=0) for lab in labels]
        store.apply([dataclasses.replace(e, offset=int(e.msg_id[1:])) for e in events], 0.0)
        b = store.bucket(ts)
        claimed = monitor.run({"ACME": b}, t0 + watermark_bucket * W + 10,
                              spike, outbox, {"ACME": b})
        alerted.extend((json.loads(body)["bucket"] - t0) // W for _, body in claimed)

    for j in range(14):  # a quiet history, scored bucket by bucket
        batch(j, 1, 3, j)
    batch(24, 10, 0, 14)  # the partition running ahead: part of the incident, ten buckets past the watermark
    assert alerted == []
    batch(23, 40, 0, 25)  # the lagging partition catches up with the incident's main bucket; both close
    assert alerted == [23]
    client.close()


def test_late_events_in_a_bucket_already_scored_are_checked_again(redis_url, key_prefix) -> None:
    """A source running minutes behind: its events land in a bucket the watermark already closed and scored.
    Within the allowed lateness they are counted, and the bucket is checked again, so the incident alerts."""
    import json

    client = connect(redis_url)
    store = WindowStore(client, key_prefix, "news", W, 3600)
    monitor = SubjectMonitor(store, MonitorConfig(label="negative", close_after_s=0,
                                                  detector={"warmup": 10, "warmup_s": 0}))  # fmt: skip
    outbox = Outbox(client, key_prefix, "news", 60)
    t0 = 1_000_000 * W
    alerted: list[int] = []
    n = iter(range(1, 10**6))

    def batch(bucket: int, negatives: int, neutrals: int, watermark_bucket: int) -> None:
        ts = t0 + bucket * W + 10
        labels = ["negative"] * negatives + ["neutral"] * neutrals
        events = [Event("raw:0", "ACME", f"m{i}", ts, lab, offset=i) for i, lab in zip(n, labels, strict=False)]
        store.apply(events, t0 + watermark_bucket * W)
        b = store.bucket(ts)
        claimed = monitor.run({"ACME": b}, t0 + watermark_bucket * W + 10,
                              spike, outbox, {"ACME": b},
                              {"ACME": {b}})  # fmt: skip
        alerted.extend((json.loads(body)["bucket"] - t0) // W for _, body in claimed)

    for j in range(16):  # a quiet history, scored bucket by bucket
        batch(j, 1, 3, j + 1)
    assert alerted == []
    batch(16, 1, 3, 18)  # bucket 16 closes quietly: the incident's news has not arrived yet
    batch(16, 40, 0, 18)  # ... then it does, five minutes late (well inside the allowed hour)
    assert alerted == [16]
    batch(16, 0, 1, 18)  # more late data for the same bucket: checked again, not alerted twice
    assert alerted == [16]
    client.close()


def test_a_stored_state_with_a_nan_is_read_and_restarted_not_kept(redis_url, key_prefix) -> None:
    """States are written with orjson, which would store a NaN as null; one written by the stdlib before (NaN
    tokens) is still read, and a non-finite detector starts afresh instead of never alerting again."""
    import json

    import orjson

    from lepton_stream import metrics

    client = connect(redis_url)
    store = WindowStore(client, key_prefix, "news", W, 86400)
    monitor = SubjectMonitor(store, MonitorConfig(label="negative", close_after_s=0))
    outbox = Outbox(client, key_prefix, "news", 60)
    t0 = 1_000_000 * W
    state = monitor._fresh()
    state["count"]["state"].update(level=float("nan"), n=40)
    state["last"] = t0 - W
    client.hset(store.key("ACME", "det"), mapping={"rev": "3", "state": json.dumps(state)})
    before = metrics.DETECTOR_RESETS.labels("news")._value.get()
    store.apply([Event("raw:0", "ACME", "m1", t0 + 10, "negative", offset=1)], 0.0)
    monitor.run({"ACME": store.bucket(t0)}, t0 + W + 10, lambda f: [], outbox, {"ACME": store.bucket(t0)})
    assert metrics.DETECTOR_RESETS.labels("news")._value.get() == before + 1
    raw = client.hget(store.key("ACME", "det"), "state")
    client.close()
    stored = orjson.loads(raw)  # valid JSON: no NaN token
    assert stored["count"]["state"]["level"] is None and stored["count"]["state"]["n"] == 0
    assert stored["last"] == t0


def test_a_state_of_another_detector_kind_restarts_with_the_configured_one() -> None:
    """LEPTON_DETECTOR changed, or a state stored under the older "spike" field: the subject learns afresh
    with the configured kind rather than failing or silently keeping the old detector."""
    from lepton_stream.detect import SpikeDetector

    store = WindowStore(None, "p:", "news", W, 600)  # type: ignore[arg-type]  # no Redis needed here
    monitor = SubjectMonitor(store, MonitorConfig(label="negative", detector={"warmup": 7}))
    old = SpikeDetector()
    old.update(1.0, 3.0)
    legacy = {"last": None, "last_alert": None, "spike": old.to_dict(), "ewma": None}
    det = monitor._count_detector(legacy)
    assert det.kind == "context" and det.params.warmup == 7 and "spike" not in legacy
    assert legacy["count"]["kind"] == "context"
    spike_monitor = SubjectMonitor(store, MonitorConfig(label="negative", detector_kind="spike"))
    kept = {"count": old.to_dict()}
    assert spike_monitor._count_detector(kept).to_dict() == old.to_dict()  # the same kind resumes as stored


def test_a_state_this_version_cannot_read_restarts_the_subject_visibly() -> None:
    """A stored detector state that does not restore (its memory cut short, no state at all) would fail every
    batch that touches the subject: it starts afresh instead, logged and counted."""
    from lepton_stream import metrics

    store = WindowStore(None, "p:", "news", W, 600)  # type: ignore[arg-type]  # no Redis needed here
    monitor = SubjectMonitor(store, MonitorConfig(label="negative"))
    before = metrics.DETECTOR_RESETS.labels("news")._value.get()
    for broken in ({"memory": "AAAA"}, None):
        state = monitor._fresh()
        if broken is None:
            del state["count"]["state"]
        else:
            state["count"]["state"].update(broken)
        det = monitor._count_detector(state)
        assert det.to_dict() == monitor._fresh()["count"] and state["count"] == det.to_dict()
        det.update(1_000_000.0, 3.0)  # and it runs
    assert metrics.DETECTOR_RESETS.labels("news")._value.get() == before + 2


def test_each_claim_holds_its_own_record_so_the_outbox_republishes_the_right_one(redis_url, key_prefix) -> None:
    """The commit script stores "<token>\\n<JSON>" of claim i in claim key i. Stored one place off, the first
    claim held the TTL and each other one its neighbour's JSON: an outbox take-over then dropped the first
    record as stale and published the others under the wrong entries."""
    from lepton_stream.state import monitor as monitor_module
    from lepton_stream.state import scripts

    client = connect(redis_url)
    det, a1, a2 = (f"{key_prefix}{{news:ACME}}:{x}" for x in ("det", "alert:a1", "alert:a2"))
    claimed = scripts.run(client, monitor_module._COMMIT([det, a1, a2], ["0", "{}", 600, 600, "t\n{\"n\": 1}",
                                                                        "t\n{\"n\": 2}"]))  # fmt: skip
    assert claimed == [1, 2]
    assert (client.get(a1), client.get(a2)) == (b't\n{"n": 1}', b't\n{"n": 2}')
    gone = Outbox(client, key_prefix, "news", 1, owner="dead", clock=lambda: 0.0)
    scripts.execute(client, [gone.add([f"{a1}|t", f"{a2}|t"])])
    taker = Outbox(client, key_prefix, "news", 1, owner="alive", clock=lambda: 100.0)
    assert sorted(taker.overdue()) == [(f"{a1}|t", '{"n": 1}'), (f"{a2}|t", '{"n": 2}')]
    client.close()

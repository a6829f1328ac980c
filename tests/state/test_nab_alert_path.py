"""The alert path on a labelled series: counts of a nab_dev series in the worker's windows, scored by the
monitor with a real Redis; the incidents it opens land in the labelled windows, with cooldown and minimum
counts applied, and each resolves once the series is back to its level."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lepton_stream.detect.calibrate import parse_timestamp
from lepton_stream.state.cluster import connect
from lepton_stream.state.monitor import MonitorConfig, SubjectMonitor
from lepton_stream.state.outbox import Outbox
from lepton_stream.state.windows import WindowStore
from lepton_stream.tooling.detect_eval import nabfolder

NAB_DEV = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nab_dev"
SERIES = "artificialWithAnomaly/art_increase_spike_density.csv"  # counts 0..20 per 5 minutes, one window
W = 300


@pytest.mark.skipif(not (NAB_DEV / "data" / SERIES).exists(), reason="nab_dev is not beside the repository")
def test_alerts_of_a_replayed_series_land_in_its_labelled_window(redis_url, key_prefix) -> None:
    series = next(s for s in nabfolder.load_folder(NAB_DEV, ["artificialWithAnomaly"]) if s.rel == SERIES)
    ts = [int(parse_timestamp(t)) for t in series.stamps]
    counts = [round(v) for v in series.values]
    assert all(b - a == W for a, b in zip(ts, ts[1:], strict=False)), "one row per 5-minute bucket"
    client = connect(redis_url)
    store = WindowStore(client, key_prefix, "news", W, 3600, retention_s=90 * 86400)
    cfg = MonitorConfig(label="negative", close_after_s=0, min_count=5, cooldown_buckets=12)
    monitor = SubjectMonitor(store, cfg)
    outbox = Outbox(client, key_prefix, "news", 60)
    pipe = client.pipeline(transaction=False)
    for t, c in zip(ts, counts, strict=True):
        if c:  # an empty bucket is simply absent, as in the worker's windows
            pipe.hset(store.key("ACME", f"b:{t}"), mapping={"n": c, "negative": c})
    pipe.execute()
    published: list[dict] = []

    def make_alerts(f):
        return [{"kind": "sentiment_spike", "subject": f.subject, "bucket": f.bucket,
                 "count": f.counts.get("negative", 0)}]

    step = 200  # the watermark moves on in steps; every bucket it passes is scored once, in order
    for i in range(0, len(ts), step):
        newest = ts[min(i + step, len(ts)) - 1]
        claimed = monitor.run({"ACME": newest}, newest + W, make_alerts, outbox, {"ACME": ts[0]})
        published += [json.loads(body) for _, body in claimed]
    client.close()

    # Each incident's records: sequence 1, 2, ... under one fingerprint, resolved last (its spike ends).
    incidents: dict[str, list[dict]] = {}
    for a in published:
        incidents.setdefault(a["fingerprint"], []).append(a)
    for recs in incidents.values():
        assert [a["sequence"] for a in recs] == list(range(1, len(recs) + 1))
        assert [a["status"] for a in recs][-1] == "resolved" and all(a["status"] == "firing" for a in recs[:-1])
    opened = [a for a in published if a["sequence"] == 1]
    rows = {t: i for i, t in enumerate(ts)}
    at = [rows[a["bucket"]] for a in opened]
    probation = int(0.15 * len(ts))  # NAB ignores alerts in its first 15%
    index = {t: i for i, t in enumerate(series.stamps)}
    windows = [(index[a], index[b]) for a, b in series.windows]
    scored = [i for i in at if i >= probation]
    assert scored and all(any(lo <= i <= hi for lo, hi in windows) for i in scored), (at, windows)
    assert all(a["count"] >= 5 for a in published), "a bucket under the minimum count never alerts"
    assert all(b - a >= 12 for a, b in zip(at, at[1:], strict=False)), "no new incident within the cooldown"
    assert len(at) == len(set(at))

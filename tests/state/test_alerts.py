"""State, detection and alerts through Worker.process with a real Redis (no broker needed)."""

from __future__ import annotations

import json

import pytest

from lepton_stream.config import load_settings
from lepton_stream.pipeline.batch import RawRecord
from lepton_stream.runtime import build_worker
from lepton_stream.state.cluster import connect
from lepton_stream.tooling.replay import synth


@pytest.fixture(scope="module")
def models(models_dir):
    from lepton_stream.models.serving import load_model

    return {k: load_model(models_dir / k, "torch") for k in ("news", "chat")}


def worker(kind, redis_url, prefix, models_dir, model):
    s = load_settings(redis_url=redis_url, redis_key_prefix=prefix, models_dir=models_dir, runtime="torch",
                      detector_warmup=12, detector_warmup_s=0)  # fmt: skip
    return build_worker(kind, s, model=model)


def run(w, records, batch=64):
    topic = w.input_topic
    raws = [RawRecord(topic, 0, i, r.key, r.value) for i, r in enumerate(records)]
    outs = []
    for i in range(0, len(raws), batch):
        outs += w.process(raws[i : i + batch])
        w.flushed()
    return [json.loads(o.value) for o in outs if o.topic == w.settings.topic_alerts]


def buckets(redis_url, prefix):
    c = connect(redis_url)
    keys = sorted(k for k in c.scan_iter(match=f"{prefix}*:b:*", count=1000))
    return {k: c.hgetall(k) for k in keys}


def test_incident_alerts_once_with_explanation_path(redis_url, key_prefix, models_dir, models):
    w = worker("news", redis_url, key_prefix, models_dir, models["news"])
    records = synth.news_stream(n=1200, seed=5, malformed=0.0)
    alerts = run(w, records)
    spikes = [a for a in alerts if a["kind"] == "sentiment_spike"]
    assert {a["subject"] for a in spikes} == {"TSM"}, "the incident alerts, the quiet part of the stream does not"
    spike = spikes[0]
    # One incident: firing first, updates only as it escalates, resolved once its news stops (the stream goes
    # on for hours after it), every record under one fingerprint with sequence 1, 2, ...
    assert len({a["fingerprint"] for a in spikes}) == 1
    assert [a["sequence"] for a in spikes] == list(range(1, len(spikes) + 1))
    assert [a["status"] for a in spikes] == ["firing"] * (len(spikes) - 1) + ["resolved"]
    assert spikes[-1]["ends_at"] > spikes[-1]["starts_at"] == spike["window"]["start"]
    assert spike["counts"]["negative"] >= 5 and spike["evidence"]
    assert spike["severity"] in {"medium", "high", "critical"}
    propagated = [a for a in alerts if a["kind"] == "propagated_risk"]
    assert {a["subject"] for a in propagated} >= {"AAPL", "NVDA"}
    assert all(a["propagated_from"]["entity"] == "TSM" and "TSM" in a["propagated_from"]["path"] for a in propagated)
    assert len({a["alert_id"] for a in alerts}) == len(alerts)

    # Replaying every batch (a redelivery) changes no aggregate and publishes no second alert.
    before = buckets(redis_url, key_prefix)
    assert run(worker("news", redis_url, key_prefix, models_dir, models["news"]), records) == []
    assert buckets(redis_url, key_prefix) == before


def test_intent_surge_and_routing(redis_url, key_prefix, models_dir, models):
    w = worker("chat", redis_url, key_prefix, models_dir, models["chat"])
    records = synth.chat_stream(n=900, seed=9, malformed=0.0)
    alerts = run(w, records)
    surges = [a for a in alerts if a["kind"] == "intent_surge"]
    assert surges, "the card_not_working incident raises an intent surge"
    # The surge ends long before the stream does: its incident resolves.
    firsts = {a["fingerprint"] for a in surges if a["sequence"] == 1 and a["status"] == "firing"}
    assert firsts == {a["fingerprint"] for a in surges}
    assert {a["fingerprint"] for a in surges if a["status"] == "resolved"}
    assert len({a["alert_id"] for a in alerts}) == len(alerts)

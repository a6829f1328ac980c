"""The chaos run's accounting (pure functions): what counts as lost, duplicated, drifted or redelivered."""

from __future__ import annotations

import base64
import hashlib

from lepton_stream.tooling.bench.accounting import (
    RunOutput,
    bucket_drift,
    compare,
    failures,
    lifecycle_gaps,
    lost,
    redeliveries,
    redeliveries_differing,
)


def enriched(*ids: str, label: str = "neutral") -> list[dict]:
    return [{"id": i, "sentiment": {"label": label}} for i in ids]


def alert(alert_id: str, subject: str = "TSM") -> dict:
    return {"alert_id": alert_id, "kind": "sentiment_spike", "subject": subject}


def dlq(reason: str, raw: bytes) -> dict:
    return {"reason": reason, "original_b64": base64.b64encode(raw).decode(),
            "original_sha256": hashlib.sha256(raw).hexdigest()}


def test_lost_and_redeliveries():
    assert lost({"a", "b", "c"}, enriched("a", "c", "c")) == ["b"]
    assert redeliveries(enriched("a", "c", "c", "c")) == 2


def test_a_redelivery_must_repeat_the_first_output_exactly():
    assert redeliveries_differing(enriched("a", "c", "c")) == []
    assert redeliveries_differing(enriched("a", "c") + enriched("c", label="negative") + enriched("a")) == ["c"]


def test_bucket_drift_counts_exact_sums_tolerant():
    a = {"{news:TSM}:b:0": {"n": "3", "negative": "3", "sum:negative": "2.7000001"}}
    same = {"{news:TSM}:b:0": {"n": "3", "negative": "3", "sum:negative": "2.7"}}
    assert bucket_drift(a, same)["buckets_differing"] == 0
    double = {"{news:TSM}:b:0": {"n": "4", "negative": "4", "sum:negative": "3.6"}}
    d = bucket_drift(a, double)
    assert d["buckets_differing"] == d["buckets_count_differing"] == 1
    assert bucket_drift(a, {})["buckets_differing"] == 1  # a bucket missing in one run is drift


def test_compare_clean_equal_runs_pass_and_redeliveries_do_not_fail():
    valid = {"a", "b"}
    clean = RunOutput(enriched("a", "b"), [alert("x")], [dlq("bad_json", b"{")], {"k": {"n": "2"}})
    chaos = RunOutput(enriched("a", "b", "b"), [alert("x")], [dlq("bad_json", b"{")] * 2, {"k": {"n": "2"}})
    r = compare(valid, clean, chaos)
    assert failures(r) == []
    assert r["redeliveries"] == 1 and r["dlq_redeliveries"] == 1


def test_compare_flags_every_kind_of_failure():
    valid = {"a", "b"}
    clean = RunOutput(enriched("a", "b"), [alert("x")], [dlq("bad_json", b"{")], {"k": {"n": "2"}})
    chaos = RunOutput(enriched("a") + enriched("a", label="negative"), [alert("y", "NVDA")] * 2,
                      [dlq("invalid", b"{")], {"k": {"n": "3"}})  # fmt: skip
    r = compare(valid, clean, chaos)
    assert set(failures(r)) == {"lost_messages", "duplicate_alerts", "alerts_missing_vs_clean", "alerts_extra_vs_clean",
                                "aggregate_drift", "dlq_missing_vs_clean", "dlq_extra_vs_clean",
                                "redeliveries_differing"}  # fmt: skip


def test_an_incident_missing_a_state_change_is_a_lifecycle_gap():
    def rec(fp: str, seq: int, status: str = "firing") -> dict:
        return {**alert(f"{fp}{seq}"), "fingerprint": fp, "sequence": seq, "status": status}

    whole = [rec("f1", 1), rec("f1", 2), rec("f1", 3, "resolved"), rec("f2", 1)]
    assert lifecycle_gaps(whole + [alert("old")]) == []  # a record without a lifecycle is not judged
    assert lifecycle_gaps([rec("f1", 1), rec("f1", 3, "resolved"), rec("f2", 2)]) == ["f1", "f2"]
    clean = RunOutput(enriched("a"), whole)
    r = compare({"a"}, clean, RunOutput(enriched("a"), [whole[0], whole[2], whole[3]]))
    assert failures(r) == ["lifecycle_gaps"] and r["incidents_resolved_chaos"] == r["incidents_resolved_clean"] == 1

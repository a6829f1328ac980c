"""Incident lifecycle: the state machine on its own, then through the monitor on a real Redis (firing once,
escalation once, resolution once, whatever is redelivered or replayed; resolution of a subject gone quiet)."""

from __future__ import annotations

import json

import pytest

from lepton_stream.alerts.build import Finding
from lepton_stream.contracts import Alert
from lepton_stream.state import lifecycle
from lepton_stream.state.cluster import connect
from lepton_stream.state.lifecycle import Changes, Lifecycle
from lepton_stream.state.monitor import MonitorConfig, SubjectMonitor
from lepton_stream.state.outbox import Outbox
from lepton_stream.state.windows import Event, WindowStore

W = 300
T0 = 1_000_000 * W


def finding(bucket: int, score: float = 0.75, n: int = 12, negative: int = 12, baseline: float = 1.0) -> Finding:
    return Finding("ACME", "count", bucket, score, {"n": n, "negative": negative}, baseline, True)


def make_alerts(f: Finding, related: tuple[str, ...] = ("BETA",)) -> list[dict]:
    """The worker's shape: the subject's own alert and one propagated to each related entity."""
    own = {"kind": "sentiment_spike", "subject": f.subject, "bucket": f.bucket, "score": f.score}
    return [own] + [{"kind": "propagated_risk", "subject": r, "bucket": f.bucket, "score": f.score / 2,
                     "propagated_from": {"entity": f.subject}} for r in related]  # fmt: skip


# ---------------------------------------------------------------- the state machine


def test_fires_updates_only_on_a_rise_and_resolves_after_quiet_windows() -> None:
    lc = Lifecycle(W, 900, 5)
    state: dict = {"incident": None}
    out = Changes()
    lc.on_finding(state, finding(T0, 0.75, n=12), make_alerts, out)  # medium
    first = out.records
    assert [(r["kind"], r["status"], r["sequence"]) for r in first] == [("sentiment_spike", "firing", 1),
                                                                          ("propagated_risk", "firing", 1)]
    fp = first[0]["fingerprint"]
    assert fp == lifecycle.fingerprint("sentiment_spike", "ACME", "", T0)
    assert first[1]["fingerprint"] == lifecycle.fingerprint("propagated_risk", "BETA", "ACME", T0) != fp
    assert first[0]["alert_id"] == lifecycle.record_id(fp, 1) and first[0]["starts_at"] == lifecycle.iso(T0)

    out = Changes()
    lc.on_finding(state, finding(T0 + W, 0.8, n=12), make_alerts, out)  # same severity, score +0.05: nothing
    assert out.records == [] and out.dirty and state["incident"]["hot"] == T0 + W
    lc.on_finding(state, finding(T0 + 2 * W, 1.0, n=40), make_alerts, out)  # critical: an update
    assert [(r["status"], r["sequence"], r["fingerprint"]) for r in out.records[:1]] == [("firing", 2, fp)]
    assert out.records[0]["starts_at"] == lifecycle.iso(T0)  # the incident's start, not this window's
    out = Changes()
    lc.on_finding(state, finding(T0 + 3 * W, 0.75, n=12), make_alerts, out)  # lower: nothing
    assert out.records == []

    out = Changes()
    lc.on_closed(state, T0 + 4 * W, 20, out)  # still elevated (baseline 1): hot moves on
    lc.on_closed(state, T0 + 5 * W, 0, out)
    lc.on_closed(state, T0 + 6 * W, 3, out)
    assert out.resolutions == [] and state["incident"]["hot"] == T0 + 4 * W
    assert lc.resolvable_at(state["incident"]) == T0 + 7 * W
    lc.on_closed(state, T0 + 7 * W, 1, out)  # the third quiet window after the last elevated one
    assert state["incident"] is None
    assert [(r.fields["status"], r.fields["sequence"]) for r in out.resolutions] == [("resolved", 3),
                                                                                     ("resolved", 3)]
    assert out.resolutions[0].fields["ends_at"] == lifecycle.iso(T0 + 5 * W)  # end of the last elevated window
    resolved = lifecycle.resolved_record({**first[0], "sequence": 2}, out.resolutions[0].fields)
    assert resolved["fingerprint"] == fp and resolved["alert_id"] == lifecycle.record_id(fp, 3)

    out = Changes()
    lc.on_finding(state, finding(T0 + 20 * W), make_alerts, out)  # a re-breach: a new incident
    assert out.records[0]["sequence"] == 1 and out.records[0]["fingerprint"] != fp


def test_a_member_new_to_an_escalating_incident_starts_at_sequence_one() -> None:
    lc = Lifecycle(W, 600, 5)
    state: dict = {"incident": None}
    out = Changes()
    lc.on_finding(state, finding(T0), lambda f: make_alerts(f, ()), out)
    lc.on_finding(state, finding(T0 + W, 1.0, n=40), lambda f: make_alerts(f, ("BETA",)), out)
    assert [(r["subject"], r["sequence"]) for r in out.records] == [("ACME", 1), ("ACME", 2), ("BETA", 1)]


def test_a_quiet_window_under_the_minimum_count_or_within_noise_is_not_elevated() -> None:
    lc = Lifecycle(W, 900, 5)
    inc = {"baseline": 4.0}
    assert not lc.elevated(inc, 4) and not lc.elevated(inc, 10) and lc.elevated(inc, 11)
    assert not lc.elevated({"baseline": 0.0}, 4) and lc.elevated({"baseline": 0.0}, 5)
    assert Lifecycle(W, 0, 5).quiet_buckets == 1 and Lifecycle(W, 301, 5).quiet_buckets == 2


def test_records_with_the_lifecycle_fields_are_valid_alerts() -> None:
    base = {"kind": "sentiment_spike", "subject": "ACME", "window": {"start": lifecycle.iso(T0),
            "end": lifecycle.iso(T0 + W)}, "counts": {"n": 12}, "baseline": 1.0, "score": 0.8,
            "severity": "medium", "evidence": [], "model_version": "m1", "alert_id": "0" * 32}  # fmt: skip
    state: dict = {"incident": None}
    out = Changes()
    Lifecycle(W, 300, 5).on_finding(state, finding(T0), lambda f: [dict(base)], out)
    Lifecycle(W, 300, 5).on_closed(state, T0 + W, 0, out)
    fired = Alert.model_validate(out.records[0])
    resolved = Alert.model_validate(lifecycle.resolved_record(out.records[0], out.resolutions[0].fields))
    assert (fired.status, fired.sequence, fired.ends_at) == ("firing", 1, None)
    assert (resolved.status, resolved.sequence) == ("resolved", 2)
    assert resolved.ends_at is not None and resolved.starts_at == fired.starts_at
    assert Alert.model_validate({**base}).status == "firing"  # a record from before the lifecycle still reads


# ---------------------------------------------------------------- through the monitor, real Redis


class Series:
    """One subject's events written into the windows and scored batch by batch, as the state stage does."""

    def __init__(self, redis_url: str, prefix: str, resolve_after_s: int = 900):
        self.client = connect(redis_url)
        self.store = WindowStore(self.client, prefix, "news", W, 86400)
        cfg = MonitorConfig(label="negative", close_after_s=0, detector={"warmup": 10, "warmup_s": 0},
                            resolve_after_s=resolve_after_s)  # fmt: skip
        self.monitor = SubjectMonitor(self.store, cfg)
        self.outbox = Outbox(self.client, prefix, "news", 60)
        self.offset = 0
        self.published: list[dict] = []

    def events(self, subject: str, bucket: int, negatives: int, neutrals: int) -> list[Event]:
        labels = ["negative"] * negatives + ["neutral"] * neutrals
        out = []
        for lab in labels:
            self.offset += 1
            out.append(Event("raw:0", subject, f"m{self.offset}", T0 + bucket * W + 10, lab, offset=self.offset))
        return out

    def batch(self, events: list[Event], watermark_bucket: int) -> list[dict]:
        self.store.apply(events, 0.0)
        touched: dict[str, int] = {}
        for e in events:
            touched[e.subject] = max(touched.get(e.subject, 0), self.store.bucket(e.ts))
        claimed = self.monitor.run(touched, T0 + watermark_bucket * W + 10, make_alerts, self.outbox,
                                   dict(touched))  # fmt: skip
        records = [json.loads(body) for _, body in claimed]
        self.published += records
        return records

    def history(self, buckets: int = 14) -> None:
        for j in range(buckets):
            self.batch(self.events("ACME", j, 1, 3), j)


def test_an_incident_fires_escalates_and_resolves_once_each_through_the_monitor(redis_url, key_prefix) -> None:
    s = Series(redis_url, key_prefix)
    s.history()
    fired = s.batch(s.events("ACME", 14, 8, 4), 15)
    assert [(r["subject"], r["status"], r["sequence"]) for r in fired] == [("ACME", "firing", 1),
                                                                           ("BETA", "firing", 1)]
    assert s.batch(s.events("ACME", 15, 9, 4), 16) == []  # elevated, not higher: no record
    escalated = s.batch(s.events("ACME", 16, 60, 0), 17)  # far higher: an update (sequence 2)
    assert [(r["subject"], r["sequence"]) for r in escalated] == [("ACME", 2), ("BETA", 2)]
    assert {r["fingerprint"] for r in escalated} == {r["fingerprint"] for r in fired}
    assert s.client.zscore(s.monitor.incidents_key, "ACME") == T0 + 19 * W  # resolvable after 3 quiet windows
    for j in (17, 18):
        assert s.batch(s.events("ACME", j, 0, 2), j + 1) == []
    resolved = s.batch(s.events("ACME", 19, 0, 2), 20)
    assert [(r["subject"], r["status"], r["sequence"]) for r in resolved] == [("ACME", "resolved", 3),
                                                                              ("BETA", "resolved", 3)]
    assert resolved[0]["ends_at"] == lifecycle.iso(T0 + 17 * W) and resolved[0]["starts_at"] == fired[0]["starts_at"]
    assert resolved[0]["score"] == escalated[0]["score"]  # the last record's content, repeated
    assert s.client.zscore(s.monitor.incidents_key, "ACME") is None
    assert len({r["alert_id"] for r in s.published}) == len(s.published) == 6
    s.client.close()


def test_a_subject_gone_quiet_resolves_when_the_watermark_passes(redis_url, key_prefix) -> None:
    """No more events for the subject: its incident resolves from the incidents set, once other subjects'
    events carry the watermark past its quiet windows."""
    s = Series(redis_url, key_prefix)
    s.history()
    assert len(s.batch(s.events("ACME", 14, 12, 2), 15)) == 2
    assert s.batch(s.events("OTHER", 16, 0, 1), 16) == []  # the watermark moves, not yet far enough
    resolved = s.batch(s.events("OTHER", 18, 0, 1), 18)  # windows 15..17 closed quiet
    assert [(r["subject"], r["status"]) for r in resolved] == [("ACME", "resolved"), ("BETA", "resolved")]
    assert resolved[0]["ends_at"] == lifecycle.iso(T0 + 15 * W)
    assert s.client.zcard(s.monitor.incidents_key) == 0
    s.client.close()


@pytest.mark.parametrize("step", ["fire", "escalate", "resolve"])
def test_a_state_change_replayed_from_before_its_commit_is_not_claimed_again(redis_url, key_prefix, step) -> None:
    """A redelivered batch finds its windows and detector state advanced and scores nothing; here, harder, the
    detector state is put back as it was before the batch (a commit lost, or a second pod scoring from the
    same revision), so the same state changes are computed again: their ids are the same, and the claim
    refuses them."""
    s = Series(redis_url, key_prefix)
    s.history()
    plan = {"fire": [(14, 8, 4, 15)], "escalate": [(14, 8, 4, 15), (15, 60, 0, 16)],
            "resolve": [(14, 8, 4, 15), (15, 0, 1, 16), (17, 0, 1, 18)]}[step]  # fmt: skip
    for bucket, neg, neu, wm in plan[:-1]:
        s.batch(s.events("ACME", bucket, neg, neu), wm)
    det = s.store.key("ACME", "det")
    before = s.client.hgetall(det)
    bucket, neg, neu, wm = plan[-1]
    events = s.events("ACME", bucket, neg, neu)
    first = s.batch(events, wm)
    assert first and {r["status"] for r in first} == {"resolved" if step == "resolve" else "firing"}
    assert s.batch(events, wm) == []  # plain redelivery: nothing is scored again
    s.client.hset(det, mapping=before)  # the state as it was before the batch
    assert s.batch(events, wm) == []  # scored again, the same ids: none claimed twice
    s.client.hset(det, mapping=before)
    replayed = SubjectMonitor(s.store, s.monitor.cfg)  # another pod
    assert replayed.run({"ACME": T0 + bucket * W}, T0 + wm * W + 10, make_alerts, s.outbox, {}) == []
    s.client.close()

"""A worker process killed around the alerts it produced: never a duplicate alert, never a lost one; every
incident's state changes (firing, updates, resolved) published once each, in sequence.

LEPTON_TEST_FAILPOINT makes the worker die (os._exit, like SIGKILL) at an exact point of the first batch
that carries an alert (`<point>:resolved`: a resolved record); a second worker then gets the uncommitted batch
redelivered.
"""

from __future__ import annotations

import collections
import subprocess
import sys

import pytest

from lepton_stream.tooling.replay import synth
from tests.pipeline.kafka_helpers import make_settings
from tests.pipeline.worker_proc import ROOT, Watcher, WorkerProcess, produce_all, spawn, worker_env

TIMEOUT_S = 300


def spawn_failing(s, log_path, failpoint: str) -> WorkerProcess:
    log = log_path.open("ab")
    env = {**worker_env(s), "LEPTON_TEST_FAILPOINT": failpoint}
    proc = subprocess.Popen([sys.executable, "-m", "lepton_stream", "run", "news"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    return WorkerProcess(proc, log_path, log)


def crash_then_recover(tmp_path, s, failpoint: str) -> tuple[list[dict], list[dict]]:
    """Alerts on the topic after the first worker died at the failpoint, and after a second one finished."""
    produce_all(s, s.topic_news_raw, synth.news_stream(n=1200, seed=5, malformed=0.0))
    out = Watcher(s, {s.topic_alerts: 4})
    first = spawn_failing(s, tmp_path / "first.log", failpoint)
    try:
        rc = first.wait(TIMEOUT_S)
    finally:
        first.stop()
    assert rc == 137, first.log_tail()
    out.settle(quiet_s=1.0)
    before = out.values(s.topic_alerts)
    second = spawn(s, tmp_path / "second.log", idle_exit=5.0)
    try:
        assert second.wait(TIMEOUT_S) == 0, second.log_tail()
    finally:
        second.stop()
    out.settle(quiet_s=2.0)
    after = out.values(s.topic_alerts)
    out.close()
    return before, after


@pytest.fixture
def crash_settings(broker, redis_url, key_prefix, models_dir):
    return make_settings(broker.bootstrap, redis_url, key_prefix, models_dir, detector_warmup=12,
                         detector_warmup_s=0, outbox_grace_s=1, threads=1)  # fmt: skip


def incidents(alerts: list[dict]) -> dict[str, list[dict]]:
    """Each incident's records by sequence, checked: one record per state change (no sequence twice, none
    missing), firing until the one resolution, which comes last, all under one start."""
    by_fp: dict[str, list[dict]] = collections.defaultdict(list)
    for a in alerts:
        by_fp[a["fingerprint"]].append(a)
    for fp, recs in by_fp.items():
        recs.sort(key=lambda a: a["sequence"])
        assert [a["sequence"] for a in recs] == list(range(1, len(recs) + 1)), (fp, recs)
        assert all(a["status"] == "firing" for a in recs[:-1]), (fp, recs)
        assert len({(a["kind"], a["subject"], a["starts_at"]) for a in recs}) == 1
    return by_fp


def tsm_incident(after: list[dict]) -> list[dict]:
    (fp,) = {a["fingerprint"] for a in after if a["kind"] == "sentiment_spike" and a["subject"] == "TSM"}
    return incidents(after)[fp]


def test_kill_between_publishing_alerts_and_committing_gives_no_duplicate(tmp_path, crash_settings):
    before, after = crash_then_recover(tmp_path, crash_settings, "before_commit")
    assert before, "the first worker published alerts before it died"
    counts = collections.Counter(a["alert_id"] for a in after)
    assert max(counts.values()) == 1, counts.most_common(3)
    assert [a["status"] for a in tsm_incident(after)][-1] == "resolved"


def test_kill_after_claiming_alerts_before_publishing_loses_none(tmp_path, crash_settings):
    before, after = crash_then_recover(tmp_path, crash_settings, "before_produce")
    assert before == [], "the first worker died before publishing its alerts"
    counts = collections.Counter(a["alert_id"] for a in after)
    assert [a["status"] for a in tsm_incident(after)][-1] == "resolved"
    assert max(counts.values()) == 1, counts.most_common(3)


@pytest.mark.parametrize("point", ["before_commit", "before_produce"])
def test_kill_around_a_resolution_publishes_it_once(tmp_path, crash_settings, point):
    """Killed at the first batch carrying a resolved record: after the published one and before the offsets'
    commit (the batch is redelivered), or after its claim and before it was sent (the outbox sends it)."""
    before, after = crash_then_recover(tmp_path, crash_settings, f"{point}:resolved")
    was_out = [a for a in before if a["status"] == "resolved"]
    assert bool(was_out) == (point == "before_commit")
    counts = collections.Counter(a["alert_id"] for a in after)
    assert max(counts.values()) == 1, counts.most_common(3)
    tsm = tsm_incident(after)
    assert [a["status"] for a in tsm][0] == "firing" and tsm[-1]["status"] == "resolved"
    assert tsm[-1]["ends_at"] > tsm[-1]["starts_at"]

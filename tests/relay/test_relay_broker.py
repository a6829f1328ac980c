"""The relay and `alerts tail` through the real broker: alerts topic -> `lepton-stream run relay` (a process,
configured by LEPTON_* variables) -> real HTTP receivers, killed and restarted mid-way; and the tail command.

At-least-once: after a SIGKILL and a restart every alert reaches every target that wants it, each alert always
under the same `webhook-id` (a receiver de-duplicates by it), every post verifies, the target that always fails
has one dead letter per alert with its source offset, and the group's offsets end committed past every alert.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx2
import yaml

from lepton_stream.commands.alerts import tail
from lepton_stream.config import Settings, load_settings
from lepton_stream.kafka.backend import ensure_topics, make_producer
from lepton_stream.tooling.bench.workers import worker_env
from lepton_stream.tooling.dev.ports import free_port
from tests.pipeline.worker_proc import Watcher, committed
from tests.relay.receivers import Receiver, alert, new_secret, verify

ROOT = Path(__file__).resolve().parents[2]
N = 24
START_TIMEOUT_S = 120
RUN_TIMEOUT_S = 180


def relay_settings(bootstrap: str, targets: Path | None = None, **kw) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return load_settings(kafka_bootstrap=bootstrap, topic_alerts=f"alerts.{tag}", group_prefix=f"g-{tag}",
                         relay_targets=targets, session_timeout_ms=4000, heartbeat_interval_ms=1000,
                         max_wait_ms=100, max_records=4, **kw)  # fmt: skip


def publish(s: Settings, values: list[bytes], partitions: int = 4) -> None:
    ensure_topics(s, {s.topic_alerts: partitions})
    p = make_producer(s)
    futures = [p.send(s.topic_alerts, key=json.loads(v).get("subject", "x").encode(), value=v) for v in values]
    p.flush()
    p.close()
    assert not [f for f in futures if f.failed()]


def spawn_relay(s: Settings, env_extra: dict[str, str], log: Path) -> subprocess.Popen:
    env = {**worker_env(s), **env_extra}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "lepton_stream", "run", "relay"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip


def wait_for(done, timeout_s: float, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"relay exited {proc.returncode}:\n{log.read_text()[-3000:] if log else ''}")
        assert time.monotonic() < deadline, (log.read_text()[-3000:] if log else "timed out")
        time.sleep(0.1)


def test_relay_delivers_every_alert_through_a_kill_and_restart(broker, tmp_path):
    secret, am_secret = new_secret(), new_secret()
    raws = [alert(i, subject=["TSM", "AAPL", "NVDA"][i % 3], severity=["medium", "high"][i % 2]) for i in range(N)]
    ids = {json.loads(r)["alert_id"] for r in raws}
    high = {json.loads(r)["alert_id"] for r in raws if json.loads(r)["severity"] == "high"}
    # desk: every alert, slowly (the kill lands mid-batch); am: high ones, Alertmanager format; dead: always 500.
    with Receiver(lambda n: (200, {}, 0.08)) as desk, Receiver() as am, Receiver(lambda n: (500, {}, 0.0)) as dead:
        targets = tmp_path / "targets.yaml"
        common = {"backoff_initial_s": 0.05, "backoff_max_s": 0.2, "timeout_s": 5}
        targets.write_text(yaml.safe_dump({"targets": [
            {"name": "desk", "url": desk.url, "secret_env": "DESK_SECRET", **common},
            {"name": "am", "url": am.url, "secret_file": str(tmp_path / "am.secret"), "format": "alertmanager",
             "min_severity": "high", **common},
            {"name": "dead", "url": dead.url, "secret_env": "DESK_SECRET", "max_attempts": 3,
             "subjects": ["TSM", "NV*"], **common},
        ]}))  # fmt: skip
        (tmp_path / "am.secret").write_text(am_secret + "\n")
        port = free_port()
        s = relay_settings(broker.bootstrap, targets, metrics_port=port)
        publish(s, raws)
        dlq = s.dlq_topic(s.topic_alerts)
        log = tmp_path / "relay.log"
        env = {"DESK_SECRET": secret}

        first = spawn_relay(s, env, log)
        try:
            wait_for(lambda: len(desk.delivered()) >= 7, START_TIMEOUT_S, first, log)
            ready = httpx2.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
            assert ready["ready"] and set(ready["checks"]) == {"loop", "partitions", "draining"}
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
        got_before_kill = len(desk.got)
        assert got_before_kill < N, "the kill landed after every alert was posted: nothing to redeliver"

        second = spawn_relay(s, env, log)
        try:
            def desk_ids() -> set[str]:
                return {json.loads(r.body)["alert_id"] for r in desk.delivered()}

            wait_for(lambda: desk_ids() == ids and len(am.delivered()) >= len(high), RUN_TIMEOUT_S, second, log)
            watch = Watcher(s, {dlq: s.topic_partitions})
            want_dead = {json.loads(r)["alert_id"] for r in raws if json.loads(r)["subject"] in ("TSM", "NVDA")}
            try:
                wait_for(lambda: (watch.poll() or True) and {json.loads(base64_original(v))["alert_id"]
                                                              for v in watch.values(dlq)} >= want_dead,
                         RUN_TIMEOUT_S, second, log)  # fmt: skip
                time.sleep(1.0)  # the batch in hand is committed after its dead letters are acknowledged
                second.send_signal(signal.SIGTERM)
                assert second.wait(timeout=60) == 0, log.read_text()[-3000:]
                watch.settle(quiet_s=1.0)
            finally:
                watch.close()
        finally:
            if second.poll() is None:
                second.kill()

    # Every post verifies; each alert keeps one webhook-id across retries, the kill and the restart.
    webhook_ids: dict[str, set[str]] = collections.defaultdict(set)
    for r in desk.got:
        body = verify(secret, r)
        webhook_ids[body["alert_id"]].add(r.headers["webhook-id"])
    assert all(v == {f"msg_{k}_firing_1"} for k, v in webhook_ids.items())
    duplicates = len(desk.delivered()) - len(ids)
    # What the killed relay had posted but not committed was posted again after the restart, under the same id.
    before = {json.loads(r.body)["alert_id"] for r in desk.got[:got_before_kill] if r.status == 200}
    after = {json.loads(r.body)["alert_id"] for r in desk.got[got_before_kill:] if r.status == 200}
    assert before & after, "no alert was redelivered: the kill did not land between a post and its commit"
    # Alertmanager-format target: the high alerts only, signed with its own secret.
    am_ids: dict[str, set[str]] = collections.defaultdict(set)
    for r in am.delivered():
        body = verify(am_secret, r)
        assert body["version"] == "4" and body["receiver"] == "am"
        am_ids[body["commonAnnotations"]["alert_id"]].add(r.headers["webhook-id"])
    assert set(am_ids) == high and all(len(v) == 1 for v in am_ids.values())
    # The always-failing target: one dead letter per alert it wanted, with its source offset and bytes.
    letters = watch.values(dlq)
    assert {d["reason"] for d in letters} == {"undeliverable"} and {d["target"] for d in letters} == {"dead"}
    assert {json.loads(base64_original(d))["alert_id"] for d in letters} == want_dead
    assert any("HTTP 500 (gave up after 3 attempts) after 3 attempt(s)" in d["error"] for d in letters)
    positions = alert_positions(s)
    for d in letters:
        assert d["source_topic"] == s.topic_alerts and ("HTTP 500" in d["error"] or "not tried" in d["error"])
        assert positions[(d["partition"], d["offset"])] == base64_original(d)
    # Offsets committed past every alert once the second relay stopped.
    ends = collections.Counter(p for p, _ in positions)
    assert committed(s, f"{s.group_prefix}-relay", s.topic_alerts) == {p: ends.get(p, 0) for p in range(4)}
    # Neither the secrets nor the targets' URLs reach the relay's log.
    text = log.read_text()
    assert "relay_delivered" in text and "relay_undeliverable" in text
    assert not [x for x in (secret, am_secret, desk.url, am.url, dead.url) if x in text]
    print(f"relay: {N} alerts, {got_before_kill} posts to desk before the kill, {duplicates} redelivered")


def base64_original(d: dict) -> bytes:
    return base64.b64decode(d["original_b64"])


def alert_positions(s: Settings) -> dict[tuple[int, int], bytes]:
    w = Watcher(s, {s.topic_alerts: s.topic_partitions})
    try:
        w.settle(quiet_s=1.0)
        return {(r.partition, r.offset): r.value for r in w.records[s.topic_alerts]}
    finally:
        w.close()


# ------------------------------------------------------------------ alerts tail


def test_alerts_tail_prints_the_topic_and_follows_it(broker):
    s = relay_settings(broker.bootstrap)
    publish(s, [alert(2, subject="AAPL"), alert(1), alert(3, kind="intent_surge", subject="card_lost")])
    p = make_producer(s)
    p.send(s.topic_alerts, value=b"not json").get(timeout=30)

    lines: list[str] = []
    assert tail(s, say=lines.append) == 0
    text = "\n".join(lines)
    assert lines[0] == "Alerts (3):" and "by kind: intent_surge 1, sentiment_spike 2" in text
    firsts = [ln for ln in lines if ln.startswith("  [")]
    assert len(firsts) == 3 and "TSM Corp" in firsts[0] and "AAPL Corp" in firsts[1]  # by window, as the demo
    assert "score 0.93" in firsts[0] and "evidence: news-1" in text and "(not an alert: b'not json')" in text

    followed: list[str] = []
    stop = threading.Event()
    t = threading.Thread(target=tail, args=(s,), kwargs={"follow": True, "say": followed.append,
                                                         "stop": stop.is_set}, daemon=True)  # fmt: skip
    t.start()
    try:
        wait_for(lambda: any(ln.startswith("following") for ln in followed), 60)
        p.send(s.topic_alerts, value=alert(9, subject="NVDA", severity="critical")).get(timeout=30)
        wait_for(lambda: any("NVDA Corp" in ln for ln in followed), 60)
    finally:
        stop.set()
        t.join(timeout=10)
        p.close()
    assert [ln for ln in followed if "NVDA" in ln][0].startswith("  [critical] sentiment_spike")


def test_alerts_tail_command(broker):
    s = relay_settings(broker.bootstrap)
    publish(s, [alert(1, status="firing")])
    env = {**os.environ, "LEPTON_KAFKA_BOOTSTRAP": broker.bootstrap, "LEPTON_TOPIC_ALERTS": s.topic_alerts}
    out = subprocess.run([sys.executable, "-m", "lepton_stream", "alerts", "tail"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "Alerts (1):"
    assert "TSM Corp" in out.stdout and "score 0.93 firing" in out.stdout
    missing = subprocess.run([sys.executable, "-m", "lepton_stream", "alerts", "tail"], cwd=ROOT, timeout=120,
                             env={**env, "LEPTON_TOPIC_ALERTS": "no-such-topic-" + uuid.uuid4().hex[:6]},
                             capture_output=True, text=True)  # fmt: skip
    assert missing.returncode == 0 and "does not exist" in missing.stdout


def test_relay_imports_no_model_runtime():
    code = ("import sys; import lepton_stream.cli, lepton_stream.commands.run, lepton_stream.relay.worker;"
            "lepton_stream.cli.build_parser();"
            "heavy = ('torch', 'transformers', 'onnxruntime', 'numpy', 'networkx');"
            "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"

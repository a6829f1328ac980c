"""`generate` and `produce --file` from the command line, into the real broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.pipeline.kafka_helpers import make_settings, read_topic


def cli(*args: str, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-m", "lepton_stream", *args], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_generate_then_produce_replays_every_line(broker, redis_url, key_prefix, models_dir, tmp_path):
    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir)
    env = {"LEPTON_KAFKA_BOOTSTRAP": broker.bootstrap, "LEPTON_TOPIC_CHAT_RAW": s.topic_chat_raw}
    path = tmp_path / "chat.jsonl"
    gen = cli("generate", "chat", "--n", "300", "--out", str(path), env=env)
    assert gen["wrote"] == 300 and gen["malformed"] == 15
    report = cli("produce", "chat", "--file", str(path), "--rate", "2000", env=env)
    assert report["sent"] == 300 and report["failed"] == 0
    records = read_topic(broker.bootstrap, s.topic_chat_raw, expect=300, timeout_s=60)
    assert len(records) == 300
    # Keys are the conversation ids of the lines that parse; malformed lines go out as they are.
    keyed = [r for r in records if r.key]
    assert all(json.loads(r.value)["conversation_id"] == r.key.decode() for r in keyed)
    assert sorted(r.value for r in records) == sorted(path.read_bytes().splitlines())

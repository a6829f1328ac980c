"""Corrections on the feedback topic become training CSVs, through the real broker: the classified (masked)
text comes from the output topics, the latest correction of an (id, task) wins, and every correction that
cannot be used is counted by reason."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

from lepton_stream import cli
from lepton_stream.config import settings
from lepton_stream.kafka.backend import ensure_topics, make_producer, read_to_end
from lepton_stream.tooling.training.feedback import export, sources
from lepton_stream.tooling.training.quick import read_csvs
from tests.pipeline.kafka_helpers import make_settings


def _news(id_: str, headline: str, label: str) -> dict:
    return {"id": id_, "headline": headline, "sentiment": {"label": label, "confidence": 0.9, "scores": {}}}


def _produce(s, topic: str, values: list, partitions: int = 2) -> None:
    ensure_topics(s, {topic: partitions})
    producer = make_producer(s)
    for v in values:  # keyed by id, as the contracts say: an id's corrections stay in order in one partition
        raw = v if isinstance(v, bytes) else json.dumps(v).encode()
        producer.send(topic, key=v["id"].encode() if isinstance(v, dict) and "id" in v else None, value=raw)
    producer.flush()
    producer.close()


def _fill(s) -> None:
    _produce(s, s.topic_news_enriched, [
        _news("n1", "Acme shares plunge after [PERSON] resigns", "positive"),
        _news("n2", "Globex raises its outlook", "positive"),
        _news("n2", "Globex raises its outlook", "positive"),  # a redelivered output
        _news("n3", "Initech to hold its annual meeting", "neutral"),
    ])
    _produce(s, s.topic_chat_routed, [{
        "id": "c1", "text": "my card never arrived, call me on [PHONE]",
        "intent": {"label": "card_arrival", "confidence": 0.4, "scores": {}, "out_of_scope": False},
        "sentiment": {"label": "positive", "confidence": 0.6, "scores": {}},
    }])
    _produce(s, s.topic_feedback, [
        {"id": "n1", "task": "news-sentiment", "label": "neutral"},
        {"id": "n1", "task": "news-sentiment", "label": "negative", "by": "alice"},  # corrects the correction
        {"id": "n2", "task": "news-sentiment", "label": "positive"},  # confirms the model
        {"id": "gone", "task": "news-sentiment", "label": "negative"},  # its output is not in the topic
        {"id": "c1", "task": "chat-intent", "label": "card_arrival"},
        {"id": "c1", "task": "chat-sentiment", "label": "negative"},
        {"id": "n3", "task": "weather", "label": "sunny"},
        {"id": "n3", "task": "news-sentiment", "label": "bullish"},
        b"{not json",
        {"id": "n3", "task": "news-sentiment"},
    ])


def _rows(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [(r["text"], r["label"]) for r in csv.DictReader(f)]


def test_feedback_becomes_training_csvs(broker, redis_url, key_prefix, models_dir, tmp_path: Path):
    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir, topic_feedback=f"fb.{uuid.uuid4().hex[:8]}")
    _fill(s)
    labels = {"news-sentiment": ["negative", "neutral", "positive"]}
    report = export(s, tmp_path / "fb", labels, timeout_s=60, by_task=sources(s))

    assert report["feedback_records"] == 10
    assert report["skipped"] == {"invalid": 2, "no_output": 1, "unknown_label": 1, "unknown_task": 1}
    assert _rows(tmp_path / "fb" / "news-sentiment.csv") == [
        ("Acme shares plunge after [PERSON] resigns", "negative"),
        ("Globex raises its outlook", "positive"),
    ]
    assert _rows(tmp_path / "fb" / "chat-intent.csv") == [("my card never arrived, call me on [PHONE]", "card_arrival")]
    assert _rows(tmp_path / "fb" / "chat-sentiment.csv") == [("my card never arrived, call me on [PHONE]", "negative")]
    written = report["written"]
    assert written["news-sentiment"]["rows"] == 2 and written["news-sentiment"]["model_was_wrong"] == 1
    assert written["chat-intent"]["model_was_wrong"] == 0 and written["chat-sentiment"]["model_was_wrong"] == 1
    # What train --data reads, several files at once (the original data plus the corrections).
    texts, got = read_csvs([tmp_path / "fb" / "news-sentiment.csv", tmp_path / "fb" / "chat-sentiment.csv"])
    assert len(texts) == 3 and got == ["negative", "positive", "negative"]


def test_reading_to_the_end_waits_for_every_partition(broker, redis_url, key_prefix, models_dir):
    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir)
    topic = f"end.{uuid.uuid4().hex[:8]}"
    _produce(s, topic, [{"i": i} for i in range(37)], partitions=4)
    assert sorted(json.loads(r.value)["i"] for r in read_to_end(s, topic, 60)) == list(range(37))
    empty = f"empty.{uuid.uuid4().hex[:8]}"
    ensure_topics(s, {empty: 3})
    assert list(read_to_end(s, empty, 60)) == []


def test_feedback_command_prints_its_report(broker, models_dir, tmp_path: Path, monkeypatch, capsys):
    tag = uuid.uuid4().hex[:8]
    for var, topic in (("NEWS_ENRICHED", "news.enriched"), ("CHAT_ROUTED", "chat.routed"), ("FEEDBACK", "feedback")):
        monkeypatch.setenv(f"LEPTON_TOPIC_{var}", f"{topic}.{tag}")
    monkeypatch.setenv("LEPTON_MODELS_DIR", str(models_dir))
    settings.cache_clear()
    try:
        s = settings()
        _produce(s, s.topic_news_enriched, [_news("n1", "Acme misses estimates", "neutral")])
        _produce(s, s.topic_feedback, [{"id": "n1", "task": "news-sentiment", "label": "negative"},
                                       {"id": "n1", "task": "news-sentiment", "label": "gloomy"}])
        assert cli.main(["models", "feedback", "--out", str(tmp_path / "out")]) == 0
    finally:
        settings.cache_clear()
    report = json.loads(capsys.readouterr().out)
    # The served news bundle's labels are the check: "gloomy" is not one of them.
    assert report["skipped"] == {"unknown_label": 1}
    assert _rows(tmp_path / "out" / "news-sentiment.csv") == [("Acme misses estimates", "negative")]

"""Tiny bundles built once per test session from the shipped samples (seconds, not minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lepton_stream.tooling.training.quick import SAMPLES, build_quick_bundle, read_csv
from lepton_stream.tooling.training.train import TaskData, TrainConfig, split_holdout, train


def _task(name: str, csv: str, per_label: int) -> TaskData:
    texts, labels = read_csv(SAMPLES / csv, per_label, seed=1)
    tr, trl, va, val = split_holdout(texts, labels, 0.25, 1)
    return TaskData(name, tr, trl, va, val)


TINY = TrainConfig(epochs=1, max_steps=6, batch_size=16, threads=2, max_length=32)


@pytest.fixture(scope="session")
def news_bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "news-tiny"
    train([_task("news-sentiment", "news_sentiment.csv", 12)], out, "news", TINY, log=lambda _: None)
    return out


@pytest.fixture(scope="session")
def chat_bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "chat-tiny"
    tasks = [_task("chat-intent", "chat_intent.csv", 4), _task("chat-sentiment", "chat_sentiment.csv", 12)]
    train(tasks, out, "chat", TINY, log=lambda _: None)
    return out


@pytest.fixture(scope="session")
def quick_news(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "news-quick"
    build_quick_bundle("news", out, limit_per_label=40)
    return out

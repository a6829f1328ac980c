"""The shipped news-sentence development set: its shape, its label mix, and a fixed split."""

from __future__ import annotations

import csv
from collections import Counter

from lepton_stream.models.samples import EVAL_SETS, SPLITS, read_csv, resolve_data, split_of


def test_news_sentences_shape_and_labels() -> None:
    path = EVAL_SETS["news-sentences"]
    with path.open(newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == ["text", "label"]
    texts, labels = read_csv(path)
    assert len(texts) == 300 and len(set(texts)) == 300 and all(t.strip() for t in texts)
    counts = Counter(labels)
    assert set(counts) == {"negative", "neutral", "positive"}
    assert 0.55 <= counts["neutral"] / 300 <= 0.6 and 0.15 <= counts["negative"] / 300 <= 0.2
    assert resolve_data("news-sentences") == path


def test_split_is_fixed_and_covers_every_label() -> None:
    texts, labels = read_csv(EVAL_SETS["news-sentences"])
    halves = Counter((split_of(t), lab) for t, lab in zip(texts, labels, strict=True))
    assert {s for s, _ in halves} == set(SPLITS)
    assert all(halves[(s, lab)] >= 20 for s in SPLITS for lab in ("negative", "neutral", "positive"))
    assert sum(halves[("report", lab)] for lab in ("negative", "neutral", "positive")) == 144
    assert split_of("Operating profit rose.") == split_of("Operating profit rose.")

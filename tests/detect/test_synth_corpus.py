"""The labelled corpus is reproducible, varied in scale, and its labels sit after the probationary period."""

from __future__ import annotations

from lepton_stream.tooling.detect_eval.synth import DEV_SEED, HELDOUT_SEED, corpus


def test_same_seed_same_corpus_and_seeds_differ() -> None:
    a, b = corpus(DEV_SEED, 5), corpus(DEV_SEED, 5)
    assert [s.values for s in a] == [s.values for s in b]
    assert [s.values for s in corpus(HELDOUT_SEED, 5)] != [s.values for s in a]


def test_labels_and_scales() -> None:
    series = corpus(DEV_SEED, 30)
    means = [sum(s.values) / len(s.values) for s in series]
    assert min(means) < 2 and max(means) > 500  # near-empty and busy series both present
    for s in series:
        assert len(s.timestamps) == len(s.values)
        assert all(int(0.15 * len(s.values)) <= i < len(s.values) for i in s.labels)
        assert len(s.kinds) == len(s.labels)
    assert sum(len(s.labels) for s in series) > 20

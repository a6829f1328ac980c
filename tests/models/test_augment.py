"""Transfer-set augmentation: perturbed copies keep their shape classes, never repeat an original, and the
same seed gives the same copies."""

from __future__ import annotations

import random

from lepton_stream.tooling.training.augment import perturb, shape, transfer_set, vocabulary

TEXTS = [
    "$ACME shares rose 12% after Barclays upgraded the stock https://t.co/abc",
    "$FOO falls 3.5% as Initech cuts its 2027 outlook",
    "Globex to buy Hooli for $1.2B in cash",
    "Analysts see weaker margins at Umbrella this quarter",
]


def test_shapes() -> None:
    assert shape("$ACME") == "cashtag"
    assert [shape(w) for w in ("12%", "3.5", "$1.2B", "2,400", "-4%")] == ["number"] * 5
    assert shape("Barclays") == "capital" and shape("rose") == "word"
    assert shape("https://t.co/abc") == "url"
    assert "url" not in vocabulary(TEXTS)


def test_swaps_stay_within_a_shape_and_links_survive() -> None:
    vocab = vocabulary(TEXTS)
    rng = random.Random(1)
    for _ in range(200):
        copy = perturb(TEXTS[0], rng, vocab, p_drop=0.0, p_swap=1.0, p_span=0.0)
        words = copy.split()
        assert [shape(w) for w in words] == [shape(w) for w in TEXTS[0].split()]
        assert words[-1] == "https://t.co/abc"
        assert all(w in vocab[shape(w)] for w in words[:-1])


def test_spans_and_drops_shorten() -> None:
    rng = random.Random(2)
    vocab = vocabulary(TEXTS)
    n = len(TEXTS[1].split())
    lengths = {len(perturb(TEXTS[1], rng, vocab, p_drop=0.0, p_swap=0.0, p_span=1.0).split()) for _ in range(100)}
    assert lengths and max(lengths) < n and min(lengths) >= 3
    assert perturb(TEXTS[1], rng, vocab, p_drop=0.0, p_swap=0.0, p_span=0.0) == TEXTS[1]


def test_transfer_set_is_deterministic_and_new() -> None:
    a = transfer_set(TEXTS * 3, 4, seed=7)
    assert a == transfer_set(TEXTS * 3, 4, seed=7)
    assert a != transfer_set(TEXTS * 3, 4, seed=8)
    assert not set(a) & set(TEXTS) and len(a) == len(set(a)) and a
    assert transfer_set(TEXTS, 0) == []

"""Transfer-set augmentation for distillation: perturbed copies of the training texts for a teacher to label.

A student learns most from a teacher on texts the teacher was not fitted to (its soft labels on its own
training texts are nearly the hard labels). Where no unlabelled in-domain text is at hand, perturbed copies
of the training texts serve (Tang et al. 2019, "Distilling Task-Specific Knowledge from BERT into Simple
Neural Networks"): each word is dropped or replaced by a word of the same shape seen in the corpus (a cashtag
by a cashtag, a figure by a figure, a capitalised word by a capitalised word), and some copies keep only a
contiguous span. The teacher, not the original label, says what a copy means, so a swap that changes the
sense ("rose" for "fell") is a lesson, not noise. Deterministic for a seed; standard library only.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

_URL = re.compile(r"^https?://")
_NUMBER = re.compile(r"^[$€£]?[-+]?\d[\d,.]*[%kKmMbB]?$")


def shape(word: str) -> str:
    """The class a word is swapped within."""
    if _URL.match(word):
        return "url"  # links carry no sentiment; never swapped
    if word.startswith("$") and word[1:].isalpha():
        return "cashtag"
    if _NUMBER.match(word):
        return "number"
    if word[:1].isupper():
        return "capital"
    return "word"


def vocabulary(texts: Sequence[str]) -> dict[str, list[str]]:
    """Distinct words of the corpus by shape, in first-seen order (so a seed gives the same copies)."""
    seen: dict[str, dict[str, None]] = {}
    for text in texts:
        for word in text.split():
            seen.setdefault(shape(word), {})[word] = None
    return {k: list(v) for k, v in seen.items() if k != "url"}


def perturb(text: str, rng: random.Random, vocab: dict[str, list[str]], p_drop: float = 0.1,
            p_swap: float = 0.1, p_span: float = 0.25) -> str:
    """One perturbed copy of `text` (words dropped, swapped within their shape, or a span kept)."""
    words = text.split()
    out: list[str] = []
    for word in words:
        kind = shape(word)
        r = rng.random()
        if kind != "url" and r < p_drop and len(words) > 2:
            continue
        if kind != "url" and r < p_drop + p_swap and vocab.get(kind):
            word = rng.choice(vocab[kind])
        out.append(word)
    if len(out) > 4 and rng.random() < p_span:
        keep = rng.randint(max(3, len(out) // 2), len(out) - 1)
        start = rng.randint(0, len(out) - keep)
        out = out[start:start + keep]
    return " ".join(out)


def transfer_set(texts: Sequence[str], copies: int, seed: int = 13) -> list[str]:
    """`copies` perturbed copies of each text, without the originals and without repeats."""
    rng = random.Random(seed)
    vocab = vocabulary(texts)
    originals = set(texts)
    out: dict[str, None] = {}
    for _ in range(copies):
        for text in texts:
            copy = perturb(text, rng, vocab)
            if copy and copy not in originals:
                out[copy] = None
    return list(out)

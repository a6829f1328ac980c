"""Torch-free serving helpers shared by both runtimes: length-bucketed batches and naming the heads' outputs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lepton_stream.contracts import IntentPrediction, Prediction
from lepton_stream.models import bundle
from lepton_stream.models.base import OUT_OF_SCOPE, TaskPredictions
from lepton_stream.models.tokenizer import TextTokenizer

TOP_SCORES = 5  # a task with more labels keeps the scores of its most likely ones only


def to_predictions(manifest: bundle.Manifest, logits: dict[str, np.ndarray]) -> list[TaskPredictions]:
    """Softmax each head and name the labels; intents under the reject threshold become out of scope.

    `scores` holds every label of a task with up to TOP_SCORES labels, else the TOP_SCORES most likely, most
    likely first: 78 intent scores per chat were most of its cache entry and its output record, read by nobody."""
    n = len(next(iter(logits.values())))
    out: list[TaskPredictions] = [{} for _ in range(n)]
    for task, spec in manifest.tasks.items():
        z = logits[task] - logits[task].max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        labels = spec.labels
        if len(labels) > TOP_SCORES:
            shown = np.argsort(-p, axis=1, kind="stable")[:, :TOP_SCORES].tolist()
        else:
            shown = [range(len(labels))] * n
        rows, best = p.tolist(), p.argmax(axis=1).tolist()
        for i in range(n):
            row, k = rows[i], best[i]
            scores = {labels[j]: round(row[j], 6) for j in shown[i]}
            conf = row[k]
            if spec.oos_threshold is not None:
                oos = spec.labels[k] == OUT_OF_SCOPE or conf < spec.oos_threshold
                out[i][task] = IntentPrediction(
                    label=spec.labels[k], confidence=conf, scores=scores, out_of_scope=oos
                )
            else:
                out[i][task] = Prediction(label=spec.labels[k], confidence=conf, scores=scores)
    return out


class BucketedBatcher:
    """Sorts texts by token length and cuts them into groups that pad little, one forward pass per group.

    A group closes at `batch_size` texts, or (from `min_group` texts on) when the next, longer text would make
    padding more than a quarter of the group's tokens: a micro-batch of 45 news texts is then several passes
    of similar lengths instead of one padded to its longest text (1.3-1.7x the texts/s measured at 16-45).
    """

    SLACK = 1.25  # padded tokens / real tokens allowed in a group
    MIN_GROUP = 8  # smaller passes lose more to per-call overhead than they save in padding
    MIN_PIECE = 4  # ... unless the pieces run side by side on idle threads

    def __init__(self, tokenizer: TextTokenizer | None, max_length: int, batch_size: int):
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size

    def groups(self, lengths: Sequence[int], parts: int = 1) -> list[list[int]]:
        """Length groups; with parts > 1, the largest are halved until there are at least `parts` (passes run
        side by side), down to MIN_PIECE texts."""
        groups = self._by_length(lengths)
        while len(groups) < parts:
            big = max(range(len(groups)), key=lambda g: len(groups[g]))
            if len(groups[big]) < 2 * self.MIN_PIECE:
                break
            g = groups.pop(big)
            groups[big:big] = [g[: len(g) // 2], g[len(g) // 2 :]]
        return groups

    def _by_length(self, lengths: Sequence[int]) -> list[list[int]]:
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        groups: list[list[int]] = []
        cur: list[int] = []
        tokens = 0
        for i in order:
            n = lengths[i]
            if cur and (len(cur) >= self.batch_size
                        or (len(cur) >= self.MIN_GROUP and n * (len(cur) + 1) > self.SLACK * (tokens + n))):
                groups.append(cur)
                cur, tokens = [], 0
            cur.append(i)
            tokens += n
        if cur:
            groups.append(cur)
        return groups

    def batches(self, texts: Sequence[str], parts: int = 1):
        ids = self.tokenizer.ids(texts, self.max_length)
        for idx in self.groups([len(x) for x in ids], parts):
            yield (idx, *self.pad(ids, idx))

    def unsorted(self, texts: Sequence[str]):
        """Groups of `batch_size` texts in arrival order, each padded to its longest: only for the benchmark's
        comparison with the length groups."""
        ids = self.tokenizer.ids(texts, self.max_length)
        for s in range(0, len(ids), self.batch_size):
            idx = list(range(s, min(s + self.batch_size, len(ids))))
            yield (idx, *self.pad(ids, idx))

    def pad(self, ids: list[list[int]], idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """input_ids and attention_mask of the texts `idx`, right-padded to the longest of them."""
        width = max(len(ids[i]) for i in idx)
        input_ids = np.full((len(idx), width), self.tokenizer.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(idx), width), dtype=np.int64)
        for r, i in enumerate(idx):
            input_ids[r, : len(ids[i])] = ids[i]
            mask[r, : len(ids[i])] = 1
        return input_ids, mask

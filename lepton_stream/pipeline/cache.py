"""Prediction cache in Redis: key = model version + sha256 of the masked, normalised text.

One MGET per batch, one pipelined SET EX for the misses. Redis trouble degrades to "no cache"
(counted and logged), never to a failed batch: the model can always answer.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

import orjson
import redis

from lepton_stream import logs, metrics
from lepton_stream.contracts import IntentPrediction, Prediction
from lepton_stream.models.base import TaskPredictions
from lepton_stream.state import cluster

log = logs.get(__name__)


def normalise(text: str) -> str:
    """Texts that differ only in case, Unicode form or spacing share one cache entry."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def text_hash(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def encode(preds: TaskPredictions) -> bytes:
    return orjson.dumps({t: p.model_dump() for t, p in preds.items()})


def decode(raw: bytes) -> TaskPredictions:
    data = orjson.loads(raw)  # a corrupt entry raises a ValueError
    return {
        t: (IntentPrediction if "out_of_scope" in p else Prediction).model_validate(p) for t, p in data.items()
    }


class PredictionCache:
    def __init__(self, client: redis.Redis, prefix: str, ttl_s: int, worker: str = ""):
        self.client, self.prefix, self.ttl_s, self.worker = client, prefix, ttl_s, worker

    def key(self, version: str, text: str) -> str:
        return f"{self.prefix}cache:{version}:{text_hash(text)}"

    def get_many(self, version: str, texts: list[str]) -> list[TaskPredictions | None]:
        if not texts:
            return []
        try:
            raws = cluster.mget(self.client, [self.key(version, t) for t in texts])  # keys span slots
        except cluster.ERRORS as exc:
            metrics.CACHE_ERRORS.labels(self.worker).inc()
            metrics.REDIS_ERRORS.labels(self.worker, "cache").inc()
            log.warning("cache_unavailable", op="mget", error=type(exc).__name__)
            return [None] * len(texts)
        out: list[TaskPredictions | None] = []
        for raw in raws:
            try:
                out.append(decode(raw) if raw is not None else None)
            except ValueError:  # a corrupt entry is a miss, and will be overwritten
                out.append(None)
        return out

    def put_many(self, version: str, texts: list[str], preds: list[TaskPredictions]) -> None:
        if not texts:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for t, p in zip(texts, preds, strict=True):
                pipe.set(self.key(version, t), encode(p), ex=self.ttl_s)
            pipe.execute()
        except cluster.ERRORS as exc:
            metrics.CACHE_ERRORS.labels(self.worker).inc()
            metrics.REDIS_ERRORS.labels(self.worker, "cache").inc()
            log.warning("cache_unavailable", op="set", error=type(exc).__name__)


@dataclass
class Lookup:
    """A batch's texts, the predictions found in the cache (None: a miss) and the distinct texts to infer."""

    texts: list[str]
    cached: list[TaskPredictions | None]
    missing: list[str]

    @property
    def hits(self) -> int:
        return sum(c is not None for c in self.cached)


def lookup(version: str, cache: PredictionCache | None, texts: list[str], timer) -> Lookup:
    with timer("cache"):
        cached = cache.get_many(version, texts) if cache else [None] * len(texts)
    return Lookup(texts, cached, list(dict.fromkeys(t for t, c in zip(texts, cached, strict=True) if c is None)))


def fill(version: str, cache: PredictionCache | None, found: Lookup, fresh: list[TaskPredictions],
         timer) -> list[TaskPredictions]:  # fmt: skip
    """Every text's predictions: the cached ones, and the fresh ones for the misses (stored for next time)."""
    by_text = dict(zip(found.missing, fresh, strict=True))
    if cache and by_text:
        with timer("cache"):
            cache.put_many(version, list(by_text), list(by_text.values()))
    return [c if c is not None else by_text[t] for t, c in zip(found.texts, found.cached, strict=True)]


"""Masking cost per message on realistic texts: `python -m lepton_stream.bench.masking`.

The corpus is what the workers see: the shipped chat and news samples plus the replay generator's chat stream
(banking questions, about one in eight carrying an email, phone, card or IBAN) and news stream. Prints the
median over repeats of the mean µs per text, for the default masker and the strict one (graph person names).
"""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Callable, Iterable
from importlib import resources

import orjson


def corpus() -> list[str]:
    texts: list[str] = []
    samples = resources.files("lepton_stream").joinpath("data").joinpath("samples")
    for name in ("chat_intent.csv", "chat_sentiment.csv", "news_sentiment.csv"):
        with samples.joinpath(name).open(encoding="utf-8") as fh:
            texts += [row["text"] for row in csv.DictReader(fh)]
    from lepton_stream.replay.synth import chat_stream, news_stream

    for rec in chat_stream(2000, malformed=0.0) + news_stream(1000, malformed=0.0):
        msg = orjson.loads(rec.value)
        texts.append(msg.get("text") or msg.get("headline"))
    return texts


def us_per_text(masker: Callable[[str], str], texts: Iterable[str], repeats: int = 5) -> float:
    texts = list(texts)
    for t in texts:  # warm-up: regex compilation and caches
        masker(t)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for t in texts:
            masker(t)
        runs.append((time.perf_counter() - t0) / len(texts) * 1e6)
    return statistics.median(runs)


def main() -> None:
    from lepton_stream.kg import KnowledgeGraph
    from lepton_stream.pipeline.mask import Masker

    texts = corpus()
    names = KnowledgeGraph.load().person_names()
    print(f"{len(texts)} texts, mean {statistics.mean(map(len, texts)):.0f} characters")
    print(f"default masker: {us_per_text(Masker(), texts):.2f} µs/text")
    print(f"strict masker ({len(names)} names): {us_per_text(Masker(names=names), texts):.2f} µs/text")


if __name__ == "__main__":
    main()

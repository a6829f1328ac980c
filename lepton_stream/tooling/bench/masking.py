"""Masking cost per message on realistic texts: `python -m lepton_stream.tooling.bench.masking`.

The corpus is what the workers see: the shipped chat and news samples plus the replay generator's chat stream
(banking questions, about one in eight carrying an email, phone, card or IBAN) and news stream. Prints the
best of 15 repeats of the mean µs per text (the least disturbed by other processes on shared cores), for the
default masker, the strict one (graph person names), and the default one on the texts that hold personal data,
as JSON.
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
    from lepton_stream.tooling.replay.synth import chat_stream, news_stream

    for rec in chat_stream(2000, malformed=0.0) + news_stream(1000, malformed=0.0):
        msg = orjson.loads(rec.value)
        texts.append(msg.get("text") or msg.get("headline"))
    return texts


def us_per_text(masker: Callable[[str], str], texts: Iterable[str], repeats: int = 15) -> float:
    texts = list(texts)
    for t in texts:  # warm-up: regex compilation and caches
        masker(t)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for t in texts:
            masker(t)
        runs.append((time.perf_counter() - t0) / len(texts) * 1e6)
    return min(runs)


def measure() -> dict[str, float | int]:
    """The figures, as `main` prints them (JSON)."""
    from lepton_stream.kg import KnowledgeGraph
    from lepton_stream.pipeline.masking import Masker

    texts = corpus()
    names = KnowledgeGraph.load().person_names()
    default = Masker(max_len=4000)
    personal = [t for t in texts if default(t) != t]
    return {
        "texts": len(texts),
        "mean_chars": round(statistics.mean(map(len, texts)), 1),
        "with_personal_data": len(personal),
        "default_us_per_text": round(us_per_text(default, texts), 2),
        "strict_names": len(names),
        "strict_us_per_text": round(us_per_text(Masker(names=names, max_len=4000), texts), 2),
        "default_us_per_personal_text": round(us_per_text(default, personal), 2),
    }


def main() -> None:
    print(orjson.dumps(measure(), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()

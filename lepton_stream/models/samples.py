"""Reading `text,label` CSVs (the shipped samples and training data): torch-free, so `evaluate` serves too."""

from __future__ import annotations

import csv
import random
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def read_csv(path: Path, limit_per_label: int | None = None, seed: int = 0) -> tuple[list[str], list[str]]:
    return read_csvs([path], limit_per_label, seed)


def read_csvs(paths: list[Path], limit_per_label: int | None = None, seed: int = 0) -> tuple[list[str], list[str]]:
    """The rows of every file, in order; `limit_per_label` keeps a random sample of each label over all files."""
    rows = []
    for path in paths:
        with path.open(newline="", encoding="utf-8") as f:
            rows += [(r["text"], r["label"]) for r in csv.DictReader(f)]
    if limit_per_label:
        rng = random.Random(seed)
        rng.shuffle(rows)
        seen: dict[str, int] = {}
        kept = []
        for t, lab in rows:
            if seen.get(lab, 0) < limit_per_label:
                seen[lab] = seen.get(lab, 0) + 1
                kept.append((t, lab))
        rows = kept
    return [t for t, _ in rows], [lab for _, lab in rows]


# Development sets shipped for reporting (never for training), by the name `evaluate --data` also accepts.
EVAL = SAMPLES.parent / "eval"
EVAL_SETS = {"news-sentences": EVAL / "news_sentences.csv"}
SPLITS = ("tune", "report")


def split_of(text: str) -> str:
    """A row's half of a development set, from a hash of its text: `tune` (where a setting such as the figures
    prior's strength may be chosen) or `report` (where it is then measured). The same on every machine."""
    import hashlib

    return SPLITS[hashlib.sha256(text.encode("utf-8")).digest()[0] & 1]


def resolve_data(arg: str | Path) -> Path:
    """A CSV path, or the name of a shipped development set (`news-sentences`)."""
    return EVAL_SETS.get(str(arg), Path(arg))

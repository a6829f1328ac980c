"""Rebuild lepton_stream/data/samples/ (small, attributed training samples shipped for the demo and tests)
from the licence-cleared data in ../shared/data. Deterministic (fixed seed)."""

import csv
import random
import sys
from collections import defaultdict
from pathlib import Path

from lepton_stream.tooling.training.recipes import CLINC_BANKING

SRC = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
DST = Path(__file__).resolve().parents[1] / "lepton_stream" / "data" / "samples"
rng = random.Random(7)



def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [(r["text"], r["label"]) for r in csv.DictReader(f)]


def per_label(rows, n):
    by = defaultdict(list)
    for r in rows:
        by[r[1]].append(r)
    out = []
    for lab in sorted(by):
        out += rng.sample(by[lab], min(n, len(by[lab])))
    return out


def write(name, rows):
    rng.shuffle(rows)
    with open(DST / name, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
    print(name, len(rows))


write("news_sentiment.csv", per_label(read(SRC / "twitter_fin_news/train.csv"), 300))
oos = read(SRC / "clinc150/oos_train.csv")
other = [r for r in read(SRC / "clinc150/train.csv") if r[1] not in CLINC_BANKING]
oos += [(t, "oos") for t, _ in per_label(other, 1)]
write("chat_intent.csv", per_label(read(SRC / "banking77/train.csv"), 10) + oos)
uci = []
for part in ("amazon", "imdb", "yelp"):
    uci += per_label(read(SRC / f"uci_sentences/{part}.csv"), 100)
write("chat_sentiment.csv", uci)

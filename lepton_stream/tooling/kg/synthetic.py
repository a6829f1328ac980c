"""A synthetic graph of any size, for the scale benchmark: companies with made-up names, tickers and aliases,
sectors, and typed weighted edges (mildly skewed degrees), plus texts that mention some of them."""

from __future__ import annotations

import json
import random
from pathlib import Path

SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ra",
    "to",
    "ve",
    "xi",
    "zu",
    "bel",
    "cor",
    "dan",
    "fen",
    "gar",
    "hol",
    "jun",
    "kem",
    "lor",
    "mar",
    "nov",
    "pel",
    "quin",
    "ros",
    "sal",
    "tor",
    "ul",
    "vin",
]
SUFFIX = ("Inc.", "Corp.", "Holdings", "Group", "Systems", "Labs", "Industries", "Partners")
RELS = (
    ("supplier_of", 0.35),
    ("customer_of", 0.15),
    ("competitor_of", 0.3),
    ("partner_of", 0.15),
    ("subsidiary_of", 0.05),
)
FILLER = (
    "shares of",
    "reported results and",
    "said on Monday that",
    "analysts expect",
    "guidance from",
    "the deal between",
    "traders watched",
    "after a downgrade",
    "quarterly revenue at",
    "a lawsuit against",
)


def _name(rng: random.Random, i: int) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return f"{word}{i:x}"  # the hex suffix keeps names unique


def write_synthetic(path: Path, n_nodes: int = 100_000, n_edges: int = 500_000, seed: int = 7) -> list[str]:
    """Writes the graph; returns the company names (for building benchmark texts)."""
    rng = random.Random(seed)
    n_sectors = max(1, n_nodes // 1000)
    n_comp = n_nodes - n_sectors
    names = []
    with open(path, "w", encoding="utf-8") as fh:
        for s in range(n_sectors):
            fh.write(json.dumps({"kind": "node", "id": f"sector:s{s}", "type": "sector", "name": f"Sector {s}"}) + "\n")
        for i in range(n_comp):
            name = _name(rng, i)
            names.append(name)
            rec = {
                "kind": "node",
                "id": f"C{i}",
                "type": "company",
                "name": f"{name} {rng.choice(SUFFIX)}",
                "ticker": f"X{i:X}"[:10],
                "aliases": [name],
            }
            fh.write(json.dumps(rec) + "\n")
        # every company in one sector, the rest of the edge budget between companies; targets skewed towards
        # low ids (a few large companies with many relations), sources uniform
        for i in range(n_comp):
            fh.write(
                json.dumps(
                    {
                        "kind": "edge",
                        "source": f"C{i}",
                        "type": "in_sector",
                        "target": f"sector:s{rng.randrange(n_sectors)}",
                    }
                )
                + "\n"
            )
        seen: set[tuple[int, int, str]] = set()
        rels, weights = zip(*RELS, strict=True)
        while len(seen) < n_edges - n_comp:
            a = rng.randrange(n_comp)
            b = int(n_comp * rng.random() ** 1.5)
            rel = rng.choices(rels, weights)[0]
            if a == b or (a, b, rel) in seen:
                continue
            seen.add((a, b, rel))
            fh.write(
                json.dumps(
                    {
                        "kind": "edge",
                        "source": f"C{a}",
                        "type": rel,
                        "target": f"C{b}",
                        "weight": round(rng.uniform(0.1, 1.0), 2),
                    }
                )
                + "\n"
            )
    return names


def synthetic_texts(names: list[str], n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(1, 3)
        parts = []
        for _ in range(k):
            j = rng.randrange(len(names))
            mention = rng.choice((names[j], f"${f'X{j:X}'[:10]}"))
            parts.append(f"{rng.choice(FILLER)} {mention}")
        text = " ".join(parts)
        out.append(text[0].upper() + text[1:] + " as markets moved.")
    return out

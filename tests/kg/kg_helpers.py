"""Small graphs shared by the kg tests."""

from __future__ import annotations

import json
from pathlib import Path


def write_graph(path: Path, nodes: list[dict], edges: list[dict]) -> Path:
    lines = [json.dumps({"kind": "node", **n}) for n in nodes] + [json.dumps({"kind": "edge", **e}) for e in edges]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# A small supply chain with a cycle: ACME supplies BETA, BETA supplies GAMA, GAMA supplies ACME.
SMALL_NODES = [
    {"id": "ACME", "type": "company", "name": "Acme Corp", "ticker": "ACME", "aliases": ["Acme"]},
    {
        "id": "BETA",
        "type": "company",
        "name": "Beta Industries",
        "ticker": "BETA",
        "aliases": ["Beta"],
        "common": ["Beta"],
        "cues": ["widgets"],
        "anti": ["version", "test"],
    },
    {"id": "GAMA", "type": "company", "name": "Gamma Holdings", "ticker": "GAMA"},
    {"id": "DELT", "type": "company", "name": "Deltoid Labs", "ticker": "DELT"},
    {"id": "sector:widgets", "type": "sector", "name": "Widgets"},
    {"id": "cust-0001", "type": "customer", "name": "Ada Quist", "attrs": {"tier": "premium"}},
    {"id": "product:savings", "type": "product", "name": "Savings account"},
]
SMALL_EDGES = [
    {"source": "ACME", "type": "supplier_of", "target": "BETA", "weight": 1.0},
    {"source": "BETA", "type": "supplier_of", "target": "GAMA", "weight": 0.5},
    {"source": "GAMA", "type": "supplier_of", "target": "ACME", "weight": 1.0},
    {"source": "DELT", "type": "competitor_of", "target": "ACME", "weight": 0.5},
    {"source": "ACME", "type": "in_sector", "target": "sector:widgets"},
    {"source": "cust-0001", "type": "holds", "target": "product:savings"},
]

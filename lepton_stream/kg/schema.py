"""The graph file format: node and edge records, their types, and validation with clear errors.

A graph is one or more JSON-lines files. Each line is one record:

    {"kind": "node", "id": "AAPL", "type": "company", "name": "Apple Inc.", "ticker": "AAPL",
     "aliases": ["Apple"], "common": ["Apple"], "cues": ["iphone"], "attrs": {...}}
    {"kind": "edge", "source": "TSM", "type": "supplier_of", "target": "AAPL", "weight": 0.8}
    {"kind": "meta", ...}                       (free-form: description, attribution; ignored)

Validation collects every problem (file:line: message) before raising, so one run shows them all.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$")
TICKER_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,9}$")

NODE_TYPES = frozenset({"company", "person", "product", "sector", "customer", "index", "commodity", "organization"})
# Types whose names the linker looks for in news text (customers are private, products are the bank's own,
# sector words like "retail" are too vague to be a mention).
LINKABLE_TYPES = frozenset({"company", "person", "index", "commodity", "organization"})
CUSTOMER_TIERS = ("premium", "gold", "standard")


@dataclass(frozen=True)
class Relation:
    """How a relation carries sentiment. `forward`: news about the source moves the target; `backward`: news
    about the target moves the source. Both in [0, 1]; 0 means the relation does not carry sentiment that way."""

    forward: float
    backward: float
    source_types: frozenset[str] | None = None
    target_types: frozenset[str] | None = None


_ORG = frozenset({"company", "organization"})
RELATIONS: dict[str, Relation] = {
    # A supplies B: trouble at A disrupts B's supply; B's demand drives A's revenue (the stronger flow).
    "supplier_of": Relation(0.5, 0.6, _ORG, _ORG),
    "customer_of": Relation(0.6, 0.5, _ORG, _ORG),
    # A is owned by B: the parent's fate weighs on the subsidiary more than the reverse.
    "subsidiary_of": Relation(0.5, 0.7, _ORG, _ORG),
    "competitor_of": Relation(0.3, 0.3, _ORG, _ORG),
    "partner_of": Relation(0.4, 0.4, _ORG, _ORG),
    "invests_in": Relation(0.2, 0.4),
    # Sector edges are weak on the way down so one company's news does not light up its whole sector.
    "in_sector": Relation(0.3, 0.15, None, frozenset({"sector"})),
    "ceo_of": Relation(0.8, 0.2, frozenset({"person"}), _ORG),
    "holds": Relation(0.0, 0.0, frozenset({"customer"}), frozenset({"product"})),
    "offers": Relation(0.0, 0.0, None, frozenset({"product"})),
}


class GraphFormatError(ValueError):
    """The graph file is invalid; `problems` lists every finding as 'file:line: message'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"invalid knowledge graph ({len(problems)} problem(s)):\n  {shown}{more}")


@dataclass(slots=True)
class Node:
    id: str
    type: str
    name: str
    ticker: str | None = None
    tickers: tuple[str, ...] = ()  # extra listings (GOOG next to GOOGL)
    aliases: tuple[str, ...] = ()
    common: frozenset[str] = frozenset()  # aliases that are ordinary words and need company context
    cues: tuple[str, ...] = ()  # words that confirm this entity next to a common alias
    anti: tuple[str, ...] = ()  # words that rule it out next to a common alias ("Apple pie")
    attrs: dict[str, Any] = field(default_factory=dict)

    def all_tickers(self) -> tuple[str, ...]:
        return ((self.ticker,) if self.ticker else ()) + self.tickers


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    type: str
    weight: float = 1.0


def _str_list(rec: dict, key: str, where: str, problems: list[str]) -> tuple[str, ...]:
    value = rec.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{where}: '{key}' must be a list of non-empty strings")
        return ()
    return tuple(value)


def parse_node(rec: dict, where: str, problems: list[str]) -> Node | None:
    nid, ntype, name = rec.get("id"), rec.get("type"), rec.get("name")
    before = len(problems)
    if not isinstance(nid, str) or not ID_RE.match(nid):
        problems.append(f"{where}: node id {nid!r} is missing or not a valid id ({ID_RE.pattern})")
    if ntype not in NODE_TYPES:
        problems.append(f"{where}: node {nid!r} has unknown type {ntype!r} (known: {', '.join(sorted(NODE_TYPES))})")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        problems.append(f"{where}: node {nid!r} needs a name (1-200 characters)")
    ticker = rec.get("ticker")
    if ticker is not None and (not isinstance(ticker, str) or not TICKER_RE.match(ticker)):
        problems.append(f"{where}: node {nid!r} has an invalid ticker {ticker!r} (upper case, {TICKER_RE.pattern})")
    tickers = _str_list(rec, "tickers", where, problems)
    for t in tickers:
        if not TICKER_RE.match(t):
            problems.append(f"{where}: node {nid!r} has an invalid ticker {t!r}")
    aliases = _str_list(rec, "aliases", where, problems)
    common = _str_list(rec, "common", where, problems)
    names = {name, *aliases}
    for c in common:
        if c not in names:
            problems.append(f"{where}: node {nid!r}: common alias {c!r} is not its name or one of its aliases")
    attrs = rec.get("attrs") or {}
    if not isinstance(attrs, dict):
        problems.append(f"{where}: node {nid!r}: 'attrs' must be an object")
        attrs = {}
    if ntype == "customer" and attrs.get("tier") not in CUSTOMER_TIERS:
        problems.append(f"{where}: customer {nid!r} needs attrs.tier in {CUSTOMER_TIERS}")
    if len(problems) > before:
        return None
    return Node(
        id=nid,
        type=ntype,
        name=name,
        ticker=ticker,
        tickers=tickers,
        aliases=aliases,
        common=frozenset(common),
        cues=tuple(c.lower() for c in _str_list(rec, "cues", where, problems)),
        anti=tuple(c.lower() for c in _str_list(rec, "anti", where, problems)),
        attrs=attrs,
    )


def parse_edge(rec: dict, where: str, problems: list[str]) -> Edge | None:
    src, dst, rel, weight = rec.get("source"), rec.get("target"), rec.get("type"), rec.get("weight", 1.0)
    before = len(problems)
    # ids are checked against the nodes (a malformed one is reported as dangling), not by the regex: 1M checks
    for end, value in (("source", src), ("target", dst)):
        if not isinstance(value, str) or not value:
            problems.append(f"{where}: edge {end} {value!r} is missing or not a string")
    if rel not in RELATIONS:
        problems.append(f"{where}: edge {src}->{dst} has unknown type {rel!r} (known: {', '.join(sorted(RELATIONS))})")
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0.0 <= weight <= 1.0:
        problems.append(f"{where}: edge {src}->{dst} weight {weight!r} must be a number in [0, 1]")
    if src == dst and src is not None:
        problems.append(f"{where}: edge {src}->{dst} is a self-loop")
    if len(problems) > before:
        return None
    # interned: half a million edges repeat the same few hundred thousand ids
    return Edge(sys.intern(src), sys.intern(dst), rel, float(weight))


def check_graph(
    nodes: list[tuple[Node, str]], edges: list[tuple[Edge, str]], problems: list[str]
) -> dict[str, Node]:
    """Cross-record checks: duplicate ids and tickers, dangling edges, relation endpoint types, duplicate edges."""
    by_id: dict[str, Node] = {}
    tickers: dict[str, str] = {}
    for node, where in nodes:
        if node.id in by_id:
            problems.append(f"{where}: duplicate node id {node.id!r}")
            continue
        by_id[node.id] = node
        for t in node.all_tickers():
            if t in tickers and tickers[t] != node.id:
                problems.append(f"{where}: ticker {t!r} of {node.id!r} already belongs to {tickers[t]!r}")
            tickers[t] = node.id
    seen: set[tuple[str, str, str]] = set()
    for edge, where in edges:
        missing = [e for e in (edge.source, edge.target) if e not in by_id]
        if missing:
            problems.append(f"{where}: dangling edge {edge.source} -{edge.type}-> {edge.target}: "
                            f"no node {', '.join(repr(m) for m in missing)}")
            continue
        spec = RELATIONS[edge.type]
        if spec.source_types and by_id[edge.source].type not in spec.source_types:
            problems.append(f"{where}: {edge.type} cannot start at a {by_id[edge.source].type} ({edge.source!r})")
        if spec.target_types and by_id[edge.target].type not in spec.target_types:
            problems.append(f"{where}: {edge.type} cannot end at a {by_id[edge.target].type} ({edge.target!r})")
        key = (edge.source, edge.target, edge.type)
        if key in seen:
            problems.append(f"{where}: duplicate edge {edge.source} -{edge.type}-> {edge.target}")
        seen.add(key)
    return by_id

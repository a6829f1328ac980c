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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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


REL_NAMES = list(RELATIONS)
REL_INDEX = {r: i for i, r in enumerate(REL_NAMES)}


@dataclass(frozen=True)
class EdgeTable:
    """Validated edges as columns: node indexes, relation indexes (into REL_NAMES) and weights.

    Half a million edge objects cost seconds to build and check one by one; columns are checked with numpy.
    """

    src: np.ndarray  # int32
    dst: np.ndarray  # int32
    rel: np.ndarray  # int16
    weight: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.src)


class RawEdges:
    """Edge records as read, column by column; `where(row)` names the file and line of a row for errors."""

    def __init__(self, records: list[dict], lines: list[int], files: list[tuple[int, str]]):
        """files: (first row, file name) per file, in order."""
        # one comprehension per column: a method call per edge costs a second at 500k edges
        self.src = [r.get("source") for r in records]
        self.dst = [r.get("target") for r in records]
        self.rel = [r.get("type") for r in records]
        self.weight = [r.get("weight", 1.0) for r in records]
        self.line = lines
        self._files = files

    def where(self, row: int) -> str:
        name = next(n for first, n in reversed(self._files) if first <= row)
        return f"{name}:{self.line[row]}"


def _str_list(rec: dict, key: str, where: str, problems: list[str]) -> tuple[str, ...]:
    value = rec.get(key)
    if not value:
        return ()
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


def _lookup(table: dict, values: list) -> np.ndarray:
    """Index of each value in table, -1 where absent or not a string (one pass, no per-row Python call)."""
    try:
        return np.array([table.get(v, -1) for v in values], dtype=np.int64)
    except TypeError:  # an unhashable value (a list where an id belongs): the slow, careful pass
        return np.array([table.get(v, -1) if isinstance(v, str) else -1 for v in values], dtype=np.int64)


def check_nodes(nodes: list[tuple[Node, str]], problems: list[str]) -> dict[str, Node]:
    """Duplicate ids and tickers; returns the nodes by id in file order."""
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
    return by_id


def check_edges(by_id: dict[str, Node], raw: RawEdges, problems: list[str]) -> EdgeTable:
    """Every edge problem (bad fields, unknown relation, weight, self-loop, dangling end, endpoint types,
    duplicates) found with column operations; messages in file order."""
    index = {nid: i for i, nid in enumerate(by_id)}
    src, dst, rel = _lookup(index, raw.src), _lookup(index, raw.dst), _lookup(REL_INDEX, raw.rel)
    weight = np.array([w if type(w) is float or type(w) is int else np.nan for w in raw.weight], dtype=np.float64)
    found: list[tuple[int, str]] = []

    def report(mask: np.ndarray, message) -> None:
        found.extend((int(r), f"{raw.where(int(r))}: {message(int(r))}") for r in np.flatnonzero(mask))

    def name(r: int) -> str:
        return f"{raw.src[r]}->{raw.dst[r]}"

    invalid = np.zeros(len(src), dtype=bool)
    for end, values in (("source", raw.src), ("target", raw.dst)):
        bad = np.array([not isinstance(v, str) or not v for v in values], dtype=bool)
        report(bad, lambda r, end=end, values=values: f"edge {end} {values[r]!r} is missing or not a string")
        invalid |= bad
    unknown = rel < 0
    report(unknown, lambda r: f"edge {name(r)} has unknown type {raw.rel[r]!r} (known: {', '.join(sorted(RELATIONS))})")
    bad_w = ~((weight >= 0.0) & (weight <= 1.0))  # NaN (not a number) fails both
    report(bad_w, lambda r: f"edge {name(r)} weight {raw.weight[r]!r} must be a number in [0, 1]")
    loop = np.array([a == b and a is not None for a, b in zip(raw.src, raw.dst, strict=True)], dtype=bool) & ~invalid
    report(loop, lambda r: f"edge {name(r)} is a self-loop")
    invalid |= unknown | bad_w | loop
    dangling = ~invalid & ((src < 0) | (dst < 0))
    report(dangling, lambda r: f"dangling edge {raw.src[r]} -{raw.rel[r]}-> {raw.dst[r]}: no node "
           + ", ".join(repr(e) for e in (raw.src[r], raw.dst[r]) if e not in by_id))
    ok = ~invalid & ~dangling
    if ok.any():
        types = sorted(NODE_TYPES)
        node_type = np.array([types.index(n.type) for n in by_id.values()], dtype=np.int16)
        ids = list(by_id)
        for r_name, spec in RELATIONS.items():
            this = ok & (rel == REL_INDEX[r_name])
            for allowed, column, verb in ((spec.source_types, src, "start at"), (spec.target_types, dst, "end at")):
                if allowed and this.any():
                    allow = np.array([t in allowed for t in types])
                    wrong = this.copy()
                    wrong[this] = ~allow[node_type[column[this]]]
                    report(wrong, lambda r, column=column, verb=verb, r_name=r_name:
                           f"{r_name} cannot {verb} a {by_id[ids[column[r]]].type} ({ids[column[r]]!r})")
        rows = np.flatnonzero(ok)
        key = (src[rows] * len(index) + dst[rows]) * len(REL_NAMES) + rel[rows]
        order = np.argsort(key, kind="stable")  # stable: the later of two equal edges is the duplicate
        repeat = np.zeros(len(rows), dtype=bool)
        repeat[order[1:]] = key[order[1:]] == key[order[:-1]]
        dup = np.zeros(len(src), dtype=bool)
        dup[rows[repeat]] = True
        report(dup, lambda r: f"duplicate edge {raw.src[r]} -{raw.rel[r]}-> {raw.dst[r]}")
    problems.extend(msg for _, msg in sorted(found, key=lambda f: f[0]))
    return EdgeTable(src.astype(np.int32), dst.astype(np.int32), rel.astype(np.int16), weight)

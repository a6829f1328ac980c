"""KnowledgeGraph: the loaded, validated graph (networkx) with its linker and precomputed neighbourhoods."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from lepton_stream.contracts import EntityMention, ImpactedEntity
from lepton_stream.kg.io import content_hash, graph_files, read_graph
from lepton_stream.kg.linker import Linker
from lepton_stream.kg.propagation import Neighbourhoods, PropagationSettings
from lepton_stream.kg.schema import LINKABLE_TYPES, REL_NAMES, RELATIONS, EdgeTable, Node


def hop_label(label: int) -> str:
    """Readable hop: 'supplier_of->' follows the edge, '<-supplier_of' goes against it."""
    rel = REL_NAMES[label // 2]
    return f"{rel}->" if label % 2 == 0 else f"<-{rel}"


MEMO_SIZE = 50_000  # entity lists / paths remembered; cleared when full (a bound, not an LRU)


def _remembered(memo: dict, key, compute: Callable[[], Any]) -> Any:
    """memo[key], computed once; the memo is emptied when full. (Not functools.lru_cache on the instance: that
    would tie the graph in a reference cycle, and a reloaded-away graph would wait for the cyclic collector.)"""
    found = memo.get(key)
    if found is None:
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        found = memo[key] = compute()
    return found

class KnowledgeGraph:
    def __init__(
        self,
        nodes: dict[str, Node],
        edges: EdgeTable,
        version: str,
        files: list[Path] | None = None,
        settings: PropagationSettings | None = None,
        meta: list[dict] | None = None,
    ):
        self.version = version
        self._memo: dict[tuple[tuple[str, ...], int], list[tuple[str, float, list[str]]]] = {}
        self._described: dict[tuple[str, ...], str] = {}
        self._fields: dict[tuple[tuple[str, ...], int], list[dict[str, Any]]] = {}
        self.files = files or []
        self.meta = meta or []
        self.settings = settings or PropagationSettings()
        self.nodes = nodes
        self.ids: list[str] = list(nodes)
        self.index: dict[str, int] = {nid: i for i, nid in enumerate(self.ids)}
        # One networkx edge per ordered pair; its data maps relation -> weight ({"supplier_of": 0.9, ...}).
        # (A MultiDiGraph costs twice the load time and memory at 500k edges for the same information.)
        self.g = nx.DiGraph()
        self.g.add_nodes_from((n.id, {"type": n.type, "name": n.name}) for n in nodes.values())
        ids = self.ids
        self.g.add_edges_from(
            (ids[s], ids[d], {REL_NAMES[r]: w})
            for s, d, r, w in zip(edges.src.tolist(), edges.dst.tolist(), edges.rel.tolist(), edges.weight.tolist(),
                                  strict=True)
        )
        self.n_edges = len(edges)
        node_list = list(nodes.values())
        self.linker = Linker(node_list, [n.type in LINKABLE_TYPES for n in node_list])
        self.tickers: dict[str, int] = {t: self.index[n.id] for n in node_list for t in n.all_tickers()}
        self.hoods = Neighbourhoods(
            len(self.ids),
            edges.src,
            edges.dst,
            edges.rel,
            edges.weight,
            np.array([RELATIONS[r].forward for r in REL_NAMES]),
            np.array([RELATIONS[r].backward for r in REL_NAMES]),
            self.settings,
        )

    @classmethod
    def load(cls, path: Path | None = None, settings: PropagationSettings | None = None) -> KnowledgeGraph:
        """Load and validate a graph: None = the shipped seed graph, a .jsonl file, or a folder of them.
        Raises GraphFormatError (a ValueError) that lists every problem found."""
        files = graph_files(path)
        version = content_hash(files)
        nodes, edges, meta = read_graph(files)
        return cls(nodes, edges, version, files, settings, meta)

    # ------------------------------------------------------------ lookups

    def __contains__(self, entity_id: str) -> bool:
        return entity_id in self.index

    def name(self, entity_id: str) -> str:
        node = self.nodes.get(entity_id)
        return node.name if node else entity_id

    def node(self, entity_id: str) -> Node | None:
        return self.nodes.get(entity_id)

    def relations(self, source: str, target: str) -> dict[str, float]:
        """Typed edges from source to target: {relation: weight}."""
        return dict(self.g.get_edge_data(source, target) or {})

    def customer(self, customer_id: str) -> dict | None:
        node = self.nodes.get(customer_id)
        if node is None or node.type != "customer":
            return None
        products = sorted(v for v, rels in self.g.succ[customer_id].items() if "holds" in rels)
        return {"id": node.id, "name": node.name, "tier": node.attrs.get("tier", "standard"), "products": products,
                **{k: v for k, v in node.attrs.items() if k not in ("tier", "products")}}

    def person_names(self) -> list[str]:
        """Names of private people in the graph (customers), for strict masking. Public figures are not included."""
        return sorted(n.name for n in self.nodes.values() if n.type == "customer")

    # ------------------------------------------------------------ linking and propagation

    def link(self, text: str, tickers: list[str] | None = None) -> list[EntityMention]:
        """Entities named in text, in text order. Producer tickers confirm ambiguous names; a known producer ticker
        not named in the text is returned with span (0, 0)."""
        given = {self.tickers[t] for t in tickers or () if t in self.tickers}
        found = self.linker.link(text, given)
        out = [self._mention(i, s, e) for i, s, e in found]
        seen = {i for i, _, _ in found}
        out.extend(self._mention(i, 0, 0) for i in sorted(given - seen))
        return out

    def _mention(self, i: int, start: int, end: int) -> EntityMention:
        n = self.nodes[self.ids[i]]
        return EntityMention(id=n.id, name=n.name, type=n.type, span=(start, end))

    def impacted(self, entity_ids: list[str], limit: int = 20) -> list[tuple[str, float, list[str]]]:
        """(target id, weight, path) for entities related to the given ones, strongest first. A target reached from
        several mentioned entities keeps only its strongest path; the mentioned entities themselves are excluded.

        Remembered per entity list (the graph never changes; a reload builds a new one): news names the same
        few entities again and again. Callers must not modify the result."""
        return _remembered(self._memo, (tuple(entity_ids), limit), lambda: self._impacted(entity_ids, limit))

    def _impacted(self, entity_ids: list[str], limit: int) -> list[tuple[str, float, list[str]]]:
        src = [self.index[e] for e in dict.fromkeys(entity_ids) if e in self.index]
        h = self.hoods
        best: dict[int, tuple[float, int]] = {}
        for i in src:
            lo, hi = int(h.indptr[i]), int(h.indptr[i + 1])
            if lo == hi:
                continue
            for row, t, w in zip(range(lo, hi), h.target[lo:hi].tolist(), h.weight[lo:hi].tolist(), strict=True):
                if t not in best or w > best[t][0]:
                    best[t] = (w, row)
        for i in src:
            best.pop(i, None)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
        return [(self.ids[t], w, self.path(row)) for t, (w, row) in ranked]

    def path(self, row: int) -> list[str]:
        nodes = self.hoods.path_nodes[row].tolist()
        labels = self.hoods.path_labels[row].tolist()
        out = [self.ids[nodes[0]]]
        for lab, n in zip(labels, nodes[1:], strict=True):
            if lab < 0:
                break
            out += [hop_label(lab), self.ids[n]]
        return out

    def propagate(self, mentions: list[EntityMention], sentiment: float, limit: int = 20) -> list[ImpactedEntity]:
        """Related entities moved by a message of this sentiment (positive minus negative probability, in [-1, 1])."""
        sentiment = max(-1.0, min(1.0, float(sentiment)))
        key = (tuple(m.id for m in mentions), limit)
        # What does not depend on the sentiment is worked out once per entity list (news repeats them).
        fields = _remembered(self._fields, key, lambda: [
            {"entity": t, "name": self.name(t), "path": path, "weight": round(min(1.0, max(0.0, w)), 4)}
            for t, w, path in self.impacted(list(key[0]), limit)
        ])  # fmt: skip
        return [
            ImpactedEntity(**f, propagated_sentiment=round(max(-1.0, min(1.0, sentiment * f["weight"])), 4))
            for f in fields
        ]

    # ------------------------------------------------------------ inspection

    def describe_path(self, path: list[str]) -> str:
        """'AAPL <-supplier_of TSM' → 'Apple Inc. (AAPL) ← supplier_of ← TSMC (TSM)'."""
        return _remembered(self._described, tuple(path), lambda: self._describe(path))

    def _describe(self, path: list[str]) -> str:
        parts = [f"{self.name(path[0])} ({path[0]})"]
        for lab, nid in zip(path[1::2], path[2::2], strict=True):
            arrow = f"—{lab[:-2]}→" if lab.endswith("->") else f"←{lab[2:]}—"
            parts.append(f"{arrow} {self.name(nid)} ({nid})")
        return " ".join(parts)

    def explain(self, entity_id: str, limit: int = 15) -> dict[str, Any]:
        """Node, its direct relations, and whom its news would move (with paths): what `kg explain` prints."""
        node = self.nodes.get(entity_id)
        if node is None:
            matches = self.link(entity_id)
            if not matches:
                raise KeyError(entity_id)
            node = self.nodes[matches[0].id]
        nid = node.id
        rels = [{"relation": k, "target": v, "name": self.name(v), "weight": w}
                for v, d in self.g.succ[nid].items() for k, w in d.items()]
        rels += [{"relation": f"<-{k}", "target": u, "name": self.name(u), "weight": w}
                 for u, d in self.g.pred[nid].items() for k, w in d.items()]
        impacted = [{"entity": t, "name": self.name(t), "weight": round(w, 4), "path": p,
                     "explanation": self.describe_path(p)} for t, w, p in self.impacted([nid], limit)]
        return {"id": nid, "type": node.type, "name": node.name, "tickers": list(node.all_tickers()),
                "aliases": list(node.aliases), "attrs": node.attrs, "relations": rels[:100], "impacts": impacted}

    def stats(self) -> dict[str, Any]:
        types = Counter(n.type for n in self.nodes.values())
        rels = Counter(k for _, _, d in self.g.edges(data=True) for k in d)
        return {"version": self.version, "files": [str(f) for f in self.files], "nodes": self.g.number_of_nodes(),
                "edges": self.n_edges, "node_types": dict(types.most_common()),
                "relations": dict(rels.most_common()), "linkable_surfaces": len(self.linker.automaton),
                "precomputed_paths": len(self.hoods), "max_hops": self.settings.max_hops,
                "decay": self.settings.decay, "min_weight": self.settings.min_weight}

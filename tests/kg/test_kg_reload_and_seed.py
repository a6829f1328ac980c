from __future__ import annotations

import os
from pathlib import Path

from kg_helpers import SMALL_EDGES, SMALL_NODES, write_graph

from lepton_stream.kg import GraphHolder, KnowledgeGraph
from lepton_stream.tooling.kg.customers import customer_records


def _touch_later(path: Path, seconds: int) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))


def test_holder_reloads_changed_file_and_keeps_old_graph_on_error(tmp_path: Path) -> None:
    path = write_graph(tmp_path / "g.jsonl", SMALL_NODES, SMALL_EDGES)
    holder = GraphHolder(path)
    v1 = holder.graph.version
    assert holder.maybe_reload() is False

    extra = {"id": "ZETA", "type": "company", "name": "Zeta Motors", "ticker": "ZETA"}
    write_graph(
        path,
        [*SMALL_NODES, extra],
        [*SMALL_EDGES, {"source": "ZETA", "type": "customer_of", "target": "ACME", "weight": 1.0}],
    )
    _touch_later(path, 2)
    assert holder.maybe_reload() is True
    assert holder.graph.version != v1 and "ZETA" in holder.graph
    assert [m.id for m in holder.graph.link("Zeta Motors beats")] == ["ZETA"]
    v2 = holder.graph.version

    path.write_text('{"kind": "edge", "source": "A", "type": "supplier_of", "target": "B"}\n')
    _touch_later(path, 4)
    assert holder.maybe_reload() is False
    assert holder.graph.version == v2 and "dangling" in (holder.last_error or "")
    assert holder.maybe_reload() is False  # the same bad file is not retried on every batch


def test_seed_graph_size_and_required_companies(seed: KnowledgeGraph) -> None:
    companies = [n for n in seed.nodes.values() if n.type == "company"]
    assert len(companies) >= 150
    company_ids = {n.id for n in companies}
    relations = [(u, v, k) for u, v, d in seed.g.edges(data=True) for k in d if u in company_ids and v in company_ids]
    assert len(relations) >= 300
    for t in [
        "AAPL",
        "MSFT",
        "NVDA",
        "TSM",
        "AMZN",
        "GOOGL",
        "META",
        "TSLA",
        "INTC",
        "AMD",
        "ASML",
        "QCOM",
        "AVGO",
        "NFLX",
        "DIS",
        "BA",
        "JPM",
        "GS",
        "BAC",
        "WMT",
        "TGT",
        "COST",
        "V",
        "MA",
        "XOM",
        "CVX",
        "PFE",
        "MRNA",
        "JNJ",
        "F",
        "GM",
        "NKE",
        "SBUX",
        "KO",
        "PEP",
        "UBER",
        "BABA",
    ]:
        assert t in company_ids and seed.node(t).ticker == t
        assert any("in_sector" in d for d in seed.g.succ[t].values()), t
    for src, dst in [("TSM", "AAPL"), ("TSM", "NVDA"), ("TSM", "AMD"), ("ASML", "TSM"), ("ASML", "INTC")]:
        assert "supplier_of" in seed.relations(src, dst)


def test_seed_customers(seed: KnowledgeGraph) -> None:
    tiers = [seed.customer(f"cust-{i:04d}")["tier"] for i in range(1, 201)]
    assert tiers.count("premium") == 20 and tiers.count("gold") == 40 and tiers.count("standard") == 140
    assert all(seed.customer(f"cust-{i:04d}")["products"] for i in range(1, 201))
    assert len(set(seed.person_names())) == 200
    # the shipped file is what the generator makes
    assert customer_records() == [
        __import__("json").loads(line) for line in (Path(seed.files[1])).read_text().splitlines()
    ]


def test_explain_and_stats(seed: KnowledgeGraph) -> None:
    info = seed.explain("TSM")
    assert {"relation": "supplier_of", "target": "AAPL", "name": "Apple Inc.", "weight": 0.9} in info["relations"]
    assert info["impacts"][0]["path"][0] == "TSM"
    assert seed.explain("Nvidia")["id"] == "NVDA"  # by name
    stats = seed.stats()
    assert stats["nodes"] == len(seed.nodes) and stats["version"] == seed.version

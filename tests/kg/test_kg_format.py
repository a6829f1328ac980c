from __future__ import annotations

import json
from pathlib import Path

import pytest
from kg_helpers import SMALL_EDGES, SMALL_NODES, write_graph

from lepton_stream.kg import GraphFormatError, KnowledgeGraph
from lepton_stream.kg.io import import_csv


def problems(tmp_path: Path, nodes: list[dict], edges: list[dict]) -> str:
    with pytest.raises(GraphFormatError) as exc:
        KnowledgeGraph.load(write_graph(tmp_path / "g.jsonl", nodes, edges))
    return "\n".join(exc.value.problems)


def test_dangling_edge(tmp_path: Path) -> None:
    msg = problems(tmp_path, SMALL_NODES, [*SMALL_EDGES, {"source": "ACME", "type": "supplier_of", "target": "NOPE"}])
    assert "dangling edge ACME -supplier_of-> NOPE" in msg and "g.jsonl:14" in msg


def test_duplicate_ids_and_tickers(tmp_path: Path) -> None:
    dup = {"id": "ACME", "type": "company", "name": "Other Acme"}
    tick = {"id": "ACME2", "type": "company", "name": "Acme Two", "ticker": "BETA"}
    msg = problems(tmp_path, [*SMALL_NODES, dup, tick], SMALL_EDGES)
    assert "duplicate node id 'ACME'" in msg
    assert "ticker 'BETA' of 'ACME2' already belongs to 'BETA'" in msg


def test_unknown_types_and_bad_values_are_all_reported(tmp_path: Path) -> None:
    nodes = [
        *SMALL_NODES,
        {"id": "X1", "type": "planet", "name": "Mars"},
        {"id": "bad id!", "type": "company", "name": "Bad"},
    ]
    edges = [
        *SMALL_EDGES,
        {"source": "ACME", "type": "loves", "target": "BETA"},
        {"source": "ACME", "type": "partner_of", "target": "BETA", "weight": 1.5},
        {"source": "ACME", "type": "in_sector", "target": "BETA"},
        {"source": "ACME", "type": "supplier_of", "target": "BETA"},
    ]
    msg = problems(tmp_path, nodes, edges)
    assert "unknown type 'planet'" in msg
    assert "'bad id!' is missing or not a valid id" in msg
    assert "unknown type 'loves'" in msg
    assert "weight 1.5 must be a number in [0, 1]" in msg
    assert "in_sector cannot end at a company" in msg
    assert "duplicate edge ACME -supplier_of-> BETA" in msg


def test_bad_json_and_kind(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text('{"kind": "node", "id": "A", "type": "company", "name": "A"}\nnot json\n{"kind": "thing"}\n')
    with pytest.raises(GraphFormatError) as exc:
        KnowledgeGraph.load(path)
    assert any("g.jsonl:2: not JSON" in p for p in exc.value.problems)
    assert any("g.jsonl:3: record kind 'thing'" in p for p in exc.value.problems)
    with pytest.raises(GraphFormatError, match="no such file"):
        KnowledgeGraph.load(tmp_path / "missing.jsonl")


def test_customer_needs_tier_and_lookup(tmp_path: Path, small: KnowledgeGraph) -> None:
    msg = problems(tmp_path, [*SMALL_NODES, {"id": "cust-0002", "type": "customer", "name": "Bo Zeller"}], SMALL_EDGES)
    assert "customer 'cust-0002' needs attrs.tier" in msg
    assert small.customer("cust-0001") == {
        "id": "cust-0001",
        "name": "Ada Quist",
        "tier": "premium",
        "products": ["product:savings"],
    }
    assert small.customer("ACME") is None and small.customer("cust-9999") is None
    assert small.person_names() == ["Ada Quist"]


def test_version_is_a_content_hash(tmp_path: Path) -> None:
    a = KnowledgeGraph.load(write_graph(tmp_path / "a.jsonl", SMALL_NODES, SMALL_EDGES))
    b = KnowledgeGraph.load(
        write_graph(tmp_path / "b" / "a.jsonl" if False else tmp_path / "a2.jsonl", SMALL_NODES, SMALL_EDGES)
    )
    c = KnowledgeGraph.load(write_graph(tmp_path / "c.jsonl", SMALL_NODES, SMALL_EDGES[:-1]))
    assert a.version != c.version
    assert a.version.startswith("kg-") and b.version.startswith("kg-")


def test_csv_import_round_trip(tmp_path: Path) -> None:
    (tmp_path / "nodes.csv").write_text(
        "id,type,name,ticker,aliases,common,cues,sector,tier\n"
        "sector:x,sector,Sector X,,,,,,\n"
        "ACME,company,Acme Corp,ACME,Acme|Acme Co,Acme,widgets,sector:x,\n"
        "BETA,company,Beta Inc,BETA,,,,sector:x,\n"
        "cust-0001,customer,Ada Quist,,,,,,gold\n"
    )
    (tmp_path / "edges.csv").write_text("source,type,target,weight,note\nACME,supplier_of,BETA,0.7,chips\n")
    out = tmp_path / "g.jsonl"
    assert import_csv([tmp_path / "nodes.csv", tmp_path / "edges.csv"], out) == (4, 3)
    kg = KnowledgeGraph.load(out)
    assert kg.node("ACME").aliases == ("Acme", "Acme Co") and kg.node("ACME").common == {"Acme"}
    assert kg.customer("cust-0001")["tier"] == "gold"
    assert json.loads(out.read_text().splitlines()[-1])["note"] == "chips"
    (tmp_path / "bad.csv").write_text("source,type,target,weight\nACME,supplier_of,NOPE,0.5\n")
    with pytest.raises(GraphFormatError, match="dangling"):
        import_csv([tmp_path / "nodes.csv", tmp_path / "bad.csv"], tmp_path / "bad.jsonl")
    assert not (tmp_path / "bad.jsonl").exists()


def test_edges_with_wrong_field_types_are_reported_not_crashed_on(tmp_path: Path) -> None:
    edges = [
        *SMALL_EDGES,
        {"source": ["ACME"], "type": "supplier_of", "target": "BETA"},  # unhashable where an id belongs
        {"source": "ACME", "type": "supplier_of", "target": "BETA", "weight": "0.5"},
        {"source": "ACME", "type": "partner_of", "target": "BETA", "weight": True},
        {"source": "ACME", "type": ["supplier_of"], "target": "BETA"},
        {"source": "ACME", "type": "supplier_of", "target": "ACME"},
    ]
    msg = problems(tmp_path, SMALL_NODES, edges)
    assert "edge source ['ACME'] is missing or not a string" in msg
    assert "weight '0.5' must be a number in [0, 1]" in msg
    assert "weight True must be a number in [0, 1]" in msg
    assert "unknown type ['supplier_of']" in msg
    assert "ACME->ACME is a self-loop" in msg

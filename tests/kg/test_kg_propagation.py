from __future__ import annotations

import pytest

from lepton_stream.contracts import EntityMention
from lepton_stream.kg import KnowledgeGraph, PropagationSettings


def mention(entity: str) -> EntityMention:
    return EntityMention(id=entity, name=entity, type="company", span=(0, 0))


def table(kg: KnowledgeGraph, *entities: str, sentiment: float = -0.5):
    return [
        (i.entity, i.weight, i.propagated_sentiment, i.path)
        for i in kg.propagate([mention(e) for e in entities], sentiment)
    ]


def test_one_hop_values_and_paths(small: KnowledgeGraph) -> None:
    # supplier_of: forward 0.5 (supplier's news moves its customer), backward 0.6; competitor 0.3; in_sector 0.3
    assert table(small, "ACME") == [
        ("GAMA", 0.6, -0.3, ["ACME", "<-supplier_of", "GAMA"]),  # GAMA supplies ACME: ACME's demand moves GAMA
        ("BETA", 0.5, -0.25, ["ACME", "supplier_of->", "BETA"]),  # the direct path beats the 2-hop 0.144 one
        ("sector:widgets", 0.3, -0.15, ["ACME", "in_sector->", "sector:widgets"]),
        ("DELT", 0.15, -0.075, ["ACME", "<-competitor_of", "DELT"]),
    ]


def test_two_hop_decay_and_pruning(small: KnowledgeGraph) -> None:
    rows = {e: (w, p) for e, w, _, p in table(small, "DELT", sentiment=1.0)}
    assert rows["ACME"] == (0.15, ["DELT", "competitor_of->", "ACME"])
    # 0.15 * 0.6 * decay 0.8
    assert rows["GAMA"] == (
        pytest.approx(0.072, abs=1e-4),
        ["DELT", "competitor_of->", "ACME", "<-supplier_of", "GAMA"],
    )
    assert rows["BETA"] == (pytest.approx(0.06, abs=1e-4), ["DELT", "competitor_of->", "ACME", "supplier_of->", "BETA"])
    assert "sector:widgets" not in rows  # 0.15 * 0.3 * 0.8 = 0.036 < min_weight 0.05


def test_cycle_never_returns_to_source_or_double_counts(small_path) -> None:
    kg = KnowledgeGraph.load(small_path, PropagationSettings(max_hops=4, min_weight=0.001))
    out = kg.propagate([mention("ACME")], -1.0)
    targets = [i.entity for i in out]
    assert "ACME" not in targets
    assert len(targets) == len(set(targets))
    for i in out:
        nodes = i.path[0::2]
        assert len(nodes) == len(set(nodes)), i.path  # simple paths only
        assert len(nodes) - 1 <= 4
        assert i.propagated_sentiment == pytest.approx(-i.weight, abs=1e-4)
    # the strongest path is kept, not a sum over the cycle's paths
    assert {i.entity: i.weight for i in out}["BETA"] == 0.5


def test_hops_are_bounded(small_path) -> None:
    kg = KnowledgeGraph.load(small_path, PropagationSettings(max_hops=1))
    assert all(len(i.path) == 3 for i in kg.propagate([mention("DELT")], 1.0))
    assert [i.entity for i in kg.propagate([mention("DELT")], 1.0)] == ["ACME"]


def test_several_mentions_exclude_each_other_and_keep_best_path(small: KnowledgeGraph) -> None:
    rows = table(small, "ACME", "GAMA")
    assert [r[0] for r in rows] == ["BETA", "sector:widgets", "DELT"]
    assert rows[0][1] == 0.5 and rows[0][3] == ["ACME", "supplier_of->", "BETA"]


def test_sentiment_is_clipped_and_zero_propagates_zero(small: KnowledgeGraph) -> None:
    assert all(i.propagated_sentiment == 0 for i in small.propagate([mention("ACME")], 0.0))
    assert table(small, "ACME", sentiment=5.0)[0][2] == 0.6
    assert small.propagate([mention("UNKNOWN")], -1.0) == []


def test_seed_supply_chain(seed: KnowledgeGraph) -> None:
    out = {i.entity: i for i in seed.propagate(seed.link("Apple cuts iPhone orders"), -0.8)}
    assert out["TSM"].path == ["AAPL", "<-supplier_of", "TSM"]
    assert out["TSM"].propagated_sentiment < 0
    out = {i.entity: i for i in seed.propagate(seed.link("ASML halts shipments"), -0.8)}
    assert out["TSM"].path == ["ASML", "supplier_of->", "TSM"]
    assert "AAPL" in out and out["AAPL"].path == ["ASML", "supplier_of->", "TSM", "supplier_of->", "AAPL"]


def test_remembered_results_equal_fresh_ones_and_stay_bounded(seed: KnowledgeGraph, monkeypatch) -> None:
    from lepton_stream.kg import graph

    ids = ["TSM", "AAPL"]
    first = seed.impacted(ids)
    assert first and seed.impacted(ids) is first  # remembered
    assert seed._impacted(ids, 20) == first  # and what a fresh computation gives
    assert seed.impacted(ids, limit=3) == first[:3]  # the limit is part of the key
    path = first[0][2]
    assert seed.describe_path(path) == seed._describe(path)
    monkeypatch.setattr(graph, "MEMO_SIZE", 2)
    for nid in seed.ids[:5]:
        seed.impacted([nid])
    assert len(seed._memo) <= 2

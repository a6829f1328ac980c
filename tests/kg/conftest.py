from __future__ import annotations

from pathlib import Path

import pytest
from kg_helpers import SMALL_EDGES, SMALL_NODES, write_graph

from lepton_stream.kg import KnowledgeGraph


@pytest.fixture
def small_path(tmp_path: Path) -> Path:
    return write_graph(tmp_path / "small.jsonl", SMALL_NODES, SMALL_EDGES)


@pytest.fixture
def small(small_path: Path) -> KnowledgeGraph:
    return KnowledgeGraph.load(small_path)


@pytest.fixture(scope="session")
def seed() -> KnowledgeGraph:
    return KnowledgeGraph.load()

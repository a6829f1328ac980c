"""Knowledge graph: graph file format, entity linking, relation-aware sentiment propagation, explanations."""

from lepton_stream.kg.graph import KnowledgeGraph
from lepton_stream.kg.holder import GraphHolder
from lepton_stream.kg.propagation import PropagationSettings
from lepton_stream.kg.schema import NODE_TYPES, RELATIONS, GraphFormatError

__all__ = ["KnowledgeGraph", "GraphHolder", "GraphFormatError", "PropagationSettings", "NODE_TYPES", "RELATIONS"]

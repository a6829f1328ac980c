"""Chat routing: the routing file, per-conversation state in Redis, and the decision logic."""

from lepton_stream.routing.conversation_state import ConversationState
from lepton_stream.routing.conversations import ConversationStore
from lepton_stream.routing.router import Router, RoutingDecision
from lepton_stream.routing.rules import RoutingFileError, RoutingRules, load_rules

__all__ = [
    "ConversationState",
    "ConversationStore",
    "Router",
    "RoutingDecision",
    "RoutingFileError",
    "RoutingRules",
    "load_rules",
]

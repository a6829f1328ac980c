"""Thin worker definitions: which topics, contract, enrichment, state/detection and output each kind has."""

from workers.chat import SPEC as CHAT
from workers.news import SPEC as NEWS

SPECS = {"news": NEWS, "chat": CHAT}

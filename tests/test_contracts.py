"""Contracts: the shipped JSON Schemas match the models, and the bounds reject what they should."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lepton_stream.commands.schemas import DEFAULT_DIR, rendered
from lepton_stream.contracts import ChatMessage, NewsItem

GOOD_NEWS = {"id": "n-1", "source": "reuters", "published_at": "2026-11-02T10:00:00Z", "headline": "ACME up"}
GOOD_CHAT = {"id": "c-1", "conversation_id": "conv-1", "customer_id": "cust-0001", "channel": "app",
             "sent_at": "2026-11-02T10:00:00+01:00", "text": "my card is lost"}  # fmt: skip


def test_schema_files_match_the_models():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / DEFAULT_DIR
    for name, text in rendered().items():
        assert (root / name).read_text() == text, f"{name} drifted: run `lepton-stream schemas export`"


@pytest.mark.parametrize(
    "change",
    [
        {"published_at": "2026-11-02T10:00:00"},  # no time zone
        {"id": 123},  # number where a string belongs
        {"id": "has space"},
        {"id": "x" * 129},
        {"headline": ""},
        {"headline": "h" * 1001},
        {"tickers": ["not a ticker"]},
        {"lang": "english"},
    ],
)
def test_news_bounds(change):
    with pytest.raises(ValidationError):
        NewsItem.model_validate({**GOOD_NEWS, **change})


@pytest.mark.parametrize("change", [{"channel": "pigeon"}, {"text": "t" * 4001}, {"sent_at": "yesterday"},
                                    {"customer_id": ""}])  # fmt: skip
def test_chat_bounds(change):
    with pytest.raises(ValidationError):
        ChatMessage.model_validate({**GOOD_CHAT, **change})


def test_valid_messages_pass_and_unknown_fields_are_ignored():
    assert NewsItem.model_validate({**GOOD_NEWS, "tickers": ["ACME", "BRK.B"], "new_field": 1}).tickers == [
        "ACME",
        "BRK.B",
    ]
    assert ChatMessage.model_validate(GOOD_CHAT).sent_at.utcoffset() is not None

"""The routing file: the shipped one covers banking77, and broken files fail with readable errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from lepton_stream.routing import RoutingFileError, load_rules

BANKING77 = Path("/work/shared/data/banking77/train.csv")
SAMPLES = Path(__file__).resolve().parents[2] / "lepton_stream/data/samples/chat_intent.csv"


def banking_intents() -> set[str]:
    # The full banking77 set when the shared data is there; the shipped sample (same label set) otherwise.
    src = BANKING77 if BANKING77.exists() else SAMPLES
    with src.open(newline="") as f:
        return {row["label"] for row in csv.DictReader(f)} - {"oos"}


def test_shipped_file_maps_all_77_intents_once() -> None:
    rules = load_rules()
    intents = banking_intents()
    assert len(intents) == 77
    assert rules.unmapped(sorted(intents)) == []
    assert set(rules.queue_of) == intents  # nothing extra (typos would show up here)
    assert rules.spec.routing.triage_queue in rules.spec.queues
    assert len(rules.spec.queues) >= 8


def test_shipped_urgent_intents_are_top_priority() -> None:
    rules = load_rules()
    for intent in ("lost_or_stolen_card", "compromised_card", "cash_withdrawal_not_recognised"):
        assert intent in rules.urgent
        assert rules.base_priority(intent, rules.queue_of[intent]) == 1
    assert rules.base_priority("card_swallowed", rules.queue_of["card_swallowed"]) == 2
    assert rules.base_priority("exchange_rate", rules.queue_of["exchange_rate"]) == 4


MINIMAL = """
[routing]
default_queue = "triage"
triage_queue = "triage"

[queues.triage]
intents = []

[queues.cards]
priority = 3
intents = ["card_arrival", "activate_my_card"]
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "routing.toml"
    p.write_text(text)
    return p


def test_minimal_file_loads(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, MINIMAL))
    assert rules.queue_of == {"card_arrival": "cards", "activate_my_card": "cards"}
    assert rules.unmapped(["card_arrival", "exchange_rate"]) == ["exchange_rate"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace('default_queue = "triage"', 'default_queue = "nowhere"'), "'nowhere' is not a defined"),
        (lambda s: s.replace('triage_queue = "triage"', 'triage_queue = "humans"'), "routing.triage_queue"),
        (lambda s: s + '\n[queues.more]\nintents = ["card_arrival"]\n', "'card_arrival' is listed in 'cards' and"),
        (lambda s: s.replace('"activate_my_card"]', '"activate_my_card", "card_arrival"]'), "twice in queue 'cards'"),
        (lambda s: s.replace("priority = 3", "priority = 0"), "queues.cards.priority"),
        (lambda s: s.replace("priority = 3", "priorty = 3"), "queues.cards.priorty"),
        (lambda s: s + '\n[urgent]\nintents = ["lost_card"]\n', "urgent.intents: intent 'lost_card' is not listed"),
        (lambda s: s + "\n[intent_priority]\ncard_arival = 2\n", "intent_priority: intent 'card_arival'"),
        (lambda s: s.replace("[routing]", "[routing"), "cannot read routing file"),
        (lambda s: s.replace('default_queue = "triage"\n', ""), "routing.default_queue: Field required"),
    ],
)
def test_broken_files_fail_with_clear_errors(tmp_path: Path, edit, message: str) -> None:
    path = write(tmp_path, edit(MINIMAL))
    with pytest.raises(RoutingFileError) as err:
        load_rules(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_missing_file_is_a_routing_error(tmp_path: Path) -> None:
    with pytest.raises(RoutingFileError, match="cannot read"):
        load_rules(tmp_path / "absent.toml")

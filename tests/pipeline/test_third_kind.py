"""A kind is a plug-in: a third kind declared and registered inside this test (a contract, an input topic, one
output topic, a rule-based model and no bundle) runs end to end through the real broker and Redis, reachable
from the CLI, with the shipped kinds untouched."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Annotated

import pytest
from kafka import KafkaConsumer, TopicPartition
from pydantic import AwareDatetime, StringConstraints

import workers
from lepton_stream import asyncapi, cli
from lepton_stream.config import Settings
from lepton_stream.contracts import Contract, Id, Prediction
from lepton_stream.kafka import cloudevents
from lepton_stream.kafka.backend import ensure_topics, make_producer
from lepton_stream.ops.kafka_security import redis_client
from lepton_stream.pipeline.batch import Item, Output
from lepton_stream.pipeline.stage import BackHalf, BatchContext, Render
from lepton_stream.pipeline.worker import Worker
from lepton_stream.runtime import build_loop, build_worker, kind_outputs
from lepton_stream.tooling.replay.producer import produce, read_jsonl
from tests.pipeline.kafka_helpers import make_settings, read_topic, values
from workers.kind import Kind, KindDocs, Message

TASK = "ticket-urgency"
TRIAGED = cloudevents.EventType("io.lepton.ticket.triaged.v1", None, "A support ticket with its urgency")


class Ticket(Contract):
    id: Id
    opened_at: AwareDatetime
    text: Annotated[str, StringConstraints(min_length=1, max_length=500)]

    @property
    def event_time(self) -> datetime:
        return self.opened_at

    @property
    def key(self) -> str:
        return self.id


class TicketTriaged(Contract):
    id: Id
    text: str
    urgency: Prediction
    model_version: str


class Rules:
    """The kind's model: a rule, so the kind needs no bundle (Kind.model)."""

    version = "rules-1"

    def predict(self, texts: list[str]) -> list[dict[str, Prediction]]:
        out = []
        for t in texts:
            urgent = "down" in t.lower()
            label = "urgent" if urgent else "normal"
            out.append({TASK: Prediction(label=label, confidence=1.0, scores={label: 1.0})})
        return out


class RenderTicket(Render):
    def __init__(self, topic: str):
        self.topic = topic

    def render(self, it: Item, batch: BatchContext) -> Output:
        msg: Ticket = it.message
        out = TicketTriaged(id=msg.id, text=it.text, urgency=it.preds[TASK], model_version=batch.version)
        event = cloudevents.headers(TRIAGED, f"ticket.triaged:{msg.id}", cloudevents.source(batch.kind),
                                    msg.opened_at, subject=msg.id)  # fmt: skip
        return Output.of(self.topic, msg.id, out, event, model_version=batch.version)


def stages(w: Worker) -> BackHalf:
    """The kind's back half: only its own record."""
    return BackHalf([RenderTicket(w.spec.output_topics(w.settings)[0])])


TICKET = Kind(
    kind="ticket",
    contract=Ticket,
    # Per test run (make_settings gives each a unique group prefix), as the shipped kinds' topics are.
    input_topic=lambda s: f"{s.group_prefix}.ticket.raw",
    stages=stages,
    max_text=500,
    output_topics=lambda s: (f"{s.group_prefix}.ticket.triaged",),
    key="id",
    model=lambda s: Rules(),
)


@pytest.fixture
def ticket_kind():
    with workers.registered(TICKET) as kind:
        yield kind
    assert "ticket" not in workers.names()


def _lines(n: int) -> list[bytes]:
    good = [json.dumps({"id": f"t-{i}", "opened_at": f"2026-11-02T10:{i % 60:02d}:00Z",
                        "text": f"checkout is down for shop {i}" if i % 3 == 0 else f"invoice question {i}"}).encode()
            for i in range(n)]  # fmt: skip
    bad = [b"{not json", json.dumps({"id": "t-bad", "opened_at": "yesterday", "text": "x"}).encode(),
           json.dumps({"id": "t-empty", "opened_at": "2026-11-02T10:00:00Z", "text": ""}).encode()]  # fmt: skip
    return good[: n // 2] + bad + good[n // 2 :]


def test_a_third_kind_registered_in_a_test_runs_end_to_end(broker, redis_url, key_prefix, tmp_path: Path, ticket_kind):
    # No bundle anywhere: the kind brings its own model.
    s = make_settings(broker.bootstrap, redis_url, key_prefix, tmp_path / "no-models")
    assert workers.names()[:2] == ["news", "chat"] and "ticket" in workers.names()
    # The CLI knows the kind (choices come from the registry).
    assert cli.build_parser().parse_args(["run", "ticket"]).kind == "ticket"
    assert cli.build_parser().parse_args(["produce", "ticket", "--file", "x"]).kind == "ticket"

    src = tmp_path / "tickets.jsonl"
    src.write_bytes(b"\n".join(_lines(60)) + b"\n")
    records = read_jsonl(src, "ticket")  # keyed by the kind's key field
    assert records[0].key == b"t-0" and records[30].key is None  # the unparseable line has no key
    topic = ticket_kind.input_topic(s)
    ensure_topics(s, {topic: 2})
    producer = make_producer(s)
    assert produce(producer, topic, records)["failed"] == 0
    producer.close()

    worker = build_worker("ticket", s)
    assert worker.model.version == "rules-1"
    assert kind_outputs(s, "ticket") == [f"{s.group_prefix}.ticket.triaged", f"{topic}.dlq"]
    loop = build_loop(worker)
    thread = threading.Thread(target=loop.run, kwargs={"idle_exit_s": 5.0}, daemon=True)
    thread.start()

    out_records = read_topic(broker.bootstrap, f"{s.group_prefix}.ticket.triaged", expect=60, timeout_s=120)
    dlq = values(read_topic(broker.bootstrap, f"{topic}.dlq", expect=3, timeout_s=30))
    thread.join(timeout=60)
    assert not thread.is_alive()

    out = values(out_records)
    assert {o["id"] for o in out} == {f"t-{i}" for i in range(60)}
    assert all(o["model_version"] == "rules-1" for o in out)
    assert {o["id"] for o in out if o["urgency"]["label"] == "urgent"} == {f"t-{i}" for i in range(0, 60, 3)}
    ce = cloudevents.attributes(out_records[0].headers)
    assert ce["type"] == TRIAGED.type and ce["source"] == "/lepton-stream/ticket"
    assert sorted(d["reason"] for d in dlq) == ["bad_json", "invalid", "invalid"]
    assert all(d["source_topic"] == topic for d in dlq)

    # Redis: the predictions were cached under the kind's model version.
    client = redis_client(s)
    assert any(client.scan_iter(match=f"{key_prefix}cache:rules-1:*", count=1000))
    # Offsets committed to the end of both partitions, in the kind's own group.
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=f"{s.group_prefix}-ticket",
                      enable_auto_commit=False)  # fmt: skip
    tps = [TopicPartition(topic, p) for p in range(2)]
    c.assign(tps)
    committed = sum(c.committed(tp) or 0 for tp in tps)
    c.close()
    assert committed == len(records) == 63


def test_a_kind_documents_its_own_topics():
    """The AsyncAPI document takes a kind's topics and messages from its Kind.docs; a kind without them makes
    the export fail rather than publish undescribed topics; unregistered, the shipped document is back."""
    with workers.registered(TICKET), pytest.raises(KeyError, match="ticket"):
        asyncapi.document()
    docs = KindDocs(
        input=Message("ticket", "A support ticket", "the ticket id", "ticket"),
        input_description="Support tickets to triage.",
        output=Message("ticketTriaged", TRIAGED.title, "the ticket id", "ticket_triaged", TRIAGED,
                                model_version=True),  # fmt: skip
        output_description="Each valid ticket with its urgency.",
        feed=("helpdeskSendsTickets", "helpdesk", "the helpdesk's new tickets"),
    )
    with workers.registered(dataclasses.replace(TICKET, docs=docs)):
        doc = asyncapi.document()
    s = Settings.model_construct()
    addresses = {c["address"]: c for c in doc["channels"].values()}
    assert addresses[f"{s.group_prefix}.ticket.raw"]["description"] == "Support tickets to triage."
    assert f"{s.group_prefix}.ticket.triaged" in addresses and f"{s.group_prefix}.ticket.raw.dlq" in addresses
    assert {"ticketWorkerReceives", "helpdeskSendsTickets"} <= set(doc["operations"])
    assert TRIAGED.type in doc["components"]["schemas"]["cloudEventHeaders"]["properties"]["ce_type"]["enum"]
    shipped = json.loads((Path(__file__).resolve().parents[2] / "schemas" / asyncapi.FILE_NAME).read_text())
    assert asyncapi.document() == shipped


def test_a_kind_name_is_registered_once(ticket_kind):
    with pytest.raises(ValueError, match="already registered"):
        workers.register(Kind(**{**TICKET.__dict__}))

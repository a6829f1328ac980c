"""CloudEvents 1.0 metadata for every output record: the Kafka protocol binding's binary content mode.

The body stays the contract's JSON; the event's attributes travel as record headers (`ce_<attribute>`, values
UTF-8 bytes) next to `content-type`, so an event mesh routes and filters records by type, source or subject
without parsing bodies. Every output's headers are built here; the AsyncAPI document (lepton_stream/asyncapi.py)
describes them from the same table.

`ce_id` is stable for one logical event: a record sent again (a redelivered input, an alert re-published from
the outbox) carries the id it had the first time, so `source` + `id` de-duplicates it, as the spec intends.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lepton_stream.contracts import DeadLetter

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
PREFIX = "ce_"
# ce_dataschema must be an absolute URI; this names the JSON Schema that `schemas export` writes to
# schemas/<name>.schema.json, wherever a deployment publishes that folder.
SCHEMA_URN = "urn:lepton-stream:schema:"
SOURCE_ROOT = "/lepton-stream"

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class EventType:
    """One kind of output event: its CloudEvents type and the contract (schema file name) of its body."""

    type: str
    schema: str | None  # CONTRACTS name; None for a body without a published contract (audit events)
    title: str

    @property
    def dataschema(self) -> str | None:
        return None if self.schema is None else SCHEMA_URN + self.schema


NEWS_ENRICHED = EventType("io.lepton.news.enriched.v1", "news_enriched", "A news item with sentiment and entities")
CHAT_ROUTED = EventType("io.lepton.chat.routed.v1", "chat_routed", "A chat message with its routing decision")
ALERT = EventType("io.lepton.alert.v1", "alert", "An alert: a subject's signal left its baseline")
DEAD_LETTER = EventType("io.lepton.deadletter.v1", "dead_letter", "A record that could not become an output")
AUDIT = EventType("io.lepton.audit.v1", None, "A model promotion or reload, or a graph reload")

EVENT_TYPES: tuple[EventType, ...] = (NEWS_ENRICHED, CHAT_ROUTED, ALERT, DEAD_LETTER, AUDIT)


def source(kind: str) -> str:
    """The producing component as a URI reference: `/lepton-stream/news`, `/lepton-stream/chat`, ..."""
    return f"{SOURCE_ROOT}/{kind}"


def rfc3339(t: datetime | str | float) -> str:
    """A timestamp as RFC 3339 (an aware datetime, an ISO string from a contract's JSON, or epoch seconds)."""
    if isinstance(t, str):
        t = datetime.fromisoformat(t)
    elif isinstance(t, int | float):
        t = datetime.fromtimestamp(t, UTC)
    if t.tzinfo is None:  # contracts only hold aware times; epoch seconds are UTC
        t = t.replace(tzinfo=UTC)
    return t.isoformat().replace("+00:00", "Z")


def headers(event: EventType, id: str, src: str, time: datetime | str | float, subject: str | None = None,
            extensions: dict[str, str] | None = None) -> Headers:  # fmt: skip
    """The binary-mode headers of one event, in the order the spec lists its attributes, extensions last."""
    attrs: list[tuple[str, str]] = [("specversion", SPECVERSION), ("id", id), ("source", src), ("type", event.type)]
    if event.dataschema is not None:
        attrs.append(("dataschema", event.dataschema))
    if subject:
        attrs.append(("subject", subject))
    attrs.append(("time", rfc3339(time)))
    attrs += sorted((extensions or {}).items())
    return (*((PREFIX + k, v.encode()) for k, v in attrs), ("content-type", CONTENT_TYPE.encode()))


def attributes(record_headers: Any) -> dict[str, str]:
    """The CloudEvents attributes of a consumed record's headers (kafka-python's list of (name, bytes))."""
    out: dict[str, str] = {}
    for name, value in record_headers or ():
        if name.startswith(PREFIX):
            out[name[len(PREFIX):]] = value.decode()
        elif name == "content-type":
            out["datacontenttype"] = value.decode()
    return out


# ------------------------------------------------------------------ one builder per output


def enriched(kind: str, input_id: str, time: datetime) -> Headers:
    """A news.enriched record: one event per input news item (its id, after pseudonymisation)."""
    return headers(NEWS_ENRICHED, f"news.enriched:{input_id}", source(kind), time, subject=input_id)


def routed(kind: str, input_id: str, conversation_id: str, time: datetime) -> Headers:
    """A chat.routed record: one event per input chat message; its subject is the conversation."""
    return headers(CHAT_ROUTED, f"chat.routed:{input_id}", source(kind), time, subject=conversation_id)


# Extension attributes of alerts (names of lower-case letters and digits, as the spec requires): a mesh routes
# alerts by kind and severity, as their subscribers usually do, without parsing the body.
# `alertstatus` (firing, resolved) where the alert record has a lifecycle status.
ALERT_EXTENSIONS = {"alertkind": "kind", "severity": "severity", "alertstatus": "status"}


def alert(kind: str, body: dict[str, Any]) -> Headers:
    """An alert from its JSON: the alert_id is the event id (the outbox re-publishes the same body, so the
    same id), the end of its window the event time, its subject the subject; its kind, severity and status as
    extensions."""
    ext = {name: str(body[field]) for name, field in ALERT_EXTENSIONS.items() if body.get(field)}
    return headers(ALERT, body["alert_id"], source(kind), body["window"]["end"], subject=body["subject"],
                   extensions=ext)  # fmt: skip


def dead_letter(kind: str, d: DeadLetter, timestamp_ms: int = 0) -> Headers:
    """A dead letter: identified by the record it stands for (topic, partition, offset, reason, and the webhook
    target for the relay's, which dead-letters one alert once per target), or by the sha256 of the bytes for an
    output that had no input record (offset -1). Its time is the input record's Kafka timestamp when it has one:
    first_seen changes when the same record is dead-lettered again."""
    where = f"{d.source_topic}/{d.partition}/{d.offset}"
    if d.offset >= 0:
        ident = f"{where}/{d.reason}"
    else:
        ident = f"{d.source_topic}/{d.original_sha256 or hashlib.sha256(d.original_b64.encode()).hexdigest()}"
        ident += f"/{d.reason}"
    if d.target:
        ident += f"/{d.target}"
    time: datetime | float = timestamp_ms / 1000 if timestamp_ms > 0 else d.first_seen
    return headers(DEAD_LETTER, "dlq:" + ident, source(kind), time, subject=where)


def audit(kind: str, event: dict[str, Any]) -> Headers:
    """An audit event (model promotion or reload, graph reload): identified by the hash of its body."""
    body = json.dumps(event, sort_keys=True, default=str).encode()
    at = event.get("at")
    time = at if isinstance(at, int | float | str) else datetime.now(UTC)
    return headers(AUDIT, "audit:" + hashlib.sha256(body).hexdigest()[:32], source(kind), time,
                   subject=str(event.get("kind") or "") or None)  # fmt: skip

"""Check a Kafka record's headers against the CloudEvents 1.0 Kafka binding (binary mode): the CloudEvents SDK
must turn the record into a valid event, and the attributes must meet the spec's rules the SDK leaves open."""

from __future__ import annotations

import json
import re
from typing import Any

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

# RFC 3339 date-time (section 5.6): the format the spec requires of `time`.
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Header names the binding defines for an event's attributes: lower-case letters and digits after `ce_`.
ATTRIBUTE_HEADER = re.compile(r"^ce_[a-z0-9]{1,20}$")


def check(headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...], key: bytes | None,
          value: bytes) -> Any:  # fmt: skip
    """The CloudEvent a record carries, after asserting it is a valid binary-mode one; returns the SDK's event."""
    assert all(isinstance(v, bytes) for _, v in headers), "header values are bytes"
    names = [n for n, _ in headers]
    assert len(names) == len(set(names)), f"a header repeated: {names}"
    assert all(ATTRIBUTE_HEADER.match(n) for n in names if n.startswith("ce_")), names
    h = {n: v.decode("utf-8") for n, v in headers}
    for required in ("ce_specversion", "ce_id", "ce_source", "ce_type"):
        assert h.get(required), f"{required} missing or empty: {h}"
    assert h["ce_specversion"] == "1.0"
    assert h["content-type"] == "application/json"
    assert RFC3339.match(h["ce_time"]), h["ce_time"]
    assert re.match(r"^io\.lepton\.[a-z.]+\.v\d+$", h["ce_type"]), h["ce_type"]
    if "ce_dataschema" in h:
        assert URI_SCHEME.match(h["ce_dataschema"]), "dataschema is an absolute URI"
    event = from_binary_event(KafkaMessage(headers=dict(headers), key=key, value=value))
    assert event.get_specversion() == "1.0"
    assert event.get_id() == h["ce_id"] and event.get_type() == h["ce_type"]
    assert event.get_time() is not None and event.get_time().tzinfo is not None
    assert event.get_data() == json.loads(value), "the body is the event's data, as it is"
    return event

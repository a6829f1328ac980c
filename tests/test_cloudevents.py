"""CloudEvents headers of each output kind: valid binary-mode events (checked with the CloudEvents SDK), ids
stable for the same logical event, and times that are the events' own."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from lepton_stream.contracts import CONTRACTS, Alert
from lepton_stream.kafka import cloudevents
from lepton_stream.pipeline.batch import RawRecord
from lepton_stream.pipeline.decode import dead_letter
from tests.pipeline.cloudevents_check import check

ALERT = {
    "alert_id": "0123456789abcdef0123456789abcdef", "kind": "sentiment_spike", "subject": "TSM",
    "window": {"start": "2026-11-02T10:00:00Z", "end": "2026-11-02T10:15:00Z"}, "counts": {"n": 9, "negative": 7},
    "baseline": 1.5, "score": 0.9, "severity": "high", "evidence": [], "model_version": "news-1",
}  # fmt: skip


def attrs(headers) -> dict[str, str]:
    return {n: v.decode() for n, v in headers}


def test_an_alert_is_an_event_identified_by_its_alert_id():
    body = Alert.model_validate(ALERT).model_dump_json()
    headers = cloudevents.alert("news", json.loads(body))
    event = check(headers, b"TSM", body.encode())
    assert event.get_id() == ALERT["alert_id"]
    assert event.get_type() == "io.lepton.alert.v1" and event.get_source() == "/lepton-stream/news"
    assert event.get_subject() == "TSM"
    assert event.get_time() == datetime(2026, 11, 2, 10, 15, tzinfo=UTC)  # the end of its window
    assert event.get_dataschema() == "urn:lepton-stream:schema:alert"
    # Kind and severity as extension attributes: a mesh routes on them without parsing the body.
    assert event.get_extension("alertkind") == "sentiment_spike" and event.get_extension("severity") == "high"
    # The lifecycle status as `alertstatus`, when the record has one.
    bare = {k: v for k, v in json.loads(body).items() if k != "status"}
    assert check(cloudevents.alert("news", bare), b"TSM", body.encode()).get_extension("alertstatus") is None
    resolved = cloudevents.alert("news", {**bare, "status": "resolved"})
    assert check(resolved, b"TSM", body.encode()).get_extension("alertstatus") == "resolved"
    # Re-published from the outbox, the same body gives the same headers, byte for byte.
    assert cloudevents.alert("news", json.loads(body)) == headers


def test_enriched_and_routed_events_are_identified_by_their_input():
    t = datetime(2026, 11, 2, 11, 0, 1, 250000, tzinfo=UTC)
    e = attrs(cloudevents.enriched("news", "n-1", t))
    assert e["ce_id"] == "news.enriched:n-1" and e["ce_type"] == "io.lepton.news.enriched.v1"
    assert e["ce_time"] == "2026-11-02T11:00:01.250000Z" and e["ce_subject"] == "n-1"
    check(cloudevents.enriched("news", "n-1", t), b"n-1", b'{"id": "n-1"}')
    r = attrs(cloudevents.routed("chat", "c-1", "conv-1", datetime.fromisoformat("2026-11-02T10:00:00+01:00")))
    assert r["ce_id"] == "chat.routed:c-1" and r["ce_subject"] == "conv-1"
    assert r["ce_time"] == "2026-11-02T10:00:00+01:00", "the sender's offset is kept: RFC 3339 allows it"
    assert r["ce_source"] == "/lepton-stream/chat" and r["ce_dataschema"] == "urn:lepton-stream:schema:chat_routed"


def test_a_dead_letter_keeps_its_id_when_the_same_record_is_dead_lettered_again():
    rec = RawRecord("news.raw", 3, 41, b"k", b"{not json", timestamp_ms=1_793_000_000_000)
    first = dead_letter(rec, "bad_json", "expected value")
    again = first.model_copy(update={"first_seen": datetime(2030, 1, 1, tzinfo=UTC), "worker": "news-other-2"})
    h1, h2 = cloudevents.dead_letter("news", first, rec.timestamp_ms), cloudevents.dead_letter("news", again, 1)
    assert attrs(h1)["ce_id"] == attrs(h2)["ce_id"] == "dlq:news.raw/3/41/bad_json"
    event = check(h1, rec.key, first.model_dump_json().encode())
    assert event.get_subject() == "news.raw/3/41" and event.get_type() == "io.lepton.deadletter.v1"
    assert event.get_time() == datetime.fromtimestamp(1_793_000_000, UTC), "the input record's time"
    # An output with no input record (an alert the broker refused): identified by its bytes.
    orphan = dead_letter(RawRecord("alerts", -1, -1, b"TSM", b'{"a": 1}'), "send_failed", "too large")
    other = dead_letter(RawRecord("alerts", -1, -1, b"TSM", b'{"a": 2}'), "send_failed", "too large")
    ids = {attrs(cloudevents.dead_letter("news", d))["ce_id"] for d in (orphan, other)}
    assert len(ids) == 2 and all(i.startswith("dlq:alerts/") for i in ids)
    check(cloudevents.dead_letter("news", orphan), b"TSM", orphan.model_dump_json().encode())
    # The relay dead-letters one alert once per webhook target that refused it: one event each.
    refused = dead_letter(RawRecord("alerts", 0, 9, b"TSM", b"{}"), "undeliverable", "503")
    per_target = {attrs(cloudevents.dead_letter("relay", refused.model_copy(update={"target": t})))["ce_id"]
                  for t in ("ops", "desk")}  # fmt: skip
    assert per_target == {"dlq:alerts/0/9/undeliverable/ops", "dlq:alerts/0/9/undeliverable/desk"}


def test_an_audit_event_is_identified_by_its_body():
    event = {"event": "graph_reloaded", "worker": "news-h-1", "kind": "news", "from_version": "a",
             "to_version": "b", "at": 1_793_000_000.5}  # fmt: skip
    h = cloudevents.audit("news", event)
    assert h == cloudevents.audit("news", dict(reversed(event.items())))
    e = check(h, b"news", json.dumps(event).encode())
    assert e.get_type() == "io.lepton.audit.v1" and e.get_dataschema() is None


def test_every_output_contract_has_an_event_type():
    typed = {t.schema for t in cloudevents.EVENT_TYPES if t.schema is not None}
    assert typed == {"news_enriched", "chat_routed", "alert", "dead_letter"} and typed <= set(CONTRACTS)
    assert len({t.type for t in cloudevents.EVENT_TYPES}) == len(cloudevents.EVENT_TYPES)


def test_a_consumer_reads_the_attributes_back():
    h = cloudevents.routed("chat", "c-1", "conv-1", datetime(2026, 11, 2, tzinfo=UTC)) + (("model_version", b"v1"),)
    assert cloudevents.attributes(list(h)) == {
        "specversion": "1.0", "id": "chat.routed:c-1", "source": "/lepton-stream/chat",
        "type": "io.lepton.chat.routed.v1", "dataschema": "urn:lepton-stream:schema:chat_routed",
        "subject": "conv-1", "time": "2026-11-02T00:00:00Z", "datacontenttype": "application/json",
    }  # fmt: skip

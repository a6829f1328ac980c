"""The AsyncAPI 3.0 document of every topic, generated from the code: `schemas export` writes it to
schemas/asyncapi.json next to the JSON Schemas it references, and a test fails when the committed one drifts.

Topic names and partitions are the settings' defaults, the topics each worker kind reads and writes are the
registry's (workers/, through runtime.kind_outputs), each kind's messages and topic descriptions its own
(Kind.docs), payloads are the contracts' JSON Schemas (by $ref to schemas/*.schema.json), and the headers are
the CloudEvents ones that kafka/cloudevents.py writes. What only this module knows is the shared topics
(alerts, dead letters, feedback, audit) and who sits at their far end (relay, subscribers, tools); a topic that
a worker writes and that nobody described makes the export fail rather than go undocumented.
"""

from __future__ import annotations

import copy
from typing import Any

from lepton_stream import __version__
from lepton_stream.config import Settings
from lepton_stream.kafka import cloudevents
from lepton_stream.kafka.cloudevents import EventType
from workers.kind import KindDocs, Message

FILE_NAME = "asyncapi.json"
RELAY = "relay"  # relay.worker.KIND, not imported: the relay pulls in its HTTP client
ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING = "0.5.0"


# The messages of every kind, then these (the kinds' own come from their Kind.docs).
MESSAGES: dict[str, Message] = {m.id: m for m in (
    Message("alert", cloudevents.ALERT.title, "the alert's subject (entity id or intent)", "alert", cloudevents.ALERT),
    Message("deadLetter", cloudevents.DEAD_LETTER.title,
            "the original record's key (its sha256 when over 1 KiB; hashed if it holds an email, with masked "
            "payloads)", "dead_letter", cloudevents.DEAD_LETTER),
    Message("feedback", "A corrected label", "the id of the corrected message", "feedback"),
    Message("auditEvent", cloudevents.AUDIT.title, "the worker or model kind", None, cloudevents.AUDIT),
)}  # fmt: skip

# The body of an audit event, which has no contract of its own: the fields every event has.
AUDIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event", "kind", "at"],
    "properties": {
        "event": {"type": "string", "enum": ["model_promoted", "model_reloaded", "graph_reloaded"]},
        "kind": {"type": "string", "description": "worker kind (news, chat)"},
        "at": {"description": "when: epoch seconds (reloads) or an RFC 3339 time (promotions)",
               "oneOf": [{"type": "number"}, {"type": "string", "format": "date-time"}]},  # fmt: skip
        "worker": {"type": "string"},
        "from_version": {"type": ["string", "null"]},
        "to_version": {"type": ["string", "null"]},
        "version": {"type": "string"},
        "who": {"type": "string"},
    },
}


def _ref(*path: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)}


def _channel_id(address: str) -> str:
    """A channel's id from its topic: `news.raw.dlq` -> `newsRawDlq`."""
    first, *rest = address.replace("-", ".").replace("_", ".").split(".")
    return first + "".join(p[:1].upper() + p[1:] for p in rest)


def _documented() -> list[tuple[str, KindDocs]]:
    """(kind, docs) of every registered kind that documents its topics, in the registry's order."""
    import workers

    return [(k.kind, k.docs) for k in workers.kinds() if isinstance(k.docs, KindDocs)]


def _messages() -> dict[str, Message]:
    documented = _documented()
    kinds = [d.input for _, d in documented] + [d.output for _, d in documented]
    return {**{m.id: m for m in kinds}, **MESSAGES}


def event_types() -> list[EventType]:
    """The CloudEvents types of every output: the kinds' own, then the shared ones (alerts, dead letters, audit)."""
    own = [d.output.event for _, d in _documented() if d.output.event is not None]
    return own + [t for t in cloudevents.EVENT_TYPES if t not in own]


def _topics(s: Settings) -> list[tuple[str, str, str]]:
    """(topic, message id, description) of every topic, in the order the document lists them."""
    import workers
    from lepton_stream.runtime import kind_outputs

    documented = dict(_documented())
    topics = [(workers.get(kind).input_topic(s), d.input.id, d.input_description) for kind, d in documented.items()]
    described = {workers.get(kind).output_topics(s)[0]: (d.output.id, d.output_description)
                 for kind, d in documented.items()}  # fmt: skip
    described[s.topic_alerts] = ("alert", "Alerts of both worker kinds; subscribers de-duplicate by alert_id (the "
                                          "CloudEvents id).")  # fmt: skip
    for kind in workers.names():
        for topic in kind_outputs(s, kind):
            if topic in {t for t, _, _ in topics}:
                continue
            if topic.endswith(s.dlq_suffix):
                entry = ("deadLetter", f"Dead letters of {topic.removesuffix(s.dlq_suffix)}: records that could "
                                       "not become an output, with why and where they came from.")  # fmt: skip
            elif topic in described:
                entry = described[topic]
            else:
                raise KeyError(f"the {kind} worker writes to {topic}, which the AsyncAPI document does not describe")
            topics.append((topic, *entry))
    relay_dlq = s.dlq_topic(s.topic_alerts)
    topics.append((relay_dlq, "deadLetter", f"Dead letters of the relay (`run {RELAY}`): alert records it could not "
                                            "read, and alerts a webhook target kept refusing (reason undeliverable, "
                                            "with the target)."))  # fmt: skip
    topics += [
        (s.topic_feedback, "feedback", "Analysts' and agents' corrected labels; `lepton-stream models feedback` "
                                       "turns them into training CSVs."),
        (s.topic_audit, "auditEvent", "Model promotions and reloads, graph reloads."),
    ]  # fmt: skip
    return topics


def _headers(m: Message) -> dict[str, Any] | None:
    if m.event is None:
        return None
    own: dict[str, Any] = {"ce_type": {"const": m.event.type}}
    required = ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"]
    if m.event.dataschema is not None:
        own["ce_dataschema"] = {"const": m.event.dataschema}
        required.append("ce_dataschema")
    if m.model_version:
        own["model_version"] = {"type": "string", "description": "the model bundle version that produced it"}
        required.append("model_version")
    if m.event is cloudevents.ALERT:
        from lepton_stream.contracts import Alert

        fields = Alert.model_json_schema()["properties"]
        for name, field in cloudevents.ALERT_EXTENSIONS.items():
            if field not in fields:  # a field the contract does not have (yet): no such header either
                continue
            own[f"ce_{name}"] = {"type": "string", "enum": fields[field]["enum"],
                                 "description": f"CloudEvents extension: the alert's {field}"}  # fmt: skip
            required.append(f"ce_{name}")
    return {"allOf": [_ref("components", "schemas", "cloudEventHeaders"),
                      {"type": "object", "required": required, "properties": own}]}  # fmt: skip


def _message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"name": m.id, "title": m.title, "contentType": cloudevents.CONTENT_TYPE}
    if m.event is not None:
        out["summary"] = f"CloudEvents type {m.event.type}, binary content mode"
        out["headers"] = _headers(m)
    out["payload"] = {"$ref": f"./{m.schema}.schema.json"} if m.schema else _ref("components", "schemas", m.id)
    out["bindings"] = {"kafka": {"key": {"type": "string", "description": m.key}, "bindingVersion": KAFKA_BINDING}}
    return out


CLOUDEVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes as Kafka headers (Kafka protocol binding, binary content mode): "
    "values are UTF-8 bytes; the body is the event's data.",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"],
    "properties": {
        "ce_specversion": {"type": "string", "const": cloudevents.SPECVERSION},
        "ce_id": {"type": "string", "description": "stable for one logical event: a record sent again (a "
                  "redelivery, an outbox re-publish) has the same id. Alerts: the alert_id; enriched and routed "
                  "records: `<topic kind>:<input id>`; dead letters: `dlq:<topic>/<partition>/<offset>/<reason>` "
                  "(`dlq:<topic>/<sha256>/<reason>` for an output without an input record); audit events: "
                  "`audit:` + the hash of the body"},
        "ce_source": {"type": "string", "format": "uri-reference",
                      "description": f"the producing component: `{cloudevents.SOURCE_ROOT}/<worker kind>`"},
        "ce_type": {"type": "string", "enum": []},  # filled by document(): the registered kinds' types too
        "ce_time": {"type": "string", "format": "date-time", "description": "RFC 3339: the event's own time "
                    "(published_at, sent_at, the end of an alert's window, the dead-lettered record's timestamp)"},
        "ce_subject": {"type": "string", "description": "news item id, conversation id, alert subject, or "
                       "`<topic>/<partition>/<offset>` of a dead-lettered record"},
        "ce_dataschema": {"type": "string", "format": "uri", "description": f"`{cloudevents.SCHEMA_URN}<name>` "
                          "names schemas/<name>.schema.json"},
        "content-type": {"type": "string", "const": cloudevents.CONTENT_TYPE},
    },
}  # fmt: skip


def document(s: Settings | None = None) -> dict[str, Any]:
    """The AsyncAPI document for the default settings (the deployment's names are documented, not the shell's)."""
    import workers
    from lepton_stream.runtime import kind_outputs

    s = s or Settings.model_construct()
    topics = _topics(s)
    messages = _messages()
    headers = copy.deepcopy(CLOUDEVENT_HEADERS)
    headers["properties"]["ce_type"]["enum"] = [t.type for t in event_types()]
    channels: dict[str, Any] = {}
    for topic, mid, description in topics:
        binding = {"topic": topic, "partitions": s.topic_partitions, "replicas": 3, "bindingVersion": KAFKA_BINDING}
        channels[_channel_id(topic)] = {
            "address": topic,
            "description": description,
            "messages": {mid: _ref("components", "messages", mid)},
            "bindings": {"kafka": binding},
        }

    operations: dict[str, Any] = {}

    def op(name: str, action: str, topic: str, who: str, summary: str, group: str | None = None) -> None:
        cid = _channel_id(topic)
        mid = next(iter(channels[cid]["messages"]))
        entry: dict[str, Any] = {
            "action": action,
            "channel": _ref("channels", cid),
            "summary": summary,
            "tags": [{"name": who}],
            "messages": [_ref("channels", cid, "messages", mid)],
        }
        if group is not None:
            entry["bindings"] = {"kafka": {"groupId": {"type": "string", "const": group},
                                           "bindingVersion": KAFKA_BINDING}}  # fmt: skip
        operations[name] = entry

    for spec in workers.kinds():
        kind = spec.kind
        who = f"{kind} worker"
        op(f"{kind}WorkerReceives", "receive", spec.input_topic(s), who,
           f"`lepton-stream run {kind}` consumes its input (at least once; offsets committed after its outputs "
           "are acknowledged)", group=f"{s.group_prefix}-{kind}")  # fmt: skip
        for topic in kind_outputs(s, kind):
            verb = "dead-letters to" if topic.endswith(s.dlq_suffix) else "publishes to"
            op(f"{kind}WorkerSends{_channel_id(topic)[:1].upper()}{_channel_id(topic)[1:]}", "send", topic, who,
               f"the {kind} worker {verb} {topic}")  # fmt: skip
        op(f"{kind}WorkerSendsAudit", "send", s.topic_audit, who, "model and graph reloads")
    op("relayReceivesAlerts", "receive", s.topic_alerts, "relay",
       "`lepton-stream run relay` posts each alert to the webhooks that want it (docs/alerts.md; at least once)",
       group=f"{s.group_prefix}-{RELAY}")  # fmt: skip
    op("relaySendsAlertsDlq", "send", s.dlq_topic(s.topic_alerts), "relay",
       "the relay dead-letters unreadable alert records, and each (alert, target) that stayed undeliverable")
    op("subscribersReceiveAlerts", "receive", s.topic_alerts, "subscribers",
       "subscribers' own consumers, any group of their own; they de-duplicate by ce_id (the alert_id)")  # fmt: skip
    for kind, d in _documented():
        name, who, summary = d.feed
        op(name, "send", workers.get(kind).input_topic(s), who, summary)
    op("reviewersSendFeedback", "send", s.topic_feedback, "reviewers", "analysts and agents correct labels")
    op("modelsFeedbackReceives", "receive", s.topic_feedback, "models feedback",
       "`lepton-stream models feedback` reads the topic to the end into training CSVs")  # fmt: skip
    op("modelsPromoteSendsAudit", "send", s.topic_audit, "models promote", "`lepton-stream models promote`")

    used = {mid for _, mid, _ in topics}
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Lepton Stream",
            "version": __version__,
            "description": "Topics of the Lepton Stream workers: what they read, what they publish, who else "
            "reads and writes them. Generated by `lepton-stream schemas export`; docs/topics.md explains it.",
        },
        "defaultContentType": cloudevents.CONTENT_TYPE,
        "servers": {
            "kafka": {"host": s.kafka_bootstrap, "protocol": "kafka",
                      "description": "the default LEPTON_KAFKA_BOOTSTRAP; set yours"},  # fmt: skip
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": {mid: _message(m) for mid, m in messages.items() if mid in used},
            "schemas": {"cloudEventHeaders": headers, "auditEvent": AUDIT_SCHEMA},
        },
    }

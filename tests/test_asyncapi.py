"""The AsyncAPI document: generated from the code and committed in sync, valid for the reference AsyncAPI parser
(@asyncapi/parser, run by node), and true to the records: every topic a worker writes is a channel, and the
headers the workers write match the document's header schemas."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

import workers
from lepton_stream import asyncapi
from lepton_stream.commands.schemas import DEFAULT_DIR, rendered
from lepton_stream.config import Settings
from lepton_stream.contracts import CONTRACTS
from lepton_stream.kafka import cloudevents
from lepton_stream.pipeline.batch import RawRecord
from lepton_stream.pipeline.decode import dead_letter
from lepton_stream.relay import worker as relay_worker
from lepton_stream.runtime import kind_outputs

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools" / "asyncapi"
DOC = asyncapi.document()


def parse(path: Path) -> subprocess.CompletedProcess:
    """Run the AsyncAPI parser on a document; skipped where node or the parser is missing, except in CI."""
    node = shutil.which("node")
    if node is None or not (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir():
        why = "node, or the parser in tools/asyncapi/node_modules (`make test` installs it with npm ci), is missing"
        if os.environ.get("CI"):
            pytest.fail("CI validates the AsyncAPI document: " + why)
        pytest.skip(why)
    return subprocess.run([node, str(TOOLS / "validate.mjs"), str(path)], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def test_the_committed_document_is_the_generated_one():
    committed = (ROOT / DEFAULT_DIR / asyncapi.FILE_NAME).read_text()
    assert committed == rendered()[asyncapi.FILE_NAME], "asyncapi.json drifted: run `lepton-stream schemas export`"


def test_the_generated_document_is_valid_for_the_asyncapi_parser(tmp_path):
    for name, text in rendered().items():  # the document with the JSON Schemas its $refs point at
        (tmp_path / name).write_text(text)
    r = parse(tmp_path / asyncapi.FILE_NAME)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{len(DOC['channels'])} channels, {len(DOC['operations'])} operations" in r.stdout
    # The parser does reject what is wrong: the same document with an AsyncAPI 2 action in it.
    broken = json.loads((tmp_path / asyncapi.FILE_NAME).read_text())
    next(iter(broken["operations"].values()))["action"] = "publish"
    (tmp_path / asyncapi.FILE_NAME).write_text(json.dumps(broken))
    r = parse(tmp_path / asyncapi.FILE_NAME)
    assert r.returncode == 1 and '"action" property must be equal to one of the allowed values' in r.stdout


def test_every_topic_a_worker_reads_or_writes_is_a_channel_with_its_producers():
    s = Settings.model_construct()
    addresses = {c["address"]: cid for cid, c in DOC["channels"].items()}
    for spec in workers.kinds():
        kind = spec.kind
        assert spec.input_topic(s) in addresses
        for topic in kind_outputs(s, kind):
            sends = [o for o in DOC["operations"].values()
                     if o["action"] == "send" and o["channel"]["$ref"] == f"#/channels/{addresses[topic]}"]
            assert any(o["tags"] == [{"name": f"{kind} worker"}] for o in sends), (kind, topic)
    receivers = [o["tags"][0]["name"] for o in DOC["operations"].values()
                 if o["action"] == "receive" and o["channel"]["$ref"] == f"#/channels/{addresses[s.topic_alerts]}"]
    assert receivers == ["relay", "subscribers"]
    relay = {o["action"]: o for o in DOC["operations"].values() if o["tags"] == [{"name": "relay"}]}
    assert relay["receive"]["bindings"]["kafka"]["groupId"]["const"] == f"{s.group_prefix}-{relay_worker.KIND}"
    assert relay["send"]["channel"]["$ref"] == f"#/channels/{addresses[s.dlq_topic(s.topic_alerts)]}"
    for m in DOC["components"]["messages"].values():
        ref = m["payload"].get("$ref", "")
        assert ref.startswith("#/components/schemas/") or (ROOT / DEFAULT_DIR / ref).is_file(), ref
    assert {m["payload"]["$ref"] for m in DOC["components"]["messages"].values()} >= {
        f"./{name}.schema.json" for name in CONTRACTS}  # fmt: skip


def header_schemas(message_id: str) -> list[dict]:
    """A message's header schema as its parts (the shared CloudEvents one, then the message's own)."""
    parts = DOC["components"]["messages"][message_id]["headers"]["allOf"]
    assert parts[0] == {"$ref": "#/components/schemas/cloudEventHeaders"}
    return [DOC["components"]["schemas"]["cloudEventHeaders"], parts[1]]


T = datetime(2026, 11, 2, tzinfo=UTC)
MODEL = (("model_version", b"v1"),)
BAD = dead_letter(RawRecord("chat.raw", 0, 7, None, b"{"), "bad_json", "x")


@pytest.mark.parametrize("message_id, headers", [
    ("newsEnriched", cloudevents.enriched("news", "n-1", T) + MODEL),
    ("chatRouted", cloudevents.routed("chat", "c-1", "conv-1", T) + MODEL),
    ("alert", cloudevents.alert("news", {"alert_id": "0" * 32, "subject": "TSM", "kind": "intent_surge",
                                         "severity": "low", "status": "firing",
                                         "window": {"end": "2026-11-02T10:15:00Z"}})),
    ("deadLetter", cloudevents.dead_letter("chat", BAD)),
    ("auditEvent", cloudevents.audit("news", {"event": "graph_reloaded", "kind": "news", "at": 1.0})),
])  # fmt: skip
def test_the_headers_the_workers_write_match_the_documented_ones(message_id, headers):
    as_text = {n: v.decode() for n, v in headers}
    for schema in header_schemas(message_id):
        jsonschema.validate(as_text, schema)
    wrong = {**as_text, "ce_type": "io.lepton.other.v1"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, header_schemas(message_id)[1])

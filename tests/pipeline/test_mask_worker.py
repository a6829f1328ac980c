"""Masking inside the worker (`Worker.process` against a real Redis): what reaches outputs, Redis keys and the DLQ.

- a valid message whose masked text would pass the contract's limit is still output, within the limit;
- customer and conversation ids that are emails reach neither outputs, Kafka keys nor Redis keys in clear, and a
  customer's messages still share one conversation (a stable keyed hash);
- LEPTON_DLQ_PAYLOAD=masked: a dead letter holds the masked text and the sha256 of the original, not its bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

from lepton_stream.config import load_settings
from lepton_stream.contracts import MAX_CHAT_TEXT, MAX_HEADLINE, DeadLetter
from lepton_stream.pipeline.batch import RawRecord
from lepton_stream.pipeline.decode import dead_letter
from lepton_stream.runtime import build_worker
from lepton_stream.state.cluster import connect

CHAT, NEWS = "chat.raw.mask-test", "news.raw.mask-test"


def worker_for(kind, model, redis_url, key_prefix, models_dir, **overrides):
    s = load_settings(redis_url=redis_url, redis_key_prefix=key_prefix, models_dir=models_dir, runtime="torch",
                      topic_chat_raw=CHAT, topic_news_raw=NEWS, threads=1, **overrides)  # fmt: skip
    return build_worker(kind, s, model=model)


def chat_record(text: str, offset: int, customer: str = "cust-0001", conversation: str | None = None) -> RawRecord:
    conversation = conversation or f"conv-{uuid.uuid4().hex[:8]}"
    msg = {"id": f"m-{uuid.uuid4().hex[:10]}", "conversation_id": conversation, "customer_id": customer,
           "channel": "web", "sent_at": "2026-12-06T08:00:00Z", "text": text}  # fmt: skip
    return RawRecord(CHAT, 0, offset, conversation.encode(), json.dumps(msg).encode())


def outputs_on(outputs, topic: str) -> list[dict]:
    return [json.loads(o.value) for o in outputs if o.topic == topic]


def test_masking_never_turns_a_valid_message_into_an_invalid_one(redis_url, key_prefix, models_dir, chat_model,
                                                                 news_model):  # fmt: skip
    # 3,997 characters of short addresses: "[EMAIL]" is longer than "a@b.io", so plain placeholders would make
    # the text 4,567 characters, over ChatRouted's limit, and the message would end in the DLQ.
    text = " ".join(["a@b.io"] * 571)
    assert len(text) <= MAX_CHAT_TEXT < len(text.replace("a@b.io", "[EMAIL]"))
    w = worker_for("chat", chat_model, redis_url, key_prefix, models_dir)
    out = w.process([chat_record(text, 0)])
    routed = outputs_on(out, w.settings.topic_chat_routed)
    assert len(routed) == 1 and not outputs_on(out, w.dlq_topic)
    assert len(routed[0]["text"]) <= MAX_CHAT_TEXT and "@" not in routed[0]["text"]

    headline = " ".join(["ssn 123456789"] * 71)  # [NATIONAL_ID] is longer than the 9 digits it replaces
    assert len(headline) <= MAX_HEADLINE
    msg = {"id": "n-1", "source": "wire", "published_at": "2026-12-06T08:00:00Z", "headline": headline}
    w = worker_for("news", news_model, redis_url, key_prefix, models_dir)
    out = w.process([RawRecord(NEWS, 0, 0, b"wire", json.dumps(msg).encode())])
    enriched = outputs_on(out, w.settings.topic_news_enriched)
    assert len(enriched) == 1 and not outputs_on(out, w.dlq_topic)
    assert len(enriched[0]["headline"]) <= MAX_HEADLINE and "123456789" not in enriched[0]["headline"]


def test_email_ids_reach_no_output_and_no_redis_key_in_clear(redis_url, key_prefix, models_dir, chat_model):
    w = worker_for("chat", chat_model, redis_url, key_prefix, models_dir, id_hash_secret="s3cret")
    email = "Jane.Doe@example.com"
    first = w.process([chat_record("my card does not work", 0, customer=email, conversation=email)])
    second = w.process([chat_record("still waiting", 1, customer=email.lower(), conversation=email.lower())])
    routed = outputs_on(first + second, w.settings.topic_chat_routed)
    assert len(routed) == 2
    for o in first + second:
        assert b"@" not in o.value and b"example.com" not in o.value and b"@" not in (o.key or b"")
    ids = {(r["customer_id"], r["conversation_id"]) for r in routed}
    assert len(ids) == 1  # one address (any case), one pseudonym: the conversation stays together
    pseudonym = routed[0]["conversation_id"]
    assert pseudonym.startswith("anon-")
    keys = [k.decode() for k in connect(redis_url).scan_iter(match=key_prefix + "*")]
    assert keys and not [k for k in keys if "@" in k or "example" in k.lower()]
    assert w.back_half.stage("conversations").store.get(pseudonym)["n"] == "2"
    # Another secret, another pseudonym: the hash is keyed, so a list of addresses does not reverse it.
    other = worker_for("chat", chat_model, redis_url, key_prefix, models_dir, id_hash_secret="other")
    again = outputs_on(other.process([chat_record("hi", 2, customer=email)]), w.settings.topic_chat_routed)
    assert again[0]["customer_id"].startswith("anon-") and again[0]["customer_id"] != routed[0]["customer_id"]


def test_masked_dead_letters_hold_masked_text_and_a_hash(redis_url, key_prefix, models_dir, chat_model):
    raw = json.dumps({"id": "m-1", "conversation_id": "jane@example.com", "customer_id": "cust-0001",
                      "channel": "pigeon", "sent_at": "2026-12-06T08:00:00Z",
                      "text": "call me on 555 123-4567 or jane@example.com"}).encode()  # fmt: skip
    rec = RawRecord(CHAT, 0, 7, b"jane@example.com", raw)

    w = worker_for("chat", chat_model, redis_url, key_prefix, models_dir)
    (d,) = outputs_on(w.process([rec]), w.dlq_topic)
    assert base64.b64decode(d["original_b64"]) == raw  # the default keeps the bytes for replay

    w = worker_for("chat", chat_model, redis_url, key_prefix, models_dir, dlq_payload="masked")
    (out,) = [o for o in w.process([rec]) if o.topic == w.dlq_topic]
    d = DeadLetter.model_validate_json(out.value)
    assert d.reason == "invalid" and d.payload == "masked"
    assert d.original_b64 == "" and d.original_key_b64 is None
    assert d.original_sha256 == hashlib.sha256(raw).hexdigest()
    assert d.masked_text is not None and "[PHONE]" in d.masked_text and "[EMAIL]" in d.masked_text
    assert b"example.com" not in out.value and b"4567" not in out.value and b"example.com" not in (out.key or b"")
    # The loop's stage_failed dead letters take the same path.
    failed = w.dead_letter_output(rec, dead_letter(rec, "stage_failed", "ValueError: jane@example.com", w.id))
    assert b"example.com" not in failed.value and b"4567" not in failed.value


def test_an_oversized_dead_letter_keeps_a_masked_head_without_half_numbers(redis_url, key_prefix, models_dir,
                                                                          chat_model):  # fmt: skip
    w = worker_for("chat", chat_model, redis_url, key_prefix, models_dir, dlq_payload="masked",
                   max_message_bytes=1024)  # fmt: skip
    text = "x" * 1000 + " call 555-123-4567 " + "y" * 2000  # the cut falls inside the number
    rec = RawRecord(CHAT, 0, 9, None, json.dumps({"text": text}).encode())
    (out,) = [o for o in w.process([rec]) if o.topic == w.dlq_topic]
    d = DeadLetter.model_validate_json(out.value)
    assert d.reason == "too_large" and d.masked_text is not None and len(d.masked_text) <= 1024
    assert "555" not in d.masked_text and d.masked_text.startswith('{"text": "xxx')

"""Decode + validate: bytes → contract instance, or a dead letter that keeps the (bounded) original bytes and offset."""

from __future__ import annotations

import base64
import hashlib
import time

from pydantic import ValidationError

from lepton_stream.contracts import Contract, DeadLetter
from lepton_stream.pipeline.batch import Item, RawRecord

DEFAULT_MAX_ORIGINAL = 256 * 1024  # LEPTON_DLQ_MAX_ORIGINAL_BYTES
MAX_KEY = 1024  # a dead letter's own Kafka key and its copy of the original key are bounded too


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def bounded_key(key: bytes | None) -> bytes | None:
    """A Kafka key short enough for any record: longer ones are replaced by their sha256 (hex)."""
    return key if key is None or len(key) <= MAX_KEY else hashlib.sha256(key).hexdigest().encode()


def dead_letter(record: RawRecord, reason: str, error: str, worker: str = "",
                max_original: int = DEFAULT_MAX_ORIGINAL) -> DeadLetter:  # fmt: skip
    """The DLQ record of `record`: its bytes up to max_original (then its size and sha256 tell what was cut)."""
    value = record.value or b""
    truncated = len(value) > max_original
    return DeadLetter(
        original_b64=_b64(value[:max_original]) or "",
        original_key_b64=_b64(bounded_key(record.key)),
        original_bytes=len(value),
        original_sha256=hashlib.sha256(value).hexdigest() if record.value is not None else None,
        original_truncated=truncated,
        error=error[:2000],
        reason=reason,  # type: ignore[arg-type]
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        worker=worker,
    )


SLIM_ERROR = 200


def slimmed(d: DeadLetter) -> DeadLetter | None:
    """A dead letter the broker refused as it is (over a small `max.request.size` or a topic's
    `max.message.bytes`), without the original's bytes or masked text and with its error cut short: it still says
    what happened, where (topic, partition, offset), and the original's size and sha256. None when it already is."""
    if not d.original_b64 and d.masked_text is None and len(d.error) <= SLIM_ERROR:
        return None
    return d.model_copy(update={"original_b64": "", "masked_text": None, "original_truncated": d.original_bytes > 0,
                                "error": d.error[:SLIM_ERROR]})  # fmt: skip


def _summarise(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()[:10]]
    return "; ".join(parts)


def decode_one(record: RawRecord, contract: type[Contract], max_bytes: int) -> Contract | tuple[str, str]:
    """The contract instance, or (reason, error) for the dead-letter queue."""
    if record.error is not None:
        return "undecodable", record.error
    raw = record.value
    if raw is None:
        return "bad_json", "empty record (tombstone)"
    if len(raw) > max_bytes:
        return "too_large", f"{len(raw)} bytes > limit {max_bytes}"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "bad_encoding", f"invalid UTF-8 at byte {exc.start}"
    # pydantic-core's own JSON parser: fast, and bounded recursion, so hostile nesting is an error, not a crash.
    try:
        return contract.model_validate_json(raw)
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "json_invalid":
            return "bad_json", _summarise(exc)[:300]
        return "invalid", _summarise(exc)

def future_dead(items: list[Item], max_skew_s: float, worker: str = "", max_original: int = DEFAULT_MAX_ORIGINAL,
                now: float | None = None) -> tuple[list[Item], list[tuple[RawRecord, DeadLetter]]]:  # fmt: skip
    """Split off items stamped more than max_skew_s ahead of the wall clock: one such event would drive the
    watermark ahead for good and make every current event late."""
    limit = (time.time() if now is None else now) + max_skew_s
    keep: list[Item] = []
    dead: list[tuple[RawRecord, DeadLetter]] = []
    for it in items:
        ts = it.message.event_time.timestamp()
        if ts <= limit:
            keep.append(it)
        else:
            ahead = ts - limit + max_skew_s
            error = f"event time {it.message.event_time.isoformat()} is {ahead:.0f} s ahead of the clock"
            dead.append((it.record, dead_letter(it.record, "future_timestamp", error, worker, max_original)))
    return keep, dead


def decode(
    records: list[RawRecord], contract: type[Contract], max_bytes: int, worker: str = "",
    max_original: int = DEFAULT_MAX_ORIGINAL,
) -> tuple[list[Item], list[tuple[RawRecord, DeadLetter]]]:
    items: list[Item] = []
    dead: list[tuple[RawRecord, DeadLetter]] = []
    for rec in records:
        result = decode_one(rec, contract, max_bytes)
        if isinstance(result, tuple):
            dead.append((rec, dead_letter(rec, result[0], result[1], worker, max_original)))
        else:
            items.append(Item(record=rec, message=result))
    return items, dead

"""Fuzzing decode + validate (issue 8): hostile inputs through `lepton_stream.pipeline.decode.decode`.

For both input contracts: random bytes, invalid UTF-8, deep JSON, huge strings, wrong types, numbers where
strings belong, control characters, unicode edge cases, boundary timestamps, oversized records, tombstones.
Every input must come out exactly once, either as a valid item of the contract or as a dead letter with a
reason from the allowed set, its source position, an error text and the original bytes (base64) intact.
No exception may escape. Each test checks that it really ran its number of examples; together >= 10,000.
"""

from __future__ import annotations

import base64
import hashlib
import json
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lepton_stream.contracts import ChatMessage, Contract, DeadLetter, NewsItem
from lepton_stream.pipeline.batch import RawRecord
from lepton_stream.pipeline.decode import DEFAULT_MAX_ORIGINAL, decode

MAX_BYTES = 4_096  # small limit so "too large" is reachable cheaply (the setting's floor is 1,024)
DECODE_REASONS = {"too_large", "bad_encoding", "bad_json", "invalid"}
CONTRACTS: list[type[Contract]] = [NewsItem, ChatMessage]
# Generated examples per test; each test asserts it ran at least its budget.
EXAMPLES = {
    "random_bytes": 3_000,
    "invalid_utf8": 1_000,
    "json_documents": 1_500,
    "mutated_messages": 2_000,
    "numbers_for_strings": 800,
    "timestamps": 1_200,
    "deep_huge_tombstone": 700,
    "batches": 400,
}

FUZZ = dict(
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# ---------------------------------------------------------------- strategies

VALID_NEWS = {
    "id": "news-1-000001",
    "source": "reuters",
    "published_at": "2026-11-02T06:00:00Z",
    "headline": "TSMC halts production at its largest fab",
    "lang": "en",
    "tickers": ["TSM"],
}
VALID_CHAT = {
    "id": "chat-2-000001",
    "conversation_id": "conv-2-00001",
    "customer_id": "cust-0001",
    "channel": "app",
    "sent_at": "2026-11-02T06:00:00+01:00",
    "text": "My card is not working",
}
BASE: dict[type[Contract], dict[str, Any]] = {NewsItem: VALID_NEWS, ChatMessage: VALID_CHAT}
TEXT_FIELD = {NewsItem: "headline", ChatMessage: "text"}

# Unicode edge cases: controls, NUL, BOM, zero-width and bidi marks, combining marks, astral characters,
# non-characters, line/paragraph separators, full-width digits (NFKC-sensitive), RTL text.
EDGE_CHARS = (
    "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\xa0\xad\u200b\u200c\u200d\u200e\u200f\u202e\u2028\u2029"
    "\u2060\ufeff\ufffd\ufffe\uffff\u0301\u0336\U0001f600\U0001f1fa\U0001f1f8\U00010000\U0010ffff"
    '\uff11\uff12\u0661\u05d0\u0627\u4e2d\u00df\u0130\u03a3"\\/{}[]:,'
)
edge_text = st.text(alphabet=st.sampled_from(EDGE_CHARS) | st.characters(codec="utf-8"), max_size=60)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | edge_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(edge_text, children, max_size=4),
    max_leaves=8,
)

BOUNDARY_TIMES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59-23:59",
    "1970-01-01T00:00:00Z",
    "1969-12-31T23:59:59.999999-00:01",
    "2038-01-19T03:14:08Z",
    "2024-02-29T12:00:00+05:45",
    "2023-02-29T12:00:00Z",  # not a date
    "2024-13-01T00:00:00Z",
    "2024-01-01T24:00:00Z",
    "2024-01-01T23:59:60Z",  # leap second
    "2024-01-01T00:00:00+24:00",
    "2024-01-01T00:00:00",  # naive
    "2024-01-01",
    "2024-01-01T00:00:00.123456789Z",
    "2024-01-01t00:00:00z",
    "2024-01-01 00:00:00Z",
    "10000-01-01T00:00:00Z",
    "-0001-01-01T00:00:00Z",
    "",
    "now",
]
ZONES = [None, UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=23, minutes=59)),
         timezone(timedelta(hours=5, minutes=45))]  # fmt: skip
timestamps = (
    st.sampled_from(BOUNDARY_TIMES)
    | st.datetimes(timezones=st.sampled_from(ZONES)).map(lambda d: d.isoformat())
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False)
    | st.booleans()
)
wrong_types = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.lists(st.integers(), max_size=3)
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=2)
)
huge_strings = st.builds(
    lambda ch, n: ch * n, st.sampled_from(["a", "é", "\U0001f600", "\x00", " ", "\\", '"']), st.integers(1, 6_000)
)


def mutated_message(contract: type[Contract]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid message with some fields replaced by hostile values, dropped, or joined by junk fields."""
    base = BASE[contract]
    fields = sorted(base)
    value = st.one_of(
        edge_text,
        huge_strings,
        wrong_types,
        timestamps,
        st.text(alphabet=string.ascii_letters + string.digits + "._:@/-", max_size=130),
        st.sampled_from(["", " ", "web", "phone", "fax", "EN", "en-GB", "xx-toolongsubtag", "AAPL", "aapl"]),
        st.lists(edge_text | st.sampled_from(["TSM", "BRK.B", "X" * 11]), max_size=40),
    )
    changes = st.dictionaries(st.sampled_from(fields + ["extra", "__proto__", ""]), value, max_size=4)
    drops = st.sets(st.sampled_from(fields), max_size=2)
    return st.builds(lambda c, d: {**{k: v for k, v in base.items() if k not in d}, **c}, changes, drops)


@st.composite
def serialised(draw: st.DrawFn, payload: st.SearchStrategy[Any]) -> bytes:
    """JSON text of a value, sometimes with ASCII escapes, sometimes compact, sometimes padded."""
    obj = draw(payload)
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()), separators=draw(st.sampled_from([None, (",", ":")])))
    pad = draw(st.sampled_from(["", " ", "\n", "\t \r\n"]))
    return (pad + text + pad).encode("utf-8")


def deep_json(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"1" + b"]" * depth
    if kind == "dict":
        return b'{"a":' * depth + b"1" + b"}" * depth
    if kind == "unclosed":
        return b'{"headline":' + b"[" * depth
    return b'{"id":"x","headline":' + b'{"h":[' * depth + b"null" + b"]}" * depth + b"}"


@st.composite
def invalid_utf8(draw: st.DrawFn) -> bytes:
    """Valid JSON bytes with an invalid UTF-8 sequence spliced in somewhere."""
    base = BASE[draw(st.sampled_from(CONTRACTS))]
    good = json.dumps({**base, "id": draw(edge_text)}, ensure_ascii=draw(st.booleans())).encode()
    bad = draw(
        st.sampled_from(
            [b"\xff", b"\xfe", b"\xc3", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc",
             b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\xf4\x90\x80\x80", b"\x80"]
        )
    )  # fmt: skip
    at = draw(st.integers(0, len(good)))
    return good[:at] + bad + good[at:]


# ---------------------------------------------------------------- the check applied to every input


def check_accounted(raw: bytes | None, contract: type[Contract], offset: int = 7) -> str:
    """Decode one record and check it is accounted for; returns 'valid' or the dead-letter reason."""
    rec = RawRecord("fuzz.raw", 3, offset, b"k\xff", raw, 0)
    items, dead = decode([rec], contract, MAX_BYTES, "fuzz-worker")
    assert len(items) + len(dead) == 1, "every input exactly once"
    if items:
        item = items[0]
        assert item.record is rec
        msg = item.message
        assert isinstance(msg, contract)
        assert raw is not None and len(raw) <= MAX_BYTES
        raw.decode("utf-8")  # only well-formed UTF-8 gets through
        # What later stages rely on: an aware event time, a non-empty text that encodes, a JSON round trip.
        assert isinstance(msg.event_time, datetime) and msg.event_time.utcoffset() is not None
        assert len(msg.text) >= 1 and msg.text.encode("utf-8")
        assert type(msg).model_validate_json(msg.model_dump_json()) == msg
        return "valid"
    (src, d) = dead[0]
    assert src is rec
    assert isinstance(d, DeadLetter)
    assert d.reason in DECODE_REASONS
    assert d.error and len(d.error) <= 2_000
    assert (d.source_topic, d.partition, d.offset) == ("fuzz.raw", 3, offset)
    kept = base64.b64decode(d.original_b64, validate=True)
    assert kept == (raw or b"")[:DEFAULT_MAX_ORIGINAL] and d.original_bytes == len(raw or b"")
    assert d.original_truncated == (len(raw or b"") > DEFAULT_MAX_ORIGINAL)
    assert raw is None or d.original_sha256 == hashlib.sha256(raw).hexdigest()
    assert d.original_key_b64 is not None and base64.b64decode(d.original_key_b64) == b"k\xff"
    # The dead letter itself must be publishable.
    assert DeadLetter.model_validate_json(d.model_dump_json()).original_b64 == d.original_b64
    # Reasons are the right ones.
    if raw is None:
        assert d.reason == "bad_json"
    elif len(raw) > MAX_BYTES:
        assert d.reason == "too_large"
    else:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            assert d.reason == "bad_encoding"
        else:
            assert d.reason in {"bad_json", "invalid"}
    return d.reason


def fuzz(strategy: st.SearchStrategy[Any], n: int, check: Callable[[Any], None]) -> int:
    """Run `check` over n generated examples; return how many ran (asserted >= n by the caller)."""
    ran = 0

    @settings(max_examples=n, **FUZZ)  # type: ignore[arg-type]
    @given(strategy)
    def run(example: Any) -> None:
        nonlocal ran
        ran += 1
        check(example)

    run()
    return ran


# ---------------------------------------------------------------- tests

contracts = st.sampled_from(CONTRACTS)


def test_random_bytes() -> None:
    def check(ex: tuple[type[Contract], bytes]) -> None:
        check_accounted(ex[1], ex[0])

    n = EXAMPLES["random_bytes"]
    assert fuzz(st.tuples(contracts, st.binary(max_size=MAX_BYTES + 64)), n, check) >= n


def test_invalid_utf8_is_bad_encoding() -> None:
    def check(ex: bytes) -> None:
        for c in CONTRACTS:
            assert check_accounted(ex, c) == ("too_large" if len(ex) > MAX_BYTES else "bad_encoding")

    n = EXAMPLES["invalid_utf8"]
    assert fuzz(invalid_utf8(), n, check) >= n


def test_random_json_documents() -> None:
    def check(ex: tuple[type[Contract], bytes]) -> None:
        reason = check_accounted(ex[1], ex[0])
        if len(ex[1]) <= MAX_BYTES:
            assert reason != "bad_encoding"

    n = EXAMPLES["json_documents"]
    assert fuzz(st.tuples(contracts, serialised(json_values)), n, check) >= n


def test_mutated_messages() -> None:
    """Hostile field values on otherwise valid messages: wrong types, numbers for strings, huge and odd text."""

    def check(ex: tuple[type[Contract], bytes]) -> None:
        contract, raw = ex
        reason = check_accounted(raw, contract)
        if len(raw) <= MAX_BYTES:
            assert reason != "bad_json", "json.dumps output must parse"
        if reason == "valid":
            doc = json.loads(raw)
            for field in ("id", TEXT_FIELD[contract]):
                assert isinstance(doc[field], str), "never coerced from a non-string"

    n = EXAMPLES["mutated_messages"]
    assert fuzz(contracts.flatmap(lambda c: st.tuples(st.just(c), serialised(mutated_message(c)))), n, check) >= n


def test_numbers_where_strings_belong_are_invalid() -> None:
    def check(ex: tuple[type[Contract], str, Any]) -> None:
        contract, field, number = ex
        raw = json.dumps({**BASE[contract], field: number}).encode()
        assert check_accounted(raw, contract) == "invalid"

    string_fields = st.sampled_from(CONTRACTS).flatmap(
        lambda c: st.tuples(
            st.just(c),
            st.sampled_from([f for f, v in BASE[c].items() if isinstance(v, str) and not f.endswith("_at")]),
            st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.booleans(),
        )
    )
    n = EXAMPLES["numbers_for_strings"]
    assert fuzz(string_fields, n, check) >= n


def test_boundary_timestamps() -> None:
    def check(ex: tuple[type[Contract], Any]) -> None:
        contract, ts = ex
        field = "published_at" if contract is NewsItem else "sent_at"
        raw = json.dumps({**BASE[contract], field: ts}).encode()
        reason = check_accounted(raw, contract)
        assert reason in {"valid", "invalid"}
        if isinstance(ts, str) and ts.endswith(("T00:00:00", "2024-01-01")):
            assert reason == "invalid", "naive timestamps are rejected"

    n = EXAMPLES["timestamps"]
    assert fuzz(st.tuples(contracts, timestamps), n, check) >= n


def test_deep_huge_and_tombstone() -> None:
    """Nesting far past any parser limit, strings around the size limit, empty and None records."""

    def check(ex: tuple[type[Contract], str, Any]) -> None:
        contract, kind, arg = ex
        if kind == "deep":
            raw: bytes | None = deep_json(*arg)
        elif kind == "huge":
            raw = json.dumps({**BASE[contract], TEXT_FIELD[contract]: arg}).encode()
        elif kind == "empty":
            raw = arg
        else:
            raw = None
        reason = check_accounted(raw, contract)
        if kind == "deep" and len(raw or b"") <= MAX_BYTES:  # type: ignore[arg-type]
            assert reason in {"bad_json", "invalid"}
        if raw is not None and len(raw) > MAX_BYTES:
            assert reason == "too_large"

    cases = st.tuples(
        contracts,
        st.sampled_from(["deep", "huge", "empty", "none"]),
        st.none(),
    ).flatmap(
        lambda t: st.tuples(
            st.just(t[0]),
            st.just(t[1]),
            {
                "deep": st.tuples(st.integers(1, 3_000), st.sampled_from(["list", "dict", "unclosed", "field"])),
                "huge": huge_strings,
                "empty": st.sampled_from([b"", b" ", b"\n", b"null", b"{}", b"[]", b"0", b'""', b"\xef\xbb\xbf{}"]),
                "none": st.none(),
            }[t[1]],
        )
    )
    n = EXAMPLES["deep_huge_tombstone"]
    assert fuzz(cases, n, check) >= n


def test_whole_batches_keep_order_and_count() -> None:
    """A batch of mixed hostile records: every one comes out once, dead letters at their own offsets."""
    record = st.one_of(st.binary(max_size=200), serialised(json_values), serialised(mutated_message(NewsItem)),
                       invalid_utf8(), st.none())  # fmt: skip

    def check(batch: list[bytes | None]) -> None:
        recs = [RawRecord("fuzz.raw", 0, i, None, v) for i, v in enumerate(batch)]
        items, dead = decode(recs, NewsItem, MAX_BYTES)
        assert len(items) + len(dead) == len(recs)
        seen = sorted([it.record.offset for it in items] + [d.offset for _, d in dead])
        assert seen == list(range(len(recs)))
        for src, d in dead:
            assert base64.b64decode(d.original_b64) == (recs[d.offset].value or b"") and src is recs[d.offset]
            assert d.original_key_b64 is None

    n = EXAMPLES["batches"]
    assert fuzz(st.lists(record, max_size=20), n, check) >= n


def test_example_budget_is_at_least_10000() -> None:
    """The per-test budgets above (each test asserts it ran its own) add up to the issue's 10,000."""
    assert sum(EXAMPLES.values()) >= 10_000


def test_printable_id_pattern_is_enforced() -> None:
    """Ids are used as Kafka and Redis keys: anything outside the id pattern is invalid, never valid."""
    bad_ids = ["", " a", "a b", "-a", "a\n", "é", "a" * 129, "a\x00", "a;b", "a#b", "../../etc"]
    for c in CONTRACTS:
        for bad in bad_ids:
            raw = json.dumps({**BASE[c], "id": bad}).encode()
            assert check_accounted(raw, c) == "invalid", bad

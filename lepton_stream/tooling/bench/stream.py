"""Benchmark input: a kind's synthetic stream (news: real tweet lengths), with every text made unique.

The generator draws background texts from ~900 shipped samples, so a 2,000-message stream repeats texts
and a "no cache hits" phase would still hit the cache. A repeated text gets a short " #k" suffix
(1-2 wordpieces), which keeps the length distribution while making every cache key distinct.
"""

from __future__ import annotations

import json
from dataclasses import replace

import workers
from lepton_stream.tooling.replay.synth import Record


def unique_stream(kind: str, n: int, seed: int = 11) -> list[Record]:
    """n valid records (no malformed ones: every message costs one inference) with distinct texts."""
    spec = workers.get(kind)
    records = spec.stream(n=n, seed=seed, malformed=0.0)
    field = spec.text_field
    seen: dict[str, int] = {}
    out = []
    for r in records:
        msg = json.loads(r.value)
        text = msg[field]
        k = seen.get(text, 0)
        seen[text] = k + 1
        if k:
            msg[field] = f"{text} #{k}"
            r = replace(r, value=json.dumps(msg, ensure_ascii=False).encode())
        out.append(r)
    return out


def texts_of(kind: str, records: list[Record]) -> list[str]:
    field = workers.get(kind).text_field
    return [json.loads(r.value)[field] for r in records]


def renamed(records: list[Record], tag: str) -> list[Record]:
    """The same texts under new message ids (a second pass that must not be deduplicated by id)."""
    out = []
    for r in records:
        msg = json.loads(r.value)
        msg["id"] = f"{msg['id']}-{tag}"
        out.append(replace(r, value=json.dumps(msg, ensure_ascii=False).encode(), id=msg["id"]))
    return out

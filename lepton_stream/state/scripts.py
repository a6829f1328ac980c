"""Lua scripts in pipelines, one round trip per pipeline.

redis-py's `Script`, queued into a pipeline, sends SCRIPT EXISTS before every execute: one more round trip per
pipeline, three per batch. Here a pipeline sends EVALSHA at once; only when Redis answers NOSCRIPT (restart,
failover, SCRIPT FLUSH) are the scripts loaded and the calls that did not run sent again. Every script of the
project is guarded or idempotent, so sending again what failed is safe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis
from redis.exceptions import NoScriptError

Step = Callable[[redis.client.Pipeline], object]  # queues exactly one command


class Lua:
    def __init__(self, source: str):
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def __call__(self, keys: Sequence[str], args: Sequence[object] = ()) -> LuaCall:
        return LuaCall(self, tuple(keys), tuple(args))


@dataclass(frozen=True, slots=True)
class LuaCall:
    lua: Lua
    keys: tuple[str, ...]
    args: tuple[object, ...]

    def __call__(self, pipe: redis.client.Pipeline) -> object:
        return pipe.evalsha(self.lua.sha, len(self.keys), *self.keys, *self.args)


def execute(client: redis.Redis, steps: Sequence[Step]) -> list[object]:
    """Run the steps in one pipelined round trip; results in order. The first error raises, once every step
    has run (a pipeline does not stop at an error)."""
    results = _run(client, steps, range(len(steps)))
    missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
    if missing:
        for lua in {steps[i].lua for i in missing if isinstance(steps[i], LuaCall)}:  # type: ignore[attr-defined]
            client.script_load(lua.source)
        for i, r in zip(missing, _run(client, steps, missing), strict=True):
            results[i] = r
    for r in results:
        if isinstance(r, Exception):
            raise r
    return results


def run(client: redis.Redis, call: LuaCall) -> object:
    """One script call on its own."""
    return execute(client, [call])[0]


def _run(client: redis.Redis, steps: Sequence[Step], indices: range | list[int]) -> list[object]:
    pipe = client.pipeline(transaction=False)
    for i in indices:
        steps[i](pipe)
    return pipe.execute(raise_on_error=False)

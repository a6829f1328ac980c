"""Lua scripts in pipelines (lepton_stream/state/scripts.py) against a real Redis."""

from __future__ import annotations

import uuid

import pytest
import redis

from lepton_stream.state import scripts
from lepton_stream.state.cluster import connect
from lepton_stream.state.scripts import Lua


def _script_exists_calls(client: redis.Redis) -> int:
    return int(client.info("commandstats").get("cmdstat_script|exists", {}).get("calls", 0))


def test_unknown_script_is_loaded_and_only_what_did_not_run_is_sent_again(redis_url, key_prefix) -> None:
    client = connect(redis_url)
    # A body the server has never seen, so the first EVALSHA answers NOSCRIPT (no SCRIPT FLUSH on a shared Redis).
    lua = Lua(f"return redis.call('INCRBY', KEYS[1], ARGV[1]) -- {uuid.uuid4().hex}")
    counter = f"{key_prefix}plain"
    steps = [lua([f"{key_prefix}a"], [2]), lambda p: p.incr(counter), lua([f"{key_prefix}b"], [5])]
    assert scripts.execute(client, steps) == [2, 1, 5]
    assert client.get(counter) == b"1"  # the plain command ran once, not again with the scripts
    before = _script_exists_calls(client)
    assert scripts.execute(client, steps) == [4, 2, 10]
    assert _script_exists_calls(client) == before  # one round trip: no SCRIPT EXISTS per pipeline
    client.close()


def test_an_error_raises_after_every_step_ran(redis_url, key_prefix) -> None:
    client = connect(redis_url)
    client.set(f"{key_prefix}text", "x")
    lua = Lua("return redis.call('INCR', KEYS[1])")
    steps = [lua([f"{key_prefix}text"]), lua([f"{key_prefix}n"])]
    with pytest.raises(redis.ResponseError):
        scripts.execute(client, steps)
    assert client.get(f"{key_prefix}n") == b"1"  # the failing first call did not stop the second
    client.close()

"""Prediction cache against a real Redis, through `Worker.process` (decode → mask → cache/infer → render).

- a repeated text (even re-cased and re-spaced) is served from Redis, and the hit is counted;
- what is served really comes from Redis: a value planted under the key is what the output carries;
- a new model version (a re-sealed bundle with other weights) misses: its own key, its own prediction;
- every key lives under the test's prefix, and is made from the masked text (no personal data in keys);
- Redis unreachable: the cache stage still gives model predictions (uncached) and counts the errors; the
  whole worker raises a RedisError (its state stage needs Redis), which the loop treats as infrastructure.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
import redis
from prometheus_client import REGISTRY
from redis.backoff import NoBackoff
from redis.retry import Retry
from safetensors.torch import load_file, save_file

from lepton_stream.config import load_settings
from lepton_stream.contracts import Prediction
from lepton_stream.models import bundle
from lepton_stream.pipeline.batch import RawRecord
from lepton_stream.pipeline.cache import PredictionCache, encode, fill, lookup, text_hash
from lepton_stream.pipeline.loop import INFRA_ERRORS
from lepton_stream.pipeline.masking import mask
from lepton_stream.pipeline.timing import StageTimer
from lepton_stream.runtime import build_worker
from lepton_stream.state.cluster import connect
from lepton_stream.tooling.dev.ports import free_port

TASK = "news-sentiment"
TOPIC = "news.raw.cache-test"


@pytest.fixture(scope="module")
def news_model_v2(models_dir: Path, tmp_path_factory: pytest.TempPathFactory, news_model):
    """The same bundle with different head weights, re-sealed: a genuinely new model version."""
    from lepton_stream.models.serving import load_model

    root = tmp_path_factory.mktemp("v2") / "news"
    shutil.copytree(models_dir / "news", root)
    heads = load_file(str(root / bundle.HEADS))
    save_file({k: (v * 3.0 if k.endswith(".weight") else v).contiguous() for k, v in heads.items()},
              str(root / bundle.HEADS))  # fmt: skip
    bundle.seal(root, bundle.read_manifest(root))
    model = load_model(root, "torch")
    assert model.version != news_model.version
    return model


def settings_for(redis_url: str, prefix: str, models_dir: Path):
    return load_settings(redis_url=redis_url, redis_key_prefix=prefix, models_dir=models_dir, runtime="torch",
                         topic_news_raw=TOPIC, threads=2)  # fmt: skip


def record(headline: str, offset: int, msg_id: str | None = None) -> RawRecord:
    msg = {"id": msg_id or f"cache-{uuid.uuid4().hex[:12]}", "source": "reuters",
           "published_at": "2026-11-02T06:00:00Z", "headline": headline}  # fmt: skip
    return RawRecord(TOPIC, 0, offset, b"reuters", json.dumps(msg).encode())


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"worker": "news"}) or 0.0


def sentiments(outputs) -> list[dict]:
    return [json.loads(o.value)["sentiment"] for o in outputs if b'"sentiment"' in o.value]


@pytest.fixture
def client(redis_url: str):
    c = connect(redis_url)
    yield c
    c.close()


def unique_text() -> str:
    return f"TSMC {uuid.uuid4().hex} fab fire delays chip shipments, says jane.doe@example.com at +44 7700 900123"


def test_repeated_text_is_served_from_redis(redis_url, key_prefix, models_dir, news_model, client):
    s = settings_for(redis_url, key_prefix, models_dir)
    w = build_worker("news", s, model=news_model, client=client)
    text = unique_text()
    masked = mask(text)
    assert masked != text and "jane.doe" not in masked

    hits0, misses0 = metric("lepton_cache_hits_total"), metric("lepton_cache_misses_total")
    first = w.process([record(text, 0)])
    assert metric("lepton_cache_hits_total") - hits0 == 0
    assert metric("lepton_cache_misses_total") - misses0 == 1

    # The entry: under the prefix, keyed by model version + hash of the *masked* text, with a TTL.
    key = w.cache.key(news_model.version, masked)
    assert key.startswith(key_prefix) and news_model.version in key and text_hash(masked) in key
    assert client.exists(key) == 1
    assert 0 < client.ttl(key) <= s.cache_ttl_s
    assert client.exists(w.cache.key(news_model.version, text)) == 0  # the raw text never made a key
    assert b"jane.doe" not in key.encode() and b"jane.doe" not in client.get(key)

    # The same text again, re-cased and padded (normalised to the same key), in a later batch: a hit.
    second = w.process([record("  " + text.upper() + "\t ", 1)])
    assert metric("lepton_cache_hits_total") - hits0 == 1
    assert metric("lepton_cache_misses_total") - misses0 == 1
    assert sentiments(second) == sentiments(first)

    # Proof that the hit is Redis's answer: plant a different prediction under the key and see it come out.
    planted = Prediction(label="positive", confidence=0.987654,
                         scores={"negative": 0.001, "neutral": 0.011346, "positive": 0.987654})  # fmt: skip
    client.set(key, encode({TASK: planted}), ex=60)
    third = w.process([record(text, 2)])
    assert sentiments(third) == [planted.model_dump()]
    assert metric("lepton_cache_hits_total") - hits0 == 2

    # A corrupt entry is a miss and is overwritten with a fresh prediction.
    client.set(key, b"{not json", ex=60)
    fourth = w.process([record(text, 3)])
    assert sentiments(fourth) == sentiments(first)
    assert metric("lepton_cache_misses_total") - misses0 == 2
    assert json.loads(client.get(key))[TASK] == sentiments(first)[0]


def test_batch_mixes_hits_and_misses(redis_url, key_prefix, models_dir, news_model, client):
    w = build_worker("news", settings_for(redis_url, key_prefix, models_dir), model=news_model, client=client)
    a, b = unique_text(), unique_text()
    w.process([record(a, 0)])
    hits0, misses0 = metric("lepton_cache_hits_total"), metric("lepton_cache_misses_total")
    out = w.process([record(a, 1), record(b, 2), record(b, 3), record(a, 5)])
    # a twice from the cache; b twice a miss (one model call for its one distinct text).
    assert metric("lepton_cache_hits_total") - hits0 == 2
    assert metric("lepton_cache_misses_total") - misses0 == 2
    assert len(sentiments(out)) == 4
    assert client.exists(w.cache.key(news_model.version, mask(b))) == 1


def test_new_model_version_misses(redis_url, key_prefix, models_dir, news_model, news_model_v2, client):
    s = settings_for(redis_url, key_prefix, models_dir)
    v1 = build_worker("news", s, model=news_model, client=client)
    v2 = build_worker("news", s, model=news_model_v2, client=client)
    text = unique_text()
    out1 = v1.process([record(text, 0)])

    hits0, misses0 = metric("lepton_cache_hits_total"), metric("lepton_cache_misses_total")
    out2 = v2.process([record(text, 1)])
    assert metric("lepton_cache_hits_total") - hits0 == 0, "a new model version must not reuse old entries"
    assert metric("lepton_cache_misses_total") - misses0 == 1
    assert json.loads(out2[0].value)["model_version"] == news_model_v2.version
    assert json.loads(out1[0].value)["model_version"] == news_model.version
    assert sentiments(out2) != sentiments(out1)  # other weights, other scores: not the v1 entry

    k1, k2 = v1.cache.key(news_model.version, mask(text)), v2.cache.key(news_model_v2.version, mask(text))
    assert k1 != k2 and client.exists(k1, k2) == 2
    # And each version now hits its own entry.
    v2.process([record(text, 2)])
    v1.process([record(text, 3)])
    assert metric("lepton_cache_hits_total") - hits0 == 2


def test_a_batch_staged_before_a_hot_reload_keeps_the_model_that_inferred_it(
    redis_url, key_prefix, models_dir, news_model_v2, client
):
    from lepton_stream.models.reload import ModelHolder

    s = settings_for(redis_url, key_prefix, models_dir)
    holder = ModelHolder(models_dir / "news", runtime="torch", check_every_s=3600, worker="news")
    w = build_worker("news", s, model=holder, client=client)
    v1, v2 = holder.version, news_model_v2.version
    assert v1 != v2
    text = unique_text()
    staged = w.stage([record(text, 0)])  # inference starts in the background, with v1
    holder.model = news_model_v2  # what a hot reload between two batches does
    out = w.finish(staged)
    assert json.loads(out[0].value)["model_version"] == v1, "v1's predictions must not be labelled v2"
    assert client.exists(w.cache.key(v1, mask(text))) == 1 and client.exists(w.cache.key(v2, mask(text))) == 0
    later = w.process([record(text, 1)])  # the next batch is v2's
    assert json.loads(later[0].value)["model_version"] == v2


def test_keys_carry_the_prefix(redis_url, key_prefix, models_dir, news_model, client):
    w = build_worker("news", settings_for(redis_url, key_prefix, models_dir), model=news_model, client=client)
    texts = [unique_text() for _ in range(3)]
    w.process([record(t, i) for i, t in enumerate(texts)])
    for t in texts:
        found = [k.decode() for k in client.scan_iter(match=f"*{text_hash(mask(t))}*", count=1000)]
        assert found and all(k.startswith(f"{key_prefix}cache:") for k in found), found
    ours = {k.decode() for k in client.scan_iter(match=f"{key_prefix}cache:*", count=1000)}
    assert ours == {w.cache.key(news_model.version, mask(t)) for t in texts}


def dead_redis() -> redis.Redis:
    """A client for a port nothing listens on, failing fast (no retries)."""
    return redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5,
                       retry=Retry(NoBackoff(), 0))  # fmt: skip


def test_redis_unreachable_degrades_to_uncached(news_model):
    """The cache stage with Redis down: every text still gets the model's prediction, errors are counted."""
    dead = dead_redis()
    cache = PredictionCache(dead, "test-dead:", 60, "news")
    texts = [mask(unique_text()), mask(unique_text()), "Shares of $AAPL rose 2% after earnings"]
    errors0, hits0 = metric("lepton_cache_errors_total"), metric("lepton_cache_hits_total")

    t = StageTimer("news")
    found = lookup(news_model.version, cache, texts, t)
    preds = fill(news_model.version, cache, found, news_model.predict(found.missing), t)

    assert found.hits == 0
    assert metric("lepton_cache_errors_total") - errors0 == 2  # the MGET and the SET, both degraded
    assert metric("lepton_cache_hits_total") - hits0 == 0
    expected = news_model.predict(texts)
    assert len(preds) == len(texts)
    for p, e in zip(preds, expected, strict=True):
        assert p[TASK].label == e[TASK].label
        assert p[TASK].scores == pytest.approx(e[TASK].scores, abs=1e-4)
    dead.close()


def test_redis_unreachable_in_worker_is_an_infra_error(models_dir, news_model):
    """Through the whole worker, Redis down is not input's fault: `process` raises a RedisError (which the
    loop retries with consumption paused, never dead-letters), and the cache part alone did not raise."""
    dead = dead_redis()
    port = dead.connection_pool.connection_kwargs["port"]
    s = settings_for(f"redis://127.0.0.1:{port}/0", "test-dead:", models_dir)
    w = build_worker("news", s, model=news_model, client=dead)
    errors0 = metric("lepton_cache_errors_total")
    with pytest.raises(redis.RedisError):
        w.process([record(unique_text(), 0), RawRecord(TOPIC, 0, 1, None, b"{broken")])
    assert metric("lepton_cache_errors_total") - errors0 >= 1  # the cache degraded before the state stage failed
    assert issubclass(redis.ConnectionError, INFRA_ERRORS)
    dead.close()

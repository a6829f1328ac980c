"""Training writes a sealed, loadable bundle; both runtimes serve it; tampering is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from lepton_stream.contracts import IntentPrediction
from lepton_stream.models import bundle
from lepton_stream.models.onnx_runtime import OnnxModel
from lepton_stream.models.serving import load_model
from lepton_stream.models.torch_serving import TorchModel
from lepton_stream.tooling.training.quick import SAMPLES, read_csv

TEXTS, LABELS = read_csv(SAMPLES / "news_sentiment.csv", 30, seed=7)


def test_trained_bundle_is_sealed_and_complete(news_bundle: Path) -> None:
    m = bundle.verify(news_bundle)
    assert m.recipe == "full" and m.encoder == bundle.ENCODER_DIR
    assert set(m.tasks) == {"news-sentiment"}
    assert m.tasks["news-sentiment"].labels == ["negative", "neutral", "positive"]
    assert bundle.ONNX_INT8 in m.files and bundle.HEADS in m.files
    assert any(f.startswith("encoder/") and f.endswith(".safetensors") for f in m.files)
    assert m.version.startswith("news-full-")
    report = m.metrics["news-sentiment"]
    assert {"valid", "valid_int8"} <= set(report)
    assert report["valid"]["n"] > 0 and 0 <= report["valid"]["macro_f1"] <= 1


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_both_runtimes_predict(news_bundle: Path, runtime: str) -> None:
    model = load_model(news_bundle, runtime, batch_size=8)
    preds = model.predict(TEXTS[:20])
    assert len(preds) == 20
    for p in preds:
        pred = p["news-sentiment"]
        assert pred.label in {"negative", "neutral", "positive"}
        assert abs(sum(pred.scores.values()) - 1) < 1e-3
    assert model.predict([]) == []


def test_int8_agrees_with_fp32(news_bundle: Path, quick_news: Path) -> None:
    # Probabilities of the tiny fine-tuned model stay close after quantization...
    fp32, int8 = TorchModel(news_bundle), OnnxModel(news_bundle, threads=2)
    a = fp32.logits(TEXTS)["news-sentiment"]
    b = int8.logits(TEXTS)["news-sentiment"]
    pa = np.exp(a) / np.exp(a).sum(1, keepdims=True)
    pb = np.exp(b) / np.exp(b).sum(1, keepdims=True)
    assert np.abs(pa - pb).mean() < 0.03
    # ...and the quick model (confident heads) gives the same labels almost everywhere.
    qa = [p["news-sentiment"].label for p in load_model(quick_news, "torch").predict(TEXTS)]
    qb = [p["news-sentiment"].label for p in load_model(quick_news, "onnx").predict(TEXTS)]
    assert np.mean([x == y for x, y in zip(qa, qb, strict=True)]) >= 0.9


def test_bucketed_and_unsorted_batches_give_the_same_answers(quick_news: Path) -> None:
    # fp32 is exact whatever the batch; int8 quantizes activations per batch, so labels (not logits) must agree.
    fp32 = TorchModel(quick_news, batch_size=7)
    sorted_first = fp32.logits(TEXTS)["news-sentiment"]
    one_by_one = np.concatenate([fp32.logits([t])["news-sentiment"] for t in TEXTS[:10]])
    assert np.allclose(sorted_first[:10], one_by_one, atol=1e-4)
    a = OnnxModel(quick_news, batch_size=7, threads=2).logits(TEXTS)["news-sentiment"]
    b = OnnxModel(quick_news, batch_size=7, threads=2, bucketed=False).logits(TEXTS)["news-sentiment"]
    assert np.mean(a.argmax(1) == b.argmax(1)) >= 0.9


def test_side_by_side_passes_give_the_answers_of_one_pass_at_a_time(quick_news: Path) -> None:
    # Every text's logits come back in its own row whichever thread ran its pass.
    side = OnnxModel(quick_news, batch_size=7, threads=2)
    one = OnnxModel(quick_news, batch_size=7, threads=2, parallel="intra")
    assert side.pool._max_workers == 2 and one.pool._max_workers == 1  # intra: one pass at a time, in the background
    a, b = side.logits(TEXTS)["news-sentiment"], one.logits(TEXTS)["news-sentiment"]
    assert np.mean(a.argmax(1) == b.argmax(1)) >= 0.9
    assert np.abs(a - b).mean() < 0.05


def test_batches_submitted_back_to_back_keep_their_own_answers(quick_news: Path) -> None:
    # The worker queues the next batch's passes before it collects the current one's: the passes of the two
    # interleave on the threads, and each text must still get the logits it gets alone.
    model = OnnxModel(quick_news, batch_size=7, threads=2)
    first, second = TEXTS[:17], TEXTS[17:]
    alone = [model.logits(first)["news-sentiment"], model.logits(second)["news-sentiment"]]
    a, b = model.submit(first), model.submit(second)
    assert np.array_equal(b.logits()["news-sentiment"], alone[1])
    assert np.array_equal(a.logits()["news-sentiment"], alone[0])
    assert [p["news-sentiment"].label for p in a.result()] == [
        p["news-sentiment"].label for p in model.predict(first)
    ]


def test_multitask_chat_bundle_serves_both_heads_in_one_pass(chat_bundle: Path) -> None:
    model = load_model(chat_bundle, "onnx")
    assert model.tasks == ("chat-intent", "chat-sentiment")
    assert sorted(model.outputs) == ["chat-intent", "chat-sentiment"]
    spec = model.manifest.tasks["chat-intent"]
    assert "oos" in spec.labels and spec.oos_threshold is not None
    p = model.predict(["my card has not arrived yet", "what is the weather in paris"])
    assert isinstance(p[0]["chat-intent"], IntentPrediction)
    assert p[1]["chat-sentiment"].label in {"negative", "positive"}


def test_tampered_bundle_is_refused(news_bundle: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(news_bundle, bad)
    with (bad / bundle.HEADS).open("r+b") as f:
        f.seek(-4, 2)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(bundle.BundleError, match="sha256 mismatch"):
        load_model(bad, "onnx")
    (bad / bundle.HEADS).unlink()
    with pytest.raises(bundle.BundleError, match="missing file"):
        load_model(bad, "torch")


def test_onnx_runtime_explains_a_missing_export(news_bundle: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(news_bundle, plain)
    (plain / bundle.ONNX_INT8).unlink()
    m = bundle.read_manifest(plain)
    del m.files[bundle.ONNX_INT8]
    bundle.seal(plain, m)
    with pytest.raises(bundle.BundleError, match="LEPTON_RUNTIME=torch"):
        load_model(plain, "onnx")
    assert load_model(plain, "torch").predict(["x"])[0]["news-sentiment"].label


def test_a_task_with_many_labels_keeps_the_scores_of_its_most_likely_ones(chat_bundle: Path) -> None:
    from lepton_stream.models.serving import TOP_SCORES

    model = load_model(chat_bundle, "onnx")
    texts = ["my card has not arrived yet", "what is the weather in paris"]
    probs = model.logits(texts)["chat-intent"]
    probs = np.exp(probs - probs.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    labels = model.manifest.tasks["chat-intent"].labels
    for p, row in zip(model.predict(texts), probs, strict=True):
        intent, sentiment = p["chat-intent"], p["chat-sentiment"]
        assert list(intent.scores) == [labels[j] for j in np.argsort(-row, kind="stable")[:TOP_SCORES]]
        assert intent.label == next(iter(intent.scores))
        assert abs(intent.confidence - max(intent.scores.values())) < 1e-6  # scores are rounded to 6 places
        assert set(sentiment.scores) == set(model.manifest.tasks["chat-sentiment"].labels)  # few labels: all

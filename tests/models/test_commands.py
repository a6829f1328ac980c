"""CLI: evaluate prints its JSON figures, explain names words of the text, train --quick works on any CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from lepton_stream.cli import main
from lepton_stream.models import bundle
from lepton_stream.models.explain import explain_tokens
from lepton_stream.tooling.training.metrics import classification_report
from lepton_stream.tooling.training.quick import SAMPLES
from lepton_stream.tooling.training.train import calibrate_oos


def _run(capsys, *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_evaluate_json(news_bundle: Path, capsys) -> None:
    out = _run(capsys, "evaluate", "news-sentiment", "--data", str(SAMPLES / "news_sentiment.csv"),
               "--model", str(news_bundle), "--json")
    assert out["n"] == 900  # 300 rows per label (some texts span lines)
    assert {"accuracy", "macro_f1", "texts_per_s", "per_label", "version"} <= set(out)
    assert set(out["per_label"]) >= {"negative", "neutral", "positive"}
    assert 0 <= out["macro_f1"] <= 1 and out["texts_per_s"] > 0


def test_evaluate_news_sentences_by_name_with_split_and_figures_prior(news_bundle: Path, capsys) -> None:
    out = _run(capsys, "evaluate", "news-sentiment", "--data", "news-sentences", "--split", "report",
               "--figures-prior", "3", "--model", str(news_bundle), "--json")
    assert out["n"] == 144 and out["split"] == "report" and out["data"].endswith("news_sentences.csv")
    assert {"f1", "precision", "recall"} <= set(out["per_label"]["positive"])
    prior = out["with_figures_prior"]
    assert prior["strength"] == 3.0 and prior["n"] == 144 and prior["signals"]["better"] > 10
    assert 0 <= prior["macro_f1"] <= 1 and set(prior["per_label"]) == set(out["per_label"])


def test_evaluate_reports_oos_recall(chat_bundle: Path, tmp_path: Path, capsys) -> None:
    data = tmp_path / "oos.csv"
    with data.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows([["what's the weather tomorrow", "oos"], ["play some jazz", "oos"],
                     ["my card has not arrived", "card_arrival"]])
    out = _run(capsys, "evaluate", "chat-intent", "--data", str(data), "--model", str(chat_bundle), "--json")
    assert out["n"] == 3 and "oos_recall" in out and "in_scope_accuracy" in out


def test_explain_returns_words_of_the_text(quick_news: Path, capsys) -> None:
    text = "Acme shares plunge after profit warning and CEO exit"
    words = explain_tokens(quick_news, "news-sentiment", text, top_k=3)
    assert 1 <= len(words) <= 3 and all(w in text.split() for w in words)
    out = _run(capsys, "explain", "news-sentiment", text, "--model", str(quick_news))
    assert out["label"] in {"negative", "neutral", "positive"} and len(out["tokens"]) == 5


def test_train_quick_on_a_custom_task(tmp_path: Path, capsys) -> None:
    data = tmp_path / "spam.csv"
    rows = [(f"win a free prize number {i} now", "spam") for i in range(12)]
    rows += [(f"meeting moved to room {i} tomorrow", "ham") for i in range(12)]
    with data.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
    out = _run(capsys, "train", "spam", "--data", str(data), "--out", str(tmp_path / "b"), "--quick", "--no-export")
    m = bundle.verify(tmp_path / "b")
    assert out["version"] == m.version and m.tasks["spam"].labels == ["ham", "spam"]
    assert out["validation"]["spam"]["valid"]["accuracy"] == 1.0


def test_classification_report_figures() -> None:
    r = classification_report(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b"])
    assert r["accuracy"] == 0.75
    assert r["per_label"]["a"]["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert r["per_label"]["b"]["f1"] == pytest.approx(0.8, abs=1e-4)
    assert r["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2, abs=1e-3)


def test_oos_threshold_keeps_in_scope_accuracy() -> None:
    import numpy as np

    labels = ["a", "b", "oos"]
    # In-scope texts are confident; out-of-scope ones are predicted "a" with low confidence.
    probs = np.array([[0.9, 0.05, 0.05]] * 8 + [[0.05, 0.9, 0.05]] * 8 + [[0.45, 0.35, 0.2]] * 8)
    gold = ["a"] * 8 + ["b"] * 8 + ["oos"] * 8
    t = calibrate_oos(probs, gold, labels)
    assert 0.45 < t <= 0.9
    # With a recall target, the lowest threshold that rejects every out-of-scope row: no more rejection than needed.
    assert 0.45 < calibrate_oos(probs, gold, labels, target_recall=1.0) <= 0.46


def test_bias_calibration_raises_macro_f1_within_bounds() -> None:
    import numpy as np

    from lepton_stream.tooling.training.metrics import macro_f1
    from lepton_stream.tooling.training.train import calibrate_bias

    labels = ["neg", "neu", "pos"]
    # The model under-calls "neg": its negatives score just below neutral.
    logits = np.array([[0.9, 1.0, 0.0]] * 10 + [[0.0, 2.0, 0.0]] * 30 + [[0.0, 0.5, 1.5]] * 10)
    gold = ["neg"] * 10 + ["neu"] * 30 + ["pos"] * 10
    gold_idx = np.array([labels.index(g) for g in gold])
    before = macro_f1(gold_idx, logits.argmax(1), 3)
    bias = calibrate_bias(logits, gold, labels)
    after = macro_f1(gold_idx, (logits + bias).argmax(1), 3)
    assert before < 0.7 and after == 1.0
    assert np.abs(bias).max() <= 1.0


def test_bias_offsets_are_kept_only_when_they_help_on_unseen_rows() -> None:
    import numpy as np

    from lepton_stream.tooling.training.train import checked_bias

    labels = ["neg", "neu", "pos"]
    rng = np.random.default_rng(5)
    gold_idx = rng.integers(0, 3, 600)
    gold = [labels[i] for i in gold_idx]
    informative = np.eye(3)[gold_idx] * 2.0 + rng.normal(0, 1.0, (600, 3))
    # A real bias: every "neg" logit is 1 lower than it should be; offsets fitted on half help the other half.
    biased = informative - np.array([1.0, 0.0, 0.0])
    offsets, gain = checked_bias(biased, gold, labels, seed=1)
    assert gain > 0.01 and offsets[0] - offsets[1:].max() >= 0.5
    # No bias, only noise to fit: what one half finds does not carry over, so nothing is applied.
    offsets, gain = checked_bias(informative, gold, labels, seed=1)
    assert gain <= 0 and not offsets.any()
    # A validation split too small to halve (a tiny user dataset) gets no offsets, and no error.
    offsets, gain = checked_bias(biased[:1], gold[:1], labels, seed=1)
    assert gain == 0 and not offsets.any()


def test_train_lora_merges_adapters_into_a_plain_bundle(tmp_path: Path, capsys) -> None:
    from lepton_stream.models.serving import load_model

    out = _run(capsys, "train", "news-sentiment", "--data", str(SAMPLES / "news_sentiment.csv"), "--out",
               str(tmp_path / "lora"), "--lora", "--max-steps", "2", "--limit-per-label", "6", "--epochs", "1",
               "--threads", "1", "--no-export")
    m = bundle.verify(tmp_path / "lora")
    assert out["recipe"] == m.recipe == "lora"
    assert not any("adapter" in f for f in m.files)  # merged: served like any fine-tuned encoder
    assert load_model(tmp_path / "lora", "torch").predict(["Fed holds rates"])[0]["news-sentiment"].label


def test_train_without_holdout_keeps_the_final_averaged_weights(tmp_path: Path, capsys) -> None:
    out = _run(capsys, "train", "news-sentiment", "--data", str(SAMPLES / "news_sentiment.csv"), "--out",
               str(tmp_path / "all"), "--holdout", "0", "--max-steps", "2", "--limit-per-label", "6",
               "--epochs", "1", "--threads", "1", "--no-export")
    m = bundle.verify(tmp_path / "all")
    assert out["validation"] == {} and m.metrics["best_epoch"] == 1
    assert m.metrics["train_rows"]["news-sentiment"] == 18  # every row trained on, none held out


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is there to train on")
def test_train_on_a_missing_gpu_fails_before_reading_data(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit, match="sees no CUDA device"):
        _run(capsys, "train", "news-sentiment", "--data", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "b"),
             "--device", "cuda")
    with pytest.raises(SystemExit, match="device 'tpu9'"):
        _run(capsys, "train", "news-sentiment", "--data", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "b"),
             "--device", "tpu9")
    assert not (tmp_path / "b").exists()


def test_layer_decay_gives_lower_layers_smaller_rates() -> None:
    from transformers import BertConfig, BertModel

    from lepton_stream.tooling.training.train import encoder_param_groups

    enc = BertModel(BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=16))  # fmt: skip
    groups = encoder_param_groups(enc, 1e-3, 0.5, 0.01)
    lr_of = {id(p): g["lr"] for g in groups for p in g["params"]}
    wd_of = {id(p): g["weight_decay"] for g in groups for p in g["params"]}
    params = dict(enc.named_parameters())
    assert len(lr_of) == len(params)  # every trainable weight in exactly one group
    assert lr_of[id(params["embeddings.word_embeddings.weight"])] == 1e-3 * 0.5**3
    assert lr_of[id(params["encoder.layer.0.attention.self.query.weight"])] == 1e-3 * 0.5**2
    assert lr_of[id(params["encoder.layer.1.output.dense.weight"])] == 1e-3 * 0.5
    assert lr_of[id(params["pooler.dense.weight"])] == 1e-3
    assert wd_of[id(params["encoder.layer.1.output.dense.bias"])] == 0.0
    assert wd_of[id(params["encoder.layer.1.output.dense.weight"])] == 0.01
    flat = encoder_param_groups(enc, 1e-3, 1.0, 0.01)
    assert {g["lr"] for g in flat} == {1e-3}

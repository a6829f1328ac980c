"""Promote installs bundles atomically with an audit line; a serving holder hot-swaps or refuses them."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from lepton_stream.metrics import MODEL_RELOADS
from lepton_stream.models import bundle
from lepton_stream.models.registry import AUDIT_FILE, list_bundles, promote
from lepton_stream.models.reload import ModelHolder


def _refused(worker: str) -> float:
    return MODEL_RELOADS.labels(worker=worker, result="refused")._value.get()


def test_promote_then_hot_reload_under_a_serving_thread(news_bundle: Path, quick_news: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    first = promote(quick_news, models, "news", who="tester")
    holder = ModelHolder(models / "news", "onnx", batch_size=8, check_every_s=3600, worker="t-reload")
    assert holder.version == first["version"] == bundle.read_manifest(quick_news).version
    # The holder stands in for the model itself.
    assert holder.tasks == ("news-sentiment",) and len(holder.predict(["Fed holds rates"])) == 1

    # A thread keeps predicting through the swap: it must never fail nor see a third version.
    seen: set[str] = set()
    errors: list[BaseException] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                model = holder.model
                model.predict(["Shares jump after record quarter", "Fed holds rates"])
                seen.add(model.version)
            except BaseException as exc:  # noqa: BLE001 - the test reports whatever broke
                errors.append(exc)
                return

    t = threading.Thread(target=serve)
    t.start()
    try:
        assert holder.maybe_reload() is False  # not due yet, nothing checked
        second = promote(news_bundle, models, "news", who="tester")
        assert holder.maybe_reload(force=True) is True
        assert holder.version == second["version"] != first["version"]
        assert holder.maybe_reload(force=True) is False  # unchanged manifest: no reload
    finally:
        stop.set()
        t.join(30)
    assert not errors
    assert seen <= {first["version"], second["version"]}

    audit = [json.loads(line) for line in (models / AUDIT_FILE).read_text().splitlines()]
    assert [a["version"] for a in audit] == [first["version"], second["version"]]
    assert audit[1]["previous_version"] == first["version"] and audit[1]["who"] == "tester"
    assert audit[1]["manifest_sha256"] == bundle.sha256_file(models / "news" / bundle.MANIFEST)
    assert (models / "news.previous" / bundle.MANIFEST).is_file()
    listed = {b["path"]: b for b in list_bundles(models)}
    assert listed[str(models / "news")]["verified"] is True


def test_holder_refuses_a_bundle_whose_hashes_do_not_match(news_bundle: Path, quick_news: Path, tmp_path: Path) -> None:
    root = tmp_path / "news"
    shutil.copytree(quick_news, root)
    holder = ModelHolder(root, "onnx", batch_size=8, check_every_s=0, worker="t-refuse")
    old = holder.version
    before = _refused("t-refuse")
    # Someone copies a new bundle in place without a re-seal: manifest of the new one, a file of the old one.
    shutil.copy(news_bundle / bundle.MANIFEST, root / bundle.MANIFEST)
    assert holder.maybe_reload() is False
    assert holder.version == old
    assert _refused("t-refuse") == before + 1
    assert holder.model.predict(["still serving"])[0]["news-sentiment"].label
    assert holder.maybe_reload() is False  # the same bad manifest is not re-hashed nor re-counted
    assert _refused("t-refuse") == before + 1


def test_promote_refuses_an_unverifiable_source(quick_news: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(quick_news, src)
    (src / bundle.HEADS).write_bytes(b"not the weights")
    models = tmp_path / "models"
    with pytest.raises(bundle.BundleError):
        promote(src, models, "news")
    assert not (models / "news").exists()
    assert not (models / AUDIT_FILE).exists()

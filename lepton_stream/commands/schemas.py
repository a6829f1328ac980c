"""`lepton-stream schemas export|check`: JSON Schema files in schemas/, generated from the contracts, and the
AsyncAPI document of every topic that references them (lepton_stream/asyncapi.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEFAULT_DIR = Path("schemas")


def register(sub) -> None:
    p = sub.add_parser("schemas", help="export or check the JSON Schemas of every message contract and the "
                                       "AsyncAPI document of every topic")
    p.add_argument("action", choices=["export", "check"])
    p.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    p.set_defaults(func=run)


def rendered() -> dict[str, str]:
    from lepton_stream import asyncapi
    from lepton_stream.contracts import CONTRACTS

    files = {
        f"{name}.schema.json": json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
        for name, model in CONTRACTS.items()
    }
    # In the order it is written: asyncapi, info, servers, channels, operations, components.
    files[asyncapi.FILE_NAME] = json.dumps(asyncapi.document(), indent=2) + "\n"
    return files


def run(args) -> int:
    from lepton_stream.asyncapi import FILE_NAME

    files = rendered()
    if args.action == "export":
        args.dir.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (args.dir / name).write_text(text)
        print(f"wrote {len(files) - 1} schemas and {FILE_NAME} to {args.dir}")
        return 0
    stale = [n for n, t in files.items() if not (args.dir / n).is_file() or (args.dir / n).read_text() != t]
    if stale:
        print("schemas out of date: " + ", ".join(stale) + " (run `lepton-stream schemas export`)", file=sys.stderr)
        return 1
    return 0

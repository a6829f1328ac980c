"""Reading graph files (JSON lines), importing CSV tables, and the content hash that versions a graph."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

from lepton_stream.kg.schema import (
    EdgeTable,
    GraphFormatError,
    Node,
    RawEdges,
    check_edges,
    check_nodes,
    parse_node,
)

SEED_DIR = Path(__file__).resolve().parents[1] / "data" / "kg"
SEED_FILES = ("companies.jsonl", "customers.jsonl")


def graph_files(path: Path | None) -> list[Path]:
    """The files that make up a graph: the seed (None), a single file, or every *.jsonl in a folder."""
    if path is None:
        return [SEED_DIR / name for name in SEED_FILES]
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise GraphFormatError([f"{path}: folder holds no *.jsonl graph files"])
        return files
    if not path.exists():
        raise GraphFormatError([f"{path}: no such file"])
    return [path]


def content_hash(files: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0")
        h.update(f.read_bytes())
    return "kg-" + h.hexdigest()[:16]


def read_graph(files: list[Path]) -> tuple[dict[str, Node], EdgeTable, list[dict]]:
    """Parse and validate; raises GraphFormatError listing every problem."""
    problems: list[str] = []
    nodes: list[tuple[Node, str]] = []
    edge_recs: list[dict] = []
    edge_lines: list[int] = []
    edge_files: list[tuple[int, str]] = []
    meta: list[dict] = []
    for f in files:
        name = f.name
        edge_files.append((len(edge_recs), name))
        with open(f, "rb") as fh:
            for lineno, line in enumerate(fh, 1):
                try:
                    rec = orjson.loads(line)  # 3x the stdlib's speed: a third of a 100k-node load is parsing
                except orjson.JSONDecodeError as e:
                    if line.strip():
                        problems.append(f"{name}:{lineno}: not JSON ({e.msg})")
                    continue
                kind = rec.get("kind") if isinstance(rec, dict) else None
                if kind == "edge":  # checked later, column by column
                    edge_recs.append(rec)
                    edge_lines.append(lineno)
                elif kind == "node":
                    where = f"{name}:{lineno}"
                    node = parse_node(rec, where, problems)
                    if node:
                        nodes.append((node, where))
                elif kind == "meta":
                    meta.append(rec)
                else:
                    problems.append(f"{name}:{lineno}: record kind {kind!r} is not one of node, edge, meta")
    by_id = check_nodes(nodes, problems)
    table = check_edges(by_id, RawEdges(edge_recs, edge_lines, edge_files), problems)
    if problems:
        raise GraphFormatError(problems)
    return by_id, table, meta


# ---------------------------------------------------------------- CSV import

NODE_COLUMNS = ("id", "type", "name")
EDGE_COLUMNS = ("source", "type", "target")


def _split(cell: str | None) -> list[str]:
    return [p.strip() for p in (cell or "").split("|") if p.strip()]


def csv_records(path: Path) -> Iterator[dict]:
    """Rows of a nodes CSV (id,type,name[,ticker,tickers,aliases,common,cues,anti,sector,<attr>...]) or an edges CSV
    (source,type,target[,weight,note]) as graph records. List cells are '|'-separated; a `sector` cell adds an
    in_sector edge; any other column becomes an attribute."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or [])
        if set(EDGE_COLUMNS) <= cols:
            for row in reader:
                rec = {"kind": "edge", "source": row["source"].strip(), "type": row["type"].strip(),
                       "target": row["target"].strip()}
                if (row.get("weight") or "").strip():
                    try:
                        rec["weight"] = float(row["weight"])
                    except ValueError:
                        rec["weight"] = row["weight"]  # validation reports it with its line
                if (row.get("note") or "").strip():
                    rec["note"] = row["note"].strip()
                yield rec
        elif set(NODE_COLUMNS) <= cols:
            known = {"id", "type", "name", "ticker", "tickers", "aliases", "common", "cues", "anti", "sector"}
            for row in reader:
                rec: dict = {"kind": "node", "id": row["id"].strip(), "type": row["type"].strip(),
                             "name": row["name"].strip()}
                if (row.get("ticker") or "").strip():
                    rec["ticker"] = row["ticker"].strip()
                for key in ("tickers", "aliases", "common", "cues", "anti"):
                    if _split(row.get(key)):
                        rec[key] = _split(row.get(key))
                attrs = {k: v.strip() for k, v in row.items() if k not in known and k and v and v.strip()}
                if attrs:
                    rec["attrs"] = attrs
                yield rec
                for sector in _split(row.get("sector")):
                    yield {"kind": "edge", "source": rec["id"], "type": "in_sector", "target": sector}
        else:
            raise GraphFormatError([f"{path.name}: header must contain {','.join(NODE_COLUMNS)} (nodes) "
                                    f"or {','.join(EDGE_COLUMNS)} (edges); found {','.join(sorted(cols))}"])


def import_csv(paths: list[Path], out: Path, meta: dict | None = None) -> tuple[int, int]:
    """Convert CSV tables into one JSON-lines graph file, validating the result; returns (nodes, edges)."""
    records = [rec for p in paths for rec in csv_records(Path(p))]
    lines = [json.dumps(meta, ensure_ascii=False)] if meta else []
    lines += [json.dumps(r, ensure_ascii=False) for r in records if r["kind"] == "node"]
    lines += [json.dumps(r, ensure_ascii=False) for r in records if r["kind"] == "edge"]
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        by_id, edges, _ = read_graph([tmp])
    except GraphFormatError:
        tmp.unlink()
        raise
    tmp.replace(out)
    return len(by_id), len(edges)

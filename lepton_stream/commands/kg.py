"""`lepton-stream kg stats | link TEXT | explain ENTITY | import CSV... | eval | bench`: inspect the knowledge graph."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("kg", help="inspect, import, evaluate and benchmark the knowledge graph")
    p.add_argument("--graph", type=Path, default=None,
                   help="graph file or folder (default: LEPTON_KG_PATH, else the shipped seed graph)")
    ks = p.add_subparsers(dest="kg_command", required=True, metavar="KG_COMMAND")

    s = ks.add_parser("stats", help="node and relation counts, version")
    s.set_defaults(func=_stats)

    s = ks.add_parser("link", help="entities named in TEXT, with what their news would move")
    s.add_argument("text")
    s.add_argument("--tickers", default="", help="comma-separated producer tickers")
    s.add_argument("--sentiment", type=float, default=-1.0, help="message sentiment in [-1, 1] to propagate")
    s.set_defaults(func=_link)

    s = ks.add_parser("explain", help="an entity: relations and the paths its news propagates along")
    s.add_argument("entity", help="id, ticker or name")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_explain)

    s = ks.add_parser("import", help="convert nodes/edges CSV tables into a validated graph file")
    s.add_argument("csv", nargs="*", type=Path,
                   help="nodes CSV (id,type,name,...) and/or edges CSV (source,type,target,...)")
    s.add_argument("--out", type=Path, required=False, help="graph file to write (.jsonl)")
    s.add_argument("--customers", type=Path, default=None,
                   help="also (re)write the generated support customers/products to this file")
    s.set_defaults(func=_import)

    s = ks.add_parser("eval", help="precision/recall of entity linking on the labelled set")
    s.add_argument("--data", type=Path, default=None, help="CSV text,entities (default: the shipped set)")
    s.add_argument("--errors", action="store_true", help="list the sentences that were linked wrongly")
    s.add_argument("--json", action="store_true", help="JSON output (the default)")
    s.set_defaults(func=_eval)

    s = ks.add_parser("bench", help="load time, memory and link+propagate speed on a synthetic graph")
    s.add_argument("--nodes", type=int, default=100_000)
    s.add_argument("--edges", type=int, default=500_000)
    s.add_argument("--texts", type=int, default=20_000)
    s.add_argument("--json", action="store_true", help="JSON output (the default)")
    s.set_defaults(func=_bench)


def _graph(args):
    from lepton_stream.kg import KnowledgeGraph

    path = args.graph
    if path is None:
        from lepton_stream.config import settings

        path = settings().kg_path
    return KnowledgeGraph.load(path)


def _print(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def _stats(args) -> int:
    _print(_graph(args).stats())
    return 0


def _link(args) -> int:
    kg = _graph(args)
    tickers = [t.strip() for t in args.tickers.split(",") if t.strip()]
    mentions = kg.link(args.text, tickers)
    impacted = kg.propagate(mentions, args.sentiment)
    _print({
        "entities": [m.model_dump() | {"text": args.text[m.span[0]:m.span[1]]} for m in mentions],
        "impacted": [i.model_dump() | {"explanation": kg.describe_path(i.path)} for i in impacted],
    })
    return 0


def _explain(args) -> int:
    kg = _graph(args)
    try:
        info = kg.explain(args.entity)
    except KeyError:
        sys.stderr.write(f"no entity {args.entity!r} in graph {kg.version}\n")
        return 1
    if args.json:
        _print(info)
        return 0
    tick = f" [{', '.join(info['tickers'])}]" if info["tickers"] else ""
    print(f"{info['name']} ({info['id']}, {info['type']}){tick}")
    if info["aliases"]:
        print(f"  also known as: {', '.join(info['aliases'])}")
    print("  relations:")
    for r in info["relations"]:
        print(f"    {r['relation']:<18} {r['name']} ({r['target']})  w={r['weight']}")
    print("  news about it moves:")
    for i in info["impacts"]:
        print(f"    {i['weight']:.3f}  {i['explanation']}")
    return 0


def _import(args) -> int:
    from lepton_stream.kg.io import import_csv
    from lepton_stream.kg.schema import GraphFormatError
    from lepton_stream.tooling.kg.customers import write_customers

    if not args.csv and not args.customers:
        sys.stderr.write("nothing to do: give CSV files with --out, and/or --customers FILE\n")
        return 2
    result = {}
    if args.csv:
        if not args.out:
            sys.stderr.write("--out is required with CSV files\n")
            return 2
        meta = {"kind": "meta", "format": "lepton-kg/1",
                "description": f"imported from {', '.join(p.name for p in args.csv)} by lepton-stream kg import"}
        try:
            nodes, edges = import_csv(args.csv, args.out, meta)
        except (GraphFormatError, OSError) as e:
            sys.stderr.write(f"{e}\n")
            return 1
        result.update(out=str(args.out), nodes=nodes, edges=edges)
    if args.customers:
        result.update(customers_file=str(args.customers), customers=write_customers(args.customers))
    _print(result)
    return 0


def _eval(args) -> int:
    from lepton_stream.tooling.kg.evaluation import EVAL_SET, evaluate

    _print(evaluate(_graph(args), args.data or EVAL_SET, show_errors=args.errors))
    return 0


def _bench(args) -> int:
    from lepton_stream.tooling.kg.bench import run_bench

    _print(run_bench(args.nodes, args.edges, args.texts))
    return 0

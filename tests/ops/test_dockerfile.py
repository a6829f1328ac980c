"""The Dockerfile cannot be built here (no Docker engine), so its key properties are checked by reading it."""

from __future__ import annotations

import fnmatch
import json
import re

from .conftest import ROOT, setting_name_ok

TEXT = (ROOT / "Dockerfile").read_text()
# Join continuation lines so each instruction is one logical line.
LINES = [ln.strip() for ln in re.sub(r"\\\n\s*", " ", TEXT).splitlines() if ln.strip() and ln.strip()[0] != "#"]
COMPILERS = ("build-essential", "gcc", "g++", "clang", "make ", "cmake", "cargo", "rustc")


def stages() -> list[list[str]]:
    out: list[list[str]] = []
    for ln in LINES:
        if ln.upper().startswith("FROM "):
            out.append([])
        if out:
            out[-1].append(ln)
    return out


def instr(lines: list[str], name: str) -> list[str]:
    return [ln[len(name) + 1:].strip() for ln in lines if ln.upper().startswith(name + " ")]


def global_args() -> dict[str, str]:
    args = {}
    for ln in LINES:
        if ln.upper().startswith("ARG ") and "=" in ln:
            k, v = ln[4:].split("=", 1)
            args[k.strip()] = v.strip()
    return args


def test_multi_stage_with_compilers_only_in_the_build_stage():
    build, *_, final = stages()
    assert len(stages()) >= 2
    assert any("build-essential" in ln for ln in instr(build, "RUN"))
    for run in instr(final, "RUN"):
        assert not any(c in run for c in COMPILERS), f"compiler in the final stage: {run}"
    assert any(ln.startswith("--from=build /opt/venv") for ln in instr(final, "COPY"))


def test_cpu_only_torch_pinned():
    args = global_args()
    installs = " ".join(instr(stages()[0], "RUN"))
    assert args["TORCH_VERSION"] == "2.13.0"
    assert args["TORCH_INDEX"] == "https://download.pytorch.org/whl/cpu"
    assert '--index-url ${TORCH_INDEX} "torch==${TORCH_VERSION}"' in installs
    # torch is installed before the project, so `pip install .` finds torch==2.13.0 already satisfied.
    assert installs.index("torch==") < installs.index("pip install .")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'"torch=={args["TORCH_VERSION"]}"' in pyproject


def test_non_root_healthcheck_and_signal_handling():
    final = stages()[-1]
    (user,) = instr(final, "USER")
    assert user.split(":")[0] not in ("0", "root")
    (health,) = instr(final, "HEALTHCHECK")
    cmd = json.loads(health.split("CMD", 1)[1])
    assert cmd[:3] == ["python", "-m", "lepton_stream.ops.probe"]
    (entry,) = instr(final, "ENTRYPOINT")
    entry = json.loads(entry)  # exec form: no shell between the signal and the process
    assert entry[0].endswith("tini") and entry[1] == "--" and entry[2] == "lepton-stream"
    assert any("tini" in r for r in instr(final, "RUN"))
    assert json.loads(instr(final, "CMD")[0])[0] == "run"
    assert instr(final, "STOPSIGNAL") == ["SIGTERM"]


def test_env_is_real_settings_and_port_matches():
    final = stages()[-1]
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(instr(final, "ENV"))))
    lepton = {k: v for k, v in env.items() if k.startswith("LEPTON_")}
    assert all(setting_name_ok(k) for k in lepton), lepton
    assert instr(final, "EXPOSE") == [lepton["LEPTON_METRICS_PORT"]]
    assert lepton["LEPTON_MODELS_DIR"] == "/models"


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    result = False
    for pat in patterns:
        neg = pat.startswith("!")
        pat = pat.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat + "/*") or path.startswith(pat + "/"):
            result = not neg
    return result


def test_build_context_has_sources_and_models_but_no_local_state():
    patterns = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
                if ln.strip() and not ln.startswith("#")]
    for src in ("pyproject.toml", "README.md", "lepton_stream", "workers", global_args()["MODELS_DIR"], "models"):
        assert not ignored(src, patterns), f"{src} is needed by the build"
    for local in (".git", ".venv", ".lepton", "deploy/secrets", "tests", ".env"):
        assert ignored(local, patterns), f"{local} must not enter the build context"
    for src in instr(stages()[0], "COPY"):
        if not src.startswith("--from"):
            for part in src.split()[:-1]:
                assert (ROOT / part).exists(), part
    assert (ROOT / global_args()["MODELS_DIR"]).is_dir()

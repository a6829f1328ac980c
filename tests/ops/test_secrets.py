from __future__ import annotations

import json
import logging

import pytest
import structlog

from lepton_stream import logs
from lepton_stream.config import SecretError, load_settings, read_secret, secret_overrides
from lepton_stream.ops.secrets import SecretRedactor, install_redaction, is_sensitive_key, secret_values

SASL_PW = "kafka-S3cr3t-pw-7781"
REDIS_PW = "redis-acl-pw-99231"


def test_file_secret_fills_a_setting(tmp_path):
    f = tmp_path / "password"
    f.write_text(SASL_PW + "\n")
    env = {"LEPTON_KAFKA_SASL_PASSWORD_FILE": str(f), "LEPTON_KAFKA_SSL_CAFILE": "/etc/ca.pem"}
    assert secret_overrides(env) == {"kafka_sasl_password": SASL_PW}
    assert read_secret("LEPTON_KAFKA_SASL_PASSWORD", env) == SASL_PW
    settings = load_settings(**secret_overrides(env))
    assert settings.kafka_sasl_password.get_secret_value() == SASL_PW


def test_file_secret_errors_are_explicit(tmp_path):
    f = tmp_path / "pw"
    f.write_text("x")
    with pytest.raises(SecretError, match="both"):
        env = {"LEPTON_KAFKA_SASL_PASSWORD": "a", "LEPTON_KAFKA_SASL_PASSWORD_FILE": str(f)}
        read_secret("LEPTON_KAFKA_SASL_PASSWORD", env)
    with pytest.raises(SecretError, match="cannot read"):
        secret_overrides({"LEPTON_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "missing")})
    with pytest.raises(SecretError, match="no setting"):
        secret_overrides({"LEPTON_NO_SUCH_THING_FILE": str(f)})
    assert read_secret("LEPTON_REDIS_URL", {}) is None


def test_sensitive_key_names():
    assert is_sensitive_key("kafka_sasl_password") and is_sensitive_key("API-KEY") and is_sensitive_key("token")
    assert not is_sensitive_key("max_tokens") and not is_sensitive_key("kafka_sasl_mechanism")


def test_secret_values_collects_settings_urls_and_env():
    settings = load_settings(kafka_sasl_password=SASL_PW, redis_url=f"redis://lepton:{REDIS_PW}@redis:6379/0")
    vals = secret_values(settings, environ={"SOME_API_TOKEN": "tok-123456", "HOME": "/root"})
    assert {SASL_PW, REDIS_PW, "tok-123456"} <= vals and "/root" not in vals


def test_redactor_text_patterns():
    r = SecretRedactor([SASL_PW])
    out = r.redact_text(
        f"login {SASL_PW} redis://u:{REDIS_PW}@h:6379/0 password={REDIS_PW} Authorization: Bearer abcdefghijkl123"
    )
    assert SASL_PW not in out and REDIS_PW not in out and "abcdefghijkl123" not in out
    assert "redis://u:***@h:6379/0" in out
    assert r.redact_text("processed 64 records, max_tokens=64") == "processed 64 records, max_tokens=64"


@pytest.fixture
def restore_structlog():
    saved = structlog.get_config()
    saved = {**saved, "processors": list(saved["processors"])}
    root_filters = [list(h.filters) for h in logging.getLogger().handlers]
    yield
    structlog.configure(**saved)
    for h, f in zip(logging.getLogger().handlers, root_filters, strict=False):
        h.filters = f


def test_secrets_never_reach_captured_logs(capsys, caplog, tmp_path, monkeypatch, restore_structlog):
    pw_file = tmp_path / "sasl"
    pw_file.write_text(SASL_PW)
    monkeypatch.setenv("LEPTON_KAFKA_SASL_PASSWORD_FILE", str(pw_file))
    settings = load_settings(
        **secret_overrides(), kafka_sasl_username="svc", redis_url=f"rediss://lepton:{REDIS_PW}@redis:6380/0"
    )
    logs.configure("DEBUG", "json")
    log = logs.get("ops-test")
    log.info("before install")  # the logger is cached on first use; redaction must still reach it
    install_redaction(settings)

    log.info("connecting", redis_url=settings.redis_url, sasl_password=SASL_PW, user=settings.kafka_sasl_username)
    log.info(f"raw message mentioning {SASL_PW} inline", nested={"cfg": {"token": "t0k3n-abcdef"}, "l": [REDIS_PW]})
    log.warning("settings dump", settings=settings.model_dump())
    try:
        raise RuntimeError(f"auth failed for password={SASL_PW}")
    except RuntimeError:
        log.exception("kafka error")
    logging.getLogger("kafka.conn").warning("sasl handshake with %s failed", SASL_PW)

    err = capsys.readouterr().err
    # Library (stdlib) records go to whatever root handlers exist; under pytest that is caplog's.
    err += "\n".join(h.format(r) for h in logging.getLogger().handlers for r in caplog.records)
    assert "connecting" in err and "kafka error" in err and "sasl handshake with *** failed" in err
    for secret in (SASL_PW, REDIS_PW, "t0k3n-abcdef"):
        assert secret not in err, f"{secret} leaked into logs"
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    connecting = next(e for e in lines if e["event"] == "connecting")
    assert connecting["user"] == "svc" and connecting["redis_url"] == "rediss://lepton:***@redis:6380/0"
    assert connecting["sasl_password"] == "***"


def test_install_is_idempotent(restore_structlog):
    logs.configure("INFO", "json")
    a = install_redaction(None, extra=["abcd1234"])
    b = install_redaction(None)
    procs = structlog.get_config()["processors"]
    assert a is b and sum(isinstance(p, SecretRedactor) for p in procs) == 1
    assert isinstance(procs[-1], structlog.processors.JSONRenderer)

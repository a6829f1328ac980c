"""Client security from settings: kafka-python keyword arguments and a configured Redis client.

Kafka: PLAINTEXT / SSL / SASL_PLAINTEXT / SASL_SSL with SASL PLAIN or SCRAM-SHA-256/512.
Redis: `redis://` or `rediss://` (TLS) URL, ACL username/password from the URL or from settings
(`redis_username`, `redis_password`, `redis_ssl_cafile` when config.py has them).
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from lepton_stream.config import Settings

# Redis: a dead server must surface within a batch, not hang it; the health check re-validates idle pooled
# connections so a Redis failover does not show up as one failed command per stale connection.
REDIS_SOCKET_TIMEOUT_S = 5.0
REDIS_CONNECT_TIMEOUT_S = 3.0
REDIS_HEALTH_CHECK_INTERVAL_S = 15


class SecurityConfigError(ValueError):
    pass


def _secret(v: SecretStr | str | None) -> str | None:
    if isinstance(v, SecretStr):
        return v.get_secret_value()
    return v


def kafka_client_kwargs(settings: Settings) -> dict[str, Any]:
    """Security keyword arguments for KafkaConsumer / KafkaProducer / KafkaAdminClient.

    Bootstrap servers are not included (pass `settings.bootstrap_servers` yourself).
    """
    proto = settings.kafka_security_protocol
    kw: dict[str, Any] = {"security_protocol": proto}
    if proto.startswith("SASL_"):
        mech = settings.kafka_sasl_mechanism
        user, password = settings.kafka_sasl_username, _secret(settings.kafka_sasl_password)
        if not mech:
            raise SecurityConfigError(f"LEPTON_KAFKA_SASL_MECHANISM is required with {proto}")
        if not user or not password:
            raise SecurityConfigError(
                f"{proto}/{mech} needs LEPTON_KAFKA_SASL_USERNAME and LEPTON_KAFKA_SASL_PASSWORD (or _FILE)"
            )
        # kafka-python takes the same two arguments for PLAIN and SCRAM.
        kw.update(sasl_mechanism=mech, sasl_plain_username=user, sasl_plain_password=password)
    if proto in ("SSL", "SASL_SSL"):
        kw["ssl_check_hostname"] = True
        if settings.kafka_ssl_cafile:
            kw["ssl_cafile"] = str(settings.kafka_ssl_cafile)
        if settings.kafka_ssl_certfile:
            kw["ssl_certfile"] = str(settings.kafka_ssl_certfile)
        if settings.kafka_ssl_keyfile:
            kw["ssl_keyfile"] = str(settings.kafka_ssl_keyfile)
        if bool(settings.kafka_ssl_certfile) != bool(settings.kafka_ssl_keyfile):
            raise SecurityConfigError("mutual TLS needs both LEPTON_KAFKA_SSL_CERTFILE and LEPTON_KAFKA_SSL_KEYFILE")
    elif settings.kafka_ssl_cafile or settings.kafka_ssl_certfile:
        raise SecurityConfigError(f"TLS files are set but LEPTON_KAFKA_SECURITY_PROTOCOL is {proto}")
    return kw


def redis_kwargs(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `redis.Redis.from_url(settings.redis_url, **kw)` (testable without a server)."""
    url = settings.redis_url
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise SecurityConfigError("LEPTON_REDIS_URL must start with redis://, rediss:// (TLS) or unix://")
    kw: dict[str, Any] = {
        "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_S,
        "health_check_interval": REDIS_HEALTH_CHECK_INTERVAL_S,
        "socket_keepalive": True,
        "retry_on_timeout": True,
        "client_name": f"lepton-stream-{settings.group_prefix}",
    }
    # Separate ACL credentials win over the URL's, so the URL can live in a ConfigMap.
    user = getattr(settings, "redis_username", None)
    password = _secret(getattr(settings, "redis_password", None))
    if user:
        kw["username"] = user
    if password:
        kw["password"] = password
    if url.startswith("rediss://"):
        kw["ssl_cert_reqs"] = "required"
        cafile = getattr(settings, "redis_ssl_cafile", None)
        if cafile:
            kw["ssl_ca_certs"] = str(cafile)
    return kw


def redis_client(settings: Settings) -> Any:
    """A `redis.Redis` for LEPTON_REDIS_URL with timeouts, keepalive and credentials applied (a `RedisCluster`
    when the URL names cluster mode: ?cluster=true)."""
    from lepton_stream.state.cluster import connect

    return connect(settings.redis_url, **redis_kwargs(settings))

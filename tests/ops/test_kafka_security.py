from __future__ import annotations

import pytest

from lepton_stream.config import load_settings
from lepton_stream.ops.kafka_security import SecurityConfigError, kafka_client_kwargs, redis_client, redis_kwargs


def test_plaintext_has_no_credentials():
    assert kafka_client_kwargs(load_settings()) == {"security_protocol": "PLAINTEXT"}


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_ssl_maps_to_kafka_python(mech, tmp_path):
    s = load_settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism=mech,
        kafka_sasl_username="svc",
        kafka_sasl_password="pw-123456",
        kafka_ssl_cafile=tmp_path / "ca.pem",
    )
    kw = kafka_client_kwargs(s)
    assert kw == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": mech,
        "sasl_plain_username": "svc",
        "sasl_plain_password": "pw-123456",
        "ssl_check_hostname": True,
        "ssl_cafile": str(tmp_path / "ca.pem"),
    }


def test_kwargs_are_accepted_by_kafka_python():
    from kafka import KafkaProducer

    s = load_settings(
        kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="u", kafka_sasl_password="p-123456",
    )
    unknown = set(kafka_client_kwargs(s)) - set(KafkaProducer.DEFAULT_CONFIG)
    assert not unknown


def test_mutual_tls_and_misconfigurations():
    mtls = load_settings(kafka_security_protocol="SSL", kafka_ssl_certfile="/c", kafka_ssl_keyfile="/k")
    kw = kafka_client_kwargs(mtls)
    assert kw["ssl_certfile"] == "/c" and kw["ssl_keyfile"] == "/k" and "sasl_mechanism" not in kw
    with pytest.raises(SecurityConfigError, match="MECHANISM"):
        kafka_client_kwargs(load_settings(kafka_security_protocol="SASL_SSL"))
    with pytest.raises(SecurityConfigError, match="USERNAME"):
        kafka_client_kwargs(load_settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="PLAIN"))
    with pytest.raises(SecurityConfigError, match="both"):
        kafka_client_kwargs(load_settings(kafka_security_protocol="SSL", kafka_ssl_certfile="/c"))
    with pytest.raises(SecurityConfigError, match="PLAINTEXT"):
        kafka_client_kwargs(load_settings(kafka_ssl_cafile="/ca"))


def test_redis_tls_and_acl_from_url():
    s = load_settings(redis_url="rediss://lepton:pw-123456@redis.internal:6380/2")
    kw = redis_kwargs(s)
    assert kw["ssl_cert_reqs"] == "required" and kw["socket_timeout"] > 0 and kw["health_check_interval"] > 0
    client = redis_client(s)  # building does not connect
    ck = client.connection_pool.connection_kwargs
    got = (ck["username"], ck["password"], ck["host"], ck["port"], ck["db"])
    assert got == ("lepton", "pw-123456", "redis.internal", 6380, 2)
    assert "SSL" in client.connection_pool.connection_class.__name__
    with pytest.raises(SecurityConfigError):
        redis_kwargs(load_settings(redis_url="http://nope:1"))


def test_redis_plain_url_has_no_tls():
    client = redis_client(load_settings(redis_url="redis://127.0.0.1:6399/0"))
    assert "SSL" not in client.connection_pool.connection_class.__name__
    assert client.connection_pool.connection_kwargs["socket_connect_timeout"] > 0

"""Settings come from LEPTON_* variables and fail at start with a readable message."""

from __future__ import annotations

import pytest

from lepton_stream.config import ConfigError, load_settings


def test_environment_overrides_defaults(monkeypatch):
    monkeypatch.setenv("LEPTON_MAX_RECORDS", "32")
    monkeypatch.setenv("LEPTON_TOPIC_NEWS_RAW", "my.news")
    s = load_settings()
    assert s.max_records == 32 and s.topic_news_raw == "my.news" and s.dlq_topic("my.news") == "my.news.dlq"


@pytest.mark.parametrize(
    ("var", "value", "expect"),
    [
        ("LEPTON_MAX_RECORDS", "0", "LEPTON_MAX_RECORDS"),
        ("LEPTON_KAFKA_BOOTSTRAP", "nohostport", "host:port"),
        ("LEPTON_RUNTIME", "tensorflow", "LEPTON_RUNTIME"),
        ("LEPTON_WINDOW_S", "abc", "LEPTON_WINDOW_S"),
    ],
)
def test_invalid_settings_fail_with_a_clear_error(monkeypatch, var, value, expect):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "invalid configuration" in str(err.value) and expect in str(err.value)

"""Settings come from OUTCOMES_* variables; a bad one is named in one sentence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from outcomes.config import SETTINGS_DOC, Settings, get_settings
from outcomes.errors import SettingsError

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_fit_the_embedded_demo() -> None:
    settings = get_settings({})
    assert settings.database_url == "sqlite:///var/outcomes.db"
    assert settings.fulltime_hours == 30
    assert (settings.rounding_base, settings.min_base_for_percent) == (5, 22.5)
    assert settings.max_n_hiding_average == 7
    assert (settings.session_idle_minutes, settings.session_max_hours) == (30, 12)


def test_variables_override_defaults_and_empty_ones_count_as_unset() -> None:
    settings = get_settings(
        {"OUTCOMES_FULLTIME_HOURS": "35", "OUTCOMES_SMTP_USERNAME": "", "OTHER": "x"}
    )
    assert settings.fulltime_hours == 35
    assert settings.smtp_username is None


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("OUTCOMES_SMTP_PORT", "abc", "OUTCOMES_SMTP_PORT is malformed"),
        ("OUTCOMES_SMTP_PORT", "70000", "OUTCOMES_SMTP_PORT is malformed"),
        ("OUTCOMES_BASE_CURRENCY", "euro", "OUTCOMES_BASE_CURRENCY is malformed"),
        ("OUTCOMES_DATABASE_URL", "postgresql://u@h/db", "postgresql+psycopg"),
        ("OUTCOMES_DATABASE_URL", "mysql://u@h/db", "OUTCOMES_DATABASE_URL is malformed"),
        ("OUTCOMES_EXCHANGE_RATES", "USD:0.9", "OUTCOMES_EXCHANGE_RATES is malformed"),
        ("OUTCOMES_ERASURE_MODE", "shred", "OUTCOMES_ERASURE_MODE is malformed"),
    ],
)
def test_a_malformed_variable_is_named_in_one_sentence(
    variable: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError, match=re.escape(expected)) as caught:
        get_settings({variable: value})
    message = str(caught.value)
    assert "\n" not in message and message.endswith(".")


def test_secrets_are_never_echoed_in_errors() -> None:
    with pytest.raises(SettingsError) as caught:
        get_settings({"OUTCOMES_SMTP_PASSWORD": "x" * 10, "OUTCOMES_SMTP_PORT": "0"})
    assert "xxxxxxxxxx" not in str(caught.value)


def test_a_missing_secret_key_says_how_to_make_one() -> None:
    with pytest.raises(SettingsError, match="OUTCOMES_SECRET_KEY must be set"):
        get_settings({}).require_secret_key()
    key = "k" * 40
    assert get_settings({"OUTCOMES_SECRET_KEY": key}).require_secret_key() == key


def test_exchange_rates_convert_to_the_base_currency() -> None:
    settings = get_settings({"OUTCOMES_EXCHANGE_RATES": "usd=0.9, GBP=1.2"})
    assert settings.rate_to_base("USD") == 0.9
    assert settings.rate_to_base("EUR") == 1.0
    assert settings.rate_to_base("JPY") is None


def test_every_setting_is_documented_in_the_readme() -> None:
    assert set(SETTINGS_DOC) == set(Settings.model_fields)
    readme = README.read_text(encoding="utf-8")
    for field in Settings.model_fields:
        assert f"OUTCOMES_{field.upper()}" in readme, field

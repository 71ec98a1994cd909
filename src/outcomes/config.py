"""Settings: one object, read from ``OUTCOMES_*`` environment variables.

``get_settings()`` reads the environment each time it is called (no import-time globals), so
tests and the CLI can change variables between calls. A missing or malformed value raises
``SettingsError`` with one sentence naming the variable and what it expects.

Every field is listed, with its default and meaning, in the README's settings table; the
``SETTINGS_DOC`` mapping below is the single source for that table (a test keeps them in step).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from outcomes.errors import SettingsError

ENV_PREFIX = "OUTCOMES_"
DEFAULT_DATABASE_URL = "sqlite:///var/outcomes.db"


class Settings(BaseModel):
    """Every setting of the product, with defaults fit for the embedded demo."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Storage
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: SecretStr | None = None

    # Survey links and e-mail
    public_base_url: str = "http://localhost:8501"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # none: plain SMTP (a local relay); starttls: upgrade the connection; tls: implicit TLS
    # from the first byte (SMTPS, usually port 465).
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    # Kept for configurations written before ``smtp_security``: true means starttls.
    smtp_starttls: bool = False
    smtp_sender: str = Field(default="outcomes@localhost", pattern=r"^[^@\s]+@[^@\s]+$")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    mail_reply_to: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    mail_rate_per_second: float = Field(default=0.0, ge=0, le=10_000)
    mail_batch_size: int = Field(default=200, ge=1, le=10_000)
    mail_max_attempts: int = Field(default=8, ge=1, le=100)
    invitation_valid_days: int = Field(default=60, ge=1, le=3650)
    institution_name: str = Field(
        default="Example University — Centre for Continuing Education", min_length=1, max_length=200
    )
    contact_email: str = Field(default="outcomes@localhost", pattern=r"^[^@\s]+@[^@\s]+$")
    survey_session_minutes: int = Field(default=120, ge=5, le=1440)

    # Outcome definitions (domain.md section 4)
    fulltime_hours: float = Field(default=30.0, gt=0, le=80)
    base_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    exchange_rates: dict[str, float] = Field(default_factory=dict)
    salary_floor: float = Field(default=12_000.0, ge=0)
    salary_top_quantile: float = Field(default=0.999, gt=0.5, le=1.0)
    response_rate_target: float = Field(default=0.60, gt=0, le=1)
    knowledge_rate_target: float = Field(default=0.65, gt=0, le=1)

    # Disclosure control (domain.md section 6, HESA defaults)
    rounding_base: int = Field(default=5, ge=1, le=100)
    min_base_for_percent: float = Field(default=22.5, ge=0)
    max_n_hiding_average: int = Field(default=7, ge=0)

    # Staff sessions and sign-in throttling
    session_idle_minutes: int = Field(default=30, ge=1, le=1440)
    session_max_hours: int = Field(default=12, ge=1, le=168)
    signin_max_failures: int = Field(default=5, ge=1, le=100)
    signin_lock_minutes: int = Field(default=15, ge=1, le=1440)
    admin_totp: Literal["required", "optional"] = "required"
    signin_ip_max_failures: int = Field(default=30, ge=1, le=100_000)
    signin_global_max_failures: int = Field(default=600, ge=1, le=10_000_000)
    trusted_proxy_header: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]+$")

    # Privacy
    erasure_mode: Literal["anonymise", "delete"] = "anonymise"
    retention_years: int = Field(default=6, ge=1, le=100)

    # Demo institution
    demo: bool = False
    demo_learners: int = Field(default=5000, ge=10, le=2_000_000)
    demo_seed: int = 20260601

    @field_validator("exchange_rates", mode="before")
    @classmethod
    def _parse_rates(cls, value: object) -> object:
        """Accept ``USD=0.92,GBP=1.17`` (units of base currency per unit) as well as JSON."""
        if isinstance(value, str) and value.strip() and not value.strip().startswith("{"):
            rates: dict[str, float] = {}
            for part in value.split(","):
                code, sep, rate = part.partition("=")
                if not sep:
                    raise ValueError("expected CODE=RATE pairs separated by commas")
                rates[code.strip().upper()] = float(rate)
            return rates
        return value

    @model_validator(mode="after")
    def _one_smtp_security(self) -> Settings:
        if self.smtp_starttls and self.smtp_security == "none":
            # The older switch asked for STARTTLS: never fall back to plain text silently.
            return self.model_copy(update={"smtp_security": "starttls"})
        return self

    @property
    def reply_to(self) -> str:
        """Where graduates' replies go: ``mail_reply_to``, else the contact address."""
        return self.mail_reply_to or self.contact_email

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            raise ValueError("use the psycopg 3 driver: postgresql+psycopg://user@host/db")
        if not (value.startswith("sqlite:") or value.startswith("postgresql+psycopg:")):
            raise ValueError("expected a sqlite:/// or postgresql+psycopg:// URL")
        return value

    def require_secret_key(self) -> str:
        """Return the secret key, or explain how to set one."""
        if self.secret_key is None or len(self.secret_key.get_secret_value()) < 32:
            raise SettingsError(
                "OUTCOMES_SECRET_KEY must be set to a random string of at least 32 characters "
                "(for example the output of: python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')."
            )
        return self.secret_key.get_secret_value()

    def rate_to_base(self, currency: str) -> float | None:
        """Units of base currency per unit of ``currency``; None when no rate is configured."""
        code = currency.upper()
        if code == self.base_currency:
            return 1.0
        return self.exchange_rates.get(code)


# What each setting means, for the README table and for error messages.
SETTINGS_DOC: dict[str, str] = {
    "database_url": "SQLAlchemy URL: `sqlite:///path.db` (embedded) or "
    "`postgresql+psycopg://user@host/db` (production)",
    "secret_key": "random string (≥ 32 characters) that keys survey-token hashes and sessions",
    "public_base_url": "address graduates use to reach the app; survey links start with "
    "it, the app answers only its host (and localhost), and HSTS is sent when it is `https://`",
    "smtp_host": "SMTP server for invitations",
    "smtp_port": "SMTP port (1–65535)",
    "smtp_username": "SMTP user name, if the server needs one",
    "smtp_password": "SMTP password, if the server needs one",
    "smtp_security": "`none` (plain SMTP, e.g. a local relay), `starttls` (upgrade the "
    "connection, usually port 587) or `tls` (implicit TLS, usually port 465); the server's "
    "certificate is verified",
    "smtp_starttls": "older switch: `true` is the same as `OUTCOMES_SMTP_SECURITY=starttls`",
    "smtp_sender": "From: address of invitations; its domain names the messages' Message-IDs",
    "smtp_timeout_seconds": "seconds to wait for the SMTP server before a message counts as a "
    "temporary failure",
    "mail_reply_to": "Reply-To: address of invitations (unset: `OUTCOMES_CONTACT_EMAIL`)",
    "mail_rate_per_second": "at most this many messages per second (`0`: no limit)",
    "mail_batch_size": "messages a sender claims at once and sends over one SMTP connection",
    "mail_max_attempts": "a message that failed temporarily (4xx, no connection) this many "
    "times is given up (cancelled, with the reason) and shows on the monitor",
    "invitation_valid_days": "days a personal survey link stays valid",
    "institution_name": "the institution's name, shown to graduates on every survey page",
    "contact_email": "address graduates can write to about the survey and their data (shown on "
    "every survey page)",
    "survey_session_minutes": "a graduate's survey session lasts this long after their last "
    "step; opening the personal link again starts a new one",
    "fulltime_hours": "hours per week from which work counts as full-time (NACE 30, QILT 35)",
    "base_currency": "ISO 4217 code salaries are reported in",
    "exchange_rates": "other currencies as `USD=0.92,GBP=1.17` (base units per unit)",
    "salary_floor": "annual salaries below this (minimum-wage floor) are excluded",
    "salary_top_quantile": "annual salaries above this quantile are excluded (HESA top cap)",
    "response_rate_target": "response-rate target shown on dashboards (HESA UK 0.60)",
    "knowledge_rate_target": "knowledge-rate target of a new wave unless it sets its own "
    "(NACE expects 0.65)",
    "rounding_base": "published counts are rounded to a multiple of this (HESA 5)",
    "min_base_for_percent": "percentages are withheld where the base is below this (HESA 22.5)",
    "max_n_hiding_average": "means and medians are withheld where n is at most this (HESA 7)",
    "session_idle_minutes": "staff are signed out after this many idle minutes",
    "session_max_hours": "absolute lifetime of a staff session",
    "signin_max_failures": "failed sign-ins with one e-mail address (an account's or not), within "
    "the lock window, before it is locked",
    "signin_lock_minutes": "how long an account lock lasts (it never grows), and the window "
    "failures are counted in",
    "admin_totp": "`required`: administrators signing in by password must set up a TOTP "
    "second factor before anything else (demo accounts in demo mode are exempt); `optional`",
    "signin_ip_max_failures": "failed sign-ins from one client address, within the lock window, "
    "before that address waits the lock minutes, doubling with each further failure up to 24 hours",
    "signin_global_max_failures": "failed sign-ins from everyone, within the lock window, before "
    "password sign-in pauses for 2 seconds, doubling with each further failure up to a minute (a "
    "brake on credential stuffing)",
    "trusted_proxy_header": "header a trusted reverse proxy sets to the client's address (for "
    "example `X-Forwarded-For`; the right-most entry that is not loopback is the client); unset "
    "when the app is reached directly",
    "erasure_mode": "`anonymise` (keep unlinked statistics) or `delete` (remove every row)",
    "retention_years": "identity of graduates is purged this many years after their last award",
    "demo": "`on` in the demo (`make run` sets it): demo staff sign-ins exist and work; "
    "`off` (default): no demo staff accounts are created, and any that exist are refused",
    "demo_learners": "size of the demo institution loaded by `make run` on first run",
    "demo_seed": "seed of the demo institution",
}


def _describe(field: str) -> str:
    return SETTINGS_DOC.get(field, "a valid value")


def get_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (default: the process environment).

    Raises ``SettingsError`` naming the first bad variable.
    """
    env = os.environ if environ is None else environ
    # An empty variable counts as unset, as shells and .env files commonly leave them.
    values = {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in env.items()
        if key.upper().startswith(ENV_PREFIX)
        and key[len(ENV_PREFIX) :].lower() in Settings.model_fields
        and value.strip() != ""
    }
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        variable = ENV_PREFIX + field.upper()
        given = values.get(field, env.get(variable, ""))
        shown = "(hidden)" if "secret" in field or "password" in field else repr(given)
        reason = first["msg"].removeprefix("Value error, ")
        raise SettingsError(
            f"{variable} is malformed ({reason}; got {shown}): expected {_describe(field)}."
        ) from None

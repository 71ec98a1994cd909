"""The staff second factor: TOTP (RFC 6238) with one-time recovery codes; audited.

- The TOTP secret is stored encrypted with AES-256-GCM under ``Purpose.TOTP_SECRET``'s
  subkey, the user's id as associated data (a secret copied to another row does not decrypt).
- A code is accepted one 30-second step either side of now, and a step is never accepted
  twice (``totp_last_step``), so a code seen over a shoulder cannot be replayed.
- Recovery codes are 80 random bits each, stored as a purpose-labelled HMAC
  (``Purpose.RECOVERY_CODE``), not Argon2: a slow hash only helps against guessable secrets,
  and these are not; a keyed hash is useless without the secret key; and an equality lookup
  avoids ten Argon2 verifications (~0.5 s of CPU) on every guess, which would be a cheap
  denial of service.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import io
import re
import secrets
from dataclasses import dataclass

import pyotp
import segno
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import Session, col, select

from outcomes import audit
from outcomes.access import permissions
from outcomes.access.accounts import staff_user
from outcomes.config import Settings
from outcomes.errors import ValidationProblem
from outcomes.keys import Purpose, labelled_hmac_hex, subkey
from outcomes.store.tables import StaffRecoveryCode, StaffUser

ISSUER = "Outcomes"
RECOVERY_CODES = 10
STEP_SECONDS = 30
_VERSION = "v1:"
_CODE = re.compile(r"^\d{6}$")

WRONG_CODE = "That code is not right: use the current code from your authenticator app."
NO_ENROLMENT = "Start setting up the second factor again."


# --- the secret at rest ---------------------------------------------------------------------


def _aead(settings: Settings) -> AESGCM:
    return AESGCM(subkey(settings.require_secret_key(), Purpose.TOTP_SECRET))


def _associated(user_id: int) -> bytes:
    return f"staff_user:{user_id}".encode()


def encrypt_secret(secret: str, *, user_id: int, settings: Settings) -> str:
    """``secret`` encrypted for the ``totp_secret`` column (version, nonce and tag included)."""
    nonce = secrets.token_bytes(12)
    sealed = _aead(settings).encrypt(nonce, secret.encode(), _associated(user_id))
    return _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_secret(stored: str, *, user_id: int, settings: Settings) -> str:
    """The TOTP secret in ``stored``; ``ValidationProblem`` if it was not made for this user."""
    try:
        raw = base64.urlsafe_b64decode(stored.removeprefix(_VERSION).encode())
        plain = _aead(settings).decrypt(raw[:12], raw[12:], _associated(user_id))
    except (InvalidTag, ValueError) as exc:
        raise ValidationProblem(
            "The stored second factor cannot be read: ask an administrator to reset it."
        ) from exc
    return plain.decode()


# --- codes ----------------------------------------------------------------------------------


def step_at(at: dt.datetime) -> int:
    """The TOTP time step containing ``at``."""
    return int(at.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, *, at: dt.datetime, last_step: int | None) -> int | None:
    """The step ``code`` is valid for (now ±1), never one at or before ``last_step``."""
    code = code.strip().replace(" ", "")
    if not _CODE.match(code):
        return None
    totp = pyotp.TOTP(secret)
    current = step_at(at)
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def looks_like_totp(code: str) -> bool:
    """True for six digits (else the text is tried as a recovery code)."""
    return bool(_CODE.match(code.strip().replace(" ", "")))


def _normalise_recovery(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def _recovery_hash(code: str, settings: Settings) -> str:
    return labelled_hmac_hex(
        settings.require_secret_key(), Purpose.RECOVERY_CODE, _normalise_recovery(code)
    )


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 80 bits, 16 characters
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


# --- enrolment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    """What the account page shows once while a second factor is being set up."""

    secret: str
    uri: str
    qr_png: bytes


def begin_enrolment(session: Session, *, user_id: int, settings: Settings) -> Enrolment:
    """Store a new (not yet enabled) secret for ``user_id``; the QR code and secret to show."""
    user = staff_user(session, user_id)
    if user.totp_enabled_at is not None:
        raise ValidationProblem("A second factor is already set up for this account.")
    secret = pyotp.random_base32()
    user.totp_secret = encrypt_secret(secret, user_id=user_id, settings=settings)
    user.totp_last_step = None
    session.add(user)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=5, border=4)
    return Enrolment(secret=secret, uri=uri, qr_png=buffer.getvalue())


def confirm_enrolment(
    session: Session,
    *,
    user_id: int,
    code: str,
    at: dt.datetime,
    settings: Settings,
) -> list[str]:
    """Enable the second factor once ``code`` is right; the recovery codes, shown once."""
    user = staff_user(session, user_id)
    if user.totp_secret is None or user.totp_enabled_at is not None:
        raise ValidationProblem(NO_ENROLMENT)
    if not _spend_totp(session, user, code, at=at, settings=settings):
        raise ValidationProblem(WRONG_CODE)
    user.totp_enabled_at = at
    session.add(user)
    codes = _replace_recovery_codes(session, user_id, settings)
    _audit_own(session, user_id, "staff.second_factor_enabled")
    return codes


def _spend_totp(
    session: Session, user: StaffUser, code: str, *, at: dt.datetime, settings: Settings
) -> bool:
    """True when ``code`` is right for ``user``'s secret now; its step can never be used again."""
    if user.id is None or user.totp_secret is None:
        return False
    secret = decrypt_secret(user.totp_secret, user_id=user.id, settings=settings)
    step = matching_step(secret, code, at=at, last_step=user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    session.add(user)
    return True


def _audit_own(
    session: Session, user_id: int, action: str, detail: dict[str, int] | None = None
) -> None:
    """Audit an event of a staff member's own second factor (they are the actor)."""
    audit.record(
        session,
        actor=audit.staff_actor(user_id),
        action=action,
        object_type="staff_user",
        object_id=user_id,
        detail=detail,
    )


def _replace_recovery_codes(session: Session, user_id: int, settings: Settings) -> list[str]:
    session.execute(sa.delete(StaffRecoveryCode).where(col(StaffRecoveryCode.user_id) == user_id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    for code in codes:
        session.add(StaffRecoveryCode(user_id=user_id, code_hash=_recovery_hash(code, settings)))
    session.flush()
    return codes


def recovery_codes_left(session: Session, user_id: int) -> int:
    """How many unused recovery codes ``user_id`` has."""
    return int(
        session.execute(
            sa.select(sa.func.count())
            .select_from(StaffRecoveryCode)
            .where(
                col(StaffRecoveryCode.user_id) == user_id, col(StaffRecoveryCode.used_at).is_(None)
            )
        ).scalar_one()
    )


# --- sign-in and reset ----------------------------------------------------------------------


def has_second_factor(user: StaffUser) -> bool:
    """True when ``user`` has an enabled TOTP second factor."""
    return user.totp_enabled_at is not None and user.totp_secret is not None


def verify_second_factor(
    session: Session,
    *,
    user: StaffUser,
    code: str,
    at: dt.datetime,
    settings: Settings,
) -> bool:
    """Check a TOTP code or an unused recovery code for ``user``, using it up if right."""
    if not has_second_factor(user) or user.id is None or user.totp_secret is None:
        return False
    if looks_like_totp(code):
        return _spend_totp(session, user, code, at=at, settings=settings)
    row = session.exec(
        select(StaffRecoveryCode).where(
            col(StaffRecoveryCode.user_id) == user.id,
            col(StaffRecoveryCode.code_hash) == _recovery_hash(code, settings),
            col(StaffRecoveryCode.used_at).is_(None),
        )
    ).first()
    if row is None:
        return False
    row.used_at = at
    session.add(row)
    left = recovery_codes_left(session, user.id)
    _audit_own(session, user.id, "staff.recovery_code_used", {"left": left})
    return True


def clear_second_factor(session: Session, user: StaffUser) -> None:
    """Remove ``user``'s TOTP secret and recovery codes (no audit: callers audit why)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.add(user)
    session.execute(sa.delete(StaffRecoveryCode).where(col(StaffRecoveryCode.user_id) == user.id))


def required_for(user: StaffUser, *, via: str, settings: Settings) -> bool:
    """True when ``user`` must have a second factor before using the app.

    Administrators signing in by password, when ``OUTCOMES_ADMIN_TOTP=required`` (the
    default). Single sign-on leaves the second factor to the identity provider; demo
    accounts in demo mode are exempt so that the demo can be opened without a phone.
    """
    if not permissions.can(user.role, "signin.second_factor") or via == "sso":
        return False
    if settings.admin_totp != "required":
        return False
    return not (user.is_demo and settings.demo)

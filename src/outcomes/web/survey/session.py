"""The graduate's survey session: a signed cookie, and CSRF tokens bound to it.

Opening a personal link exchanges its token for this cookie, so the token leaves the address
bar (and with it history, referrers and proxy logs). The cookie carries the invitation id,
a fingerprint of the invitation's current token hash, the page language and an expiry, with
an HMAC under ``Purpose.SURVEY_SESSION``. Stateless on purpose: every step reads the
invitation row anyway, and the fingerprint check there ends every session of a link that was
reissued. It is HttpOnly, SameSite=Lax, Secure whenever the app is reached over HTTPS, and
lasts ``survey_session_minutes`` after the last step (each page renews it).

Form tokens are an HMAC, under ``Purpose.SURVEY_FORM``, of the session's identity (the
invitation, the fingerprint and a random nonce chosen when the link was opened, kept when
the cookie is renewed, so a second tab's page does not spoil the first's form), sent masked with a
fresh random pad on every page (as Django does), so compressed pages never repeat the
secret bytes (BREACH).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
import secrets
from dataclasses import dataclass

from outcomes.config import Settings
from outcomes.keys import Purpose, labelled_hmac
from outcomes.vocab import LANGUAGES

COOKIE_NAME = "outcomes_survey"
FINGERPRINT_LENGTH = 16
_FORM_TOKEN_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SurveySession:
    """Who the browser is answering for, in which language, until when."""

    invitation_id: int
    fingerprint: str
    language: str
    expires_at: dt.datetime
    nonce: str

    def matches(self, token_hash: str) -> bool:
        """True while the invitation still has the token this session was opened with."""
        return hmac.compare_digest(self.fingerprint, token_hash[:FINGERPRINT_LENGTH])


def fingerprint(token_hash: str) -> str:
    """The part of a token hash a session cookie carries."""
    return token_hash[:FINGERPRINT_LENGTH]


def _mac(settings: Settings, payload: str) -> str:
    return _b64(labelled_hmac(settings.require_secret_key(), Purpose.SURVEY_SESSION, payload))


def encode(settings: Settings, session: SurveySession) -> str:
    """The cookie value of ``session``."""
    payload = _b64(
        json.dumps(
            {
                "i": session.invitation_id,
                "f": session.fingerprint,
                "l": session.language,
                "e": int(session.expires_at.timestamp()),
                "n": session.nonce,
            },
            separators=(",", ":"),
        ).encode()
    )
    return f"{payload}.{_mac(settings, payload)}"


def decode(settings: Settings, value: str | None, at: dt.datetime) -> SurveySession | None:
    """The session in a cookie value, or None if it is missing, forged or expired."""
    if not value or value.count(".") != 1 or len(value) > 400:
        return None
    payload, mac = value.split(".")
    if not hmac.compare_digest(mac, _mac(settings, payload)):
        return None
    try:
        data = json.loads(_unb64(payload))
        invitation_id = int(data["i"])
        expires = dt.datetime.fromtimestamp(int(data["e"]), dt.UTC)
        language = str(data["l"])
        fingerprint_ = str(data["f"])
        nonce = str(data["n"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if at >= expires or language not in LANGUAGES:
        return None
    return SurveySession(invitation_id, fingerprint_, language, expires, nonce)


def started(
    settings: Settings, invitation_id: int, token_hash: str, language: str, at: dt.datetime
) -> SurveySession:
    """A new session for an invitation whose link was just opened."""
    return SurveySession(
        invitation_id=invitation_id,
        fingerprint=fingerprint(token_hash),
        language=language if language in LANGUAGES else "en",
        expires_at=at + dt.timedelta(minutes=settings.survey_session_minutes),
        nonce=_b64(secrets.token_bytes(16)),
    )


def renewed(
    settings: Settings, session: SurveySession, at: dt.datetime, *, language: str | None = None
) -> SurveySession:
    """``session`` with a fresh expiry (and, if given, another language)."""
    return SurveySession(
        invitation_id=session.invitation_id,
        fingerprint=session.fingerprint,
        language=language if language in LANGUAGES else session.language,
        expires_at=at + dt.timedelta(minutes=settings.survey_session_minutes),
        nonce=session.nonce,
    )


def _form_secret(settings: Settings, session: SurveySession) -> bytes:
    identity = f"{session.invitation_id}:{session.fingerprint}:{session.nonce}"
    return labelled_hmac(settings.require_secret_key(), Purpose.SURVEY_FORM, identity)


def form_token(settings: Settings, session: SurveySession) -> str:
    """A masked CSRF token for one page of this session (different on every page)."""
    secret = _form_secret(settings, session)
    pad = secrets.token_bytes(_FORM_TOKEN_BYTES)
    return _b64(pad + bytes(a ^ b for a, b in zip(pad, secret, strict=True)))


def form_token_ok(settings: Settings, session: SurveySession | None, token: str | None) -> bool:
    """True when ``token`` was made for ``session``."""
    if session is None or not token or len(token) > 200:
        return False
    try:
        raw = _unb64(token)
    except (ValueError, binascii.Error):
        return False
    if len(raw) != 2 * _FORM_TOKEN_BYTES:
        return False
    pad, masked = raw[:_FORM_TOKEN_BYTES], raw[_FORM_TOKEN_BYTES:]
    unmasked = bytes(a ^ b for a, b in zip(pad, masked, strict=True))
    return hmac.compare_digest(unmasked, _form_secret(settings, session))

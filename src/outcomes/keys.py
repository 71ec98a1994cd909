"""Independent subkeys of ``OUTCOMES_SECRET_KEY``, one per purpose, and labelled HMACs.

The secret key itself never keys anything. Each purpose gets its own 32-byte subkey derived
with HKDF-SHA256 (RFC 5869; ``cryptography``'s implementation), with the purpose as HKDF's
``info``; every HMAC input also starts with the purpose label. So a digest made for one
purpose — an audit row's hash of a typed e-mail, say — is unrelated to one made for another
(a demo password, a session token hash), even for the same input, and no digest a user can
read is ever usable as a credential.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Fixed for the life of the product: changing it would change every derived value.
_SALT = b"outcomes/v1/subkeys"


class Purpose(StrEnum):
    """What a subkey is for; the value is the label inside every input it keys."""

    AUDIT_HASH = "audit-hash"  # linking repeated audit events without storing the value
    TOKEN_HASH = "token-hash"  # survey-invitation token hashes
    DEMO_PASSWORD = "demo-password"  # the demo institution's staff passwords
    SESSION = "session"  # server-side staff session token hashes
    THROTTLE = "throttle"  # keys of the sign-in failure counters (e-mail, client IP)
    TOTP_SECRET = "totp-secret"  # encrypting staff TOTP secrets at rest
    RECOVERY_CODE = "recovery-code"  # second-factor recovery code hashes
    PACK_SIGNING = "pack-signing"  # evidence-pack signatures
    SURVEY_SESSION = "survey-session"  # graduates' survey session cookies
    SURVEY_FORM = "survey-form"  # CSRF tokens of survey forms, bound to the session


@lru_cache(maxsize=64)
def _derive(secret_key: str, purpose: Purpose) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose.value.encode())
    return hkdf.derive(secret_key.encode("utf-8"))


def subkey(secret_key: str, purpose: Purpose) -> bytes:
    """The 32-byte subkey of ``secret_key`` for ``purpose`` (HKDF-SHA256)."""
    return _derive(secret_key, Purpose(purpose))


def labelled_hmac(secret_key: str, purpose: Purpose, value: str | bytes) -> bytes:
    """HMAC-SHA256 under ``purpose``'s subkey of ``label || 0x00 || value``."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    message = Purpose(purpose).value.encode() + b"\x00" + data
    return hmac.new(subkey(secret_key, purpose), message, hashlib.sha256).digest()


def labelled_hmac_hex(secret_key: str, purpose: Purpose, value: str | bytes) -> str:
    """``labelled_hmac`` as 64 hexadecimal characters."""
    return labelled_hmac(secret_key, purpose, value).hex()

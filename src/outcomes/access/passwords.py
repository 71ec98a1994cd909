"""Staff passwords: Argon2id hashing and the password rules (NIST SP 800-63B).

Rules: at least 12 characters, not a commonly used password, no composition rules. The
common-password list is the 30,000 most frequent passwords shipped with zxcvbn. Hashing
uses argon2-cffi with OWASP's Argon2id parameters (m=19 MiB, t=2, p=1) or stronger.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from outcomes.errors import ValidationProblem

MIN_LENGTH = 12
MAX_LENGTH = 1024  # hashing megabyte passwords would let anyone tie up the server

# OWASP Password Storage Cheat Sheet: Argon2id, 19 MiB, 2 iterations, 1 lane is the minimum;
# one more iteration here (a hash made with fewer is rehashed at the next sign-in).
_HASHER = PasswordHasher(time_cost=3, memory_cost=19 * 1024, parallelism=1, type=Type.ID)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Why ``password`` is not acceptable, or None when it is."""
    if len(password) < MIN_LENGTH:
        return f"The password must be at least {MIN_LENGTH} characters long."
    if len(password) > MAX_LENGTH:
        return f"The password must be at most {MAX_LENGTH} characters long."
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(password)) <= 2:
        return "That password is too common: choose one that is not on lists of leaked passwords."
    if email and lowered == email.lower():
        return "The password must not be the e-mail address."
    return None


def check_password_rules(password: str, *, email: str | None = None) -> None:
    """Raise ``ValidationProblem`` when ``password`` breaks a rule."""
    problem = password_problem(password, email=email)
    if problem:
        raise ValidationProblem(problem)


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (PHC string, salt included)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; False for any mismatch or bad hash."""
    if not password_hash or len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(password_hash)

"""Staff password rules (NIST SP 800-63B) and Argon2id hashing."""

from __future__ import annotations

import pytest

from outcomes.access.passwords import (
    check_password_rules,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from outcomes.errors import ValidationProblem


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short pass", "at least 12 characters"),
        ("password1234", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common"),
        ("x" * 2000, "at most"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, problem: str) -> None:
    reason = password_problem(password)
    assert reason is not None and problem in reason
    with pytest.raises(ValidationProblem):
        check_password_rules(password)


def test_no_composition_rules_a_long_lowercase_passphrase_is_fine() -> None:
    assert password_problem("purple lantern over the quiet harbour") is None


def test_the_email_is_not_a_password() -> None:
    assert password_problem("ana.ruiz@example.org", email="Ana.Ruiz@example.org") is not None


def test_hashes_are_argon2id_salted_and_verifiable() -> None:
    first, second = hash_password("a long enough secret"), hash_password("a long enough secret")
    assert first.startswith("$argon2id$") and first != second
    assert verify_password(first, "a long enough secret")
    assert not verify_password(first, "a long enough secreT")
    assert not verify_password("not a hash", "anything at all")
    assert not verify_password(None, "anything at all")
    assert not needs_rehash(first)

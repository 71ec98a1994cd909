"""Staff password rules (NIST SP 800-63B) and Argon2id hashing."""

from __future__ import annotations

import pytest

from outcomes.access.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
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
    with pytest.raises(ValidationProblem, match=problem):
        check_password_rules(password)


def test_eleven_characters_are_refused_and_twelve_accepted() -> None:
    assert MIN_LENGTH == 12  # NIST SP 800-63B asks for at least 8; the policy says 12
    assert password_problem("q7 lantern z"[:11]) == (
        "The password must be at least 12 characters long."
    )
    assert password_problem("q7 lantern z") is None
    check_password_rules("q7 lantern z")  # does not raise


def test_a_password_of_the_longest_allowed_length_is_accepted_and_one_more_refused() -> None:
    longest = ("q7 lantern z" * 100)[:MAX_LENGTH]
    assert password_problem(longest) is None
    assert password_problem(longest + "q") == (
        f"The password must be at most {MAX_LENGTH} characters long."
    )
    stored = hash_password(longest)
    assert verify_password(stored, longest)
    # Too long to be anyone's password: refused without spending a hash on it.
    assert not verify_password(stored, longest + "q")


def test_three_distinct_characters_are_enough_but_two_are_too_common() -> None:
    assert password_problem("abcabcabcabc") is None
    reason = password_problem("abababababab")
    assert reason is not None and "too common" in reason


def test_a_common_password_is_refused_whatever_its_case() -> None:
    reason = password_problem("SanFrancisco")  # on the list in lower case, 12 characters
    assert reason is not None and "too common" in reason


def test_no_composition_rules_a_long_lowercase_passphrase_is_fine() -> None:
    assert password_problem("purple lantern over the quiet harbour") is None


def test_the_email_is_not_a_password() -> None:
    assert password_problem("ana.ruiz@example.org", email="Ana.Ruiz@example.org") == (
        "The password must not be the e-mail address."
    )
    assert password_problem("ana.ruiz@example.org", email="luis@example.org") is None


def test_hashes_are_argon2id_salted_and_verifiable() -> None:
    first, second = hash_password("a long enough secret"), hash_password("a long enough secret")
    assert first.startswith("$argon2id$") and first != second
    assert verify_password(first, "a long enough secret")
    assert not verify_password(first, "a long enough secreT")
    assert not verify_password("not a hash", "anything at all")
    assert not verify_password(None, "anything at all")
    assert not needs_rehash(first)


def test_new_hashes_use_the_owasp_minimum_memory_and_lanes_with_one_more_iteration() -> None:
    from argon2 import Type, extract_parameters

    parameters = extract_parameters(hash_password("a long enough secret"))
    assert parameters.type is Type.ID
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (
        19 * 1024,  # KiB: 19 MiB
        3,
        1,
    )

"""Who may do what: the permissions table against a matrix written out by hand."""

from __future__ import annotations

import pytest

from outcomes.access import permissions

# Written out independently of ``permissions.ACTIONS``: change both, deliberately.
EXPECTED_ACTIONS: dict[str, set[str]] = {
    "programmes.edit": {"admin", "manager"},
    "staff.manage": {"admin"},
    "audit.read": {"admin", "reviewer"},
    "audit.unknown_email_digests": {"admin"},
    "privacy.requests": {"admin"},
    "sources.record": {"admin", "manager"},
    "impact.read": {"admin", "manager", "reviewer"},
    "waves.manage": {"admin", "manager"},
    "figures.exact": {"admin", "manager"},
    "invitations.reissue": {"admin", "manager"},
    "records.import": {"admin", "manager"},
    "signin.second_factor": {"admin"},
}

# Which pages each audience may open, also written out by hand (the app tests check the same
# matrix through the rendered pages; this one fails in a second, without a browser session).
EXPECTED_PAGES: dict[str, set[str]] = {
    "anonymous": {"signin"},
    "reviewer": {"home", "dashboard", "audit", "account"},
    "manager": {
        "home",
        "dashboard",
        "programmes",
        "waves",
        "monitor",
        "sources",
        "outbox",
        "imports",
        "account",
    },
    "admin": {
        "home",
        "dashboard",
        "programmes",
        "waves",
        "monitor",
        "sources",
        "outbox",
        "imports",
        "users",
        "audit",
        "privacy",
        "account",
    },
    "account_setup": {"account"},
}


def test_the_audiences_are_exactly_the_roles_the_product_knows() -> None:
    assert set(permissions.ALL_AUDIENCES) == set(EXPECTED_PAGES)
    assert set(permissions.STAFF_ROLES) == {"admin", "manager", "reviewer"}


@pytest.mark.parametrize("audience", sorted(EXPECTED_PAGES))
def test_every_audience_may_open_exactly_the_pages_of_the_matrix(audience: str) -> None:
    assert {spec.key for spec in permissions.pages_for(audience)} == EXPECTED_PAGES[audience]
    for spec in permissions.PAGES:
        assert permissions.can_open(audience, spec.key) == (spec.key in EXPECTED_PAGES[audience])


@pytest.mark.parametrize("audience", permissions.ALL_AUDIENCES)
@pytest.mark.parametrize("key", sorted(EXPECTED_ACTIONS))
def test_every_audience_may_do_exactly_the_actions_of_the_matrix(audience: str, key: str) -> None:
    assert permissions.can(audience, key) == (audience in EXPECTED_ACTIONS[key])


def test_the_matrix_names_every_action_the_product_has() -> None:
    assert {spec.key for spec in permissions.ACTIONS} == set(EXPECTED_ACTIONS)


def test_an_unknown_action_is_a_programming_error_not_a_quiet_no() -> None:
    with pytest.raises(KeyError, match=r"audit\.delete"):
        permissions.can("admin", "audit.delete")


def test_only_managers_are_limited_to_programmes_and_unknown_roles_see_nothing() -> None:
    assert [permissions.is_programme_scoped(r) for r in ("admin", "manager", "reviewer")] == [
        False,
        True,
        False,
    ]
    assert permissions.sees_whole_institution("admin")
    assert permissions.sees_whole_institution("reviewer")
    for role in ("manager", "auditor", "graduate", "anonymous", ""):
        assert not permissions.sees_whole_institution(role), role
    for role in ("admin", "manager"):
        assert permissions.sees_exact_counts(role)
    for role in ("reviewer", "auditor", ""):
        assert not permissions.sees_exact_counts(role), role


def test_the_audit_trail_is_refused_to_a_role_without_the_audit_action() -> None:
    from outcomes.access.audit_view import audit_trail
    from outcomes.errors import AccessDenied

    # Refused before any database work: no session is needed to be told no.
    with pytest.raises(AccessDenied, match="Only administrators and reviewers"):
        audit_trail(None, role="manager")  # type: ignore[arg-type]

"""The audit trail: events for each audited action, no update path, append-only in the database."""

from __future__ import annotations

import re
import tomllib

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from outcomes import audit
from outcomes.access.audit_view import audit_trail, export_audit_csv
from outcomes.access.auth import UNKNOWN_EMAIL
from outcomes.access.staff import (
    change_role,
    create_staff_user,
    set_active,
    set_programme_scope,
    unlock,
)
from outcomes.config import get_settings
from outcomes.errors import AccessDenied, ValidationProblem
from outcomes.exports import frame_to_csv
from outcomes.store.engine import session_scope
from outcomes.store.tables import AuditEvent
from tests import factories
from tests.conftest import REPO_ROOT, TEST_SECRET_KEY

SOURCE = REPO_ROOT / "src" / "outcomes"


def _actions(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]


def test_each_staff_change_is_audited_without_personal_data(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_SECRET_KEY", TEST_SECRET_KEY)  # unlock keys the throttle row
    with session_scope(engine) as session:
        factories.programme(session, "UX-201")
        user = create_staff_user(
            session,
            email="bo@example.org",
            role="reviewer",
            password=None,
            actor="staff:99",
            display_name="Bo Example",
        )
        assert user.id is not None
        change_role(session, user_id=user.id, role="manager", actor="staff:99")
        set_programme_scope(session, user_id=user.id, programme_codes=["UX-201"], actor="staff:99")
        set_active(session, user_id=user.id, active=False, actor="staff:99")
        set_active(session, user_id=user.id, active=True, actor="staff:99")
        unlock(session, user_id=user.id, actor="staff:99", settings=get_settings())
        csv_bytes = export_audit_csv(session, role="admin", actor="staff:99")
    assert _actions(engine) == [
        "staff.created",
        "staff.role_changed",
        "staff.scope_changed",
        "staff.deactivated",
        "staff.reactivated",
        "staff.unlocked",
        "audit.exported",
    ]
    text = csv_bytes.decode()
    assert "staff.role_changed" in text and '{""from"": ""reviewer""' in text
    assert "bo@example.org" not in text and "Bo Example" not in text


def test_an_administrator_cannot_demote_or_deactivate_themselves(engine: Engine) -> None:
    with session_scope(engine) as session:
        user = create_staff_user(
            session, email="ad@example.org", role="admin", password=None, actor="test"
        )
    own_role = pytest.raises(ValidationProblem, match="cannot change your own role")
    with session_scope(engine) as session, own_role:
        change_role(session, user_id=user.id or 0, role="reviewer", actor=f"staff:{user.id}")
    own_account = pytest.raises(ValidationProblem, match="cannot deactivate your own account")
    with session_scope(engine) as session, own_account:
        set_active(session, user_id=user.id or 0, active=False, actor=f"staff:{user.id}")


def test_csv_exports_neutralise_spreadsheet_formulas() -> None:
    frame = pd.DataFrame({"actor": ['=HYPERLINK("http://evil")', "+1", "staff:1"]})
    rows = frame_to_csv(frame).decode().splitlines()
    assert rows[1].startswith("\"'=HYPERLINK") and rows[2] == '"\'+1"' and rows[3] == '"staff:1"'


def test_reviewers_do_not_see_the_digests_of_unknown_emails_and_administrators_do(
    engine: Engine,
) -> None:
    digest = '=HYPERLINK("http://evil")'  # whatever is stored, the export stays formula-safe
    with session_scope(engine) as session:
        factories.unknown_email_failure(session, digest)
        audit.record(
            session, actor="staff:7", action="signin.failed", object_type="staff_user", object_id=7
        )
        views = {
            role: (
                audit_trail(session, role=role),
                export_audit_csv(session, role=role, actor="staff:1").decode(),
            )
            for role in ("reviewer", "admin")
        }
        with pytest.raises(AccessDenied, match="Only administrators and reviewers"):
            audit_trail(session, role="manager")  # a role without the audit action: refused
    frame, text = views["reviewer"]
    ids = dict(zip(frame["object_type"], frame["object_id"], strict=True))
    assert pd.isna(ids[UNKNOWN_EMAIL]) and ids["staff_user"] == "7"
    assert "HYPERLINK" not in text and '"unknown_email",""' in text
    frame, text = views["admin"]
    assert dict(zip(frame["object_type"], frame["object_id"], strict=True))[UNKNOWN_EMAIL] == digest
    assert '"unknown_email","\'=HYPERLINK(""http://evil"")"' in text


def test_the_application_has_no_path_that_updates_or_deletes_audit_events() -> None:
    pattern = re.compile(
        r"(update|delete)\s*\(\s*AuditEvent|(UPDATE|DELETE\s+FROM|TRUNCATE)\s+audit_event"
        r"|session\.delete\(\s*event",
        re.IGNORECASE,
    )
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in [*SOURCE.rglob("*.py"), *(REPO_ROOT / "pages").glob("*.py")]
        if "migrations" not in path.parts and pattern.search(path.read_text())
    ]
    assert offenders == []
    public = [name for name in dir(audit) if not name.startswith("_")]
    assert not [n for n in public if re.search(r"update|delete|remove|edit|purge", n, re.I)]


def test_the_database_refuses_to_alter_or_remove_audit_events(engine: Engine) -> None:
    # A trigger on both engines: PostgreSQL's (0001) and SQLite's (0004).
    with session_scope(engine) as session:
        audit.record(session, actor="test", action="signin.failed")
    statements = ["UPDATE audit_event SET actor = 'someone else'", "DELETE FROM audit_event"]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_event")
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert _actions(engine) == ["signin.failed"]


def test_streamlit_hardening_is_configured() -> None:
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["client"]["showErrorDetails"] == "none"
    # Downloads only through the product's audited, formula-safe buttons.
    assert config["client"]["disableDataExport"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert 0 < config["server"]["maxUploadSize"] <= 50
    assert 0 < config["server"]["maxMessageSize"] <= 200
    assert config["runner"]["magicEnabled"] is False


# The store's modules that read for display and analysis (once one module, queries.py).
READ_MODULES = ("reads", "frames", "analysis_table", "aggregates")


@pytest.mark.parametrize("module", READ_MODULES)
def test_analysis_queries_never_read_identity_tables(module: str) -> None:
    """Analysis frames are pseudonymous: the read modules read identity only in named functions."""
    import ast

    tree = ast.parse((SOURCE / "store" / f"{module}.py").read_text())
    identity = re.compile(r"LearnerIdentity|LearnerExternalId|learner_identity|learner_external_id")
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "identity" not in node.name:
            assert not identity.search(ast.unparse(node)), node.name
    imports = [ast.unparse(n) for n in tree.body if isinstance(n, ast.ImportFrom | ast.Import)]
    assert not any(identity.search(i) for i in imports) or any(
        "identity" in n.name for n in tree.body if isinstance(n, ast.FunctionDef)
    )


def test_analysis_query_functions_issue_no_sql_on_identity_tables(engine: Engine) -> None:
    import importlib
    import inspect

    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    called = 0
    functions = [
        (name, function)
        for module in (importlib.import_module(f"outcomes.store.{m}") for m in READ_MODULES)
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__
    ]
    with session_scope(engine) as session:
        for name, function in functions:
            if name.startswith("_"):
                continue
            if "identity" in name:
                continue
            parameters = inspect.signature(function).parameters
            required = [
                p
                for p in parameters.values()
                if p.default is inspect.Parameter.empty and p.name != "session"
            ]
            if "session" not in parameters or required:
                continue
            function(session=session)
            called += 1
    assert called >= 3
    assert statements and not [
        s for s in statements if "learner_identity" in s or "learner_external_id" in s
    ]

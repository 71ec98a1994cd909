"""PostgreSQL's two roles: the owner migrates, the runtime role runs the app.

The owner owns every table and runs ``outcomes db upgrade`` (DDL: migrations, the analysis
table's triggers, ``freshness.bulk_load``, the demo loader's sequence moves). The app
connects as a runtime role that owns nothing and holds only what the app needs: USAGE on the
schema; SELECT, INSERT, UPDATE and DELETE on every table except ``audit_event`` (SELECT and
INSERT only: it can neither change nor remove an event, nor disable the trigger that refuses
it, which only the owner may) and ``alembic_version`` (SELECT: the app checks the revision),
plus TRUNCATE on the two derived analysis tables (a full refresh empties them); USAGE and
SELECT on the sequences (ids of new rows). See docs/deployment.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outcomes.errors import ValidationProblem
from outcomes.store.engine import describe_url
from outcomes.store.tables import AnalysisRow, AnalysisStale

APP_TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
# Tables the runtime role gets other privileges on than the rest: less on the trail and the
# schema revision; TRUNCATE too on the derived analysis tables, which a full refresh empties.
SPECIAL_TABLES: dict[str, tuple[str, ...]] = {
    "audit_event": ("SELECT", "INSERT"),
    "alembic_version": ("SELECT",),
    AnalysisRow.__tablename__: (*APP_TABLE_PRIVILEGES, "TRUNCATE"),
    AnalysisStale.__tablename__: (*APP_TABLE_PRIVILEGES, "TRUNCATE"),
}


@dataclass(frozen=True)
class RuntimeGrant:
    """What ``grant_runtime`` did: the role, the schema, and the tables it covers."""

    role: str
    schema: str
    tables: tuple[str, ...]

    def sentence(self) -> str:
        """One line for the operator."""
        return (
            f"Role {self.role} may now use the {len(self.tables)} tables of schema "
            f"{self.schema} as the app needs (audit_event: SELECT and INSERT only; "
            "alembic_version: SELECT only)."
        )


def _double_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def runtime_grants(
    *, schema: str, role: str, tables: list[str], quote: Callable[[str], str] = _double_quote
) -> list[str]:
    """The statements that give ``role`` exactly the runtime privileges on ``tables``.

    Everything the role held on the schema's tables and sequences is revoked first, so the
    result does not depend on earlier grants. ``quote`` quotes an identifier (the dialect's
    ``identifier_preparer.quote``; double quotes by default).
    """
    q = quote
    s, r = q(schema), q(role)
    statements = [
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
    ]
    for name in sorted(tables):
        privileges = ", ".join(SPECIAL_TABLES.get(name, APP_TABLE_PRIVILEGES))
        statements.append(f"GRANT {privileges} ON TABLE {s}.{q(name)} TO {r}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}")
    return statements


def grant_runtime(engine: Engine, role: str) -> RuntimeGrant:
    """Give ``role`` the runtime privileges on the current schema; run as the owner.

    Refuses a role that does not exist, a superuser, and the owner of ``audit_event`` or a
    member of it (each could alter the trail).
    """
    where = describe_url(engine.url.render_as_string())
    if engine.dialect.name != "postgresql":
        raise ValidationProblem(
            f"The database at {where} is not PostgreSQL: runtime roles exist on PostgreSQL only."
        )
    with engine.begin() as connection:
        schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
        owner = connection.execute(
            sa.text(
                "SELECT tableowner FROM pg_tables WHERE schemaname = :s "
                "AND tablename = 'audit_event'"
            ),
            {"s": schema},
        ).scalar_one_or_none()
        if owner is None:
            raise ValidationProblem(
                f"The database at {where} has no audit_event table in schema {schema}: "
                "run 'outcomes db upgrade' as the owner first."
            )
        found = connection.execute(
            sa.text(
                "SELECT rolsuper, pg_has_role(rolname, :owner, 'MEMBER') FROM pg_roles "
                "WHERE rolname = :role"
            ),
            {"role": role, "owner": owner},
        ).first()
        if found is None:
            raise ValidationProblem(
                f"There is no role {role}: create it first (CREATE ROLE {role} LOGIN PASSWORD …)."
            )
        superuser, owns = found
        if superuser or owns:
            what = "a superuser" if superuser else f"the owner of the tables ({owner}) or a member"
            raise ValidationProblem(
                f"Role {role} is {what}: the runtime role must be a separate role that owns "
                "nothing, or it could alter the audit trail."
            )
        tables = list(
            connection.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
            ).scalars()
        )
        quote = engine.dialect.identifier_preparer.quote
        for statement in runtime_grants(schema=schema, role=role, tables=tables, quote=quote):
            connection.exec_driver_sql(statement)
    return RuntimeGrant(role, schema, tuple(sorted(tables)))

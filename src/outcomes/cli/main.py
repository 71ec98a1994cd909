"""The ``outcomes`` command: an operator's tool for whoever holds the database credentials.

Commands need no sign-in; those that touch personal data or export are audited with the
operating-system user (``audit.cli_actor``). Every domain error is printed as one line on
stderr with a non-zero exit code; no tracebacks reach the operator.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from outcomes import __version__
from outcomes.cli.analyze import app as analyze_app
from outcomes.cli.audit import app as audit_app
from outcomes.cli.common import ERROR_PREFIX, open_database
from outcomes.cli.demo import demo_logins, seed
from outcomes.cli.instruments import app as surveys_app
from outcomes.cli.invitations import app as invitations_app
from outcomes.cli.privacy import app as privacy_app
from outcomes.cli.records import credentials_app, import_app, learners_app
from outcomes.errors import OutcomesError

app = typer.Typer(
    name="outcomes",
    help="Graduate outcomes of micro-credentials: records, surveys, impact and evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Create and upgrade the database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Manage staff accounts.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo institution.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(demo_app, name="demo")
app.add_typer(surveys_app, name="surveys")
app.add_typer(invitations_app, name="invitations")
app.add_typer(analyze_app, name="analyze")
app.command("seed")(seed)
demo_app.command("logins")(demo_logins)
app.add_typer(privacy_app, name="privacy")
app.add_typer(audit_app, name="audit")
app.add_typer(import_app, name="import")
app.add_typer(learners_app, name="learners")
app.add_typer(credentials_app, name="credentials")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"outcomes {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Graduate outcomes of micro-credentials."""


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to the configured database."""
    from outcomes.store.engine import describe_url
    from outcomes.store.migrate import upgrade

    engine = open_database(migrated=False)
    revision = upgrade(engine)
    typer.echo(f"Database {describe_url(str(engine.url))} is at revision {revision}.")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and whether it is up to date."""
    from outcomes.store.migrate import current_revision, head_revision

    engine = open_database(migrated=False)
    current = current_revision(engine)
    head = head_revision()
    state = "up to date" if current == head else f"this code expects {head}"
    typer.echo(f"Database revision: {current or 'none (empty database)'} ({state}).")


@db_app.command("refresh-analysis")
def db_refresh_analysis(
    full: Annotated[
        bool, typer.Option("--full", help="Rebuild every row, not only the stale ones.")
    ] = False,
) -> None:
    """Bring the analysis table the metrics panel counts over up to date.

    Triggers keep it fresh on their own and every read refreshes it; run this after a bulk
    load, or with --full if the table is ever in doubt.
    """
    from outcomes.store.analysis_table import refresh_analysis_rows
    from outcomes.store.engine import session_scope

    engine = open_database()
    with session_scope(engine) as session:
        refreshed = refresh_analysis_rows(session=session, full=full)
    typer.echo(f"Refreshed the analysis rows of {refreshed:,} invitations.")


@db_app.command("grant-runtime")
def db_grant_runtime(
    role: Annotated[str, typer.Argument(help="The existing PostgreSQL role the app runs as.")],
) -> None:
    """Give the app's runtime role its privileges (PostgreSQL; run as the owner).

    SELECT, INSERT, UPDATE and DELETE on every table, except the audit trail (SELECT and
    INSERT only) and the schema revision (SELECT); the sequences. Run it again after every
    'outcomes db upgrade', which may add tables.
    """
    from outcomes.store.runtime_role import grant_runtime

    engine = open_database()
    typer.echo(grant_runtime(engine, role).sentence())


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise OutcomesError("No password was given on standard input.")
        return password
    first = typer.prompt("Password", hide_input=True)
    second = typer.prompt("Repeat the password", hide_input=True)
    if first != second:
        raise OutcomesError("The two passwords differ; nothing was changed.")
    return str(first)


# A manager's programme scope, for ``users add`` and ``users scope``.
ProgrammeOption = Annotated[
    list[str] | None,
    typer.Option("--programme", help="A programme code a manager may see (repeatable)."),
]
AllProgrammesOption = Annotated[
    bool, typer.Option("--all-programmes", help="The manager sees every programme.")
]


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The person's e-mail address (their sign-in).")],
    role: Annotated[str, typer.Option(help="admin, manager or reviewer.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    sso_only: Annotated[
        bool, typer.Option("--sso-only", help="No password: the person signs in with SSO.")
    ] = False,
    programme: ProgrammeOption = None,
    all_programmes: AllProgrammesOption = False,
) -> None:
    """Create a staff account (asks for the password twice, without echo).

    The password is temporary: it works for one sign-in, which must choose the person's own.
    A manager sees only the programmes named with ``--programme``, or every programme with
    ``--all-programmes``; with neither, nothing until programmes are assigned.
    """
    from outcomes import audit
    from outcomes.access.passwords import check_password_rules
    from outcomes.access.staff import create_staff_user, normalise_email, normalise_role
    from outcomes.store.engine import session_scope

    address, stored_role = normalise_email(email), normalise_role(role)
    engine = open_database()
    password = None if sso_only else _read_password(password_stdin)
    if password is not None:
        check_password_rules(password, email=address)
    with session_scope(engine) as session:
        user = create_staff_user(
            session,
            email=address,
            role=stored_role,
            password=password,
            actor=audit.cli_actor(),
            display_name=name,
            programme_codes=programme,
            all_programmes=all_programmes,
        )
    typer.echo(f"Created {stored_role} {address} (id {user.id}).")  # only once committed


@users_app.command("scope")
def users_scope(
    email: Annotated[str, typer.Argument(help="The manager's e-mail address.")],
    programme: ProgrammeOption = None,
    all_programmes: AllProgrammesOption = False,
) -> None:
    """Set the programmes a manager sees (neither option: none, until assigned again)."""
    from outcomes import audit
    from outcomes.access.staff import set_programme_scope, user_by_email
    from outcomes.store.engine import session_scope

    engine = open_database()
    with session_scope(engine) as session:
        user = user_by_email(session, email)
        assert user.id is not None
        set_programme_scope(
            session,
            user_id=user.id,
            programme_codes=programme or [],
            all_programmes=all_programmes,
            actor=audit.cli_actor(),
        )
        address = user.email
    shown = "every programme" if all_programmes else (", ".join(sorted(programme or [])) or "none")
    typer.echo(f"{address} now sees: {shown}.")  # only once committed


def _user_action(email: str, action: str) -> str:
    """Run an account-security action on the user with ``email``; what to print."""
    from outcomes import audit
    from outcomes.access.staff import reset_password, reset_second_factor, unlock, user_by_email
    from outcomes.access.staff_sessions import end_sessions_by_admin
    from outcomes.config import get_settings
    from outcomes.store.engine import session_scope
    from outcomes.store.tables import utcnow

    settings = get_settings()
    engine = open_database()
    actor, at = audit.cli_actor(), utcnow()
    with session_scope(engine) as session:
        user = user_by_email(session, email)
        assert user.id is not None
        if action == "reset-password":
            temporary = reset_password(
                session, user_id=user.id, actor=actor, settings=settings, at=at
            )
            message = (
                f"Temporary password for {user.email} (works for one sign-in, which must "
                f"choose their own password; their sessions were ended):\n{temporary}"
            )
        elif action == "unlock":
            locked = user.locked_until is not None and user.locked_until > at
            unlock(session, user_id=user.id, actor=actor, settings=settings)
            state = "Unlocked" if locked else "Nothing was locked for"
            message = f"{state} {user.email}; its failed sign-ins are forgotten."
        elif action == "end-sessions":
            ended = end_sessions_by_admin(session, user_id=user.id, actor=actor, at=at)
            message = f"Ended {ended} session(s) of {user.email}."
        else:
            reset_second_factor(session, user_id=user.id, actor=actor, at=at)
            message = f"Removed the second factor of {user.email}; their sessions were ended."
    return message  # printed only once committed


@users_app.command("reset-password")
def users_reset_password(
    email: Annotated[str, typer.Argument(help="The staff member's e-mail address.")],
) -> None:
    """Issue a generated temporary password (printed once) and end the user's sessions."""
    typer.echo(_user_action(email, "reset-password"))


@users_app.command("unlock")
def users_unlock(
    email: Annotated[str, typer.Argument(help="The staff member's e-mail address.")],
) -> None:
    """Lift the account's sign-in lock and forget its failed sign-ins (audited).

    Works without signing in, so it also frees an administrator when every administrator's
    password sign-in is locked.
    """
    typer.echo(_user_action(email, "unlock"))


@users_app.command("end-sessions")
def users_end_sessions(
    email: Annotated[str, typer.Argument(help="The staff member's e-mail address.")],
) -> None:
    """Sign the user out of every browser (on their next click)."""
    typer.echo(_user_action(email, "end-sessions"))


@users_app.command("reset-second-factor")
def users_reset_second_factor(
    email: Annotated[str, typer.Argument(help="The staff member's e-mail address.")],
) -> None:
    """Remove the user's TOTP second factor and recovery codes, ending their sessions."""
    typer.echo(_user_action(email, "reset-second-factor"))


@demo_app.command("prepare")
def demo_prepare() -> None:
    """Migrate the database, load the demo institution on first run, print the sign-ins."""
    from outcomes.config import get_settings
    from outcomes.demo.firstrun import prepare

    report = prepare(settings=get_settings())
    for line in report.lines():
        typer.echo(line)


def main() -> None:
    """Entry point of the ``outcomes`` console script."""
    try:
        # Standalone mode: click handles --help, usage errors and Ctrl-C itself.
        app()
    except OutcomesError as exc:
        typer.echo(f"{ERROR_PREFIX}{exc}", err=True)
        raise SystemExit(exc.exit_code) from None

"""``outcomes seed``: load the demo institution, with a progress bar and an answer key.

``outcomes.cli.main`` registers these functions (``outcomes seed`` and ``outcomes demo logins``);
nothing here runs at import. Demo staff accounts are created and shown only in demo mode
(``OUTCOMES_DEMO=on``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from outcomes.cli.common import fail
from outcomes.errors import OutcomesError

# The generator, the database and rich are imported by the commands that run, so that
# `outcomes --help` does not pay for them.
if TYPE_CHECKING:
    from rich.console import Console

    from outcomes.demo.generate import DemoSummary


class ResetNotConfirmed(OutcomesError):
    """A reset was asked for without a confirmation."""


def _confirm_reset(url: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise ResetNotConfirmed(
            "Refusing to reset the database without a confirmation: add --yes to confirm."
        )
    question = f"Delete every learner, credential, survey and staff account in {url}?"
    if not typer.confirm(question, default=False):
        raise ResetNotConfirmed("Nothing was changed: the reset was not confirmed.")


def run_seed(*, learners: int, seed: int, reset: bool, yes: bool, console: Console) -> DemoSummary:
    """Migrate, optionally empty, and fill the database named by the settings."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from outcomes import audit
    from outcomes.config import get_settings
    from outcomes.demo.answer_key import answer_key_path
    from outcomes.demo.generate import DemoDatabaseNotEmpty, generate_demo
    from outcomes.demo.staff_accounts import demo_staff_key
    from outcomes.demo.writer import empty_tables, rows_in
    from outcomes.store.engine import describe_url, make_engine, session_scope
    from outcomes.store.migrate import upgrade

    settings = get_settings()
    engine = make_engine(settings.database_url)
    shown = describe_url(settings.database_url)
    try:
        upgrade(engine)
        if rows_in(engine):
            if not reset:
                raise DemoDatabaseNotEmpty(
                    f"The database at {shown} already holds data: run 'outcomes seed --reset' "
                    "to replace it with the demo."
                )
            _confirm_reset(shown, yes)
            deleted = empty_tables(engine)
            with session_scope(engine) as session:
                audit.record(
                    session,
                    actor=audit.cli_actor(),
                    action="demo.reset",
                    detail={"deleted": {k: v for k, v in deleted.items() if v}},
                )
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("Generating the demo institution", total=learners)

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, description=f"Writing {stage}")

            summary = generate_demo(
                engine,
                learners=learners,
                seed=seed,
                progress=progress,
                demo_staff_key=demo_staff_key(settings),
            )
        summary.write_answer_key(answer_key_path(settings.database_url))
        return summary
    finally:
        engine.dispose()


def _print_logins(console: Console, secret_key: str, domain: str) -> None:
    from rich.table import Table

    from outcomes.demo.staff_accounts import demo_passwords, demo_staff_emails

    table = Table("role", "e-mail", "password", title="Demo staff accounts")
    passwords = demo_passwords(secret_key)
    for role, email in demo_staff_emails(domain).items():
        table.add_row(role, email, passwords[role])
    console.print(table)


def seed(
    learners: int | None = typer.Option(
        None, min=1, help="Number of learners (default: OUTCOMES_DEMO_LEARNERS, 5000)."
    ),
    seed: int | None = typer.Option(
        None,
        help="Random seed: the same seed and size give the same data "
        "(default: OUTCOMES_DEMO_SEED).",
    ),
    reset: bool = typer.Option(False, "--reset", help="Empty a non-empty database first."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before --reset."),
) -> None:
    """Load the demo institution: programmes, learners, surveys, outcomes and an answer key."""
    from rich.console import Console

    from outcomes.demo.answer_key import answer_key_path
    from outcomes.demo.spec import load_institution
    from outcomes.demo.staff_accounts import DEMO_MODE_OFF, demo_staff_key

    console = Console(stderr=True)
    from outcomes.config import get_settings

    try:
        settings = get_settings()
        size = learners if learners is not None else settings.demo_learners
        chosen_seed = seed if seed is not None else settings.demo_seed
        summary = run_seed(learners=size, seed=chosen_seed, reset=reset, yes=yes, console=console)
    except OutcomesError as error:
        fail(error)
    out = Console()
    counts = ", ".join(f"{n:,} {table}" for table, n in summary.counts.items() if n)
    out.print(f"Demo institution loaded (seed {summary.seed}): {counts}.", highlight=False)
    out.print(f"Answer key: {answer_key_path(settings.database_url)}", highlight=False)
    key = demo_staff_key(settings)
    if summary.staff_emails and key is not None:
        _print_logins(out, key, load_institution().institution.staff_email_domain)
    elif not settings.demo:
        out.print(DEMO_MODE_OFF, highlight=False)
    else:
        out.print("No staff accounts were created: set OUTCOMES_SECRET_KEY to get them.")


def demo_logins() -> None:
    """Print the demo staff accounts and their passwords (demo mode only: OUTCOMES_DEMO=on)."""
    from rich.console import Console

    from outcomes.config import get_settings
    from outcomes.demo.spec import load_institution
    from outcomes.demo.staff_accounts import require_demo_mode

    try:
        secret = require_demo_mode(get_settings())
        domain = load_institution().institution.staff_email_domain
    except OutcomesError as error:
        fail(error)
    _print_logins(Console(), secret, domain)

"""``outcomes surveys``: check instrument files and write their codebooks."""

from __future__ import annotations

from pathlib import Path

import typer

from outcomes.cli.common import fail
from outcomes.errors import OutcomesError

app = typer.Typer(
    help="Survey instruments: check the YAML files and write their codebooks.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def check(
    paths: list[Path] | None = typer.Argument(
        None, help="Instrument files or folders (default: every file in surveys/)."
    ),
) -> None:
    """Check instrument files; print each problem as file:line: question-id: message."""
    from outcomes.instruments.checking import check_files, expand_paths
    from outcomes.instruments.registry import survey_files, surveys_dir

    try:
        files = list(paths) if paths else survey_files(surveys_dir())
    except OutcomesError as error:
        fail(error)
    problems = check_files(files)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        typer.echo(f"{len(problems)} problem(s) found.", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"OK: {len(expand_paths(files))} instruments")


@app.command()
def codebook(
    instrument: str = typer.Argument(help="A shipped key such as follow-up-6m, or a file path."),
    out: Path = typer.Option(Path("."), "--out", help="Folder to write the codebook into."),
) -> None:
    """Write the instrument's codebook (data dictionary) as CSV and Markdown."""
    from outcomes.instruments.codebook import write_codebook
    from outcomes.instruments.loading import load_instrument
    from outcomes.instruments.registry import load_shipped

    try:
        looks_like_path = instrument.endswith((".yaml", ".yml")) or "/" in instrument
        loaded = load_instrument(instrument) if looks_like_path else load_shipped(instrument)
        csv_path, md_path = write_codebook(loaded, out)
    except OutcomesError as error:
        fail(error)
    except OSError as error:
        fail(f"cannot write the codebook into {out}: {error.strerror}")
    typer.echo(f"Wrote {csv_path} and {md_path}")
